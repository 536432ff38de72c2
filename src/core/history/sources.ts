/**
 * The history sources running in this process, keyed by the id of the datacoll-save node that writes
 * them: a reader (the REST API's history route, the live view's trends) names a save node and reads the
 * tables it writes through the pool it already holds, rather than opening a second pool with settings
 * copied by hand. (The datacoll-history node names the datacoll-mysql config node instead and takes a
 * share of its pool, so a flow reads history where no save node runs.) A save node registers its source when it starts and removes
 * it when it closes, so a reader never reaches a pool that was ended.
 */
import type { SqlValue } from "./schema";

/** One row of a SELECT, column name to value, as mysql2 gives it. */
export type SqlRow = Readonly<Record<string, unknown>>;

export interface HistorySource {
  /** The datacoll-save node's id. */
  readonly id: string;
  /** Its name in the editor (or its id), for lists and messages. */
  readonly name: string;
  readonly historyTable: string;
  readonly alarmsTable: string;
  /** Run one parameterised SELECT and answer its rows; values travel as parameters, never in the text. */
  select(sql: string, params: readonly SqlValue[]): Promise<readonly SqlRow[]>;
}

/** What mysql2's promise pool (or a connection) offers for a SELECT. */
export interface SelectPool {
  query(sql: string, values: SqlValue[]): Promise<unknown>;
}

/** A source over a mysql2 pool: its query answers `[rows, fields]`. */
export function poolHistorySource(
  pool: SelectPool,
  about: { id: string; name: string; historyTable: string; alarmsTable: string },
): HistorySource {
  return {
    ...about,
    async select(sql, params) {
      const answer = await pool.query(sql, [...params]);
      const rows = Array.isArray(answer) ? (answer[0] as unknown) : undefined;
      return Array.isArray(rows) ? (rows as SqlRow[]) : [];
    },
  };
}

const running = new Map<string, HistorySource>();

/**
 * Make `source` findable by its id; answers the function that removes it. Removing only removes this
 * very source: a redeployed node of the same id that registered meanwhile keeps its own.
 */
export function registerHistorySource(source: HistorySource): () => void {
  running.set(source.id, source);
  return () => unregisterHistorySource(source);
}

export function unregisterHistorySource(source: HistorySource): void {
  if (running.get(source.id) === source) running.delete(source.id);
}

export function getHistorySource(id: string): HistorySource | undefined {
  return running.get(id);
}

/** Every running source, in the order they started. */
export function listHistorySources(): HistorySource[] {
  return [...running.values()];
}

/**
 * The source a reader names by save-node id or name; a blank name picks the only source running. The
 * answer says why there is none in words a user can act on.
 */
export function findHistorySource(
  nameOrId: string,
): { readonly source: HistorySource } | { readonly problem: string } {
  const wanted = nameOrId.trim();
  const all = listHistorySources();
  if (wanted === "") {
    if (all.length === 1) return { source: all[0] };
    return {
      problem:
        all.length === 0
          ? "no datacoll-save node is running to read history from"
          : `${all.length} datacoll-save nodes are running: name the one to read history from`,
    };
  }
  const byId = running.get(wanted);
  if (byId !== undefined) return { source: byId };
  const named = all.filter((s) => s.name === wanted);
  if (named.length === 1) return { source: named[0] };
  return {
    problem:
      named.length === 0
        ? `no running datacoll-save node is named ${JSON.stringify(wanted)}`
        : `${named.length} datacoll-save nodes are named ${JSON.stringify(wanted)}: name one by its id`,
  };
}
