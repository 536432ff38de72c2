/**
 * The envelope every event travels in between instances (docs/redis-keys.md): plain JSON carrying the
 * sending instance, an id unique to the event, a time stamp and the payload. Ids start with a random token
 * of the sender so a sender knows its own events when Redis echoes them back, and receivers drop
 * duplicates by id.
 */
import crypto from "node:crypto";
import type { DataPoint } from "../model/datapoint";
import { QUALITY_FLAGS, isCause, splitPointKey } from "../model/datapoint";
import type { RegistryChange } from "../model/change";
import { ENTITY_KINDS } from "../model/change";

export const ENVELOPE_VERSION = 1;

export interface EnvelopeHead {
  readonly v: typeof ENVELOPE_VERSION;
  readonly instance: string;
  readonly id: string;
  readonly ts: number;
}

export interface PointsEnvelope extends EnvelopeHead {
  readonly points: readonly DataPoint[];
}

export interface ChangesEnvelope extends EnvelopeHead {
  readonly changes: readonly RegistryChange[];
}

/** Event ids of one sender: `<random token>-<counter in base 36>`. */
export class EventIds {
  private seq = 0;
  readonly token: string;

  constructor(token = crypto.randomBytes(6).toString("hex")) {
    this.token = token;
  }

  next(): string {
    return `${this.token}-${(this.seq++).toString(36)}`;
  }

  /** Whether this sender made the event: Redis delivers a publisher's own messages back to it. */
  isOwn(id: string): boolean {
    return id.length > this.token.length && id.startsWith(this.token) && id[this.token.length] === "-";
  }
}

/** Remembers the last `capacity` ids, to drop an event that arrives twice. */
export class RecentIds {
  private readonly ring: (string | undefined)[];
  private readonly set = new Set<string>();
  private at = 0;

  constructor(capacity = 10_000) {
    this.ring = new Array<string | undefined>(capacity);
  }

  /** True when the id was seen before; otherwise remembers it. */
  seen(id: string): boolean {
    if (this.set.has(id)) return true;
    const evicted = this.ring[this.at];
    if (evicted !== undefined) this.set.delete(evicted);
    this.ring[this.at] = id;
    this.at = (this.at + 1) % this.ring.length;
    this.set.add(id);
    return false;
  }
}

function bigintAsText(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

/**
 * The own fields of a DataPoint as the terms make it, in the order they make them: without a raw value,
 * and (Modbus) with one after the value.
 */
const PLAIN_FIELDS = ["key", "deviceId", "termId", "itemId", "value", "ts", "quality", "cause"];
const RAW_FIELDS = ["key", "deviceId", "termId", "itemId", "value", "raw", "ts", "quality", "cause"];

/** The JSON of a point's identity, up to its value: the same for every sample of the point. */
interface JsonHead {
  readonly deviceId: string;
  readonly termId: string;
  readonly itemId: string;
  readonly text: string;
}

const heads = new Map<string, JsonHead>();
/** Point keys are as many as the points configured; the cache starts again past this many. */
const MAX_HEADS = 100_000;

function headOf(p: DataPoint): string {
  const h = heads.get(p.key);
  if (h !== undefined && h.deviceId === p.deviceId && h.termId === p.termId && h.itemId === p.itemId)
    return h.text;
  // Joined, so the cache keeps one flat string per point: a template literal's result stays a tree of
  // its eight parts (measured: 452 bytes a point in the cache at 100,000 points, most of it that tree).
  const text = [
    '{"key":',
    JSON.stringify(p.key),
    ',"deviceId":',
    JSON.stringify(p.deviceId),
    ',"termId":',
    JSON.stringify(p.termId),
    ',"itemId":',
    JSON.stringify(p.itemId),
    ',"value":',
  ].join("");
  if (heads.size >= MAX_HEADS) heads.clear();
  heads.set(p.key, { deviceId: p.deviceId, termId: p.termId, itemId: p.itemId, text });
  return text;
}

function sameFields(keys: readonly string[], fields: readonly string[]): boolean {
  if (keys.length !== fields.length) return false;
  for (let i = 0; i < keys.length; i++) if (keys[i] !== fields[i]) return false;
  return true;
}

function isScalar(v: unknown): boolean {
  return v === null || typeof v === "number" || typeof v === "string" || typeof v === "boolean";
}

/**
 * Whether JSON.stringify would write `p` as the fields of PLAIN_FIELDS ("plain") or RAW_FIELDS ("raw"),
 * in that order and nothing else; undefined for any other point.
 */
function shapeOf(p: DataPoint): "plain" | "raw" | undefined {
  const keys = Object.keys(p);
  const shape = sameFields(keys, PLAIN_FIELDS)
    ? "plain"
    : sameFields(keys, RAW_FIELDS) && (isScalar(p.raw) || typeof p.raw === "bigint")
      ? "raw"
      : undefined;
  const ok =
    typeof p.ts === "number" &&
    typeof p.cause === "string" &&
    isScalar(p.value) &&
    typeof p.quality === "object" &&
    p.quality !== null &&
    !("toJSON" in p.quality);
  return ok ? shape : undefined;
}

/**
 * One DataPoint as JSON; a bigint raw value (64-bit registers) travels as decimal text. The store writes
 * one per sample on the ingest path, so a point as the terms make it is written from its cached head and
 * its few changing fields: the same text as JSON.stringify at a fraction of its cost. Joined, not
 * concatenated: the store keeps the text, and a concatenation would be kept as a tree of its parts, many
 * more objects for the garbage collector to trace (measured: slower than JSON.stringify in the flow).
 */
export function pointJson(p: DataPoint): string {
  const shape = shapeOf(p);
  if (shape !== undefined) {
    const raw =
      shape === "plain" ? "" : `,"raw":${JSON.stringify(typeof p.raw === "bigint" ? String(p.raw) : p.raw)}`;
    return [
      headOf(p),
      JSON.stringify(p.value),
      raw,
      ',"ts":',
      JSON.stringify(p.ts),
      ',"quality":',
      JSON.stringify(p.quality),
      ',"cause":',
      JSON.stringify(p.cause),
      "}",
    ].join("");
  }
  return typeof p.raw === "bigint" ? JSON.stringify(p, bigintAsText) : JSON.stringify(p);
}

/** The envelope's JSON around points already turned into JSON, so each point is serialised once. */
export function envelopeJson(head: EnvelopeHead, pointsJson: readonly string[]): string {
  return `{"v":${head.v},"instance":${JSON.stringify(head.instance)},"id":${JSON.stringify(head.id)},"ts":${head.ts},"points":[${pointsJson.join(",")}]}`;
}

const ID_AT_START = /^\{"v":1,"instance":"(?:[^"\\]|\\.)*","id":"([^"\\]*)"/;

/**
 * The event id of an envelope written by envelopeJson, read from its first bytes without parsing the
 * whole batch; undefined for text laid out otherwise (then the caller parses it).
 */
export function envelopeIdHint(text: string): string | undefined {
  return ID_AT_START.exec(text.slice(0, 512))?.[1];
}

export function changesJson(env: ChangesEnvelope): string {
  return JSON.stringify(env);
}

export type Decoded<T> =
  { readonly ok: true; readonly envelope: T } | { readonly ok: false; readonly reason: string };

function record(raw: unknown): Record<string, unknown> | undefined {
  return typeof raw === "object" && raw !== null && !Array.isArray(raw)
    ? (raw as Record<string, unknown>)
    : undefined;
}

function head(text: string): { head: EnvelopeHead; body: Record<string, unknown> } | string {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return `not JSON (${err instanceof Error ? err.message : String(err)})`;
  }
  const o = record(raw);
  if (!o) return "not a JSON object";
  if (o.v !== ENVELOPE_VERSION) return `unknown envelope version ${JSON.stringify(o.v)}`;
  if (typeof o.instance !== "string" || o.instance === "") return "instance must be non-empty text";
  if (typeof o.id !== "string" || o.id === "") return "id must be non-empty text";
  if (typeof o.ts !== "number" || !Number.isFinite(o.ts)) return "ts must be epoch milliseconds";
  return { head: { v: ENVELOPE_VERSION, instance: o.instance, id: o.id, ts: o.ts }, body: o };
}

/**
 * One DataPoint from another program. Only `key` and `value` are required, so a few lines of any
 * language can publish; the ids come from the key, time from the envelope, quality good, cause manual.
 */
export function decodePoint(raw: unknown, envTs: number): DataPoint | string {
  const o = record(raw);
  if (!o) return "a point must be an object";
  const ids = typeof o.key === "string" ? splitPointKey(o.key) : undefined;
  if (!ids || typeof o.key !== "string") return `key ${JSON.stringify(o.key)} is not deviceId:termId:itemId`;
  const v = o.value;
  if (!(
    v === null ||
    typeof v === "boolean" ||
    typeof v === "string" ||
    (typeof v === "number" && Number.isFinite(v))
  )) {
    return `${o.key}: value must be a number, boolean, text or null`;
  }
  const ts = o.ts === undefined ? envTs : o.ts;
  if (typeof ts !== "number" || !Number.isFinite(ts)) return `${o.key}: ts must be epoch milliseconds`;
  const q = o.quality === undefined ? {} : record(o.quality);
  if (!q) return `${o.key}: quality must be an object`;
  const quality: Record<string, boolean> = {};
  for (const f of QUALITY_FLAGS) if (q[f] === true) quality[f] = true;
  const cause = o.cause === undefined ? "manual" : o.cause;
  if (!isCause(cause)) return `${o.key}: unknown cause ${JSON.stringify(cause)}`;
  const raw0 = o.raw;
  const point: DataPoint = {
    key: o.key,
    ...ids,
    value: v,
    ts,
    quality,
    cause,
    ...(typeof raw0 === "number" || typeof raw0 === "string" || typeof raw0 === "boolean"
      ? { raw: raw0 }
      : {}),
    ...(typeof o.error === "string" ? { error: o.error } : {}),
  };
  return point;
}

export function decodePoints(text: string): Decoded<PointsEnvelope> {
  const h = head(text);
  if (typeof h === "string") return { ok: false, reason: h };
  if (!Array.isArray(h.body.points)) return { ok: false, reason: "points must be a list" };
  const points: DataPoint[] = [];
  for (const raw of h.body.points) {
    const p = decodePoint(raw, h.head.ts);
    if (typeof p === "string") return { ok: false, reason: p };
    points.push(p);
  }
  return { ok: true, envelope: { ...h.head, points } };
}

export function decodeChanges(text: string): Decoded<ChangesEnvelope> {
  const h = head(text);
  if (typeof h === "string") return { ok: false, reason: h };
  if (!Array.isArray(h.body.changes)) return { ok: false, reason: "changes must be a list" };
  const changes: RegistryChange[] = [];
  for (const raw of h.body.changes) {
    const c = record(raw);
    const kind = c?.kind;
    if (!c || typeof kind !== "string" || !(ENTITY_KINDS as readonly string[]).includes(kind)) {
      return { ok: false, reason: "change kind must be device, term, item, point or formula" };
    }
    if (typeof c.id !== "string" || !(c.op === "create" || c.op === "update" || c.op === "delete")) {
      return { ok: false, reason: "a change needs an id and op create, update or delete" };
    }
    changes.push({ kind: kind as RegistryChange["kind"], id: c.id, op: c.op });
  }
  return { ok: true, envelope: { ...h.head, changes } };
}
