/**
 * MySQL history saving: rows per second through the batch writer against two baselines measured in the
 * same run on the same server, each into a fresh table of the same shape:
 * - `save_vs_per_row`: one awaited INSERT per row (what a flow of the usual MySQL node does). Goal >= 20x.
 * - `save_vs_bulk_limit`: a bare mysql2 loop of 1,000-row multi-row INSERTs on one connection, with the
 *   row arrays built before the clock starts — about as fast as this server takes rows. Goal >= 0.8x.
 * The writer is timed from the first write to the flush that has every row in MySQL, DataPoint to row
 * conversion included. The writer is set up as a save node sets it up, with the history table's
 * per-minute roll-up (rollup.ts): the rows are stamped from the time of the run, as live samples are, so
 * this is the live path (a batch of late rows also records its range; that is the backlog's path, not
 * this one). A fresh database is created for the run and dropped after.
 */
import mysql from "mysql2/promise";
import { BatchWriter } from "../src/core/history/batch-writer";
import { parseMysqlSettings } from "../src/core/history/mysql-settings";
import { rollupTableName } from "../src/core/history/rollup";
import { historyInsertSql, historyTableDdl, historyValues } from "../src/core/history/schema";
import { pointRow } from "../src/core/history/rows";
import { pointKey, type DataPoint } from "../src/core/model/datapoint";
import { median } from "./lib/measure";
import { createBenchDatabase } from "./lib/mysql-database";
import type { Benchmark, Figures } from "./lib/types";

const ROWS = 200_000;
const PER_ROW_ROWS = 2_000;
const REPEATS = 5;
const CHUNK = 1000;

/** A plant-like stream: 50 devices x 10 terms x 20 items, 1 ms apart, from `start`. */
function samples(n: number, start: number): DataPoint[] {
  return Array.from({ length: n }, (_, i) => {
    const d = `dev${i % 50}`;
    const t = `term${Math.floor(i / 50) % 10}`;
    const it = `item${Math.floor(i / 500) % 20}`;
    return {
      key: pointKey(d, t, it),
      deviceId: d,
      termId: t,
      itemId: it,
      value: Math.sin(i) * 100,
      ts: start + i,
      quality: {},
      cause: "poll",
    };
  });
}

async function seconds(fn: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const bench: Benchmark = {
  name: "mysql",
  async run(): Promise<Figures> {
    const db = await createBenchDatabase();
    const { access, database } = db;
    const conn = await mysql.createConnection({ ...access, database });
    const settings = parseMysqlSettings({ ...access, database });
    const ours: number[] = [];
    const bulk: number[] = [];
    const perRow: number[] = [];
    try {
      for (let r = 0; r < REPEATS; r++) {
        const base = Math.floor(Date.now() / 1000) * 1000 + r * 10_000_000;

        const writer = new BatchWriter({
          mysql: { settings },
          tables: { history: `ours_${r}` },
          rollupTable: rollupTableName(`ours_${r}`),
        });
        await writer.idle(); // tables created and backlog looked at before the clock starts
        const points = samples(ROWS, base);
        const oursS = await seconds(async () => {
          for (let i = 0; i < points.length; i += CHUNK) await writer.write(points.slice(i, i + CHUNK));
          const stats = await writer.flush();
          if (stats.written !== ROWS)
            throw new Error(`the writer wrote ${stats.written} of ${ROWS} rows: ${JSON.stringify(stats)}`);
        });
        await writer.close();
        ours.push(ROWS / oursS);

        await conn.query(historyTableDdl(`bulk_${r}`));
        const bulkSql = historyInsertSql(`bulk_${r}`);
        const arrays = samples(ROWS, base).map((p) => historyValues(pointRow(p)));
        const bulkS = await seconds(async () => {
          for (let i = 0; i < arrays.length; i += CHUNK)
            await conn.query(bulkSql, [arrays.slice(i, i + CHUNK)]);
        });
        bulk.push(ROWS / bulkS);

        await conn.query(historyTableDdl(`row_${r}`));
        const rowSql = `INSERT INTO ${mysql.escapeId(`row_${r}`)} (point_key, device_id, term_id, item_id, ts, value, value_text, quality, cause) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;
        const single = samples(PER_ROW_ROWS, base).map((p) => historyValues(pointRow(p)));
        const rowS = await seconds(async () => {
          for (const values of single) await conn.execute(rowSql, values);
        });
        perRow.push(PER_ROW_ROWS / rowS);
      }
    } finally {
      await conn.end();
      await db.drop();
    }
    const o = median(ours);
    const b = median(bulk);
    const p = median(perRow);
    return {
      save_vs_per_row: {
        value: o,
        unit: "rows/s",
        baseline: `one awaited INSERT per row: ${Math.round(p).toLocaleString("en-US")} rows/s`,
        ratio: o / p,
        goal: ">= 20x",
      },
      save_vs_bulk_limit: {
        value: o,
        unit: "rows/s",
        baseline: `bare 1,000-row INSERT loop: ${Math.round(b).toLocaleString("en-US")} rows/s`,
        ratio: o / b,
        goal: ">= 0.8x",
      },
    };
  },
};

export default bench;
