/**
 * The live view's history questions, read from a request's query string: the Trends page's aggregated
 * history query and the Alarm journal's filters. The history module reads the fields themselves
 * (readHistoryQuery, readAlarmJournalQuery: times, step, aggregates, limits, cursors); this adds what a
 * page's address should not carry and that module leaves open — unknown parameters (a misspelt `stpe`
 * would otherwise be ignored silently), point keys that are not `device:term:item`, and alarm states the
 * state machine does not have. A wrong field is named in a DataCollError("invalid", …, field), which
 * the route answers as a 400 with that field.
 */
import { DataCollError } from "../errors";
import type { AlarmState } from "../check/alarm-state";
import {
  readAlarmJournalQuery,
  readHistoryQuery,
  type AlarmJournalQuery,
  type HistoryQuery,
} from "../history/query";
import { splitPointKey } from "../model/datapoint";

/** A query string as express parses it: text, repeated keys as arrays, `a[b]=c` as objects. */
export type QueryParams = Readonly<Record<string, unknown>>;

const STATES: readonly AlarmState[] = ["normal", "raised", "acked", "cleared-unacked", "shelved"];
// The Node-RED admin API accepts the login as a query parameter too (EventSource cannot send headers).
const ALWAYS_ALLOWED = ["access_token"];

function invalid(field: string, message: string): DataCollError {
  return new DataCollError("invalid", message, field);
}

function onlyKnown(q: QueryParams, known: readonly string[]): void {
  for (const field of Object.keys(q)) {
    if (!known.includes(field) && !ALWAYS_ALLOWED.includes(field))
      throw invalid(field, `unknown parameter ${field} (known: ${known.join(", ")})`);
  }
}

/** One text value of `field`, or undefined when absent; a repeated key or a nested one is refused. */
function text(q: QueryParams, field: string): string | undefined {
  const v = q[field];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw invalid(field, `${field} must be given once, as text`);
  return v;
}

function checkPointKey(raw: string, field: string): void {
  if (splitPointKey(raw) === undefined)
    throw invalid(field, `${JSON.stringify(raw)} is not a point key (device:term:item)`);
}

/** The history source (a datacoll-save node id) asked for; undefined means "the only one running". */
export function sourceParam(q: QueryParams): string | undefined {
  const raw = text(q, "source");
  return raw === undefined || raw === "" ? undefined : raw;
}

/** `source, points, from, to[, step, agg, limit, cursor]`: the Trends page's question. */
export function parseHistoryParams(q: QueryParams): HistoryQuery {
  onlyKnown(q, ["source", "points", "from", "to", "step", "agg", "limit", "cursor"]);
  for (const field of ["points", "from", "to", "step", "agg", "limit", "cursor"]) text(q, field);
  const query = readHistoryQuery(q);
  for (const p of query.points) checkPointKey(p, "points");
  return query;
}

/** `source, from, to[, point, state, limit, cursor]`: the Alarm journal's filters. */
export function parseJournalParams(q: QueryParams): AlarmJournalQuery {
  onlyKnown(q, ["source", "from", "to", "point", "state", "limit", "cursor"]);
  for (const field of ["from", "to", "point", "state", "limit", "cursor"]) text(q, field);
  const query = readAlarmJournalQuery(q);
  if (query.point !== undefined) checkPointKey(query.point, "point");
  if (query.state !== undefined && !STATES.some((s) => s === query.state))
    throw invalid(
      "state",
      `unknown alarm state ${JSON.stringify(query.state)} (known: ${STATES.join(", ")})`,
    );
  return query;
}
