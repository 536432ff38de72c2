/**
 * The per-minute roll-up of the history table: for each point and UTC minute, the row count, the count,
 * sum, min and max of the numeric values, the OR of the quality bits, and the first and last row's time
 * and value. A week's chart of a point saved every second then reads 10,080 minute rows instead of
 * 604,800 raw ones (query.ts decides when it may), which MySQL alone cannot make fast: grouping the raw
 * rows has to read every one of them.
 *
 * The save node keeps it (save-controller.ts), never the insert path: a run rolls up the minutes that are
 * closed (older than CLOSED_AFTER_MS) and not rolled up yet, and rolls up again the minutes that late rows
 * touched. A row is late when its time is older than LATE_AFTER_MS at the moment it is written (a backlog
 * written after an outage, a device's buffered data): the batch writer then records the batch's time range
 * in the late table in the same transaction as the rows (markLateSql), so a range is recorded if and only
 * if its rows are in the table, whatever crashes. The gap between the two delays (two minutes) covers
 * clocks that differ between the Node-RED hosts sharing a table and a slow insert.
 *
 * Every run is a REPLACE-like upsert from a GROUP BY over the raw rows of whole minutes, so running it
 * twice, or over minutes already rolled up, changes nothing. It runs under the table's maintenance lock
 * (partitions.ts withTableLock), so of several save nodes on one table one works and the others skip.
 *
 * Where the roll-up stands is kept in a state table (`dc_rollup_state`: every minute before `done_to` is
 * rolled up, except ranges still in the late table), so any reader can tell which buckets it can answer.
 * The roll-up table is partitioned and retained like the history table.
 */
import { escapeId } from "mysql2";
import { withTableLock, type MaintenanceConnection, type MaintenancePool } from "./partitions";
import { sqlTime } from "./rows";
import type { SqlValue } from "./schema";

/** The roll-up's width: a query step that is a whole number of these can be answered from it. */
export const ROLLUP_MS = 60_000;
/** A minute is rolled up once it ended this long ago. */
export const CLOSED_AFTER_MS = 180_000;
/** A row older than this when written is late: its batch records its range for a second roll-up. */
export const LATE_AFTER_MS = 60_000;
/** Minutes rolled up by one statement: short statements, so writers and readers are not held long. */
const CHUNK_MS = 15 * ROLLUP_MS;
/**
 * Real time one run may spend advancing before it lets go of the lock and its pool connection: a first
 * run over years of history catches up over several runs instead of holding both for hours.
 */
const RUN_BUDGET_MS = 20_000;
/** Minutes one step of the advance covers (its statements are CHUNK_MS each). */
export const ADVANCE_MS = 4 * CHUNK_MS;
/** Late ranges taken by one run; the rest wait for the next. */
const LATE_PER_RUN = 1000;

export const ROLLUP_STATE_TABLE = "dc_rollup_state";
export const ROLLUP_LATE_TABLE = "dc_rollup_late";

const SUFFIX = "_1m";

/** The roll-up table of a history table, or undefined when the name would pass MySQL's 64 characters. */
export function rollupTableName(history: string): string | undefined {
  const name = `${history}${SUFFIX}`;
  return name.length <= 64 ? name : undefined;
}

/** `partitions`: a PARTITION BY clause (partitions.ts partitionClause), or empty for none. */
export function rollupTableDdl(table: string, partitions = ""): string {
  return `CREATE TABLE IF NOT EXISTS ${escapeId(table)} (
  point_key VARCHAR(400) NOT NULL,
  ts DATETIME(3) NOT NULL COMMENT 'UTC start of the minute',
  n INT UNSIGNED NOT NULL COMMENT 'rows',
  nv INT UNSIGNED NOT NULL COMMENT 'rows with a numeric value',
  sv DOUBLE NULL COMMENT 'sum of the numeric values',
  mn DOUBLE NULL,
  mx DOUBLE NULL,
  q TINYINT UNSIGNED NOT NULL COMMENT 'OR of the quality bits',
  t0 DATETIME(3) NOT NULL COMMENT 'time of the first row',
  fv DOUBLE NULL COMMENT 'value of the first row',
  t1 DATETIME(3) NOT NULL COMMENT 'time of the last row',
  lv DOUBLE NULL COMMENT 'value of the last row',
  PRIMARY KEY (point_key, ts)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin${partitions === "" ? "" : `\n${partitions}`}`;
}

const STATE_DDL = `CREATE TABLE IF NOT EXISTS ${ROLLUP_STATE_TABLE} (
  rollup_table VARCHAR(64) NOT NULL,
  done_to DATETIME(3) NOT NULL COMMENT 'UTC; every minute before is rolled up, but the late ranges',
  PRIMARY KEY (rollup_table)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;

const LATE_DDL = `CREATE TABLE IF NOT EXISTS ${ROLLUP_LATE_TABLE} (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  rollup_table VARCHAR(64) NOT NULL,
  from_ts DATETIME(3) NOT NULL COMMENT 'UTC, first row of a late batch',
  to_ts DATETIME(3) NOT NULL COMMENT 'UTC, last row of a late batch',
  PRIMARY KEY (id),
  KEY rollup_table (rollup_table, from_ts)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;

/** The roll-up table and the two small tables beside it, created when missing. */
export async function ensureRollupTables(
  pool: { query(sql: string): Promise<unknown> },
  rollupTable: string,
  partitions = "",
): Promise<void> {
  await pool.query(STATE_DDL);
  await pool.query(LATE_DDL);
  await pool.query(rollupTableDdl(rollupTable, partitions));
}

/** The statement the batch writer runs before a late batch, in its transaction: [table, from, to]. */
export function markLateSql(): string {
  return `INSERT INTO ${ROLLUP_LATE_TABLE} (rollup_table, from_ts, to_ts) VALUES (?, ?, ?)`;
}

// DATETIME(3) to epoch ms and back to the minute's start, by MySQL (times before 1970 are not rolled up).
const MS = (col: string): string => `TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', ${col}) DIV 1000`;
const MINUTE = (col: string): string =>
  `TIMESTAMPADD(MINUTE, TIMESTAMPDIFF(MINUTE, '1970-01-01 00:00:00', ${col}), '1970-01-01 00:00:00')`;

type Rows = readonly Readonly<Record<string, unknown>>[];
async function select(c: MaintenanceConnection, sql: string, values: SqlValue[]): Promise<Rows> {
  const answer = await c.query(sql, values);
  return (Array.isArray(answer) ? answer[0] : []) as Rows;
}

const floorMinute = (ms: number): number => Math.floor(ms / ROLLUP_MS) * ROLLUP_MS;
const num = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : Number(v));

/** Roll up [from, to) (whole minutes) of `history` into `rollup`, one chunk of minutes a statement. */
async function rollRange(
  c: MaintenanceConnection,
  history: string,
  rollup: string,
  from: number,
  to: number,
): Promise<void> {
  const h = escapeId(history);
  // The first and last values are found by their key (point_key, ts), one lookup per minute, as the
  // bucket query does; ON DUPLICATE KEY UPDATE makes a second run over a minute rewrite the same row.
  const sql =
    `INSERT INTO ${escapeId(rollup)} (point_key, ts, n, nv, sv, mn, mx, q, t0, fv, t1, lv) ` +
    "SELECT g.point_key, g.m, g.n, g.nv, g.sv, g.mn, g.mx, g.q, g.t0, f.value, g.t1, l.value FROM (" +
    `SELECT point_key, ${MINUTE("ts")} AS m, COUNT(*) AS n, COUNT(value) AS nv, SUM(value) AS sv, ` +
    "MIN(value) AS mn, MAX(value) AS mx, BIT_OR(quality) AS q, MIN(ts) AS t0, MAX(ts) AS t1 " +
    `FROM ${h} WHERE ts >= ? AND ts < ? GROUP BY point_key, m) g ` +
    `JOIN ${h} f ON f.point_key = g.point_key AND f.ts = g.t0 ` +
    `JOIN ${h} l ON l.point_key = g.point_key AND l.ts = g.t1 ` +
    "ON DUPLICATE KEY UPDATE n = VALUES(n), nv = VALUES(nv), sv = VALUES(sv), mn = VALUES(mn), " +
    "mx = VALUES(mx), q = VALUES(q), t0 = VALUES(t0), fv = VALUES(fv), t1 = VALUES(t1), lv = VALUES(lv)";
  for (let a = from; a < to; a += CHUNK_MS)
    await c.query(sql, [sqlTime(a), sqlTime(Math.min(a + CHUNK_MS, to))]);
}

/** Where the roll-up of `rollup` stands (epoch ms), or undefined before its first run. */
async function doneTo(c: MaintenanceConnection, rollup: string): Promise<number | undefined> {
  const [row] = await select(
    c,
    `SELECT ${MS("done_to")} AS ms FROM ${ROLLUP_STATE_TABLE} WHERE rollup_table = ?`,
    [rollup],
  );
  return num(row?.ms);
}

async function setDoneTo(c: MaintenanceConnection, rollup: string, ms: number): Promise<void> {
  await c.query(
    `INSERT INTO ${ROLLUP_STATE_TABLE} (rollup_table, done_to) VALUES (?, ?) ` +
      "ON DUPLICATE KEY UPDATE done_to = VALUES(done_to)",
    [rollup, sqlTime(ms)],
  );
}

/** Merge ranges (whole minutes) that touch or overlap, so a minute is rolled up once per run. */
function merge(ranges: readonly (readonly [number, number])[]): [number, number][] {
  const out: [number, number][] = [];
  for (const [a, b] of [...ranges].sort((x, y) => x[0] - y[0])) {
    const last = out[out.length - 1];
    if (last !== undefined && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** What one run did. */
export type RollupReport =
  | {
      readonly kind: "done";
      /** Where the roll-up stands now (epoch ms). */
      readonly doneTo: number;
      /** Minutes rolled up again for late rows. */
      readonly lateMinutes: number;
      /** The run stopped at its time budget with closed minutes left: run again soon. */
      readonly more: boolean;
    }
  | { readonly kind: "busy" };

/**
 * One roll-up run of `history` into `rollup` at `now`: late ranges first, then the closed minutes past
 * where the roll-up stands (from the oldest row on, at the first run). The tables must exist
 * (ensureRollupTables).
 */
export async function rollUp(
  pool: MaintenancePool,
  history: string,
  rollup: string,
  now: number,
  budgetMs = RUN_BUDGET_MS,
): Promise<RollupReport> {
  const closed = floorMinute(now - CLOSED_AFTER_MS);
  const started = performance.now();
  const report = await withTableLock(pool, rollup, async (c): Promise<RollupReport> => {
    let done = await doneTo(c, rollup);
    // Late rows: ranges recorded by writers whose rows are committed (the same transaction). Those
    // before `done` are rolled up again; those after it are rolled up by the advance below.
    const late = await select(
      c,
      `SELECT id, ${MS("from_ts")} AS a, ${MS("to_ts")} AS b FROM ${ROLLUP_LATE_TABLE} ` +
        "WHERE rollup_table = ? ORDER BY id LIMIT ?",
      [rollup, LATE_PER_RUN],
    );
    let lateMinutes = 0;
    if (late.length > 0) {
      const upTo = done ?? Number.NEGATIVE_INFINITY;
      const ranges = merge(
        late
          .map((r) => [floorMinute(Math.max(0, Number(r.a))), floorMinute(Number(r.b)) + ROLLUP_MS] as const)
          .map(([a, b]) => [a, Math.min(b, upTo)] as const)
          .filter(([a, b]) => a < b),
      );
      for (const [a, b] of ranges) {
        await rollRange(c, history, rollup, a, b);
        lateMinutes += (b - a) / ROLLUP_MS;
      }
      await c.query(`DELETE FROM ${ROLLUP_LATE_TABLE} WHERE rollup_table = ? AND id <= ?`, [
        rollup,
        Number(late[late.length - 1].id),
      ]);
    }
    let more = false;
    // The advance, a chunk at a time with the state saved after each, so an interrupted catch-up goes on
    // where it stopped; spans without rows are skipped by asking for the next row.
    for (;;) {
      const [next] = await select(
        c,
        `SELECT ${MS("MIN(ts)")} AS ms FROM ${escapeId(history)} WHERE ts >= ? AND ts < ?`,
        [sqlTime(Math.max(0, done ?? 0)), sqlTime(closed)],
      );
      const first = num(next?.ms);
      if (first === undefined) {
        if (done === undefined || done < closed) await setDoneTo(c, rollup, closed);
        done = Math.max(done ?? closed, closed);
        break;
      }
      const a = floorMinute(first);
      const b = Math.min(a + ADVANCE_MS, closed);
      await rollRange(c, history, rollup, a, b);
      await setDoneTo(c, rollup, b);
      done = b;
      // At least one chunk a run, so a run always makes progress however small the budget.
      if (b < closed && performance.now() - started > budgetMs) {
        more = true;
        break;
      }
    }
    return { kind: "done", doneTo: done ?? closed, lateMinutes, more };
  });
  return report === "busy" ? { kind: "busy" } : report;
}

/** What a reader needs to know to use the roll-up: where it stands and the late ranges not yet redone. */
export interface RollupCoverage {
  readonly doneTo: number;
  /** The earliest time of a late range not yet rolled up again, if any. */
  readonly lateFrom: number | undefined;
}

/** A SELECT as a history source runs it (sources.ts). */
export type RollupSelect = (sql: string, params: readonly SqlValue[]) => Promise<Rows>;

/**
 * Where the roll-up of `rollup` stands, for a reader; undefined when there is none (its tables were never
 * made: a saver with custom SQL, or from before roll-ups existed).
 */
export async function rollupCoverage(
  select: RollupSelect,
  rollup: string,
): Promise<RollupCoverage | undefined> {
  let rows: Rows;
  try {
    rows = await select(
      `SELECT ${MS("done_to")} AS done, (SELECT ${MS("MIN(from_ts)")} FROM ${ROLLUP_LATE_TABLE} ` +
        `WHERE rollup_table = ?) AS late FROM ${ROLLUP_STATE_TABLE} WHERE rollup_table = ?`,
      [rollup, rollup],
    );
  } catch (err) {
    // No roll-up tables: every bucket is answered from the raw rows, as before roll-ups.
    if ((err as { code?: unknown }).code === "ER_NO_SUCH_TABLE") return undefined;
    throw err;
  }
  const done = num(rows[0]?.done);
  return done === undefined ? undefined : { doneTo: done, lateFrom: num(rows[0]?.late) };
}

/**
 * The bucket SELECT over the roll-up of one point: parameters [from, step in µs, point, from, to], the
 * same as the raw one's, and the same columns but `nv` and `sv` in place of the average.
 */
export function rollupBucketSql(rollup: string, edges: boolean): string {
  const r = escapeId(rollup);
  const inner =
    "SELECT point_key, TIMESTAMPDIFF(MICROSECOND, ?, ts) DIV ? AS bucket, SUM(n) AS n, SUM(nv) AS nv, " +
    "SUM(sv) AS sv, MIN(mn) AS mn, MAX(mx) AS mx, BIT_OR(q) AS q, MIN(t0) AS t0, MAX(t1) AS t1 " +
    `FROM ${r} WHERE point_key = ? AND ts >= ? AND ts < ? GROUP BY point_key, bucket`;
  // The bucket's first row is the first row of the minute holding its earliest time: one key lookup.
  return edges
    ? `SELECT g.*, f.fv AS fv, l.lv AS lv FROM (${inner}) g ` +
        `JOIN ${r} f ON f.point_key = g.point_key AND f.ts = ${MINUTE("g.t0")} ` +
        `JOIN ${r} l ON l.point_key = g.point_key AND l.ts = ${MINUTE("g.t1")}`
    : inner;
}
