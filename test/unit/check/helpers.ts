import type { DataPoint, Quality } from "../../../src/core/model/datapoint";
import { GOOD } from "../../../src/core/model/datapoint";

export const KEY = "d1:t1:i1";

/** A sample of `KEY` (or another key) at time `ts`. */
export function sample(
  value: DataPoint["value"],
  ts: number,
  quality: Quality = GOOD,
  key: string = KEY,
): DataPoint {
  const [deviceId, termId, itemId] = key.split(":");
  return { key, deviceId, termId, itemId, value, ts, quality, cause: "poll" };
}
