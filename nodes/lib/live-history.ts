/**
 * The live view's history routes under the admin root, behind the editor's login like its other data
 * routes: the running history sources (datacoll-save nodes, each with its MySQL tables), the aggregated
 * history query the Trends page draws, and the alarm journal. Every query parameter is checked
 * (src/core/live/history-params.ts) and a wrong one answers 400 with the field named.
 */
import type { Request, RequestHandler, Response } from "express";
import { DataCollError, errorMessage } from "../../src/core/errors";
import { queryAlarmJournal, queryHistory } from "../../src/core/history/query";
import { getHistorySource, listHistorySources, type HistorySource } from "../../src/core/history/sources";
import {
  parseHistoryParams,
  parseJournalParams,
  sourceParam,
  type QueryParams,
} from "../../src/core/live/history-params";

/** The source asked for, or the only one running; else the error to answer. */
function chooseSource(q: QueryParams): HistorySource {
  const id = sourceParam(q);
  if (id !== undefined) {
    const source = getHistorySource(id);
    if (source === undefined)
      throw new DataCollError("not-found", `no history source ${id} is running`, "source");
    return source;
  }
  const all = listHistorySources();
  if (all.length === 0)
    throw new DataCollError(
      "not-found",
      "no history source is running: deploy a flow with a datacoll-save node",
    );
  if (all.length > 1) {
    throw new DataCollError(
      "invalid",
      `${all.length} history sources are running: choose one with source= (${all.map((s) => s.id).join(", ")})`,
      "source",
    );
  }
  return all[0];
}

function answerError(res: Response, err: unknown): void {
  if (err instanceof DataCollError && (err.code === "invalid" || err.code === "not-found")) {
    res.status(err.code === "invalid" ? 400 : 404).json({
      error: err.code,
      ...(err.field !== undefined ? { field: err.field } : {}),
      message: err.message,
    });
    return;
  }
  res.status(503).json({ error: "unavailable", message: errorMessage(err) });
}

/** Run `work` on the request's checked question; any failure, early or late, answers in the route's shape. */
function handle(work: (q: QueryParams) => Promise<unknown>): (req: Request, res: Response) => void {
  return (req, res) => {
    let pending: Promise<unknown>;
    try {
      pending = work(req.query as QueryParams);
    } catch (err) {
      return answerError(res, err);
    }
    pending.then(
      (body) => res.json(body),
      (err: unknown) => answerError(res, err),
    );
  };
}

export function registerHistoryRoutes(
  app: { get(path: string, ...handlers: RequestHandler[]): unknown },
  read: RequestHandler,
): void {
  app.get(
    "/datacoll/api/history/sources",
    read,
    handle(async () =>
      listHistorySources().map((s) => ({
        id: s.id,
        name: s.name,
        historyTable: s.historyTable,
        alarmsTable: s.alarmsTable,
      })),
    ),
  );
  app.get(
    "/datacoll/api/history",
    read,
    handle((q) => {
      const query = parseHistoryParams(q);
      return queryHistory(chooseSource(q), query);
    }),
  );
  app.get(
    "/datacoll/api/history/alarms",
    read,
    handle((q) => {
      const query = parseJournalParams(q);
      return queryAlarmJournal(chooseSource(q), query);
    }),
  );
}
