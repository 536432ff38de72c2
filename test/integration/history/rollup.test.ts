/**
 * The per-minute roll-up on the real MariaDB: buckets answered from it (wholly, or up to where it stands
 * with the raw rows after) equal what the test computes itself from the rows, first, last and count
 * included; late rows written by the batch writer are marked with their batch and rolled up again,
 * and until then the buckets they touch come from the raw rows; a run is idempotent and steps aside
 * when another process holds the table's lock.
 */
import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import { BatchWriter } from "../../../src/core/history/batch-writer";
import { createMysqlPool } from "../../../src/core/history/mysql-settings";
import { queryHistory } from "../../../src/core/history/query";
import {
  ADVANCE_MS,
  CLOSED_AFTER_MS,
  ensureRollupTables,
  ROLLUP_LATE_TABLE,
  ROLLUP_MS,
  rollUp,
  rollupTableName,
} from "../../../src/core/history/rollup";
import { qualityFromBits, sqlTime } from "../../../src/core/history/rows";
import { historyTableDdl } from "../../../src/core/history/schema";
import { poolHistorySource, type HistorySource } from "../../../src/core/history/sources";
import type { SqlValue } from "../../../src/core/history/schema";
import type { DataPoint } from "../../../src/core/model/datapoint";
import { ManualClock } from "../../../src/transport/manual-clock";
import { assertBuckets, expectedBuckets, rng, type Inserted } from "../../support-history/buckets";
import { createTestDatabase, testSettings, type TestDatabase } from "../../support-history/mysql";

const T0 = Date.UTC(2026, 11, 1, 0, 0, 0, 0);
const HOUR = 3_600_000;
const HISTORY = "ru_history";
const ROLLUP = rollupTableName(HISTORY) ?? "";
const DENSE = "ru:t1:dense";
const SPARSE = "ru:t1:sparse";
const TEXT = "ru:t1:text";
const MIXED = "ru:t1:mixed";
const POINTS = [DENSE, SPARSE, TEXT, MIXED];

function dataPoint(r: Inserted): DataPoint {
  const [deviceId, termId, itemId] = r.key.split(":");
  return {
    key: r.key,
    deviceId,
    termId,
    itemId,
    value: r.value ?? r.text,
    ts: r.ts,
    quality: qualityFromBits(r.quality),
    cause: "poll",
  };
}

describe("history roll-up (MariaDB)", function () {
  this.timeout(60_000);
  let db: TestDatabase;
  let pool: mysql.Pool;
  let source: HistorySource;
  /** The SQL the source ran, to tell which table answered. */
  const asked: string[] = [];
  const rows: Inserted[] = [];

  before(async function () {
    db = await createTestDatabase("dc_ru");
    await db.admin.query(historyTableDdl(HISTORY));
    const r = rng(104);
    // Dense: about one row a second for two hours, with holes, odd milliseconds and a bad-quality stretch.
    for (let s = 0; s < 7200; s++) {
      if (r() < 0.15) continue;
      rows.push({
        key: DENSE,
        ts: T0 + s * 1000 + Math.floor(r() * 1000),
        value: Math.round((r() * 200 - 100) * 1000) / 1000,
        text: null,
        quality: s > 1000 && s < 1100 ? 0x40 : 0,
      });
    }
    for (const [ms, v] of [
      [-60_000, 7],
      [900_000, 9],
      [2_400_123, 11],
      [5_000_000, 13],
    ] as const)
      rows.push({ key: SPARSE, ts: T0 + ms, value: v, text: null, quality: 0 });
    for (let s = 0; s < 7200; s += 300)
      rows.push({ key: TEXT, ts: T0 + s * 1000, value: null, text: `s${s}`, quality: 0x80 });
    // Text and numbers in one point: a bucket's first or last row may be text while others hold values.
    for (let s = 0; s < 7200; s += 7)
      rows.push(
        s % 3 === 0
          ? { key: MIXED, ts: T0 + s * 1000, value: null, text: "x", quality: 0x10 }
          : { key: MIXED, ts: T0 + s * 1000, value: s, text: null, quality: 0 },
      );
    const values = rows.map((x) => {
      const [d, t, i] = x.key.split(":");
      return [x.key, d, t, i, sqlTime(x.ts), x.value, x.text, x.quality, "poll"];
    });
    for (let i = 0; i < values.length; i += 1000)
      await db.admin.query(
        `INSERT INTO ${HISTORY} (point_key, device_id, term_id, item_id, ts, value, value_text, quality, cause) VALUES ?`,
        [values.slice(i, i + 1000)],
      );
    pool = createMysqlPool(testSettings(db.name));
    await ensureRollupTables(pool, ROLLUP);
    const inner = poolHistorySource(pool, {
      id: "ru",
      name: "ru",
      historyTable: HISTORY,
      alarmsTable: "ru_alarms",
    });
    source = {
      ...inner,
      select(sql: string, params: readonly SqlValue[]) {
        asked.push(sql);
        return inner.select(sql, params);
      },
    };
  });
  after(async function () {
    await pool?.end();
    await db?.drop();
  });

  /** Ask both ways (the roll-up where it may, and raw rows only) and hold both to the computed buckets. */
  async function check(from: number, to: number, step: number): Promise<{ rolled: boolean; raw: boolean }> {
    asked.length = 0;
    const res = await queryHistory(source, { points: POINTS, from, to, step });
    const used = {
      rolled: asked.some((s) => s.includes(`\`${ROLLUP}\``)),
      raw: asked.some((s) =>
        s.includes(`FROM \`${HISTORY}\` WHERE point_key = ? AND ts >= ? AND ts < ? GROUP`),
      ),
    };
    for (const s of res.series)
      assertBuckets(s.buckets ?? [], expectedBuckets(rows, s.key, from, to, step), `${s.key} step ${step}`);
    return used;
  }

  /** A writer as a saver sets it up, its clock at `now`. */
  function lateWriter(now: number): BatchWriter {
    return new BatchWriter({
      mysql: { settings: testSettings(db.name) },
      tables: { history: HISTORY, alarms: "ru_alarms" },
      rollupTable: ROLLUP,
      clock: new ManualClock(now),
    });
  }

  async function lateMarks(): Promise<number> {
    const [r] = await db.admin.query<mysql.RowDataPacket[]>(
      `SELECT COUNT(*) AS n FROM ${ROLLUP_LATE_TABLE} WHERE rollup_table = ?`,
      [ROLLUP],
    );
    return Number(r[0].n);
  }

  it("answers from the raw rows before the first run", async function () {
    const used = await check(T0, T0 + 2 * HOUR, 600_000);
    assert.deepEqual(used, { rolled: false, raw: true });
  });

  it("rolls up the closed minutes and answers whole buckets from them, the rest from the raw rows", async function () {
    // Closed up to one hour in: the second hour is the tail not rolled up yet.
    const report = await rollUp(pool, HISTORY, ROLLUP, T0 + HOUR + CLOSED_AFTER_MS);
    assert.deepEqual(report, { kind: "done", doneTo: T0 + HOUR, lateMinutes: 0, more: false });
    for (const step of [60_000, 600_000, 1_200_000])
      assert.deepEqual(await check(T0, T0 + 2 * HOUR, step), { rolled: true, raw: true }, `step ${step}`);
    assert.deepEqual(await check(T0, T0 + HOUR, 600_000), { rolled: true, raw: false });
    // A cut last bucket, a start off the minute, a step that is not whole minutes: raw rows there.
    assert.deepEqual(await check(T0, T0 + HOUR - 1, 600_000), { rolled: true, raw: true });
    assert.deepEqual(await check(T0 + 1234, T0 + HOUR, 600_000), { rolled: false, raw: true });
    assert.deepEqual(await check(T0, T0 + HOUR, 90_000), { rolled: false, raw: true });
  });

  it("catches up to the closed minutes and changes nothing when run again", async function () {
    const now = T0 + 3 * HOUR;
    const first = await rollUp(pool, HISTORY, ROLLUP, now);
    assert.equal(first.kind === "done" && first.doneTo, T0 + 3 * HOUR - CLOSED_AFTER_MS);
    const sum = async (): Promise<unknown> => (await db.admin.query(`CHECKSUM TABLE ${ROLLUP}`))[0];
    const before = await sum();
    const again = await rollUp(pool, HISTORY, ROLLUP, now);
    assert.equal(again.kind === "done" && again.lateMinutes, 0);
    assert.deepEqual(await sum(), before);
    assert.deepEqual(await check(T0 - HOUR, T0 + 2 * HOUR, 600_000), { rolled: true, raw: false });
  });

  it("rolls up again the minutes late rows touched, and answers them from the raw rows until then", async function () {
    const writer = lateWriter(T0 + 3 * HOUR);
    try {
      // A backlog after an outage: new rows in rolled-up minutes, and one row written again with another
      // value (the same key), which moves that minute's min, max and last.
      const late: Inserted[] = [];
      for (let s = 0; s < 120; s++)
        late.push({
          key: SPARSE,
          ts: T0 + 1_500_000 + s * 1000 + 17,
          value: 100 + s,
          text: null,
          quality: 1,
        });
      const dense = rows.filter((x) => x.key === DENSE && x.ts >= T0 + 600_000).slice(0, 1)[0];
      const rewritten = { ...dense, value: 1e6 };
      await writer.write([...late, rewritten].map(dataPoint));
      await writer.flush();
      rows.splice(rows.indexOf(dense), 1, rewritten);
      rows.push(...late);
      assert.ok((await lateMarks()) > 0, "the late batch left its range");
      // Before the roll-up redoes them, the buckets from the first late minute on come from the raw rows.
      assert.deepEqual(await check(T0, T0 + 2 * HOUR, 600_000), { rolled: true, raw: true });
      const report = await rollUp(pool, HISTORY, ROLLUP, T0 + 3 * HOUR);
      assert.ok(report.kind === "done" && report.lateMinutes >= 3, JSON.stringify(report));
      assert.equal(await lateMarks(), 0);
      assert.deepEqual(await check(T0, T0 + 2 * HOUR, 600_000), { rolled: true, raw: false });
      assert.deepEqual(await check(T0, T0 + 2 * HOUR, 60_000), { rolled: true, raw: false });
    } finally {
      await writer.close();
    }
  });

  it("writes fresh batches without a late mark, and leaves none for a late row MySQL refused", async function () {
    const now = T0 + 3 * HOUR;
    const writer = lateWriter(now);
    try {
      const fresh: Inserted = { key: DENSE, ts: now - 1000, value: 1, text: null, quality: 0 };
      await writer.write([dataPoint(fresh)]);
      await writer.flush();
      assert.equal(await lateMarks(), 0);
      rows.push(fresh);
      // Text longer than the column holds: refused for its content, alone, after its batch was halved.
      const bad = { ...dataPoint({ key: TEXT, ts: T0 + 60_500, value: null, text: null, quality: 0 }) };
      const good: Inserted = { key: TEXT, ts: T0 + 61_500, value: null, text: "late", quality: 0 };
      await writer.write([dataPoint(good), { ...bad, value: "y".repeat(300) }]);
      await writer.flush();
      rows.push(good);
      assert.equal(writer.stats().deadLetters, 1);
      const [marks] = await db.admin.query<mysql.RowDataPacket[]>(
        `SELECT TIMESTAMPDIFF(MICROSECOND, '1970-01-01', from_ts) DIV 1000 AS a FROM ${ROLLUP_LATE_TABLE}`,
      );
      assert.deepEqual(
        marks.map((m) => Number(m.a)),
        [good.ts],
      );
      await rollUp(pool, HISTORY, ROLLUP, now);
      assert.deepEqual(await check(T0, T0 + HOUR, ROLLUP_MS * 5), { rolled: true, raw: false });
    } finally {
      await writer.close();
    }
  });

  it("catches up a step at a time when its time budget is spent, each run making progress", async function () {
    const table = "ru_budget_1m";
    await ensureRollupTables(pool, table);
    const stands: number[] = [];
    for (;;) {
      const r = await rollUp(pool, HISTORY, table, T0 + 2 * HOUR + CLOSED_AFTER_MS, 0);
      assert.equal(r.kind, "done");
      if (r.kind !== "done") break;
      stands.push(r.doneTo);
      if (!r.more) break;
    }
    // The oldest row is a minute before T0; each run rolls one step on from there.
    const first = T0 - ROLLUP_MS;
    assert.deepEqual(stands, [first + ADVANCE_MS, first + 2 * ADVANCE_MS, T0 + 2 * HOUR]);
  });

  it("steps aside while another process holds the table's lock", async function () {
    const other = await db.admin.query<mysql.RowDataPacket[]>(
      "SELECT GET_LOCK(CONCAT('dc_parts:', SHA1(CONCAT(DATABASE(), '.', ?))), 0) AS got",
      [ROLLUP],
    );
    assert.equal(Number(other[0][0].got), 1);
    try {
      assert.deepEqual(await rollUp(pool, HISTORY, ROLLUP, T0 + 4 * HOUR), { kind: "busy" });
    } finally {
      await db.admin.query("DO RELEASE_LOCK(CONCAT('dc_parts:', SHA1(CONCAT(DATABASE(), '.', ?))))", [
        ROLLUP,
      ]);
    }
  });
});
