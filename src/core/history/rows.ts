/**
 * History rows: what the saver stores, in a plain JSON-safe shape so a row can wait in a Redis stream
 * across a Node-RED restart and come back unchanged. A point row is one DataPoint; an alarm row is one
 * alarm transition from the checker.
 */
import type { AlarmTransition } from "../check/checker";
import type { DataPoint, Quality } from "../model/datapoint";
import { splitPointKey } from "../model/datapoint";

export interface PointRow {
  readonly kind: "point";
  readonly key: string;
  readonly deviceId: string;
  readonly termId: string;
  readonly itemId: string;
  /** Epoch milliseconds. */
  readonly ts: number;
  /** Numbers, and booleans as 1/0; null for strings, null values and non-finite numbers. */
  readonly value: number | null;
  /** Strings as given; booleans as "true"/"false"; non-finite numbers as "NaN"/"Infinity"/"-Infinity". */
  readonly valueText: string | null;
  /** The QDS byte, see qualityBits. */
  readonly quality: number;
  readonly cause: string;
}

/** One alarm transition (from the checker, src/core/check/checker.ts) as a row of the alarms table. */
export interface AlarmRow {
  readonly kind: "alarm";
  readonly key: string;
  readonly deviceId: string;
  readonly termId: string;
  readonly itemId: string;
  readonly condition: string;
  /** The alarm state after the transition, and before it. */
  readonly state: string;
  readonly previous: string;
  /** 1 when the condition is present after the transition, else 0. */
  readonly active: number;
  /** 1 (least) to 1000 (most), as in OPC UA. */
  readonly severity: number;
  readonly text: string;
  /** Epoch milliseconds of the transition; for an acknowledgement, when it was acknowledged. */
  readonly ts: number;
  readonly value: number | null;
  readonly valueText: string | null;
  /** Who acknowledged or shelved, when given. */
  readonly by: string | null;
}

export type HistoryRow = PointRow | AlarmRow;

// The bit positions of IEC 60870-5-104's quality descriptor (QDS): IV 0x80, NT 0x40, SB 0x20, BL 0x10,
// OV 0x01. Storing the same byte keeps one meaning for the bits on the wire, in Redis and in SQL, and
// `quality = 0` stays the cheap test for "good".
export const QUALITY_BITS = Object.freeze({
  invalid: 0x80,
  notTopical: 0x40,
  substituted: 0x20,
  blocked: 0x10,
  overflow: 0x01,
});

export function qualityBits(q: Quality): number {
  return (
    (q.invalid ? QUALITY_BITS.invalid : 0) |
    (q.notTopical ? QUALITY_BITS.notTopical : 0) |
    (q.substituted ? QUALITY_BITS.substituted : 0) |
    (q.blocked ? QUALITY_BITS.blocked : 0) |
    (q.overflow ? QUALITY_BITS.overflow : 0)
  );
}

export function qualityFromBits(bits: number): Quality {
  const q: { -readonly [K in keyof Quality]: boolean } = {};
  if (bits & QUALITY_BITS.invalid) q.invalid = true;
  if (bits & QUALITY_BITS.notTopical) q.notTopical = true;
  if (bits & QUALITY_BITS.substituted) q.substituted = true;
  if (bits & QUALITY_BITS.blocked) q.blocked = true;
  if (bits & QUALITY_BITS.overflow) q.overflow = true;
  return q;
}

function splitValue(v: DataPoint["value"]): { value: number | null; valueText: string | null } {
  if (typeof v === "number")
    return Number.isFinite(v) ? { value: v, valueText: null } : { value: null, valueText: String(v) };
  // Booleans keep both forms: 1/0 so AVG/SUM work over a digital point, the text so the type survives.
  if (typeof v === "boolean") return { value: v ? 1 : 0, valueText: String(v) };
  if (typeof v === "string") return { value: null, valueText: v };
  return { value: null, valueText: null };
}

export function pointRow(p: DataPoint): PointRow {
  return {
    kind: "point",
    key: p.key,
    deviceId: p.deviceId,
    termId: p.termId,
    itemId: p.itemId,
    ts: p.ts,
    ...splitValue(p.value),
    quality: qualityBits(p.quality),
    cause: p.cause,
  };
}

export function alarmRow(t: AlarmTransition): AlarmRow {
  const ids = splitPointKey(t.key);
  return {
    kind: "alarm",
    key: t.key,
    deviceId: ids?.deviceId ?? "",
    termId: ids?.termId ?? "",
    itemId: ids?.itemId ?? "",
    condition: t.condition,
    state: t.state,
    previous: t.previous,
    active: t.active ? 1 : 0,
    severity: t.severity,
    text: t.text,
    ts: t.ts,
    ...splitValue(t.value ?? null),
    by: t.by ?? null,
  };
}

// DATETIME(3) holds years 1000-9999; a time stamp outside cannot be stored, whatever the server says.
const MIN_TS = Date.UTC(1000, 0, 1);
const MAX_TS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function validTs(ts: unknown): boolean {
  return typeof ts === "number" && Number.isInteger(ts) && ts >= MIN_TS && ts <= MAX_TS;
}

/** Why a row can never be stored, or undefined when it can be tried. Checked before a row is queued. */
export function rowProblem(row: HistoryRow): string | undefined {
  if (typeof row.key !== "string" || row.key === "") return "the point key is empty";
  if (!validTs(row.ts))
    return `the time stamp ${String(row.ts)} is not a whole epoch millisecond in years 1000-9999`;
  return undefined;
}

// Samples come in runs with close time stamps, so the text up to the second is usually the one made for
// the row before; remembering it takes Date formatting off the per-row cost of a batch.
let cachedSecond = Number.NaN;
let cachedPrefix = "";

/** `YYYY-MM-DD HH:MM:SS.mmm` in UTC: the form DATETIME(3) takes whatever the session time zone is. */
export function sqlTime(ts: number): string {
  const second = Math.floor(ts / 1000);
  if (second !== cachedSecond) {
    const iso = new Date(second * 1000).toISOString();
    cachedPrefix = `${iso.slice(0, 10)} ${iso.slice(11, 19)}.`;
    cachedSecond = second;
  }
  const ms = ts - second * 1000;
  return cachedPrefix + (ms < 10 ? `00${ms}` : ms < 100 ? `0${ms}` : `${ms}`);
}

function isStr(v: unknown): v is string {
  return typeof v === "string";
}
function isNumOrNull(v: unknown): v is number | null {
  return v === null || typeof v === "number";
}
function isStrOrNull(v: unknown): v is string | null {
  return v === null || typeof v === "string";
}

/** Narrow a row read back from Redis; undefined when it is not one this version wrote. */
export function asHistoryRow(raw: unknown): HistoryRow | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  if (
    !isStr(r.key) ||
    !isStr(r.deviceId) ||
    !isStr(r.termId) ||
    !isStr(r.itemId) ||
    typeof r.ts !== "number"
  ) {
    return undefined;
  }
  if (r.kind === "point") {
    if (!isNumOrNull(r.value) || !isStrOrNull(r.valueText) || typeof r.quality !== "number") return undefined;
    if (!isStr(r.cause)) return undefined;
    return {
      kind: "point",
      key: r.key,
      deviceId: r.deviceId,
      termId: r.termId,
      itemId: r.itemId,
      ts: r.ts,
      value: r.value,
      valueText: r.valueText,
      quality: r.quality,
      cause: r.cause,
    };
  }
  if (r.kind === "alarm") {
    if (!isStr(r.condition) || !isStr(r.state) || !isStr(r.previous) || !isStr(r.text)) return undefined;
    if (typeof r.active !== "number" || typeof r.severity !== "number") return undefined;
    if (!isNumOrNull(r.value) || !isStrOrNull(r.valueText) || !isStrOrNull(r.by)) return undefined;
    return {
      kind: "alarm",
      key: r.key,
      deviceId: r.deviceId,
      termId: r.termId,
      itemId: r.itemId,
      condition: r.condition,
      state: r.state,
      previous: r.previous,
      active: r.active,
      severity: r.severity,
      text: r.text,
      ts: r.ts,
      value: r.value,
      valueText: r.valueText,
      by: r.by,
    };
  }
  return undefined;
}
