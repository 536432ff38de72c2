/**
 * The JSON both stores keep for samples, frames, alarms and statuses, and the checks made before they
 * are written (the registry's own records are checked by the model).
 */
import { DataCollError } from "../errors";
import type { DataPoint } from "../model/datapoint";
import { decodePoint } from "../bus/envelope";
import { parsePointKey } from "../model/formula";
import { normalizeId } from "../model/fields";
import type { AlarmState, DeviceStatus, FrameRecord } from "./store";

/** A stored sample back as a DataPoint; a record another program wrote wrongly is an error, not a guess. */
export function readPoint(json: string): DataPoint {
  const p = decodePoint(JSON.parse(json), 0);
  if (typeof p === "string") throw new DataCollError("corrupt", `a stored sample is malformed: ${p}`);
  return p;
}

function readObject<T>(json: string, what: string): T {
  const v: unknown = JSON.parse(json);
  if (typeof v !== "object" || v === null)
    throw new DataCollError("corrupt", `a stored ${what} is not an object`);
  return v as T;
}

export const readFrame = (json: string): FrameRecord => readObject<FrameRecord>(json, "frame");
export const readAlarm = (json: string): AlarmState => readObject<AlarmState>(json, "alarm");
export const readStatus = (json: string): DeviceStatus => readObject<DeviceStatus>(json, "device status");

const HEX = /^[0-9a-fA-F]*$/;

export function checkFrame(f: FrameRecord): void {
  if (f.dir !== "rx" && f.dir !== "tx") throw new DataCollError("invalid", 'dir must be "rx" or "tx"', "dir");
  if (!HEX.test(f.data)) throw new DataCollError("invalid", "data must be the frame bytes as hex", "data");
  if (!Number.isFinite(f.ts)) throw new DataCollError("invalid", "ts must be epoch milliseconds", "ts");
}

export function checkAlarm(a: AlarmState): void {
  parsePointKey(a.key, "key");
  normalizeId(a.condition, "condition");
  if (!Number.isFinite(a.ts)) throw new DataCollError("invalid", "ts must be epoch milliseconds", "ts");
}

export function checkStatus(deviceId: string, s: DeviceStatus): void {
  normalizeId(deviceId, "deviceId");
  if (!Number.isFinite(s.ts)) throw new DataCollError("invalid", "ts must be epoch milliseconds", "ts");
}

export function checkCount(count: number, field = "count"): void {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new DataCollError("invalid", `${field} must be a whole number of at least 0`, field);
  }
}
