/**
 * The save node against the real MariaDB: every column of both tables from messages of each shape, the
 * custom-SQL path, injection attempts stored as plain data, dead letters, save-on-change, bad messages
 * through done(err), and the red status while MySQL is away.
 */
import assert from "node:assert/strict";
import type { RowDataPacket } from "mysql2/promise";
import type { AlarmTransition } from "../../src/core/check/checker";
import type { DataPoint } from "../../src/core/model/datapoint";
import { helper, useNodeRed } from "../support/node-red";
import { freePort, until } from "../support/net";
import { TcpProxy } from "../integration/history/tcp-proxy";
import { createTestDatabase, serverPort, type TestDatabase } from "../support-history/mysql";
import {
  collect,
  errorsOf,
  modules,
  redeploy,
  mysqlCredentials,
  mysqlNode,
  saveFlow,
  statusesOf,
  TAB,
} from "../integration/save-node/flow";

const T0 = Date.UTC(2026, 10, 21, 8, 30, 15, 123);

function point(
  key: string,
  value: DataPoint["value"],
  ts: number,
  extra: Partial<DataPoint> = {},
): DataPoint {
  const [deviceId, termId, itemId] = key.split(":");
  return { key, deviceId, termId, itemId, value, ts, quality: {}, cause: "poll", ...extra };
}

describe("datacoll-save node", function () {
  useNodeRed();
  let db: TestDatabase;

  before(async function () {
    db = await createTestDatabase("dc_save");
  });
  after(async function () {
    await db.drop();
  });

  async function rows(sql: string, params: unknown[] = []): Promise<RowDataPacket[]> {
    const [r] = await db.admin.query<RowDataPacket[]>(sql, params);
    return r;
  }
  async function countOf(table: string): Promise<number> {
    try {
      return Number((await rows(`SELECT COUNT(*) AS n FROM ${table}`))[0].n);
    } catch (err) {
      // The node creates its tables when it starts; until then there is nothing to count.
      if ((err as { code?: string }).code === "ER_NO_SUCH_TABLE") return 0;
      throw err;
    }
  }
  async function load(props: Record<string, unknown>, extra: object[] = []): Promise<void> {
    await helper.load(
      modules,
      [TAB, mysqlNode("db", db.name), ...saveFlow("s", "db", props), ...extra],
      mysqlCredentials("db"),
    );
  }

  it("writes every history column from both message shapes", async function () {
    await load({ historyTable: "h_cols", alarmsTable: "a_cols" });
    const out = collect("s-out");
    const s = helper.getNode("s");
    // One point by topic and payload (time stamp and cause filled in by the node).
    const before = Date.now();
    s.receive({ topic: "plc1:m1:volts", payload: 230.5 });
    // A batch with every value type, quality flags and causes.
    s.receive({
      topic: "plc1:m1",
      payload: [
        point("plc1:m1:on", true, T0, { cause: "spontaneous" }),
        point("plc1:m1:mode", "auto", T0 + 1, { quality: { substituted: true }, cause: "manual" }),
        point("plc1:m1:none", null, T0 + 2, { quality: { invalid: true, notTopical: true } }),
        point("plc1:m1:big", 1.5e300, T0 + 3, {
          quality: { blocked: true, overflow: true },
          cause: "interrogation",
        }),
      ],
    });
    // A DataPoint in msg.point whose value msg.payload overrides.
    s.receive({ topic: "plc1:m1:amps", payload: 7, point: point("plc1:m1:amps", 6, T0 + 4) });
    await until(() => out.length === 3, 5000, "three messages accepted");
    await until(async () => (await countOf("h_cols")) === 6, 5000, "six history rows");
    const r = await rows(
      "SELECT point_key, device_id, term_id, item_id, DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s.%f') AS ts, value, value_text, quality, cause FROM h_cols ORDER BY point_key",
    );
    const by = new Map(r.map((x) => [x.point_key as string, x]));
    const fmt = (ts: number): string => new Date(ts).toISOString().replace("T", " ").replace("Z", "000");
    assert.deepEqual(
      { ...by.get("plc1:m1:on") },
      {
        point_key: "plc1:m1:on",
        device_id: "plc1",
        term_id: "m1",
        item_id: "on",
        ts: fmt(T0),
        value: 1,
        value_text: "true",
        quality: 0,
        cause: "spontaneous",
      },
    );
    assert.deepEqual(
      { ...by.get("plc1:m1:mode") },
      {
        point_key: "plc1:m1:mode",
        device_id: "plc1",
        term_id: "m1",
        item_id: "mode",
        ts: fmt(T0 + 1),
        value: null,
        value_text: "auto",
        quality: 0x20,
        cause: "manual",
      },
    );
    const none = by.get("plc1:m1:none");
    assert.equal(none?.value, null);
    assert.equal(none?.value_text, null);
    assert.equal(none?.quality, 0x80 | 0x40);
    const big = by.get("plc1:m1:big");
    assert.equal(big?.value, 1.5e300);
    assert.equal(big?.quality, 0x10 | 0x01);
    assert.equal(big?.cause, "interrogation");
    assert.equal(by.get("plc1:m1:amps")?.value, 7);
    assert.equal(by.get("plc1:m1:amps")?.ts, fmt(T0 + 4));
    const volts = by.get("plc1:m1:volts");
    assert.equal(volts?.value, 230.5);
    assert.equal(volts?.cause, "manual");
    const voltsTs = Date.parse(`${String(volts?.ts).slice(0, 23).replace(" ", "T")}Z`);
    assert.ok(voltsTs >= before && voltsTs <= Date.now(), "a message without ts is stamped when it came");
    // The same row again (a replay) beside a new one: one row per (point, ts).
    s.receive({
      topic: "plc1:m1",
      payload: [point("plc1:m1:on", true, T0, { cause: "spontaneous" }), point("plc1:m1:on", false, T0 + 9)],
    });
    await until(() => out.length === 4, 5000, "the replay accepted");
    await until(async () => (await countOf("h_cols")) === 7, 5000, "the new row");
    assert.equal(await countOf("h_cols"), 7);
  });

  it("writes alarm transitions from the check node's second output as alarm rows", async function () {
    await load({ historyTable: "h_al", alarmsTable: "a_al" });
    const out = collect("s-out");
    const t: AlarmTransition = {
      key: "plc1:boiler:temp",
      condition: "high",
      severity: 500,
      text: "plc1:boiler:temp high: 93 above 90",
      ts: T0,
      state: "raised",
      previous: "normal",
      active: true,
      value: 93,
    };
    const s = helper.getNode("s");
    s.receive({ topic: t.key, payload: t.text, alarm: t });
    s.receive({
      topic: t.key,
      payload: "acked",
      alarm: { ...t, ts: T0 + 500, state: "acked", previous: "raised", by: "operator 'o'", value: "hot" },
    });
    // A check node's first output carries msg.alarm too, but a point's picture: that is a history row.
    s.receive({
      topic: t.key,
      payload: 93,
      point: point(t.key, 93, T0),
      alarm: { key: t.key, alarms: [], active: true },
    });
    await until(() => out.length === 3, 5000, "three messages accepted");
    await until(async () => (await countOf("a_al")) === 2, 5000, "two alarm rows");
    assert.equal(await countOf("h_al"), 1);
    const r = await rows(
      "SELECT point_key, device_id, term_id, item_id, `condition`, state, previous, active, DATE_FORMAT(ts, '%H:%i:%s.%f') AS ts, severity, text, value, value_text, ack_by FROM a_al ORDER BY ts",
    );
    assert.deepEqual(
      { ...r[0] },
      {
        point_key: "plc1:boiler:temp",
        device_id: "plc1",
        term_id: "boiler",
        item_id: "temp",
        condition: "high",
        state: "raised",
        previous: "normal",
        active: 1,
        ts: "08:30:15.123000",
        severity: 500,
        text: "plc1:boiler:temp high: 93 above 90",
        value: 93,
        value_text: null,
        ack_by: null,
      },
    );
    assert.equal(r[1].state, "acked");
    assert.equal(r[1].ack_by, "operator 'o'");
    assert.equal(r[1].value, null);
    assert.equal(r[1].value_text, "hot");
  });

  it("stores injection attempts in point ids, item names and values as plain data", async function () {
    await load({ historyTable: "h_inj", alarmsTable: "a_inj" });
    const out = collect("s-out");
    const evil = [
      point("d';DROP TABLE h_inj;--:t\"1:i`x", "'); DELETE FROM h_inj; --", T0),
      point("d\\:t/*:i*/ OR 1=1", "\\'; SELECT SLEEP(5); #", T0 + 1),
      point("ü😀:t%_:i\0", "a\nb\r\u001a", T0 + 2),
    ];
    helper.getNode("s").receive({ topic: "evil", payload: evil });
    await until(() => out.length === 1, 5000, "accepted");
    await until(async () => (await countOf("h_inj")) === 3, 5000, "three rows");
    const r = await rows("SELECT point_key, device_id, term_id, item_id, value_text FROM h_inj ORDER BY ts");
    assert.deepEqual(
      r.map((x) => [x.point_key, x.device_id, x.term_id, x.item_id, x.value_text]),
      evil.map((p) => [p.key, p.deviceId, p.termId, p.itemId, p.value]),
    );
  });

  it("writes through custom SQL with named placeholders, injection attempts included", async function () {
    await db.admin.query(`CREATE TABLE my_hist (
      k VARCHAR(400) NOT NULL, dev VARCHAR(128), term VARCHAR(128), item VARCHAR(128),
      at DATETIME(3) NOT NULL, ms BIGINT, v DOUBLE NULL, vt VARCHAR(255) NULL, q INT, c VARCHAR(16),
      PRIMARY KEY (k, at)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
    const customSql =
      "INSERT INTO my_hist (k, dev, term, item, at, ms, v, vt, q, c) VALUES " +
      "(:key, :deviceId, :termId, :itemId, :ts, :tsMs, :value, :valueText, :quality, :cause) " +
      "ON DUPLICATE KEY UPDATE v = VALUES(v)";
    await load({ historyTable: "h_custom", alarmsTable: "a_custom", customSql });
    const out = collect("s-out");
    const pts = [
      point("a:b:c", 1.25, T0, { quality: { invalid: true } }),
      point("x'):y:z", "'),(1,2,3,4,5,6,7,8,9,10); --", T0 + 1, { cause: "call" }),
    ];
    helper.getNode("s").receive({ payload: pts });
    helper.getNode("s").receive({ payload: pts }); // a replay: idempotent by the table's key
    await until(() => out.length === 2, 5000, "accepted");
    await until(async () => (await countOf("my_hist")) === 2, 5000, "two custom rows");
    const r = await rows(
      "SELECT k, dev, term, item, DATE_FORMAT(at, '%H:%i:%s.%f') AS at, ms, v, vt, q, c FROM my_hist ORDER BY ms",
    );
    assert.deepEqual(
      { ...r[0] },
      {
        k: "a:b:c",
        dev: "a",
        term: "b",
        item: "c",
        at: "08:30:15.123000",
        ms: T0,
        v: 1.25,
        vt: null,
        q: 0x80,
        c: "poll",
      },
    );
    assert.equal(r[1].k, "x'):y:z");
    assert.equal(r[1].vt, "'),(1,2,3,4,5,6,7,8,9,10); --");
    assert.equal(r[1].c, "call");
    const tables = (await rows("SHOW TABLES")).map((x) => Object.values(x)[0]);
    assert.ok(!tables.includes("h_custom"), "with custom SQL the history table is not created");
  });

  it("saves only on change beyond the deadband when 'save every sample' is off", async function () {
    await load({ historyTable: "h_db", alarmsTable: "a_db", saveUnchanged: false, deadband: "0.5" });
    const out = collect("s-out");
    const values = [10, 10.2, 10.6, 10.7, 11.2, 11.2];
    helper.getNode("s").receive({ payload: values.map((v, i) => point("p:q:r", v, T0 + i)) });
    // Quality changed with the same value: saved.
    helper.getNode("s").receive({ payload: [point("p:q:r", 11.2, T0 + 10, { quality: { invalid: true } })] });
    await until(() => out.length === 2, 5000, "accepted");
    await until(async () => (await countOf("h_db")) === 4, 5000, "four rows");
    const r = await rows("SELECT value, quality FROM h_db ORDER BY ts");
    assert.deepEqual(
      r.map((x) => [x.value, x.quality]),
      [
        [10, 0],
        [10.6, 0],
        [11.2, 0],
        [11.2, 0x80],
      ],
    );
  });

  it("fails unreadable messages through done(err) and sends refused rows to the dead-letter output", async function () {
    await load({ historyTable: "h_bad", alarmsTable: "a_bad" });
    const out = collect("s-out");
    const dead = collect("s-dead");
    const errors = errorsOf("s");
    const s = helper.getNode("s");
    s.receive({ topic: "not a key", payload: 1 });
    s.receive({ payload: [point("a:b:c", 1, T0), { key: "a:b", value: 2 }] });
    s.receive({
      topic: "a:b:c",
      payload: "x",
      alarm: { key: "a:b:c", condition: "loud", previous: "normal" },
    });
    await until(() => errors.length === 3, 5000, "three errors");
    assert.match(errors[0], /msg\.topic = deviceId:termId:itemId/);
    assert.match(errors[1], /msg\.payload\[1\]\.key/);
    assert.match(errors[2], /msg\.alarm\.condition/);
    assert.equal(out.length, 0, "nothing of a bad message is accepted");
    // A value too long for value_text (content refused by MySQL) among good rows; a time out of range.
    s.receive({
      payload: [point("a:b:ok1", 1, T0), point("a:b:long", "x".repeat(300), T0), point("a:b:ok2", 2, T0)],
    });
    s.receive({ payload: [point("a:b:old", 1, -1e15)] });
    await until(() => dead.length === 2, 5000, "two dead-letter messages");
    await until(() => errors.length === 4, 5000, "the out-of-range row fails its message");
    assert.match(errors[3], /datacoll-save\.errors\.invalid/);
    const keys = dead.flatMap((m) => (m.payload as { row: { key: string } }[]).map((l) => l.row.key)).sort();
    assert.deepEqual(keys, ["a:b:long", "a:b:old"]);
    await until(async () => (await countOf("h_bad")) === 2, 5000, "the good rows of that batch");
    assert.equal(await countOf("a_bad"), 0);
  });

  it("shows red with the reason while MySQL is away, and still accepts messages into the backlog", async function () {
    const port = await freePort();
    await helper.load(
      modules,
      // Its own node id: its rows stay in memory for a next instance of this id (parked on close).
      [
        TAB,
        mysqlNode("db", db.name, { port: String(port), connectTimeout: "500" }),
        ...saveFlow("away", "db"),
      ],
      mysqlCredentials("db"),
    );
    const statuses = statusesOf("away");
    const out = collect("away-out");
    helper.getNode("away").receive({ topic: "a:b:c", payload: 1 });
    helper.getNode("away").receive({ topic: "a:b:c", payload: 2 });
    await until(() => out.length === 2, 5000, "both accepted while MySQL is away");
    await until(
      () =>
        statuses.some(
          (st) => st.fill === "red" && /MySQL away \(ECONNREFUSED\) · backlog 2/.test(st.text ?? ""),
        ),
      5000,
      "a red status naming the reason and the backlog",
    );
  });

  it("tells a server that refuses (no such database) from no server at all, on the dot and in the log", async function () {
    const port = await freePort();
    const missing = `${db.name}_missing`;
    await helper.load(
      modules,
      [
        TAB,
        mysqlNode("nodb", missing, { connectTimeout: "500" }),
        mysqlNode("closed", db.name, { port: String(port), connectTimeout: "500" }),
        ...saveFlow("refused", "nodb"),
        ...saveFlow("unreachable", "closed"),
      ],
      { ...mysqlCredentials("nodb"), ...mysqlCredentials("closed") },
    );
    const warned = (id: string): string[] => {
      const got: string[] = [];
      helper.getNode(id).on("call:warn", (call: { args: unknown[] }) => got.push(String(call.args[0])));
      return got;
    };
    const seen = { refused: statusesOf("refused"), unreachable: statusesOf("unreachable") };
    const logged = { refused: warned("refused"), unreachable: warned("unreachable") };
    for (const id of ["refused", "unreachable"] as const)
      helper.getNode(id).receive({ topic: "a:b:c", payload: 1 });
    const red = (id: keyof typeof seen, text: RegExp) =>
      until(
        () => seen[id].some((st) => st.fill === "red" && text.test(st.text ?? "")),
        5000,
        `${id}: red dot`,
      );
    // A reason too long for the dot is cut, never the backlog.
    await red("refused", /^MySQL refused: Unknown database 'dc_save_\w+… · backlog 1$/);
    await red("unreachable", /MySQL away \(ECONNREFUSED\) · backlog 1/);
    await until(
      () => logged.refused.length > 0 && logged.unreachable.length > 0,
      5000,
      "both outages logged",
    );
    // The test runtime answers message keys as they are: the key names which outage was said.
    assert.deepEqual(logged.refused, ["datacoll-save.outage.refused"]);
    assert.deepEqual(logged.unreachable, ["datacoll-save.outage.unreachable"]);
    assert.ok(
      seen.refused.every((st) => !/away/.test(st.text ?? "")),
      "never called away",
    );
  });

  it("follows the overflow policy when the backlog is full, failing the messages whose rows were lost", async function () {
    const port = await freePort();
    await helper.load(
      modules,
      [
        TAB,
        mysqlNode("db", db.name, { port: String(port), connectTimeout: "500" }),
        ...saveFlow("full", "db", { backlogSize: "3", overflow: "drop-newest" }),
      ],
      mysqlCredentials("db"),
    );
    const out = collect("full-out");
    const errors = errorsOf("full");
    const statuses = statusesOf("full");
    const s = helper.getNode("full");
    // Wait until the writer knows MySQL is away, so rows go to the backlog rather than a batch.
    await until(() => statuses.some((st) => st.fill === "red"), 5000, "red status");
    s.receive({ payload: [point("a:b:c", 1, T0), point("a:b:c", 2, T0 + 1)] });
    await until(() => out.length === 1, 5000, "the first message fits");
    s.receive({ payload: [point("a:b:c", 3, T0 + 2), point("a:b:c", 4, T0 + 3)] });
    await until(() => errors.length === 1, 5000, "the second message loses a row");
    assert.match(errors[0], /datacoll-save\.errors\.dropped/);
    assert.equal(out.length, 1);
    await until(
      () => statuses.some((st) => /backlog 3/.test(st.text ?? "")),
      5000,
      "the status shows the full backlog",
    );
  });

  it("is green with the rate and counts dead letters once rows flow", async function () {
    await load({ historyTable: "h_green", alarmsTable: "a_green" });
    const statuses = statusesOf("s");
    const dead = collect("s-dead");
    helper.getNode("s").receive({ payload: [point("g:h:i", 1, T0), point("g:h:j", "y".repeat(300), T0)] });
    await until(() => dead.length === 1, 5000, "a dead letter");
    await until(
      () => statuses.some((st) => st.fill === "green" && /\/s · 1 dead/.test(st.text ?? "")),
      5000,
      "green status with the dead letter counted",
    );
  });

  it("keeps its in-memory backlog across a redeploy of the node during an outage", async function () {
    const proxy = new TcpProxy(serverPort());
    try {
      const port = await proxy.start();
      proxy.cut();
      const flow = [
        TAB,
        mysqlNode("db", db.name, { port: String(port), connectTimeout: "500" }),
        ...saveFlow("s", "db", { historyTable: "h_park", alarmsTable: "a_park" }),
      ];
      await helper.load(modules, flow, mysqlCredentials("db"));
      const out = collect("s-out");
      helper.getNode("s").receive({ payload: [1, 2, 3].map((v) => point("k:l:m", v, T0 + v)) });
      await until(() => out.length === 1, 5000, "accepted while MySQL is away");
      // Only the save node restarts (a "modified nodes" deploy), with its rows still waiting.
      await redeploy(
        flow.map((n) => (n.id === "s" ? { ...n, name: "renamed" } : n)),
        "nodes",
      );
      proxy.restore();
      await until(
        async () => (await countOf("h_park")) === 3,
        10_000,
        "the rows written by the new instance",
      );
    } finally {
      await proxy.stop();
    }
  });
});
