/**
 * The two message shapes every DataColl flow node accepts and emits (docs/architecture.md §4):
 * - one point: `msg.topic` = point key, `msg.payload` = value, `msg.point` = the DataPoint;
 * - a batch: `msg.topic` = `deviceId:termId` (or a common prefix), `msg.payload` = DataPoint[].
 * Reading never drops a point silently: a message that is not one of these shapes is an error naming
 * what is wrong, so the node can pass it to `done(err)` and a Catch node sees it.
 */
import type { NodeMessage } from "node-red";
import { DataCollError } from "../../src/core/errors";
import {
  CAUSES,
  GOOD,
  isCause,
  isKeyOf,
  QUALITY_FLAGS,
  pointKey,
  splitPointKey,
  type Cause,
  type DataPoint,
  type Quality,
} from "../../src/core/model/datapoint";
import type { OutputMode } from "../../src/core/bus/pace";

export type { OutputMode };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isValue(v: unknown): v is DataPoint["value"] {
  return (
    v === null ||
    typeof v === "boolean" ||
    typeof v === "string" ||
    (typeof v === "number" && !Number.isNaN(v))
  );
}

function readQuality(raw: unknown, where: string): Quality {
  if (raw === undefined || raw === "good") return GOOD;
  if (!isRecord(raw))
    throw new DataCollError("bad-message", `${where}.quality must be an object of flags`, "quality");
  const q: Record<string, boolean> = {};
  for (const flag of QUALITY_FLAGS) if (raw[flag] === true) q[flag] = true;
  return Object.keys(q).length === 0 ? GOOD : q;
}

/** Read one DataPoint-like object; `where` names it in errors (e.g. "msg.payload[3]"). */
export function readDataPoint(
  raw: unknown,
  where: string,
  now: number,
  defaultCause: Cause = "manual",
): DataPoint {
  if (!isRecord(raw)) throw new DataCollError("bad-message", `${where} must be a DataPoint object`, where);
  let key: string;
  let deviceId: string;
  let termId: string;
  let itemId: string;
  if (typeof raw.key === "string" && isKeyOf(raw.key, raw.deviceId, raw.termId, raw.itemId)) {
    // A point as the nodes make it carries the same ids beside its key: its own strings are kept, with
    // nothing split or joined per sample, so a node keeping points holds the strings the point had.
    ({ key, deviceId, termId, itemId } = raw as {
      key: string;
      deviceId: string;
      termId: string;
      itemId: string;
    });
  } else if (typeof raw.key === "string") {
    // Ids that do not make the key exactly (or none): the key's own.
    const split = splitPointKey(raw.key);
    if (!split) throw new DataCollError("bad-message", `${where}.key must be deviceId:termId:itemId`, "key");
    key = raw.key;
    ({ deviceId, termId, itemId } = split);
  } else if (
    typeof raw.deviceId === "string" &&
    typeof raw.termId === "string" &&
    typeof raw.itemId === "string"
  ) {
    ({ deviceId, termId, itemId } = raw as { deviceId: string; termId: string; itemId: string });
    key = pointKey(deviceId, termId, itemId);
  } else {
    throw new DataCollError("bad-message", `${where} needs a key (deviceId:termId:itemId)`, "key");
  }
  if (!isValue(raw.value)) {
    throw new DataCollError("bad-message", `${where}.value must be a number, boolean, text or null`, "value");
  }
  const ts = raw.ts === undefined ? now : raw.ts;
  if (typeof ts !== "number" || !Number.isFinite(ts)) {
    throw new DataCollError("bad-message", `${where}.ts must be epoch milliseconds`, "ts");
  }
  const cause = raw.cause === undefined ? defaultCause : raw.cause;
  if (!isCause(cause)) {
    throw new DataCollError("bad-message", `${where}.cause must be one of ${CAUSES.join(", ")}`, "cause");
  }
  // One literal of one shape: built by spreads (the ids, then an optional error), a point took a second
  // object per sample and had its fields added one by one.
  const point: DataPoint = {
    key,
    deviceId,
    termId,
    itemId,
    value: raw.value,
    ts,
    quality: readQuality(raw.quality, where),
    cause,
  };
  return typeof raw.error === "string" ? { ...point, error: raw.error } : point;
}

/**
 * The DataPoints a message carries, in either shape. A single-point message may carry its value in
 * `msg.payload` alone (with the key in `msg.topic`), or a DataPoint in `msg.point` whose value
 * `msg.payload` overrides — so a Change node that rewrites the payload does what the user expects.
 */
export function pointsFromMessage(msg: Record<string, unknown>, now: number): DataPoint[] {
  const payload = msg.payload;
  if (Array.isArray(payload)) return payload.map((p, i) => readDataPoint(p, `msg.payload[${i}]`, now));
  if (isRecord(msg.point)) {
    const base = readDataPoint(msg.point, "msg.point", now);
    return [isValue(payload) && payload !== base.value ? { ...base, value: payload } : base];
  }
  if (isRecord(payload)) return [readDataPoint(payload, "msg.payload", now)];
  if (typeof msg.topic === "string" && splitPointKey(msg.topic) && isValue(payload)) {
    return [readDataPoint({ key: msg.topic, value: payload }, "msg", now)];
  }
  throw new DataCollError(
    "bad-message",
    "expected msg.payload as an array of DataPoints, msg.point, or msg.topic = deviceId:termId:itemId with a value",
    "payload",
  );
}

/** The topic of a batch: the longest common `deviceId[:termId]` of its points. */
export function batchTopic(points: readonly DataPoint[]): string {
  if (points.length === 0) return "";
  const first = points[0];
  let sameDevice = true;
  let sameTerm = true;
  for (const p of points) {
    if (p.deviceId !== first.deviceId) sameDevice = sameTerm = false;
    else if (p.termId !== first.termId) sameTerm = false;
    if (!sameDevice) break;
  }
  if (sameTerm) return `${first.deviceId}:${first.termId}`;
  return sameDevice ? first.deviceId : "";
}

/** Messages to send for `points` in the chosen mode; `extra` fields are copied onto each message. */
export function messagesFor(
  points: readonly DataPoint[],
  mode: OutputMode,
  extra: Record<string, unknown> = {},
): NodeMessage[] {
  if (points.length === 0) return [];
  if (mode === "batch") return [{ ...extra, topic: batchTopic(points), payload: points }];
  return points.map((p) => ({ ...extra, topic: p.key, payload: p.value, point: p }));
}
