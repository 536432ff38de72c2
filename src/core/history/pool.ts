/**
 * What the history writer needs from a MySQL pool, and no more: mysql2's pool fits it as it is, and a
 * test can hand the writer a fake that fails, hangs or refuses rows on cue, with no server.
 */
import type { Destroyable } from "./statement-timeout";
import type { SqlValue } from "./schema";

/** One pooled connection, held for one batch. */
export interface WriterConnection extends Destroyable {
  /** A multi-row INSERT: `values` is `[rows]`, each row an array of column values (mutable: mysql2's type). */
  query(sql: string, values: SqlValue[][][]): Promise<unknown>;
  /** One custom-SQL statement with named placeholders. */
  execute(
    options: { readonly sql: string; readonly namedPlaceholders: boolean },
    values: Record<string, SqlValue>,
  ): Promise<unknown>;
  beginTransaction(): Promise<void>;
  commit(): Promise<void>;
  /** Hand the connection back, fit for the next batch. */
  release(): void;
}

export interface WriterPool {
  /** A statement without rows (the tables' DDL). */
  query(sql: string): Promise<unknown>;
  getConnection(): Promise<WriterConnection>;
  end(): Promise<void>;
}
