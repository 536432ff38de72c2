/**
 * A point: an item bound to a term of a device, the unit of data (docs/architecture.md §2). Its name is
 * the point key `deviceId:termId:itemId`. The protocol address is text whose form belongs to the protocol
 * (e.g. Modbus `HR40001:float32:CDAB`, IEC 104 `1001:M_ME_NC_1`); the model only bounds it, and the
 * device's protocol rule (protocol-rules.ts) checks it when the point is stored.
 */
import { RecordReader, invalid, type Extra } from "./fields";
import { pointKey, type PointKey } from "./datapoint";

/** Alarm limits; any may be absent. When present they must be ordered lowLow ≤ low ≤ high ≤ highHigh. */
export interface Limits {
  readonly lowLow?: number;
  readonly low?: number;
  readonly high?: number;
  readonly highHigh?: number;
}

export interface SaveSettings {
  /** Whether the history saver keeps this point. */
  readonly enabled: boolean;
  /** Keep at most one sample per this many milliseconds; 0 keeps every sample. */
  readonly interval: number;
}

export interface Point {
  readonly key: PointKey;
  readonly deviceId: string;
  readonly termId: string;
  readonly itemId: string;
  /** Protocol address text; empty for points nobody polls (formula results, virtual points). */
  readonly address: string;
  /** Scaling: value = raw * coefficient + base. */
  readonly coefficient: number;
  readonly base: number;
  /** A new value closer than this to the last one reported is not a change (0: every change counts). */
  readonly deadband: number;
  readonly limits: Limits;
  readonly save: SaveSettings;
  readonly extra: Extra;
}

export const MAX_ADDRESS_LENGTH = 128;
const LIMIT_ORDER = ["lowLow", "low", "high", "highHigh"] as const;

function parseLimits(r: RecordReader | undefined): Limits {
  if (r === undefined) return {};
  const out: { -readonly [K in keyof Limits]: number } = {};
  let previous: { name: string; value: number } | undefined;
  for (const name of LIMIT_ORDER) {
    const v = r.optionalNumber(name, {});
    if (v === undefined) continue;
    if (previous !== undefined && v < previous.value) {
      throw invalid(r.field(name), `(${v}) must not be below limits.${previous.name} (${previous.value})`);
    }
    out[name] = v;
    previous = { name, value: v };
  }
  const [first] = Object.keys(r.extra());
  if (first !== undefined) throw invalid(r.field(first), "is not a limit (lowLow, low, high, highHigh)");
  return out;
}

function parseSave(r: RecordReader | undefined): SaveSettings {
  if (r === undefined) return { enabled: true, interval: 0 };
  const save = {
    enabled: r.bool("enabled", true),
    interval: r.number("interval", { integer: true, min: 0, def: 0 }),
  };
  const [first] = Object.keys(r.extra());
  if (first !== undefined) throw invalid(r.field(first), "is not a save setting (enabled, interval)");
  return save;
}

export function parsePoint(raw: unknown): Point {
  const r = RecordReader.of(raw, "point");
  const deviceId = r.id("deviceId");
  const termId = r.id("termId");
  const itemId = r.id("itemId");
  const key = pointKey(deviceId, termId, itemId);
  if (r.has("key")) {
    const given = r.text("key", { max: 200 });
    if (given !== key)
      throw invalid("key", `${JSON.stringify(given)} does not match deviceId:termId:itemId (${key})`);
  }
  const address = r.text("address", { max: MAX_ADDRESS_LENGTH, def: "" });
  if (address !== address.trim()) throw invalid("address", "must not start or end with whitespace");
  const coefficient = r.number("coefficient", { def: 1 });
  const base = r.number("base", { def: 0 });
  const deadband = r.number("deadband", { min: 0, def: 0 });
  const limits = parseLimits(r.nested("limits"));
  const save = parseSave(r.nested("save"));
  return {
    key,
    deviceId,
    termId,
    itemId,
    address,
    coefficient,
    base,
    deadband,
    limits,
    save,
    extra: r.extra(),
  };
}

export function pointRecord(p: Point): Record<string, unknown> {
  const { extra, ...known } = p;
  return { ...extra, ...known };
}
