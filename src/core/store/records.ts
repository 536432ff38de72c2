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
export const readStatus = (json: string): DeviceStatus => readObject<DeviceStatus>(json, "device status");

/** The numbers an alarm record may hold. */
const ALARM_NUMBERS: ReadonlySet<string> = new Set(["ts", "severity", "limit", "shelvedUntil"]);
const ALARM_BOOLEANS = ["active", "acked"] as const;
/** How text spelled a boolean: JSON's and Python's spellings (the older system wrote `True`). */
const TRUE_TEXT = new Set(["true", "True", "1"]);
const FALSE_TEXT = new Set(["false", "False", "0"]);

function numberOf(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (typeof v !== "string" || v.trim() === "") return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function booleanOf(v: unknown): boolean | undefined {
  if (typeof v === "boolean") return v;
  if (typeof v === "string") return TRUE_TEXT.has(v) ? true : FALSE_TEXT.has(v) ? false : undefined;
  return undefined;
}

/**
 * A stored alarm with every field in its type. Earlier versions wrote `severity` as text (`"500"`),
 * and another program may write numbers and booleans as text as the older system's hashes
 * did: such text is read as what it says, so the REST API, the live view and the checker all see numbers
 * and booleans. An optional field that says no number is left out; a record without a time or its two
 * flags is malformed, as a stored sample would be.
 */
export function readAlarm(json: string): AlarmState {
  const raw = readObject<Record<string, unknown>>(json, "alarm");
  const out: Record<string, unknown> = {};
  for (const [field, v] of Object.entries(raw)) {
    const n = ALARM_NUMBERS.has(field) ? numberOf(v) : v;
    if (n !== undefined) out[field] = n;
  }
  if (out.ts === undefined) throw new DataCollError("corrupt", "a stored alarm's ts is not a number");
  for (const field of ALARM_BOOLEANS) {
    const b = booleanOf(raw[field]);
    if (b === undefined) throw new DataCollError("corrupt", `a stored alarm's ${field} is not true or false`);
    out[field] = b;
  }
  if (typeof raw.key !== "string" || typeof raw.condition !== "string")
    throw new DataCollError("corrupt", "a stored alarm has no key or condition");
  return out as unknown as AlarmState;
}

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
  if (typeof a.active !== "boolean" || typeof a.acked !== "boolean")
    throw new DataCollError("invalid", "active and acked must be true or false", "active");
  // Kept typed, so readers see what was written rather than text a reader must convert back.
  for (const field of ["severity", "limit"] as const) {
    const v = a[field];
    if (v !== undefined && !Number.isFinite(v))
      throw new DataCollError("invalid", `${field} must be a number`, field);
  }
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
