/** Small readers shared by the editor tables (item rows, generators) and the registry drivers. */
import { DataCollError } from "../errors";
import type { Point } from "../model/point";

/** A numeric cell of row `row` (1-based) of a `what` table; empty means `def`. */
export function rowNumber(raw: unknown, field: string, def: number, row: number, what = "row"): number {
  if (raw === undefined || raw === null || raw === "") return def;
  const n = typeof raw === "number" ? raw : Number(String(raw).trim());
  if (!Number.isFinite(n))
    throw new DataCollError("invalid", `${what} ${row}: ${field} must be a number`, field);
  return n;
}

/** A device's addressed points grouped by term (points without an address are nobody's to poll). */
export function pointsByTerm(points: readonly Point[]): Map<string, Point[]> {
  const byTerm = new Map<string, Point[]>();
  for (const p of points) {
    if (p.address === "") continue;
    let list = byTerm.get(p.termId);
    if (!list) byTerm.set(p.termId, (list = []));
    list.push(p);
  }
  return byTerm;
}
