/**
 * The MySQL history over the API: `/v2/history` (buckets aggregated by MySQL, or raw rows by cursor) and
 * `/v2/alarm-journal`, both answered by the history query module (history/query.ts) from the tables of
 * the datacoll-save node the API node names. `/v1/…/datas` stays the older shape over Redis.
 */
import {
  AGGS,
  HISTORY_LIMITS,
  queryAlarmJournal,
  queryHistory,
  readAlarmJournalQuery,
  readHistoryQuery,
} from "../history/query";
import type { HistorySource } from "../history/sources";
import { RestError } from "./errors";
import { queryText, type Call, type Route } from "./route";
import { ref, TEXT } from "./schemas";

function sourceOf(c: Call): HistorySource {
  const found = c.ctx.history?.() ?? { problem: "this API node reads no history" };
  if ("problem" in found) throw new RestError(503, "unavailable", found.problem);
  return found.source;
}

/** The query string's fields by name (the first value of each). */
function fields(c: Call, names: readonly string[]): Record<string, string | undefined> {
  return Object.fromEntries(names.map((n) => [n, queryText(c.query, n)]));
}

const TIME = "epoch milliseconds or an ISO 8601 time (UTC when it names no zone)";

export function historyRoutes(): Route[] {
  return [
    {
      method: "GET",
      path: "/v2/history",
      legacy: false,
      tag: "history",
      summary:
        "MySQL history of points over [from, to): buckets of `step` ms aggregated by MySQL, or raw rows a page at a time",
      query: [
        {
          name: "points",
          description: `point keys, comma-separated (at most ${HISTORY_LIMITS.points})`,
          schema: TEXT,
        },
        { name: "from", description: `start, inclusive: ${TIME}`, schema: TEXT },
        { name: "to", description: `end, exclusive: ${TIME}`, schema: TEXT },
        {
          name: "step",
          description: `bucket width in ms (at most ${HISTORY_LIMITS.buckets} buckets); omitted: raw rows`,
          schema: TEXT,
        },
        {
          name: "agg",
          description: `aggregates, comma-separated: ${AGGS.join(", ")} (default all)`,
          schema: TEXT,
        },
        {
          name: "limit",
          description: `raw rows per point and page, 1 to ${HISTORY_LIMITS.rawMax} (default ${HISTORY_LIMITS.rawDefault})`,
          schema: TEXT,
        },
        {
          name: "cursor",
          description: "`next` of the previous page: only the points it names continue",
          schema: TEXT,
        },
      ],
      ok: { schema: ref("HistoryResult"), description: "one series per point, in the order asked" },
      errors: [503],
      handler: async (c) => {
        const q = readHistoryQuery(fields(c, ["points", "from", "to", "step", "agg", "limit", "cursor"]));
        return { body: await queryHistory(sourceOf(c), q) };
      },
    },
    {
      method: "GET",
      path: "/v2/alarm-journal",
      legacy: false,
      tag: "history",
      summary: "The alarm journal over [from, to) from MySQL, newest first: raises, clears, acknowledgements",
      query: [
        { name: "from", description: `start, inclusive: ${TIME}`, schema: TEXT },
        { name: "to", description: `end, exclusive: ${TIME}`, schema: TEXT },
        { name: "point", description: "only this point key", schema: TEXT },
        { name: "state", description: "only rows entering this state", schema: TEXT },
        {
          name: "limit",
          description: `rows per page, 1 to ${HISTORY_LIMITS.journalMax} (default ${HISTORY_LIMITS.journalDefault})`,
          schema: TEXT,
        },
        { name: "cursor", description: "`next` of the previous page", schema: TEXT },
      ],
      ok: {
        schema: ref("AlarmJournalPage"),
        description: "rows newest first, and `next` when there are more",
      },
      errors: [503],
      handler: async (c) => {
        const q = readAlarmJournalQuery(fields(c, ["from", "to", "point", "state", "limit", "cursor"]));
        return { body: await queryAlarmJournal(sourceOf(c), q) };
      },
    },
  ];
}
