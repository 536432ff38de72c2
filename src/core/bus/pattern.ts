/**
 * Point-key patterns for subscriptions. A pattern has up to three segments `device:term:item`, like a
 * point key. A segment is an id (matches that id only) or `*` / `+` (matches any one id, as MQTT's `+`).
 * A last segment `#` matches whatever follows, and missing trailing segments count as `#`, so `plc1`,
 * `plc1:#` and `plc1:*:*` all mean "every point of device plc1", `plc1:t1` means "every point of term t1
 * of plc1" (the batch topic), and an empty pattern, `#` or `*` means every point.
 */
import { invalid } from "../model/fields";
import type { DataPoint } from "../model/datapoint";

export interface PointMatcher {
  readonly pattern: string;
  /** True when the pattern matches every point: listeners get batches as they are, with no filtering. */
  readonly all: boolean;
  matches(p: Pick<DataPoint, "deviceId" | "termId" | "itemId">): boolean;
}

const ANY = new Set(["*", "+"]);
const SEGMENT = /^[^\s:#*+]+$/;

export function compilePattern(pattern: string): PointMatcher {
  const trimmed = pattern.trim();
  const parts = trimmed === "" ? [] : trimmed.split(":");
  if (parts.length > 3)
    throw invalid("pattern", `${JSON.stringify(pattern)} has more than three segments (device:term:item)`);
  const fixed: (string | undefined)[] = [undefined, undefined, undefined];
  parts.forEach((seg, i) => {
    if (seg === "#") {
      if (i !== parts.length - 1)
        throw invalid("pattern", `${JSON.stringify(pattern)}: '#' may only be the last segment`);
      return;
    }
    if (ANY.has(seg)) return;
    if (!SEGMENT.test(seg)) {
      throw invalid(
        "pattern",
        `${JSON.stringify(pattern)}: segment ${i + 1} must be an id, '*', '+' or a final '#'`,
      );
    }
    fixed[i] = seg;
  });
  const [d, t, i] = fixed;
  const all = d === undefined && t === undefined && i === undefined;
  return {
    pattern: trimmed,
    all,
    matches: all
      ? () => true
      : (p) =>
          (d === undefined || p.deviceId === d) &&
          (t === undefined || p.termId === t) &&
          (i === undefined || p.itemId === i),
  };
}
