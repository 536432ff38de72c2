/**
 * Time partitions on the real MariaDB: a new table made with its periods ahead, more prepared as time
 * passes, the oldest dropped past retention while a writer keeps writing (no write fails, no row outside
 * the dropped periods lost), a populated unpartitioned table migrated without losing a row (or left
 * alone and told), and one maintainer at a time per table.
 */
import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import { BatchWriter } from "../../../src/core/history/batch-writer";
import { createMysqlPool } from "../../../src/core/history/mysql-settings";
import {
  maintainTable,
  partitionClause,
  readLayout,
  type PartitionPolicy,
} from "../../../src/core/history/partitions";
import { SharedMysqlPool } from "../../../src/core/history/pool-share";
import { sqlTime } from "../../../src/core/history/rows";
import { SaveController, type SaveNotice } from "../../../src/core/history/save-controller";
import { historyTableDdl } from "../../../src/core/history/schema";
import type { DataPoint } from "../../../src/core/model/datapoint";
import { until } from "../../support/net";
import { createTestDatabase, testSettings, type TestDatabase } from "../../support-history/mysql";

const DAY = 86_400_000;
const D0 = Date.UTC(2026, 10, 1);

function dp(key: string, value: number, ts: number): DataPoint {
  const [deviceId, termId, itemId] = key.split(":");
  return { key, deviceId, termId, itemId, value, ts, quality: {}, cause: "poll" };
}

const day = (policy: Partial<PartitionPolicy> = {}): PartitionPolicy => ({
  unit: "day",
  ahead: 3,
  retentionDays: 0,
  migrate: false,
  ...policy,
});

describe("history partitions (MariaDB)", function () {
  let db: TestDatabase;
  let pool: mysql.Pool;

  before(async function () {
    db = await createTestDatabase("dc_parts");
    pool = createMysqlPool(testSettings(db.name));
  });
  after(async function () {
    await pool?.end();
    await db?.drop();
  });

  async function names(table: string): Promise<string[]> {
    const c = await pool.getConnection();
    try {
      const layout = await readLayout(c, table);
      return layout.kind === "ranges" ? layout.parts.map((p) => p.name) : [layout.kind];
    } finally {
      c.release();
    }
  }

  async function insertDays(
    table: string,
    key: string,
    first: number,
    days: number,
    perDay: number,
  ): Promise<void> {
    const [d, t, i] = key.split(":");
    const rows = [];
    for (let n = 0; n < days; n++)
      for (let k = 0; k < perDay; k++)
        rows.push([key, d, t, i, sqlTime(first + n * DAY + k * 60_000), n * 1000 + k, null, 0, "poll"]);
    await db.admin.query(
      `INSERT INTO ${mysql.escapeId(table)} (point_key, device_id, term_id, item_id, ts, value, value_text, quality, cause) VALUES ?`,
      [rows],
    );
  }

  it("creates a table with its periods ahead and prepares more as time passes", async function () {
    await db.admin.query(historyTableDdl("pa_h", partitionClause(day(), D0 + 5 * 3_600_000)));
    assert.deepEqual(await names("pa_h"), ["p20261101", "p20261102", "p20261103", "p20261104", "pmax"]);
    const report = await maintainTable(pool, "pa_h", day(), D0 + 2 * DAY + 1);
    assert.deepEqual(report, { kind: "done", table: "pa_h", added: ["p20261105", "p20261106"], dropped: [] });
    assert.deepEqual(await names("pa_h"), [
      "p20261101",
      "p20261102",
      "p20261103",
      "p20261104",
      "p20261105",
      "p20261106",
      "pmax",
    ]);
    // By month, the same way.
    await db.admin.query(historyTableDdl("pa_m", partitionClause({ ...day(), unit: "month", ahead: 2 }, D0)));
    assert.deepEqual(await names("pa_m"), ["p202611", "p202612", "p202701", "pmax"]);
  });

  it("drops the periods past retention while a writer writes, losing no other row", async function () {
    await db.admin.query(historyTableDdl("pr_h", partitionClause(day(), D0)));
    await insertDays("pr_h", "old:t:v", D0, 4, 100);
    let now = D0 + 5 * DAY;
    const writer = new BatchWriter({
      mysql: { pool },
      tables: { history: "pr_h", alarms: "pr_a" },
      maxDelayMs: 5,
      batchSize: 200,
      // A fake time of day (the partition days) on real timers: the writer's own batching delay, not a
      // wait of the test; the test waits on rows.
      clock: {
        now: () => now,
        setTimer: (fn, ms) => setTimeout(fn, ms),
        clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
      },
    });
    let written = 0;
    let maintenanceDone = false;
    let afterMaintenance = 0;
    // Rows of "now" land in pmax until maintenance splits the days out of it, while it drops old days.
    const writing = (async () => {
      while (!maintenanceDone || afterMaintenance < 5) {
        const batch = Array.from({ length: 50 }, (_, k) => dp("new:t:v", written + k, now + written + k));
        const outcome = await writer.write(batch);
        assert.equal(outcome.dropped + outcome.invalid, 0);
        written += batch.length;
        if (maintenanceDone) afterMaintenance++;
        await writer.flush();
      }
    })();
    await until(() => written >= 500, 20_000, "rows written before maintenance");
    const report = await maintainTable(pool, "pr_h", day({ retentionDays: 3 }), now);
    maintenanceDone = true;
    await writing;
    const stats = await writer.flush();
    await writer.close();
    now = 0;
    assert.equal(report.kind, "done");
    assert.deepEqual(report.kind === "done" ? report.dropped : [], ["p20261101", "p20261102"]);
    assert.equal(stats.deadLetters, 0);
    assert.equal(stats.written, written);
    const [newRows] = await db.admin.query<mysql.RowDataPacket[]>(
      "SELECT COUNT(*) AS n, SUM(value) AS s FROM pr_h WHERE point_key = 'new:t:v'",
    );
    assert.equal(Number(newRows[0].n), written);
    assert.equal(Number(newRows[0].s), (written * (written - 1)) / 2);
    const [old] = await db.admin.query<mysql.RowDataPacket[]>(
      "SELECT DATE_FORMAT(ts, '%Y-%m-%d') AS d, COUNT(*) AS n FROM pr_h WHERE point_key = 'old:t:v' GROUP BY d ORDER BY d",
    );
    assert.deepEqual(
      old.map((r) => [r.d, Number(r.n)]),
      [
        ["2026-11-03", 100],
        ["2026-11-04", 100],
      ],
    );
    assert.deepEqual((await names("pr_h")).slice(0, 2), ["p20261103", "p20261104"]);
  });

  it("migrates a populated unpartitioned table only when told, keeping every row", async function () {
    await db.admin.query(historyTableDdl("pm_h"));
    await insertDays("pm_h", "m:t:v", D0 - 20 * DAY, 30, 200);
    const before = await db.admin.query<mysql.RowDataPacket[]>(
      "SELECT COUNT(*) AS n, SUM(value) AS s, MIN(ts) AS a, MAX(ts) AS b FROM pm_h",
    );
    const left = await maintainTable(pool, "pm_h", day(), D0 + 10 * DAY);
    assert.deepEqual(left, { kind: "skipped", table: "pm_h", why: "unpartitioned" });
    assert.deepEqual(await names("pm_h"), ["unpartitioned"]);
    const migrated = await maintainTable(pool, "pm_h", day({ migrate: true }), D0 + 10 * DAY);
    // From the oldest row's day to three days past "now", plus pmax.
    assert.deepEqual(migrated, { kind: "migrated", table: "pm_h", partitions: 20 + 10 + 4 + 1 });
    const parts = await names("pm_h");
    assert.equal(parts[0], "p20261012");
    assert.equal(parts[parts.length - 2], "p20261114");
    const after = await db.admin.query<mysql.RowDataPacket[]>(
      "SELECT COUNT(*) AS n, SUM(value) AS s, MIN(ts) AS a, MAX(ts) AS b FROM pm_h",
    );
    assert.deepEqual(after[0], before[0]);
    assert.equal(Number(after[0][0].n), 6000);
  });

  it("reads every kind of table, and leaves alone one partitioned otherwise", async function () {
    assert.deepEqual(await names("pk_none"), ["missing"]);
    const columns =
      "(point_key VARCHAR(64) NOT NULL, ts DATETIME(3) NOT NULL, value DOUBLE NULL, PRIMARY KEY (point_key, ts))";
    await db.admin.query(
      `CREATE TABLE pk_days ${columns} PARTITION BY RANGE (TO_DAYS(ts)) ` +
        "(PARTITION p0 VALUES LESS THAN (740000), PARTITION p1 VALUES LESS THAN MAXVALUE)",
    );
    await db.admin.query(`CREATE TABLE pk_hash ${columns} PARTITION BY KEY (point_key) PARTITIONS 3`);
    const c = await pool.getConnection();
    try {
      assert.deepEqual(await readLayout(c, "pk_days"), { kind: "foreign", method: "RANGE(to_days(ts))" });
      assert.deepEqual(await readLayout(c, "pk_hash"), { kind: "foreign", method: "KEY(point_key)" });
    } finally {
      c.release();
    }
    const before = await db.admin.query<mysql.RowDataPacket[]>("SHOW CREATE TABLE pk_days");
    assert.deepEqual(await maintainTable(pool, "pk_days", day({ retentionDays: 1 }), D0 + 9 * DAY), {
      kind: "skipped",
      table: "pk_days",
      why: "foreign",
      method: "RANGE(to_days(ts))",
    });
    const after = await db.admin.query<mysql.RowDataPacket[]>("SHOW CREATE TABLE pk_days");
    assert.deepEqual(after[0], before[0]);
  });

  it("gives its pool connection back with the lock let go and the lock wait as it was", async function () {
    await db.admin.query(historyTableDdl("pr_h", partitionClause(day(), D0)));
    // One connection in the pool, so the one maintenance used is the one asked after.
    const one = createMysqlPool(testSettings(db.name, { poolSize: 1 }));
    try {
      const [[was]] = await one.query<mysql.RowDataPacket[]>("SELECT @@SESSION.lock_wait_timeout AS t");
      const report = await maintainTable(one, "pr_h", day(), D0 + 2 * DAY);
      assert.equal(report.kind, "done");
      const [[now]] = await one.query<mysql.RowDataPacket[]>(
        "SELECT @@SESSION.lock_wait_timeout AS t, " +
          "IS_FREE_LOCK(CONCAT('dc_parts:', SHA1(CONCAT(DATABASE(), '.', 'pr_h')))) AS free",
      );
      assert.deepEqual({ t: Number(now.t), free: Number(now.free) }, { t: Number(was.t), free: 1 });
    } finally {
      await one.end();
    }
  });

  it("lets one maintainer at a time alter a table", async function () {
    await db.admin.query(historyTableDdl("pl_h", partitionClause(day(), D0)));
    const holder = await pool.getConnection();
    try {
      const [got] = await holder.query<mysql.RowDataPacket[]>(
        "SELECT GET_LOCK(CONCAT('dc_parts:', SHA1(CONCAT(DATABASE(), '.', ?))), 0) AS got",
        ["pl_h"],
      );
      assert.equal(Number(got[0].got), 1);
      assert.deepEqual(await maintainTable(pool, "pl_h", day(), D0 + 9 * DAY), {
        kind: "busy",
        table: "pl_h",
      });
      assert.equal((await names("pl_h")).length, 5);
    } finally {
      await holder.query("DO RELEASE_LOCK(CONCAT('dc_parts:', SHA1(CONCAT(DATABASE(), '.', ?))))", ["pl_h"]);
      holder.release();
    }
    const report = await maintainTable(pool, "pl_h", day(), D0 + 9 * DAY);
    assert.equal(report.kind === "done" ? report.added.length : 0, 9);
  });

  it("has a save node make its tables partitioned and tell of an unpartitioned one it leaves alone", async function () {
    await db.admin.query(historyTableDdl("ps_old"));
    const shared = new SharedMysqlPool(testSettings(db.name));
    const share = shared.acquire();
    const notices: SaveNotice[] = [];
    const controller = new SaveController({
      share,
      saverId: "parts-s1",
      fields: { maxDelay: "10", historyTable: "ps_old", alarmsTable: "ps_alarms", partition: "day" },
      onNotice: (n) => notices.push(n),
      onDeadLetters: () => undefined,
      onStatus: () => undefined,
    });
    try {
      await controller.writePoints([dp("s:t:v", 1, Date.now())]);
      await until(() => notices.some((n) => n.code === "partitions"), 10_000, "the partition notice");
      assert.deepEqual(
        notices.filter((n) => n.code === "partitions"),
        [{ code: "partitions", report: { kind: "skipped", table: "ps_old", why: "unpartitioned" } }],
      );
      // The alarms table did not exist: the writer made it, partitioned by day.
      await until(async () => (await names("ps_alarms")).length > 1, 10_000, "the alarms table");
      assert.equal((await names("ps_alarms")).at(-1), "pmax");
    } finally {
      await controller.close(true);
      await share.release();
    }
  });
});
