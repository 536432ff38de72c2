/**
 * The DataPoint: one sample of one point, the payload all DataColl nodes pass on (docs/architecture.md §2).
 * Quality follows IEC 104's quality descriptor bits (QDS, docs/protocols/iec104.md §4) so a value from
 * either protocol keeps what the device said about it; `good` is the common case of no bit set.
 */

/** `deviceId:termId:itemId`, the name of a point everywhere (Redis keys, msg.topic, SQL). */
export type PointKey = string;

/** Quality flags; a sample with none set is good. Mirrors IEC 104 QDS: IV, NT, SB, BL, OV. */
export interface Quality {
  /** IV: the value is not valid (a failed read, an exception, the device said so). */
  readonly invalid?: boolean;
  /** NT: not topical — the last update is older than it should be (timeouts, comm loss). */
  readonly notTopical?: boolean;
  /** SB: substituted by an operator or a program rather than measured. */
  readonly substituted?: boolean;
  /** BL: blocked for transmission at the source. */
  readonly blocked?: boolean;
  /** OV: overflow — the value is beyond the representable range. */
  readonly overflow?: boolean;
}

export const GOOD: Quality = Object.freeze({});

export function isGood(q: Quality): boolean {
  return !(q.invalid || q.notTopical || q.substituted || q.blocked || q.overflow);
}

/** Where a sample came from. */
export const CAUSES = [
  "poll",
  "spontaneous",
  "interrogation",
  "call",
  "control",
  "formula",
  "manual",
  "periodic",
] as const;
export type Cause = (typeof CAUSES)[number];

export function isCause(raw: unknown): raw is Cause {
  return typeof raw === "string" && (CAUSES as readonly string[]).includes(raw);
}

/** The names of the quality flags, for code that reads or copies them one by one. */
export const QUALITY_FLAGS = ["invalid", "notTopical", "substituted", "blocked", "overflow"] as const;

export interface DataPoint {
  readonly key: PointKey;
  readonly deviceId: string;
  readonly termId: string;
  readonly itemId: string;
  /** Engineering value after scaling; boolean for single points, string for string registers. */
  readonly value: number | boolean | string | null;
  /** The value as the device sent it, before scaling, when it differs. */
  readonly raw?: number | boolean | string | bigint;
  /** Epoch milliseconds: the device's own time stamp when it gives one, else the time of receipt. */
  readonly ts: number;
  readonly quality: Quality;
  readonly cause: Cause;
  /** A human-readable reason when quality is bad, e.g. "Modbus exception 02 (illegal data address)". */
  readonly error?: string;
}

/*
 * Point keys are joined and split only here: the separator and the order of the ids are this module's
 * to know, so nothing else builds or takes apart a key by hand.
 */
const SEP = ":";

/** Join ids into a point key. Ids never contain ':' (validated by the model). */
export function pointKey(deviceId: string, termId: string, itemId: string): PointKey {
  return `${deviceId}${SEP}${termId}${SEP}${itemId}`;
}

/**
 * Whether `key` is the key of the ids `d`, `t`, `i` (device, term, item: each text, non-empty, without the
 * separator), compared in place: a node reading a point checks its key so, without splitting it (an
 * array and three strings a sample).
 */
export function isKeyOf(key: string, d: unknown, t: unknown, i: unknown): boolean {
  if (typeof d !== "string" || typeof t !== "string" || typeof i !== "string") return false;
  if (d === "" || t === "" || i === "" || key.length !== d.length + t.length + i.length + 2) return false;
  if (d.includes(SEP) || t.includes(SEP) || i.includes(SEP)) return false;
  const second = d.length + 1 + t.length;
  return (
    key.startsWith(d) &&
    key[d.length] === SEP &&
    key.startsWith(t, d.length + 1) &&
    key[second] === SEP &&
    key.endsWith(i)
  );
}

/** Split a point key; undefined when it does not have exactly three non-empty parts. */
export function splitPointKey(key: string): { deviceId: string; termId: string; itemId: string } | undefined {
  const parts = pointKeyParts(key);
  if (parts.length !== 3 || parts.some((p) => p === "")) return undefined;
  return { deviceId: parts[0], termId: parts[1], itemId: parts[2] };
}

/**
 * The parts of text that should be a point key, unchecked (any count, empty ones kept): for parsers that
 * report each part's own fault.
 */
export function pointKeyParts(text: string): string[] {
  return text.split(SEP);
}

/** The device id of a point key: what comes before the first ':'. */
export function deviceOfPointKey(key: PointKey): string {
  return pointKeyParts(key)[0];
}
