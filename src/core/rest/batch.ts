/**
 * Many registry writes as one all-or-nothing step (the v2 batch forms and the CSV import): every row is
 * first read with the model (reporting every row that is wrong, not only the first), then all rows go to
 * the registry as one batch in dependency order — applied atomically, or not at all, with the row that
 * failed reported.
 */
import { DataCollError, errorMessage } from "../errors";
import { parseDevice } from "../model/device";
import { parseTerm } from "../model/term";
import { parseItem } from "../model/item";
import { parsePoint } from "../model/point";
import { parseFormula } from "../model/formula";
import { BatchStepError, type Registry, type RegistryView, type WriteMode } from "../store/registry";
import { Slicer } from "../slicer";
import { checkFormulaRecord, getRecord, type RecordKind } from "./entities";

export type BatchKind = RecordKind;

/** Writes are applied in this order so that every reference exists before it is used. */
const ORDER: readonly BatchKind[] = ["device", "item", "term", "point", "formula"];

export interface BatchRow {
  readonly kind: BatchKind;
  /** Where the row came from, for the report: an index into the request, or a CSV line number. */
  readonly row: number;
  readonly raw: unknown;
}

export interface RowProblem {
  readonly row: number;
  /** "unknown" when the row's kind itself is what is wrong. */
  readonly kind: BatchKind | "unknown";
  readonly id?: string;
  readonly error: string;
  readonly field?: string;
  readonly message: string;
}

export type BatchResult =
  | {
      readonly ok: true;
      readonly written: readonly { kind: BatchKind; id: string; op: "create" | "update" }[];
    }
  | { readonly ok: false; readonly status: number; readonly problems: readonly RowProblem[] };

function idOf(kind: BatchKind, raw: unknown): string {
  switch (kind) {
    case "device":
      return parseDevice(raw).id;
    case "term":
      return parseTerm(raw).id;
    case "item":
      return parseItem(raw).id;
    case "point":
      return parsePoint(raw).key;
    case "formula":
      checkFormulaRecord(raw);
      return parseFormula(raw).id;
  }
}

function problem(row: BatchRow, err: unknown, id?: string): RowProblem {
  const base = { row: row.row, kind: row.kind, ...(id === undefined ? {} : { id }) };
  if (err instanceof DataCollError) {
    return {
      ...base,
      error: err.code,
      ...(err.field === undefined ? {} : { field: err.field }),
      message: err.message,
    };
  }
  return { ...base, error: "internal", message: errorMessage(err) };
}

function statusFor(problems: readonly RowProblem[]): number {
  if (problems.every((p) => p.error === "conflict")) return 409;
  if (problems.every((p) => p.error === "not-found")) return 404;
  return 400;
}

/** Read every row with the model: each row's id, and every row that is wrong (ids given twice too). */
export async function checkRows(
  rows: readonly BatchRow[],
): Promise<{ ids: string[]; problems: RowProblem[] }> {
  const problems: RowProblem[] = [];
  const ids: string[] = [];
  const seen = new Map<string, number>();
  const slicer = new Slicer();
  for (const row of rows) {
    try {
      const id = idOf(row.kind, row.raw);
      const k = `${row.kind}\u0000${id}`;
      const first = seen.get(k);
      if (first !== undefined) {
        problems.push({
          row: row.row,
          kind: row.kind,
          id,
          error: "conflict",
          field: "id",
          message: `${row.kind} ${id} is given twice (also in row ${first})`,
        });
      } else seen.set(k, row.row);
      ids.push(id);
    } catch (err) {
      problems.push(problem(row, err));
      ids.push("");
    }
    await slicer.tick();
  }
  return { ids, problems };
}

/** Rows refused before anything is planned: ids a create batch finds taken. */
class RowsRefused extends Error {
  constructor(readonly problems: readonly RowProblem[]) {
    super(`${problems.length} rows refused`);
  }
}

/** What an upsert stores for a row whose record exists: the row completed by the record as stored. */
export type Complete = (row: BatchRow, stored: Readonly<Record<string, unknown>>) => unknown;

/**
 * Write every row or none. `create` refuses ids that exist (409), `upsert` creates or updates — with
 * `complete`, an existing record is merged with its row rather than replaced. Rows of one request may
 * refer to each other (a term to a device created by the same batch). Which rows exist, and what a merge
 * starts from, is read inside the atomic step, so the report says what the write really did and a merge
 * never lays its row over a stale copy.
 */
export async function writeAll(
  registry: Registry,
  rows: readonly BatchRow[],
  mode: WriteMode,
  complete?: Complete,
): Promise<BatchResult> {
  const { ids, problems } = await checkRows(rows);
  if (problems.length > 0) return { ok: false, status: statusFor(problems), problems };
  const order = rows
    .map((_, i) => i)
    .sort((a, b) => ORDER.indexOf(rows[a].kind) - ORDER.indexOf(rows[b].kind) || a - b);
  let before: boolean[] = [];
  try {
    await registry.transact(async (view) => {
      before = await existing(view, rows, ids);
      if (mode === "create") {
        const taken = rows.flatMap((r, i): RowProblem[] =>
          before[i]
            ? [
                {
                  row: r.row,
                  kind: r.kind,
                  id: ids[i],
                  error: "conflict",
                  field: "id",
                  message: `${r.kind} ${ids[i]} already exists`,
                },
              ]
            : [],
        );
        if (taken.length > 0) throw new RowsRefused(taken);
      }
      const raws = await Promise.all(
        rows.map(async (r, i) => {
          const stored = complete && before[i] ? await getRecord(view, r.kind, ids[i]) : undefined;
          return stored && complete ? complete(r, stored) : r.raw;
        }),
      );
      return order.map((i) => ({ op: "put", kind: rows[i].kind, raw: raws[i], mode }));
    });
  } catch (err) {
    if (err instanceof RowsRefused) return { ok: false, status: 409, problems: err.problems };
    if (!(err instanceof BatchStepError)) throw err;
    const i = order[err.index];
    const p = problem(rows[i], err.reason, ids[i]);
    return { ok: false, status: statusFor([p]), problems: [p] };
  }
  return {
    ok: true,
    written: rows.map((r, i) => ({
      kind: r.kind,
      id: ids[i],
      op: before[i] ? "update" : "create",
    })),
  };
}

/** Whether each row's record exists, read a kind at a time. */
async function existing(
  view: RegistryView,
  rows: readonly BatchRow[],
  ids: readonly string[],
): Promise<boolean[]> {
  const out: boolean[] = rows.map(() => false);
  for (const kind of ORDER) {
    const at = rows.flatMap((r, i) => (r.kind === kind ? [i] : []));
    const found = await view.exists(
      kind,
      at.map((i) => ids[i]),
    );
    at.forEach((i, j) => (out[i] = found[j]));
  }
  return out;
}
