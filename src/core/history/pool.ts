/**
 * What the history writer needs from a MySQL pool, and no more: mysql2's pool fits it as it is, and a
 * test can hand the writer a fake that fails, hangs or refuses rows on cue, with no server.
 */
import type { Destroyable } from "./statement-timeout";
import type { SqlValue } from "./schema";

/** One pooled connection, held for one batch. */
export interface WriterConnection extends Destroyable {
  /**
   * A multi-row INSERT: `values` is `[rows]`, each row an array of column values (mutable: mysql2's
   * type); or one statement with plain parameters (the roll-up's late mark).
   */
  query(sql: string, values: SqlValue[][][] | SqlValue[]): Promise<unknown>;
  /** One custom-SQL statement with named placeholders. */
  execute(
    options: { readonly sql: string; readonly namedPlaceholders: boolean },
    values: Record<string, SqlValue>,
  ): Promise<unknown>;
  beginTransaction(): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  /** Hand the connection back, fit for the next batch. */
  release(): void;
}

export interface WriterPool {
  /** A statement without rows (the tables' DDL). */
  query(sql: string): Promise<unknown>;
  getConnection(): Promise<WriterConnection>;
  end(): Promise<void>;
}

/**
 * mysql2's end() sends QUIT on every connection and waits for it, including one still waiting for the
 * server's greeting: a MySQL that accepts and never answers (hung, or the far side of a half-open route)
 * then holds the end — and the node's close — for the whole connect timeout, past the 2 s a stop may
 * take. Such connections are cut here first. mysql2 has no public way to list them, so this reads its
 * pool's connection list (seen in mysql2 3.24) and does nothing if that shape is not there. Answers how
 * many were cut.
 */
function dropUnansweredConnects(pool: { end(): Promise<void> }): number {
  interface CoreConnection {
    authorized?: unknown;
    stream?: { destroy?: () => void };
  }
  const core = (pool as unknown as { pool?: { _allConnections?: { toArray?: () => unknown[] } } }).pool;
  const all = core?._allConnections?.toArray?.() ?? [];
  let dropped = 0;
  for (const c of all as CoreConnection[]) {
    if (c.authorized !== false || typeof c.stream?.destroy !== "function") continue;
    c.stream.destroy();
    dropped++;
  }
  return dropped;
}

/** End a pool without waiting for a server that never greeted it (see dropUnansweredConnects). */
export async function endPool(pool: { end(): Promise<void> }): Promise<void> {
  const dropped = dropUnansweredConnects(pool);
  try {
    await pool.end();
  } catch (err) {
    // A connect cut above fails the end, as it should; any other failure is the caller's.
    if (dropped === 0) throw err;
  }
}
