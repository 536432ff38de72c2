/**
 * Reading history back: a range of a few points either bucketed by a step with the aggregates computed
 * by MySQL (a week's chart asks for a thousand buckets, not 600,000 rows), or as raw rows a page at a
 * time; and the alarm journal, newest first. One home for the query, so the REST route, the
 * datacoll-history node and the live view's trend all answer the same thing.
 *
 * Points saved by exception (only on change, or past a deadband) have no row in most buckets: those
 * buckets are left out, never invented, and each series carries `initial`, the last row before `from`
 * — the value in force when the range starts — so a chart draws steps from the left edge on.
 *
 * Times are epoch milliseconds at the edges and UTC DATETIME(3) text towards MySQL (rows.ts sqlTime);
 * times read back are turned into milliseconds by MySQL itself (TIMESTAMPDIFF from the epoch), so the
 * answer does not depend on the driver's or the server's time zone.
 */
import { escapeId } from "mysql2";
import { DataCollError } from "../errors";
import { rollupBucketSql, rollupCoverage, rollupTableName, ROLLUP_MS } from "./rollup";
import { sqlTime } from "./rows";
import type { SqlValue } from "./schema";
import type { HistorySource, SqlRow } from "./sources";

export type { HistorySource } from "./sources";

export type Agg = "min" | "max" | "avg" | "first" | "last" | "count";
export const AGGS: readonly Agg[] = ["min", "max", "avg", "first", "last", "count"];

export interface HistoryQuery {
  readonly points: readonly string[];
  /** Epoch ms, inclusive. */
  readonly from: number;
  /** Epoch ms, exclusive. */
  readonly to: number;
  /** Bucket width in ms; omitted, raw rows are answered. */
  readonly step?: number;
  /** The aggregates wanted per bucket (default: all). `count` is always there. */
  readonly agg?: readonly Agg[];
  /** Raw rows per point and page (default 10,000, at most 100,000). */
  readonly limit?: number;
  /** A `next` from an earlier answer: only the points it names continue, after the row it names. */
  readonly cursor?: string;
}

export interface HistoryBucket {
  /** Bucket start, epoch ms. */
  t: number;
  /** Rows in the bucket. */
  count: number;
  /** Over the bucket's numeric values; absent when it has none (a text point). */
  min?: number;
  max?: number;
  avg?: number;
  /** The value of the bucket's first and last row (absent when that row holds text only). */
  first?: number;
  last?: number;
  /** OR of the quality bits of the bucket's rows. */
  quality: number;
}

export interface HistoryRow {
  ts: number;
  value: number | null;
  text: string | null;
  quality: number;
  cause: string;
}

export interface HistorySeries {
  /** The point key. */
  key: string;
  /** The value in force at `from`: the last row before it, for step drawing of points saved on change. */
  initial?: HistoryRow;
  buckets?: HistoryBucket[];
  rows?: HistoryRow[];
  /** A cursor continuing this series when its raw rows were cut at the limit. */
  next?: string;
}

export interface HistoryResult {
  from: number;
  to: number;
  step?: number;
  series: HistorySeries[];
  /** A cursor continuing every series that was cut (raw rows only). */
  next?: string;
}

export interface AlarmJournalQuery {
  readonly from: number;
  readonly to: number;
  /** Only this point's rows. */
  readonly point?: string;
  /** Only rows entering this state (raised, cleared, acked, …). */
  readonly state?: string;
  /** Rows per page (default 1,000, at most 10,000). */
  readonly limit?: number;
  readonly cursor?: string;
}

export interface AlarmJournalRow {
  key: string;
  condition: string;
  state: string;
  previous: string;
  active: boolean;
  ts: number;
  severity: number;
  text: string;
  value: number | null;
  ackBy: string | null;
}

export interface AlarmJournalPage {
  /** Newest first. */
  rows: AlarmJournalRow[];
  next?: string;
}

export const HISTORY_LIMITS = Object.freeze({
  points: 100,
  buckets: 100_000,
  rawDefault: 10_000,
  rawMax: 100_000,
  journalDefault: 1_000,
  journalMax: 10_000,
});

const invalid = (message: string, field: string): DataCollError =>
  new DataCollError("invalid", message, field);

/** Epoch ms from a number, a string of digits, or an ISO 8601 time (with its zone; UTC if none). */
export function parseHistoryTime(raw: unknown, field: string): number {
  let ms = Number.NaN;
  if (typeof raw === "number") ms = raw;
  else if (raw instanceof Date) ms = raw.getTime();
  else if (typeof raw === "string" && /^-?\d+$/.test(raw.trim())) ms = Number(raw.trim());
  else if (typeof raw === "string" && /^\d{4}-\d{2}-\d{2}/.test(raw.trim())) {
    let s = raw.trim().replace(" ", "T");
    if (s.length === 10) s += "T00:00:00";
    // A time without a zone is read as UTC, as the tables hold UTC; Date would read it as local time.
    if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(s)) s += "Z";
    ms = Date.parse(s);
  }
  // Year 1000 to 9999: what DATETIME holds.
  if (!Number.isInteger(ms) || ms < -30_610_224_000_000 || ms > 253_402_300_799_999)
    throw invalid(
      `${field} must be epoch milliseconds or an ISO 8601 time (got ${JSON.stringify(raw)})`,
      field,
    );
  return ms;
}

function positiveInt(raw: unknown, field: string, max: number): number {
  const n = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : raw;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > max)
    throw invalid(`${field} must be a whole number from 1 to ${max} (got ${JSON.stringify(raw)})`, field);
  return n;
}

/** A list given as an array or as comma-separated text. */
function list(raw: unknown): unknown[] {
  if (Array.isArray(raw)) return raw as unknown[];
  if (typeof raw === "string")
    return raw
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
  return raw === undefined || raw === null ? [] : [raw];
}

function pointList(raw: unknown): string[] {
  const points = list(raw);
  if (points.length === 0) throw invalid("points must name at least one point key", "points");
  if (points.length > HISTORY_LIMITS.points)
    throw invalid(`points names at most ${HISTORY_LIMITS.points} point keys`, "points");
  for (const p of points)
    if (typeof p !== "string" || p === "" || p.length > 400)
      throw invalid(
        `each point key must be text of 1 to 400 characters (got ${JSON.stringify(p)})`,
        "points",
      );
  return [...new Set(points as string[])];
}

/** The fields a caller sends (query-string text, or a message's properties) as a checked HistoryQuery. */
export function readHistoryQuery(raw: Readonly<Record<string, unknown>>): HistoryQuery {
  const points = pointList(raw.points);
  const from = parseHistoryTime(raw.from, "from");
  const to = parseHistoryTime(raw.to, "to");
  if (to <= from) throw invalid("to must be later than from", "to");
  const q: { -readonly [K in keyof HistoryQuery]: HistoryQuery[K] } = { points, from, to };
  if (raw.step !== undefined && raw.step !== null && raw.step !== "") {
    q.step = positiveInt(raw.step, "step", Number.MAX_SAFE_INTEGER);
    if (Math.ceil((to - from) / q.step) > HISTORY_LIMITS.buckets)
      throw invalid(`from-to over step gives more than ${HISTORY_LIMITS.buckets} buckets`, "step");
  }
  if (raw.agg !== undefined && raw.agg !== null && raw.agg !== "") {
    const agg = list(raw.agg);
    for (const a of agg)
      if (!(AGGS as readonly unknown[]).includes(a))
        throw invalid(`agg takes ${AGGS.join(", ")} (got ${JSON.stringify(a)})`, "agg");
    q.agg = agg as Agg[];
  }
  if (raw.limit !== undefined && raw.limit !== null && raw.limit !== "")
    q.limit = positiveInt(raw.limit, "limit", HISTORY_LIMITS.rawMax);
  if (raw.cursor !== undefined && raw.cursor !== null && raw.cursor !== "") {
    if (typeof raw.cursor !== "string") throw invalid("cursor must be text", "cursor");
    readCursor(raw.cursor);
    q.cursor = raw.cursor;
  }
  return q;
}

/** A raw-rows cursor: for each point still to continue, the time of the last row already answered. */
function readCursor(cursor: string): Map<string, number> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw invalid("cursor is not one this API gave", "cursor");
  const out = new Map<string, number>();
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v !== "number" || !Number.isInteger(v))
      throw invalid("cursor is not one this API gave", "cursor");
    out.set(k, v);
  }
  return out;
}

function writeCursor(after: ReadonlyMap<string, number>): string {
  return Buffer.from(JSON.stringify(Object.fromEntries(after)), "utf8").toString("base64url");
}

// DATETIME(3) to epoch ms, by MySQL (see the header).
const MS = (col: string): string => `TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', ${col}) DIV 1000`;

const num = (v: unknown): number | undefined => {
  if (v === null || v === undefined) return undefined;
  const n = typeof v === "number" ? v : Number(v);
  return Number.isFinite(n) ? n : undefined;
};

function historyRow(r: SqlRow): HistoryRow {
  return {
    ts: num(r.ms) ?? 0,
    value: num(r.value) ?? null,
    text: typeof r.value_text === "string" ? r.value_text : null,
    quality: num(r.quality) ?? 0,
    cause: String(r.cause ?? ""),
  };
}

/** The last row of each point before `from`: one PK lookup per point. */
async function initialRows(
  source: HistorySource,
  points: readonly string[],
  from: number,
): Promise<Map<string, HistoryRow>> {
  const table = escapeId(source.historyTable);
  const sql =
    `SELECT ${MS("ts")} AS ms, value, value_text, quality, cause FROM ${table} ` +
    "WHERE point_key = ? AND ts < ? ORDER BY ts DESC LIMIT 1";
  const out = new Map<string, HistoryRow>();
  const at = sqlTime(from);
  await Promise.all(
    points.map(async (p) => {
      const rows = await source.select(sql, [p, at]);
      if (rows.length > 0) out.set(p, historyRow(rows[0]));
    }),
  );
  return out;
}

/**
 * The buckets of [from, to): those the per-minute roll-up covers (rollup.ts) from it, the rest (a step
 * or start not on whole minutes, the tail not rolled up yet, minutes late rows touched and not redone
 * yet) from the raw rows. The two meet on a bucket edge, so no bucket mixes them, and each gives the
 * same numbers for a bucket (the average up to rounding: sums of sums).
 */
async function bucketed(
  source: HistorySource,
  q: HistoryQuery,
  step: number,
): Promise<Map<string, HistoryBucket[]>> {
  const agg = new Set<Agg>(q.agg ?? AGGS);
  const edges = agg.has("first") || agg.has("last");
  const split = await rolledUpTo(source, q, step);
  const fromText = sqlTime(q.from);
  const splitText = sqlTime(split);
  const params = (p: string, a: string, b: string): SqlValue[] => [fromText, step * 1000, p, a, b];
  const rollup = rollupTableName(source.historyTable);
  // One statement per point and source, side by side on the pool: each a range of the primary key, which
  // the optimizer keeps to, where one statement over a list of points was seen to take twice as long.
  const asked: Promise<readonly SqlRow[]>[] = [];
  if (split > q.from && rollup !== undefined) {
    const sql = rollupBucketSql(rollup, edges);
    for (const p of q.points) asked.push(source.select(sql, params(p, fromText, splitText)));
  }
  if (split < q.to) {
    const sql = rawBucketSql(source.historyTable, edges);
    for (const p of q.points) asked.push(source.select(sql, params(p, splitText, sqlTime(q.to))));
  }
  const rows = (await Promise.all(asked)).flat();
  const out = new Map<string, HistoryBucket[]>();
  for (const r of rows) {
    const key = String(r.point_key);
    const b: HistoryBucket = {
      t: q.from + (num(r.bucket) ?? 0) * step,
      count: num(r.n) ?? 0,
      quality: num(r.q) ?? 0,
    };
    const put = (name: Agg, v: unknown): void => {
      const n = num(v);
      if (agg.has(name) && n !== undefined) b[name as "min"] = n;
    };
    put("min", r.mn);
    put("max", r.mx);
    // The roll-up carries the sum and count of the values, the raw rows their average.
    const nv = num(r.nv);
    put("avg", nv === undefined ? r.av : nv > 0 ? (num(r.sv) ?? 0) / nv : undefined);
    put("first", r.fv);
    put("last", r.lv);
    let list = out.get(key);
    if (list === undefined) out.set(key, (list = []));
    list.push(b);
  }
  for (const list of out.values()) list.sort((a, b) => a.t - b.t);
  return out;
}

/** The bucket SELECT over the raw rows of one point: parameters [from, step in µs, point, from, to]. */
function rawBucketSql(history: string, edges: boolean): string {
  const table = escapeId(history);
  // Grouped in one pass over the primary key's range of each point; the first and last rows are then
  // found by their key (point_key, ts), one lookup per bucket, instead of carrying every value along.
  const inner =
    `SELECT point_key, TIMESTAMPDIFF(MICROSECOND, ?, ts) DIV ? AS bucket, COUNT(*) AS n, ` +
    `MIN(value) AS mn, MAX(value) AS mx, AVG(value) AS av, BIT_OR(quality) AS q, MIN(ts) AS t0, MAX(ts) AS t1 ` +
    `FROM ${table} WHERE point_key = ? AND ts >= ? AND ts < ? ` +
    "GROUP BY point_key, bucket";
  return edges
    ? `SELECT b.*, f.value AS fv, l.value AS lv FROM (${inner}) b ` +
        `JOIN ${table} f ON f.point_key = b.point_key AND f.ts = b.t0 ` +
        `JOIN ${table} l ON l.point_key = b.point_key AND l.ts = b.t1`
    : inner;
}

/**
 * The bucket edge up to which the roll-up answers: `from` when it cannot (the step or the start is not
 * on whole minutes, there is no roll-up), else the last edge at or before where it stands, before the
 * first late range not yet redone, and before `to` (a cut last bucket is answered from the raw rows).
 */
async function rolledUpTo(source: HistorySource, q: HistoryQuery, step: number): Promise<number> {
  const rollup = rollupTableName(source.historyTable);
  if (rollup === undefined || step % ROLLUP_MS !== 0 || q.from % ROLLUP_MS !== 0 || q.from < 0) return q.from;
  const cover = await rollupCoverage((sql, params) => source.select(sql, params), rollup);
  if (cover === undefined) return q.from;
  const upTo = Math.min(cover.doneTo, q.to, cover.lateFrom ?? Number.POSITIVE_INFINITY);
  return q.from + Math.max(0, Math.floor((upTo - q.from) / step)) * step;
}

async function raw(
  source: HistorySource,
  q: HistoryQuery,
): Promise<{ rows: Map<string, HistoryRow[]>; cut: Map<string, number> }> {
  const limit = q.limit ?? HISTORY_LIMITS.rawDefault;
  const after = q.cursor === undefined ? undefined : readCursor(q.cursor);
  const table = escapeId(source.historyTable);
  const base = `SELECT ${MS("ts")} AS ms, value, value_text, quality, cause FROM ${table} WHERE point_key = ? `;
  const rows = new Map<string, HistoryRow[]>();
  const cut = new Map<string, number>();
  await Promise.all(
    q.points.map(async (p) => {
      if (after !== undefined && !after.has(p)) return rows.set(p, []);
      const resume = after?.get(p);
      // One more row than the page holds says whether there is more.
      const got =
        resume === undefined
          ? await source.select(base + "AND ts >= ? AND ts < ? ORDER BY ts LIMIT ?", [
              p,
              sqlTime(q.from),
              sqlTime(q.to),
              limit + 1,
            ])
          : await source.select(base + "AND ts > ? AND ts >= ? AND ts < ? ORDER BY ts LIMIT ?", [
              p,
              sqlTime(resume),
              sqlTime(q.from),
              sqlTime(q.to),
              limit + 1,
            ]);
      const list = got.slice(0, limit).map(historyRow);
      rows.set(p, list);
      if (got.length > limit) cut.set(p, list[list.length - 1].ts);
    }),
  );
  return { rows, cut };
}

/** Answer a HistoryQuery (checked by readHistoryQuery or built by code) from `source`'s history table. */
export async function queryHistory(source: HistorySource, q: HistoryQuery): Promise<HistoryResult> {
  const checked = readHistoryQuery(q as unknown as Record<string, unknown>);
  const initial = await initialRows(source, checked.points, checked.from);
  const result: HistoryResult = { from: checked.from, to: checked.to, series: [] };
  if (checked.step !== undefined) {
    result.step = checked.step;
    const buckets = await bucketed(source, checked, checked.step);
    for (const key of checked.points) {
      const s: HistorySeries = { key, buckets: buckets.get(key) ?? [] };
      const i = initial.get(key);
      if (i !== undefined) s.initial = i;
      result.series.push(s);
    }
    return result;
  }
  const { rows, cut } = await raw(source, checked);
  for (const key of checked.points) {
    const s: HistorySeries = { key, rows: rows.get(key) ?? [] };
    const i = initial.get(key);
    if (i !== undefined) s.initial = i;
    const last = cut.get(key);
    if (last !== undefined) s.next = writeCursor(new Map([[key, last]]));
    result.series.push(s);
  }
  if (cut.size > 0) result.next = writeCursor(cut);
  return result;
}

/** The fields a caller sends as a checked AlarmJournalQuery. */
export function readAlarmJournalQuery(raw: Readonly<Record<string, unknown>>): AlarmJournalQuery {
  const from = parseHistoryTime(raw.from, "from");
  const to = parseHistoryTime(raw.to, "to");
  if (to <= from) throw invalid("to must be later than from", "to");
  const q: { -readonly [K in keyof AlarmJournalQuery]: AlarmJournalQuery[K] } = { from, to };
  const text = (v: unknown, field: string, max: number): string | undefined => {
    if (v === undefined || v === null || v === "") return undefined;
    if (typeof v !== "string" || v.length > max)
      throw invalid(`${field} must be text of at most ${max} characters`, field);
    return v;
  };
  const point = text(raw.point, "point", 400);
  if (point !== undefined) q.point = point;
  const state = text(raw.state, "state", 16);
  if (state !== undefined) q.state = state;
  if (raw.limit !== undefined && raw.limit !== null && raw.limit !== "")
    q.limit = positiveInt(raw.limit, "limit", HISTORY_LIMITS.journalMax);
  const cursor = text(raw.cursor, "cursor", 2000);
  if (cursor !== undefined) {
    journalCursor(cursor);
    q.cursor = cursor;
  }
  return q;
}

interface JournalPosition {
  ts: number;
  key: string;
  condition: string;
  state: string;
}

function journalCursor(cursor: string): JournalPosition {
  let p: unknown;
  try {
    p = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    p = undefined;
  }
  const o = p as Partial<JournalPosition> | undefined;
  if (
    typeof o !== "object" ||
    o === null ||
    !Number.isInteger(o.ts) ||
    typeof o.key !== "string" ||
    typeof o.condition !== "string" ||
    typeof o.state !== "string"
  )
    throw invalid("cursor is not one this API gave", "cursor");
  return o as JournalPosition;
}

/** The alarm journal over [from, to), newest first, a page at a time. */
export async function queryAlarmJournal(
  source: HistorySource,
  query: AlarmJournalQuery,
): Promise<AlarmJournalPage> {
  const q = readAlarmJournalQuery(query as unknown as Record<string, unknown>);
  const limit = q.limit ?? HISTORY_LIMITS.journalDefault;
  const where = ["ts >= ?", "ts < ?"];
  const params: SqlValue[] = [sqlTime(q.from), sqlTime(q.to)];
  if (q.point !== undefined) {
    where.push("point_key = ?");
    params.push(q.point);
  }
  if (q.state !== undefined) {
    where.push("state = ?");
    params.push(q.state);
  }
  if (q.cursor !== undefined) {
    const c = journalCursor(q.cursor);
    // After the last row answered, in the order below: the whole primary key breaks ties of time.
    where.push("(ts, point_key, `condition`, state) < (?, ?, ?, ?)");
    params.push(sqlTime(c.ts), c.key, c.condition, c.state);
  }
  params.push(limit + 1);
  const sql =
    `SELECT point_key, \`condition\`, state, previous, active, ${MS("ts")} AS ms, severity, text, value, ack_by ` +
    `FROM ${escapeId(source.alarmsTable)} WHERE ${where.join(" AND ")} ` +
    "ORDER BY ts DESC, point_key DESC, `condition` DESC, state DESC LIMIT ?";
  const got = await source.select(sql, params);
  const rows = got.slice(0, limit).map((r): AlarmJournalRow => ({
    key: String(r.point_key),
    condition: String(r.condition),
    state: String(r.state),
    previous: String(r.previous),
    active: Boolean(num(r.active)),
    ts: num(r.ms) ?? 0,
    severity: num(r.severity) ?? 0,
    text: String(r.text ?? ""),
    value: num(r.value) ?? null,
    ackBy: typeof r.ack_by === "string" ? r.ack_by : null,
  }));
  const page: AlarmJournalPage = { rows };
  if (got.length > limit) {
    const last = rows[rows.length - 1];
    const pos: JournalPosition = { ts: last.ts, key: last.key, condition: last.condition, state: last.state };
    page.next = Buffer.from(JSON.stringify(pos), "utf8").toString("base64url");
  }
  return page;
}
