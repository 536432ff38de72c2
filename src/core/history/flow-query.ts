/**
 * History for flows: what the datacoll-history node does with a message, kept here so it can be tested
 * without Node-RED. The node's settings give defaults (points, how far back, step, aggregates, page size);
 * a message's properties override them one by one, and the merged fields go through the very checks the
 * REST route uses (readHistoryQuery, readAlarmJournalQuery in query.ts), so a flow and an HTTP client
 * accept and refuse the same input and get the same JSON back.
 */
import { DataCollError } from "../errors";
import {
  parseHistoryTime,
  queryAlarmJournal,
  queryHistory,
  readAlarmJournalQuery,
  readHistoryQuery,
  type AlarmJournalPage,
  type AlarmJournalQuery,
  type HistoryQuery,
  type HistoryResult,
} from "./query";
import type { HistorySource } from "./sources";

export type HistoryNodeMode = "history" | "journal";

/** The node's settings as the editor saves them (text fields as text). */
export interface HistoryNodeFields {
  readonly mode?: unknown;
  readonly points?: unknown;
  /** How far back from now a query reaches when the message names no `from`, in seconds. */
  readonly range?: unknown;
  readonly step?: unknown;
  readonly agg?: unknown;
  readonly limit?: unknown;
  /** Journal mode: only this point, only this state. */
  readonly point?: unknown;
  readonly state?: unknown;
}

/** Checked settings: `range` in ms; the other defaults stay as the caller's text, checked per query. */
export interface HistoryNodeSettings {
  readonly mode: HistoryNodeMode;
  readonly rangeMs: number;
  readonly defaults: Readonly<Record<string, unknown>>;
}

export const DEFAULT_RANGE_S = 3600;

const blank = (v: unknown): boolean => v === undefined || v === null || String(v).trim() === "";

/**
 * Check the node's settings once, at deploy, so a bad default shows on the node at once instead of with
 * the first message; a default that only a message can complete (no points) is left to the query.
 */
export function readHistoryNodeSettings(fields: HistoryNodeFields): HistoryNodeSettings {
  const mode = blank(fields.mode) ? "history" : String(fields.mode);
  if (mode !== "history" && mode !== "journal")
    throw new DataCollError(
      "invalid",
      `mode must be history or journal (got ${JSON.stringify(mode)})`,
      "mode",
    );
  let rangeS = DEFAULT_RANGE_S;
  if (!blank(fields.range)) {
    rangeS = Number(fields.range);
    if (!Number.isFinite(rangeS) || rangeS <= 0)
      throw new DataCollError(
        "invalid",
        `range must be a number of seconds above 0 (got ${JSON.stringify(fields.range)})`,
        "range",
      );
  }
  const defaults: Record<string, unknown> = {};
  for (const k of mode === "history" ? ["points", "step", "agg", "limit"] : ["point", "state", "limit"]) {
    const v = fields[k as keyof HistoryNodeFields];
    if (!blank(v)) defaults[k] = typeof v === "string" ? v.trim() : v;
  }
  const settings: HistoryNodeSettings = { mode, rangeMs: Math.round(rangeS * 1000), defaults };
  // The defaults alone, over a range ending now, must pass the route's checks (points aside).
  const now = Date.now();
  checkFields(settings, {
    from: now - settings.rangeMs,
    to: now,
    ...("points" in defaults ? {} : { points: "-" }),
  });
  return settings;
}

/** The message properties a query takes; anything else on the message is left alone. */
const MESSAGE_FIELDS: Readonly<Record<HistoryNodeMode, readonly string[]>> = {
  history: ["points", "from", "to", "step", "agg", "limit", "cursor"],
  journal: ["point", "state", "from", "to", "limit", "cursor"],
};

export type HistoryRequest =
  | { readonly mode: "history"; readonly query: HistoryQuery }
  | { readonly mode: "journal"; readonly query: AlarmJournalQuery };

function checkFields(settings: HistoryNodeSettings, fields: Record<string, unknown>): HistoryRequest {
  const merged = { ...settings.defaults, ...fields };
  return settings.mode === "history"
    ? { mode: "history", query: readHistoryQuery(merged) }
    : { mode: "journal", query: readAlarmJournalQuery(merged) };
}

/**
 * The query a message asks for: its own `points`, `from`, `to`, … where it has them (present and not
 * null), the node's defaults elsewhere; `to` defaults to `now` and `from` to `range` before `to`.
 */
export function historyRequest(
  settings: HistoryNodeSettings,
  msg: Readonly<Record<string, unknown>>,
  now: number,
): HistoryRequest {
  const given: Record<string, unknown> = {};
  for (const k of MESSAGE_FIELDS[settings.mode])
    if (msg[k] !== undefined && msg[k] !== null) given[k] = msg[k];
  if (given.to === undefined) given.to = now;
  // `from` follows a `to` the message gave, once it is known to be a time (the check below says so).
  // `from` is `range` before `to`; a `to` that is no time is refused here in the route's own words.
  if (given.from === undefined) given.from = parseHistoryTime(given.to, "to") - settings.rangeMs;
  return checkFields(settings, given);
}

export interface HistoryAnswer {
  /** The JSON the REST route answers for the same query. */
  readonly payload: HistoryResult | AlarmJournalPage;
  /** Buckets, raw rows or journal rows answered, over every series. */
  readonly count: number;
  readonly unit: "buckets" | "rows";
  /** The cursor of the next page, when this one was cut. */
  readonly next?: string;
  /** The query's range as answered, in epoch ms, so a page loop keeps its window. */
  readonly from: number;
  readonly to: number;
}

/** Answer `request` from `source`, with the counts the node's status shows. */
export async function answerHistoryRequest(
  source: HistorySource,
  request: HistoryRequest,
): Promise<HistoryAnswer> {
  const { from, to } = request.query;
  if (request.mode === "journal") {
    const page = await queryAlarmJournal(source, request.query);
    return { payload: page, count: page.rows.length, unit: "rows", next: page.next, from, to };
  }
  const result = await queryHistory(source, request.query);
  const stepped = result.step !== undefined;
  const count = result.series.reduce(
    (n, s) => n + (stepped ? (s.buckets?.length ?? 0) : (s.rows?.length ?? 0)),
    0,
  );
  return { payload: result, count, unit: stepped ? "buckets" : "rows", next: result.next, from, to };
}
