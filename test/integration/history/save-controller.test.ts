/**
 * The save node's logic without Node-RED, against the real MariaDB: rows saved, alarms saved, dead
 * letters handed on, a registry point's own save settings applied, and an outage told by its true cause
 * — a server that answers and refuses (an unknown database) apart from no server at all (a closed port)
 * and from a refused statement (a missing table) — while the rows wait in the backlog and are written
 * once the cause is put right, or parked for the next saver of the same id across a redeploy.
 */
import assert from "node:assert/strict";
import net from "node:net";
import mysql from "mysql2/promise";
import type { AlarmTransition } from "../../../src/core/check/checker";
import { SharedMysqlPool, type PoolShare } from "../../../src/core/history/pool-share";
import { SaveController, type SaveNotice } from "../../../src/core/history/save-controller";
import type { SaveFields } from "../../../src/core/history/save-settings";
import { Manager } from "../../../src/core/manager";
import { parseManagerSettings } from "../../../src/core/manager-config";
import type { DataPoint } from "../../../src/core/model/datapoint";
import { freePort, until } from "../../support/net";
import { uniqueDatabase } from "../../support/services";
import {
  createTestDatabase,
  rowsOnceCreated,
  testSettings,
  type TestDatabase,
} from "../../support-history/mysql";

const T0 = Date.UTC(2026, 11, 6, 8, 0, 0, 0);

function dp(key: string, value: DataPoint["value"], ts: number): DataPoint {
  const [deviceId, termId, itemId] = key.split(":");
  return { key, deviceId, termId, itemId, value, ts, quality: {}, cause: "poll" };
}

describe("save controller (MariaDB)", function () {
  let db: TestDatabase;
  const open: { controller: SaveController; share: PoolShare; pool: SharedMysqlPool }[] = [];
  const managers: Manager[] = [];

  before(async function () {
    db = await createTestDatabase("dc_save_ctl");
  });
  after(async function () {
    await db.drop();
  });
  afterEach(async function () {
    for (const o of open.splice(0)) {
      await o.controller.close(true);
      await o.share.release();
    }
    for (const m of managers.splice(0)) await m.close();
  });

  /**
   * A controller on a pool of its own, as a save node on its config node; notices and letters kept. Its
   * id is prefixed: parked backlogs are per process, and flow tests in the same run use plain node ids.
   */
  function saver(
    database: string,
    fields: SaveFields,
    opts: { port?: number; saverId?: string; manager?: Manager; connectTimeoutMs?: number } = {},
  ) {
    const pool = new SharedMysqlPool(
      testSettings(database, { port: opts.port, connectTimeoutMs: opts.connectTimeoutMs ?? 500 }),
    );
    const share = pool.acquire();
    const notices: SaveNotice[] = [];
    const letters: unknown[] = [];
    const controller = new SaveController({
      share,
      saverId: `ctl-${opts.saverId ?? "s1"}`,
      fields: { maxDelay: "10", ...fields },
      manager: opts.manager,
      onNotice: (n) => notices.push(n),
      onDeadLetters: (l) => letters.push(...l),
      onStatus: () => undefined, // the node redraws its dot here; the tests read status() themselves
    });
    open.push({ controller, share, pool });
    return { controller, share, notices, letters };
  }

  const count = async (table: string, database = db.name): Promise<number> => {
    const rows = await rowsOnceCreated(
      db.admin,
      `SELECT COUNT(*) AS n FROM ${mysql.escapeId(database)}.${table}`,
    );
    return rows.length === 0 ? 0 : Number(rows[0].n);
  };

  it("saves history rows and alarm rows, hands on dead letters, and is green once they flow", async function () {
    const { controller, letters } = saver(db.name, { historyTable: "h_ok", alarmsTable: "a_ok" });
    const outcome = await controller.writePoints([dp("d:t:a", 1.5, T0), dp("d:t:b", "x".repeat(300), T0)]);
    assert.equal(outcome.accepted, 2);
    const alarm: AlarmTransition = {
      key: "d:t:a",
      condition: "high",
      state: "raised",
      previous: "normal",
      active: true,
      severity: 2,
      text: "too high",
      ts: T0,
      value: 1.5,
    };
    await controller.writeAlarms([alarm]);
    await until(async () => (await count("h_ok")) === 1, 5000, "the good history row");
    await until(async () => (await count("a_ok")) === 1, 5000, "the alarm row");
    await until(() => letters.length === 1, 5000, "the overlong text handed on as a dead letter");
    const st = controller.status();
    assert.equal(st.kind, "flowing");
    assert.ok(st.kind === "flowing" && st.counts.deadLetters === 1);
  });

  it("keeps the history table's per-minute roll-up: rows written late are rolled up by its next run", async function () {
    const { controller } = saver(db.name, { historyTable: "h_roll", alarmsTable: "a_roll" });
    assert.equal(controller.rollupTable, "h_roll_1m");
    // T0 is hours before now: a backlog's rows, which the writer marks for the roll-up.
    const points = Array.from({ length: 180 }, (_, i) => dp("d:t:r", i, T0 + i * 1000));
    await controller.writePoints(points);
    await until(async () => (await count("h_roll")) === 180, 5000, "the rows");
    await controller.rollUp();
    const minutes = await rowsOnceCreated(
      db.admin,
      "SELECT n, mn, mx, fv, lv FROM h_roll_1m WHERE point_key = 'd:t:r' ORDER BY ts",
    );
    assert.deepEqual(
      minutes.map((m) => [Number(m.n), m.mn, m.mx, m.fv, m.lv]),
      [
        [60, 0, 59, 0, 59],
        [60, 60, 119, 60, 119],
        [60, 120, 179, 120, 179],
      ],
    );
    assert.deepEqual(
      await rowsOnceCreated(db.admin, "SELECT * FROM dc_rollup_late WHERE rollup_table = 'h_roll_1m'"),
      [],
    );
  });

  it("reports an unknown database as refused with the server's reason, keeps the rows and writes them once it exists", async function () {
    const missing = uniqueDatabase("dc_save_nodb");
    const { controller, notices } = saver(missing, { historyTable: "h_late" });
    await controller.writePoints([dp("d:t:a", 1, T0), dp("d:t:a", 2, T0 + 1), dp("d:t:b", 3, T0)]);
    await until(() => controller.status().kind === "waiting", 5000, "rows waiting");
    const st = controller.status();
    assert.ok(st.kind === "waiting");
    assert.equal(st.cause, "refused");
    assert.equal(st.code, "ER_BAD_DB_ERROR");
    assert.match(st.reason, /Unknown database/);
    await until(() => controller.stats().backlog === 3, 5000, "all three rows in the backlog");
    await until(() => notices.length > 0, 5000, "the outage said");
    assert.equal(notices[0].code, "outage");
    assert.ok(notices[0].code === "outage" && notices[0].cause === "refused");
    assert.match(notices[0].reason, /Unknown database/);
    try {
      await db.admin.query(`CREATE DATABASE ${mysql.escapeId(missing)}`);
      await until(async () => (await count("h_late", missing)) === 3, 10_000, "the backlog written");
      await until(() => notices.some((n) => n.code === "back"), 5000, "the way back said");
      assert.equal(notices.filter((n) => n.code === "outage").length, 1, "the outage said once");
      assert.equal(controller.stats().backlog, 0);
    } finally {
      await db.admin.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(missing)}`);
    }
  });

  it("reports a closed port as unreachable, and a removed saver says how many rows it lost", async function () {
    const port = await freePort();
    const { controller, notices } = saver(db.name, { historyTable: "h_away" }, { port, saverId: "away" });
    await controller.writePoints([dp("d:t:a", 1, T0), dp("d:t:a", 2, T0 + 1)]);
    await until(() => controller.status().kind === "waiting", 5000, "rows waiting");
    const st = controller.status();
    assert.ok(st.kind === "waiting");
    assert.equal(st.cause, "unreachable");
    assert.equal(st.code, "ECONNREFUSED");
    await until(() => notices.some((n) => n.code === "outage"), 5000, "the outage said");
    assert.ok(notices.every((n) => n.code !== "outage" || n.cause === "unreachable"));
    await until(() => controller.stats().backlog === 2, 5000, "both rows in the backlog");
    const o = open.splice(0)[0];
    assert.equal(await o.controller.close(true), 2);
    await o.share.release();
  });

  it("parks an in-memory backlog across a redeploy for the next saver of its id", async function () {
    const port = await freePort();
    const first = saver(db.name, { historyTable: "h_parked" }, { port, saverId: "parked" });
    await first.controller.writePoints([dp("d:t:a", 1, T0), dp("d:t:a", 2, T0 + 1)]);
    await until(() => first.controller.stats().backlog === 2, 5000, "both rows in the backlog");
    const o = open.splice(0)[0];
    assert.equal(await o.controller.close(false), 0, "nothing lost on a redeploy");
    await o.share.release();
    const second = saver(db.name, { historyTable: "h_parked" }, { saverId: "parked" });
    assert.equal(second.controller.backlogKind, "memory");
    await until(async () => (await count("h_parked")) === 2, 10_000, "the parked rows written");
  });

  it("closes at once on a MySQL that accepts and never answers, parks the rows and leaves no socket", async function () {
    // A close that waited for the connect would outlast this test: the connect timeout is two minutes.
    this.timeout(20_000);
    const held = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      held.add(socket);
      socket.on("close", () => held.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const first = saver(
        db.name,
        { historyTable: "h_hung" },
        { port, saverId: "hung", connectTimeoutMs: 120_000 },
      );
      const written = first.controller.writePoints([dp("d:t:a", 1, T0), dp("d:t:a", 2, T0 + 1)]);
      await until(() => held.size > 0, 5000, "the saver connecting to a server that never greets it");
      const o = open.splice(0)[0];
      assert.equal(await o.controller.close(false), 0, "nothing lost on a redeploy");
      await o.share.release();
      assert.equal((await written).accepted, 2, "both rows were taken before the close");
      await until(() => held.size === 0, 5000, "the saver's socket to the silent server closed");
      const second = saver(db.name, { historyTable: "h_hung" }, { saverId: "hung" });
      assert.equal(second.controller.backlogKind, "memory");
      await until(async () => (await count("h_hung")) === 2, 10_000, "the parked rows written");
    } finally {
      for (const socket of held) socket.destroy();
      silent.close();
    }
  });

  it("reports a missing table, with table creation off, as a refused statement", async function () {
    const { controller, notices } = saver(db.name, { historyTable: "h_none", createTables: false });
    await controller.writePoints([dp("d:t:a", 1, T0)]);
    await until(() => notices.some((n) => n.code === "outage"), 5000, "the outage said");
    const st = controller.status();
    assert.ok(st.kind === "waiting" && st.cause === "statement" && st.code === "ER_NO_SUCH_TABLE");
    assert.ok(notices.every((n) => n.code !== "outage" || n.cause === "statement"));
  });

  it("leaves out a registry point whose save settings say so", async function () {
    const m = new Manager(
      parseManagerSettings({ store: "embedded", namespace: "savectl:", instanceId: "i1" }),
    );
    managers.push(m);
    await m.ready();
    await m.registry.putDevice({ id: "plc", protocol: "virtual" });
    await m.registry.putTerm({ id: "m", deviceId: "plc" });
    for (const item of ["kept", "off"]) await m.registry.putItem({ id: item });
    await m.registry.putPoint({ deviceId: "plc", termId: "m", itemId: "kept" });
    await m.registry.putPoint({
      deviceId: "plc",
      termId: "m",
      itemId: "off",
      save: { enabled: false, interval: 0 },
    });
    const { controller } = saver(db.name, { historyTable: "h_reg" }, { manager: m, saverId: "reg" });
    assert.equal(controller.backlogKind, "memory");
    // The registry's list is read in the background; a sample before it is read is saved in full.
    await until(
      async () => (await controller.writePoints([dp("plc:m:off", 1, Date.now())])).accepted === 0,
      5000,
      "the switched-off point left out",
    );
    await controller.writePoints([dp("plc:m:kept", 1, T0), dp("plc:m:off", 2, T0)]);
    await until(
      async () =>
        (await rowsOnceCreated(db.admin, "SELECT 1 FROM h_reg WHERE point_key = 'plc:m:kept'")).length === 1,
      5000,
      "the kept point's row",
    );
    const off = await db.admin.query<mysql.RowDataPacket[]>(
      "SELECT 1 FROM h_reg WHERE point_key = 'plc:m:off' AND ts = ?",
      [new Date(T0)],
    );
    assert.equal(off[0].length, 0, "the switched-off point's sample of that batch left out");
  });
});
