/**
 * The historian: both figures against their baseline in the same run, on tables of the bench's own in a
 * fresh database dropped after.
 * - `query_buckets_vs_raw`: 7 days of 1 s history of 10 points (6,048,000 rows) asked as 600 s buckets
 *   (1,008 per point: the step near 1,000 buckets that is a whole number of roll-up minutes) with every
 *   aggregate, by queryHistory against a SELECT of the same raw rows aggregated in JS into the same
 *   buckets. queryHistory answers from the per-minute roll-up (rollup.ts), built first by the saver's own
 *   roll-up code: `rollup_build` is the time that took, reported apart (no ratio) because a roll-up is
 *   paid for once, as the rows come in, not per query. Goal >= 20x.
 * - `retention_vs_delete`: one day's partition dropped by the save node's maintenance call against a
 *   DELETE of the same day's rows from an identical table; three days one after the other, the median
 *   of each side, each timed statement started once InnoDB caught up with the writes before it.
 *   Goal >= 100x.
 * - `retention_fs_unlink`: what of a drop is the file system's, no ratio: when the server's data
 *   directory is on this machine (@@datadir readable here, as with the test server), the time to unlink a
 *   copy of one remaining day's partition file there, median of three. A drop removes that file; the
 *   figure says how much of the drop's time no SQL can save.
 * Rows are made inside the server (INSERT … SELECT over a digits cross join), not sent over the wire.
 */
import fs from "node:fs";
import path from "node:path";
import mysql from "mysql2/promise";
import { createMysqlPool, parseMysqlSettings } from "../src/core/history/mysql-settings";
import { maintainTable, partitionClause, type PartitionPolicy } from "../src/core/history/partitions";
import { queryHistory, type HistoryBucket } from "../src/core/history/query";
import { CLOSED_AFTER_MS, ensureRollupTables, rollUp, rollupTableName } from "../src/core/history/rollup";
import { sqlTime } from "../src/core/history/rows";
import { historyTableDdl } from "../src/core/history/schema";
import { poolHistorySource } from "../src/core/history/sources";
import { median } from "./lib/measure";
import { createBenchDatabase } from "./lib/mysql-database";
import type { Benchmark, Figures } from "./lib/types";

const DAY = 86_400_000;
const DAYS = 7;
const POINTS = 10;
const START = Date.UTC(2026, 10, 1);
/** 600 s: 1,008 buckets over 7 days, each a whole number of roll-up minutes. */
const STEP = 600_000;
const BUCKETS = (DAYS * DAY) / STEP;
/** Days removed one at a time by both sides of retention_vs_delete. */
const RETENTION_REPEATS = 3;

async function seconds(fn: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** One row a second for `days` days from `start` for each point, made by the server. */
async function fill(conn: mysql.Connection, table: string, start: number, days: number): Promise<void> {
  for (let p = 0; p < POINTS; p++)
    for (let d = 0; d < days; d++)
      await conn.query(
        `INSERT INTO ${mysql.escapeId(table)} (point_key, device_id, term_id, item_id, ts, value, value_text, quality, cause) ` +
          "SELECT ?, 'b', 't', ?, TIMESTAMPADD(SECOND, n, ?), SIN(n / 600) * 100 + ?, NULL, 0, 'poll' FROM " +
          "(SELECT a.i + 10 * b.i + 100 * c.i + 1000 * e.i + 10000 * f.i AS n FROM digits a, digits b, digits c, digits e, digits f) s " +
          "WHERE n < 86400",
        [`b:t:p${p}`, `p${p}`, sqlTime(start + d * DAY), p],
      );
}

/**
 * Wait until InnoDB has caught up with earlier writes: checkpoint age under a quarter of its limit and
 * under a tenth of the buffer pool dirty (MariaDB's status names; a server without them counts as caught
 * up). The bench's own bulk writes (the baseline table's copy, a DELETE and its purge) would otherwise
 * leave flushing behind that the next timed statement of either side waits for. Gives up after a minute
 * on a server others keep busy; answers the seconds waited and whether it caught up.
 */
async function settle(conn: mysql.Connection): Promise<string> {
  const t0 = Date.now();
  for (;;) {
    const [rows] = await conn.query<mysql.RowDataPacket[]>(
      "SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_checkpoint_age', 'Innodb_checkpoint_max_age', " +
        "'Innodb_buffer_pool_pages_dirty', 'Innodb_buffer_pool_pages_total')",
    );
    const v = new Map(rows.map((r) => [String(r.Variable_name).toLowerCase(), Number(r.Value)]));
    const age = v.get("innodb_checkpoint_age") ?? 0;
    const dirty = v.get("innodb_buffer_pool_pages_dirty") ?? 0;
    const caughtUp =
      age <= (v.get("innodb_checkpoint_max_age") ?? 0) / 4 &&
      dirty <= (v.get("innodb_buffer_pool_pages_total") ?? 0) / 10;
    const waited = (Date.now() - t0) / 1000;
    if (caughtUp) return `${waited.toFixed(0)} s`;
    if (waited >= 60) return `${waited.toFixed(0)} s, not caught up`;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

type Unlink =
  | { readonly kind: "measured"; readonly seconds: number; readonly file: string; readonly bytes: number }
  | { readonly kind: "skipped"; readonly why: string };

/**
 * Seconds to unlink a copy of the largest of `table`'s partition files in the server's data directory,
 * median of three; skipped, with why, when that directory is not on this machine (or not readable).
 */
async function unlinkSeconds(conn: mysql.Connection, database: string, table: string): Promise<Unlink> {
  const [[row]] = await conn.query<mysql.RowDataPacket[]>("SELECT @@datadir AS dir");
  const dir = path.join(String(row.dir), database);
  let files: string[];
  try {
    files = fs.readdirSync(dir).filter((f) => f.startsWith(`${table}#P#`) && f.endsWith(".ibd"));
  } catch (err) {
    return {
      kind: "skipped",
      why: `the server's data directory ${dir} is not readable here (${(err as Error).message})`,
    };
  }
  if (files.length === 0) return { kind: "skipped", why: `no partition file of ${table} in ${dir}` };
  const sized = files
    .map((f) => ({ f, size: fs.statSync(path.join(dir, f)).size }))
    .sort((a, b) => b.size - a.size);
  const source = path.join(dir, sized[0].f);
  const copy = path.join(dir, "dc_bench_unlink_probe.tmp");
  const times: number[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      fs.copyFileSync(source, copy);
      const fd = fs.openSync(copy, "r+");
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      times.push(await seconds(async () => fs.unlinkSync(copy)));
    }
  } finally {
    fs.rmSync(copy, { force: true });
  }
  return { kind: "measured", seconds: median(times), file: sized[0].f, bytes: sized[0].size };
}

/** What a client does without us: every row over the wire, buckets made in JS. */
async function rawBuckets(conn: mysql.Connection, table: string, from: number, to: number): Promise<number> {
  const step = STEP;
  let buckets = 0;
  for (let p = 0; p < POINTS; p++) {
    const [rows] = await conn.query<mysql.RowDataPacket[]>(
      `SELECT ts, value, quality FROM ${mysql.escapeId(table)} WHERE point_key = ? AND ts >= ? AND ts < ? ORDER BY ts`,
      [`b:t:p${p}`, sqlTime(from), sqlTime(to)],
    );
    const out = new Map<number, HistoryBucket>();
    for (const r of rows) {
      const ts = (r.ts as Date).getTime();
      const v = r.value as number;
      const t = from + Math.floor((ts - from) / step) * step;
      const b = out.get(t);
      if (b === undefined)
        out.set(t, { t, count: 1, min: v, max: v, avg: v, first: v, last: v, quality: r.quality as number });
      else {
        b.avg = ((b.avg ?? 0) * b.count + v) / (b.count + 1);
        b.count++;
        b.min = Math.min(b.min ?? v, v);
        b.max = Math.max(b.max ?? v, v);
        b.last = v;
        b.quality |= r.quality as number;
      }
    }
    buckets += out.size;
  }
  return buckets;
}

const bench: Benchmark = {
  name: "history",
  async run(): Promise<Figures> {
    const db = await createBenchDatabase();
    const { access, database } = db;
    const conn = await mysql.createConnection({ ...access, database, timezone: "Z" });
    const pool = createMysqlPool(parseMysqlSettings({ ...access, database }));
    try {
      await conn.query("CREATE TABLE digits (i TINYINT PRIMARY KEY)");
      await conn.query("INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)");
      const policy: PartitionPolicy = { unit: "day", ahead: 1, retentionDays: DAYS, migrate: false };

      // query_buckets_vs_raw
      await conn.query(historyTableDdl("bench_h", partitionClause(policy, START)));
      await maintainTable(pool, "bench_h", policy, START + (DAYS - 1) * DAY);
      const loadS = await seconds(() => fill(conn, "bench_h", START, DAYS));
      const [[count]] = await conn.query<mysql.RowDataPacket[]>("SELECT COUNT(*) AS n FROM bench_h");
      const rows = Number(count.n);
      // The roll-up as a saver makes it: its tables, then runs until every closed minute is in (each run
      // stops at its time budget, as the saver's do).
      const rollup = rollupTableName("bench_h") ?? "";
      await ensureRollupTables(pool, rollup, partitionClause(policy, START));
      await maintainTable(pool, rollup, policy, START + (DAYS - 1) * DAY);
      const rollupS = await seconds(async () => {
        for (;;) {
          const r = await rollUp(pool, "bench_h", rollup, START + DAYS * DAY + CLOSED_AFTER_MS);
          if (r.kind !== "done") throw new Error(`roll-up: ${JSON.stringify(r)}`);
          if (!r.more) break;
        }
      });
      const from = START;
      const to = START + DAYS * DAY;
      const source = poolHistorySource(pool, {
        id: "bench",
        name: "bench",
        historyTable: "bench_h",
        alarmsTable: "bench_a",
      });
      const points = Array.from({ length: POINTS }, (_, p) => `b:t:p${p}`);
      let ourBuckets = 0;
      const oursS = await seconds(async () => {
        const r = await queryHistory(source, { points, from, to, step: STEP });
        ourBuckets = r.series.reduce((n, s) => n + (s.buckets?.length ?? 0), 0);
      });
      let theirBuckets = 0;
      const rawS = await seconds(async () => {
        theirBuckets = await rawBuckets(conn, "bench_h", from, to);
      });
      if (ourBuckets !== POINTS * BUCKETS || theirBuckets !== ourBuckets)
        throw new Error(`buckets: ours ${ourBuckets}, raw ${theirBuckets}, wanted ${POINTS * BUCKETS}`);

      // retention_vs_delete: the same days' rows, by partition and by DELETE, from two equal tables; one
      // day at a time (as retention removes them), each day a repetition of both sides, median of each,
      // each timed statement started once InnoDB caught up with the writes before it (settle()).
      await conn.query(historyTableDdl("bench_del", partitionClause(policy, START)));
      await conn.query("INSERT INTO bench_del SELECT * FROM bench_h WHERE ts < ?", [
        sqlTime(START + RETENTION_REPEATS * DAY),
      ]);
      // Periods ahead prepared first, so the timed runs only drop.
      await maintainTable(pool, "bench_h", policy, START + DAYS * DAY + 1);
      const dropS: number[] = [];
      const deleteS: number[] = [];
      const dayRows: number[] = [];
      const waits: string[] = [];
      for (let d = 1; d <= RETENTION_REPEATS; d++) {
        waits.push(await settle(conn));
        dropS.push(
          await seconds(async () => {
            const r = await maintainTable(
              pool,
              "bench_h",
              { ...policy, retentionDays: DAYS - d },
              START + DAYS * DAY + 1,
            );
            if (r.kind !== "done" || r.dropped.length !== 1) throw new Error(`dropped: ${JSON.stringify(r)}`);
          }),
        );
        waits.push(await settle(conn));
        deleteS.push(
          await seconds(async () => {
            const [r] = await conn.query<mysql.ResultSetHeader>("DELETE FROM bench_del WHERE ts < ?", [
              sqlTime(START + d * DAY),
            ]);
            dayRows.push(r.affectedRows);
          }),
        );
      }
      if (dayRows.some((n) => n !== POINTS * 86_400)) throw new Error(`rows a day: ${dayRows.join(", ")}`);
      const dropRate = median(dayRows.map((n, i) => n / dropS[i]));
      const deleteRate = median(dayRows.map((n, i) => n / deleteS[i]));
      const unlink = await unlinkSeconds(conn, database, "bench_h");
      const list = (xs: number[], digits: number): string => xs.map((x) => x.toFixed(digits)).join(", ");
      console.log(
        `history: ${rows.toLocaleString("en-US")} rows made in ${loadS.toFixed(1)} s; ` +
          `roll-up built in ${rollupS.toFixed(1)} s; buckets ${oursS.toFixed(3)} s vs raw ${rawS.toFixed(3)} s; ` +
          `drop of a day (${dayRows[0].toLocaleString("en-US")} rows) ${list(dropS, 4)} s vs DELETE ${list(deleteS, 2)} s ` +
          `(InnoDB caught up before each, drop and DELETE in turn, after ${waits.join("; ")}); ` +
          (unlink.kind === "skipped"
            ? `unlink of a partition file not measured: ${unlink.why}`
            : `unlink of a copy of ${unlink.file} (${unlink.bytes} octets) in the data directory ${(unlink.seconds * 1000).toFixed(1)} ms`),
      );
      return {
        query_buckets_vs_raw: {
          value: rows / oursS,
          unit: "rows summarised/s",
          baseline: `raw SELECT + JS aggregation: ${Math.round(rows / rawS).toLocaleString("en-US")} rows/s (${rawS.toFixed(1)} s)`,
          ratio: rawS / oursS,
          goal: ">= 20x",
        },
        rollup_build: {
          value: rows / rollupS,
          unit: "rows rolled up/s",
          baseline: `${rollupS.toFixed(1)} s for the 7 days by the saver's roll-up code; paid once, not per query`,
        },
        retention_vs_delete: {
          value: dropRate,
          unit: "rows removed/s",
          baseline: `DELETE of the same day: ${Math.round(deleteRate).toLocaleString("en-US")} rows/s (${list(deleteS, 2)} s; drops ${list(dropS, 3)} s)`,
          ratio: dropRate / deleteRate,
          goal: ">= 100x",
        },
        ...(unlink.kind === "skipped"
          ? {}
          : {
              retention_fs_unlink: {
                value: unlink.seconds * 1000,
                unit: "ms to unlink one day's partition file",
                baseline: `${(unlink.bytes / 1048576).toFixed(0)} MB (${unlink.file}) on the server's file system; the drops took ${list(
                  dropS.map((x) => x * 1000),
                  1,
                )} ms`,
              },
            }),
      };
    } finally {
      await pool.end();
      await conn.end();
      await db.drop();
    }
  },
};

export default bench;
