/** The command node's number cells and scaling, the same for every protocol it writes to. */
import { DataCollError } from "../../src/core/errors";
import type { Scaling } from "../../src/core/model/scaling";

export function numberOr(raw: unknown, def: number, field: string): number {
  if (raw === undefined || raw === null || raw === "") return def;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new DataCollError("invalid", `${field} must be a number`, field);
  return n;
}

/** `value = raw * coefficient + base`, so a write sends `(value - base) / coefficient`. */
export function scalingOf(def: { coefficient?: unknown; base?: unknown }): Scaling {
  const scaling = {
    coefficient: numberOr(def.coefficient, 1, "coefficient"),
    base: numberOr(def.base, 0, "base"),
  };
  if (scaling.coefficient === 0)
    throw new DataCollError("invalid", "coefficient must not be 0", "coefficient");
  return scaling;
}
