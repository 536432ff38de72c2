/**
 * The datacoll-history node in a flow against the real MariaDB (a database of its own): buckets checked
 * against aggregates this test computes from the rows it inserted, the same JSON the REST route answers
 * for the same fields, raw rows paged by sending the answer back in with its cursor, the alarm journal,
 * bad input refused with the route's own words and a red dot, and no connection left once the flow stops.
 */
import assert from "node:assert/strict";
import type { NodeMessageInFlow } from "node-red";
import { queryHistory, type AlarmJournalRow, type HistoryResult } from "../../src/core/history/query";
import { createMysqlPool } from "../../src/core/history/mysql-settings";
import { alarmsTableDdl, historyTableDdl } from "../../src/core/history/schema";
import { poolHistorySource } from "../../src/core/history/sources";
import { handle } from "../../src/core/rest/router";
import { MemoryStore } from "../../src/core/store/memory-store";
import { collect, errorsOf, statusesOf } from "../integration/save-node/flow";
import { until } from "../support/net";
import { helper, nodeModule, useNodeRed } from "../support/node-red";
import {
  expectedBuckets,
  insertAlarmRows,
  insertHistoryRows,
  rng,
  type Inserted,
} from "../support-history/history-rows";
import {
  createTestDatabase,
  mysqlConfigNode,
  testSettings,
  type TestDatabase,
} from "../support-history/mysql";

const modules = ["datacoll-mysql", "datacoll-history"].map(nodeModule);
const T0 = Date.UTC(2026, 10, 3, 0, 0, 0, 0);
const A = "hn:t1:a";
const B = "hn:t1:b";

describe("datacoll-history node (MariaDB)", function () {
  useNodeRed();
  let db: TestDatabase;
  const rows: Inserted[] = [];
  const journal: AlarmJournalRow[] = [];

  before(async function () {
    db = await createTestDatabase("dc_hn");
    // The tables a save node writes, under the names it writes by default.
    await db.admin.query(historyTableDdl("dc_history"));
    await db.admin.query(alarmsTableDdl("dc_alarms"));
    const r = rng(12);
    for (let s = 0; s < 1800; s++) {
      for (const key of [A, B]) {
        if (r() < 0.2) continue;
        rows.push({
          key,
          ts: T0 + s * 1000 + Math.floor(r() * 1000),
          value: Math.round((r() * 100 - 50) * 100) / 100,
          text: null,
          quality: s > 600 && s < 640 && key === B ? 0x40 : 0,
        });
      }
    }
    // Before the range: the value in force at its start.
    rows.push({ key: A, ts: T0 - 5000, value: 42, text: null, quality: 0 });
    await insertHistoryRows(db.admin, "dc_history", rows);
    for (let i = 0; i < 12; i++)
      journal.push({
        key: i % 2 === 0 ? A : B,
        condition: "high",
        state: ["raised", "acked", "cleared"][i % 3],
        previous: ["cleared", "raised", "acked"][i % 3],
        active: i % 3 !== 2,
        ts: T0 + i * 60_000,
        severity: 500,
        text: `alarm ${i}`,
        value: i,
        ackBy: i % 3 === 1 ? "op" : null,
      });
    await insertAlarmRows(db.admin, "dc_alarms", journal);
  });
  after(async function () {
    await db?.drop();
  });

  /** Load a history node `h` with `props` on the test database, its output collected. */
  async function load(props: Record<string, unknown> = {}): Promise<{
    out: NodeMessageInFlow[];
    errors: string[];
    statuses: ReturnType<typeof statusesOf>;
  }> {
    await helper.load(modules, [
      { id: "tab", type: "tab" },
      mysqlConfigNode("m", db.name),
      { id: "h", type: "datacoll-history", z: "tab", mysql: "m", range: "3600", ...props, wires: [["out"]] },
      { id: "out", type: "helper", z: "tab" },
    ]);
    return { out: collect("out"), errors: errorsOf("h"), statuses: statusesOf("h") };
  }

  /** Send `msg` in and wait for its answer or its error. */
  async function ask(
    seen: { out: NodeMessageInFlow[]; errors: string[] },
    msg: Record<string, unknown>,
  ): Promise<void> {
    const before = seen.out.length + seen.errors.length;
    helper.getNode("h").receive(msg);
    await until(() => seen.out.length + seen.errors.length > before, 10_000, "the history node's answer");
  }

  const payloadOf = (m: NodeMessageInFlow): HistoryResult => m.payload as HistoryResult;

  it("answers every aggregate of each bucket as computed from the rows, message fields over defaults", async function () {
    const seen = await load({ points: A, step: "60000", agg: "" });
    const from = T0 + 777;
    const to = T0 + 1_500_000;
    // ISO text, epoch ms as a number, and points as an array: each form the route takes.
    await ask(seen, { points: [A, B], from: new Date(from).toISOString(), to, topic: "kept" });
    assert.deepEqual(seen.errors, []);
    const msg = seen.out[0];
    assert.equal(msg.topic, "kept");
    const res = payloadOf(msg);
    assert.equal(res.from, from);
    assert.equal(res.to, to);
    assert.equal(res.step, 60_000);
    assert.deepEqual(
      res.series.map((s) => s.key),
      [A, B],
    );
    let buckets = 0;
    for (const s of res.series) {
      const want = expectedBuckets(rows, s.key, from, to, 60_000);
      buckets += want.length;
      assert.equal(s.buckets?.length, want.length, `${s.key}: bucket count`);
      (s.buckets ?? []).forEach((b, i) => {
        const w = want[i];
        assert.deepEqual({ ...b, avg: undefined }, { ...w, avg: undefined }, `${s.key} bucket ${b.t}`);
        assert.ok(Math.abs((b.avg ?? Number.NaN) - (w.avg ?? Number.NaN)) < 1e-9, `${s.key} avg at ${b.t}`);
      });
    }
    // The value in force at `from`: the point's last row before it.
    const last = rows.filter((x) => x.key === A && x.ts < from).sort((x, y) => y.ts - x.ts)[0];
    assert.deepEqual(res.series[0].initial, {
      ts: last.ts,
      value: last.value,
      text: null,
      quality: 0,
      cause: "poll",
    });
    assert.equal(msg.cursor, undefined);
    await until(
      () => seen.statuses.some((s) => s.fill === "green" && s.text === `${buckets} buckets`),
      5000,
      `status "${buckets} buckets"`,
    );

    // msg.agg and msg.step override the node's: only those aggregates, in wider buckets.
    await ask(seen, { from, to, agg: "min,max", step: 300_000 });
    const narrow = payloadOf(seen.out[1]);
    const want = expectedBuckets(rows, A, from, to, 300_000).map((w) => ({
      t: w.t,
      count: w.count,
      quality: w.quality,
      min: w.min,
      max: w.max,
    }));
    assert.deepEqual(narrow.series[0].buckets, want);
  });

  it("answers the JSON the REST route answers for the same fields", async function () {
    const seen = await load({ points: `${A},${B}`, step: "120000", agg: "avg,last" });
    const from = String(T0);
    const to = new Date(T0 + 1_800_000).toISOString();
    await ask(seen, { from, to });
    const pool = createMysqlPool(testSettings(db.name));
    const store = new MemoryStore({ namespace: "hn:", instanceId: "hn" });
    try {
      const source = poolHistorySource(pool, {
        id: "rest",
        name: "rest",
        historyTable: "dc_history",
        alarmsTable: "dc_alarms",
      });
      const reply = await handle(
        {
          method: "GET",
          path: "/v2/history",
          query: { points: `${A},${B}`, from, to, step: "120000", agg: "avg,last" },
          headers: {},
          body: undefined,
        },
        { store, basePath: "/api", maxBodyBytes: 10_000, now: Date.now, history: () => ({ source }) },
      );
      assert.equal(reply.status, 200);
      assert.deepEqual(seen.out[0].payload, reply.body);
      // The same, once more, straight from the query module: what both are built on.
      assert.deepEqual(
        seen.out[0].payload,
        await queryHistory(source, {
          points: [A, B],
          from: T0,
          to: T0 + 1_800_000,
          step: 120_000,
          agg: ["avg", "last"],
        }),
      );
    } finally {
      await store.close();
      await pool.end();
    }
  });

  it("pages raw rows: the answer sent back in with its cursor gets the next page, none lost or repeated", async function () {
    const seen = await load({ points: `${A},${B}`, limit: "70" });
    const from = T0 + 100_000;
    const to = T0 + 400_000;
    const got = new Map<string, number[]>([
      [A, []],
      [B, []],
    ]);
    let msg: Record<string, unknown> = { from, to };
    for (let page = 0; page < 100; page++) {
      await ask(seen, msg);
      assert.deepEqual(seen.errors, []);
      const answer = seen.out[seen.out.length - 1] as unknown as Record<string, unknown>;
      for (const s of (answer.payload as HistoryResult).series)
        got.get(s.key)?.push(...(s.rows ?? []).map((r) => r.ts));
      // The window stays the one answered first, whatever the clock does meanwhile.
      assert.equal(answer.from, from);
      assert.equal(answer.to, to);
      if (answer.cursor === undefined) break;
      assert.equal(answer.cursor, (answer.payload as HistoryResult).next);
      msg = answer;
    }
    for (const key of [A, B]) {
      const want = rows
        .filter((r) => r.key === key && r.ts >= from && r.ts < to)
        .map((r) => r.ts)
        .sort((x, y) => x - y);
      assert.ok(want.length > 140, `${key}: the range spans several pages`);
      assert.deepEqual(got.get(key), want, `${key}: every row once, in order`);
    }
    assert.ok(seen.out.length >= 3);
    assert.ok(
      seen.statuses.some((s) => s.fill === "green" && s.text === "140 rows · more"),
      JSON.stringify(seen.statuses),
    );
  });

  it("reads the alarm journal newest first, a page at a time", async function () {
    const seen = await load({ mode: "journal", limit: "5" });
    const got: AlarmJournalRow[] = [];
    let msg: Record<string, unknown> = { from: T0, to: T0 + 3_600_000 };
    for (let page = 0; page < 10; page++) {
      await ask(seen, msg);
      const answer = seen.out[seen.out.length - 1] as unknown as Record<string, unknown>;
      got.push(...(answer.payload as { rows: AlarmJournalRow[] }).rows);
      if (answer.cursor === undefined) break;
      msg = answer;
    }
    assert.deepEqual(seen.errors, []);
    assert.deepEqual(
      got,
      [...journal].sort((a, b) => b.ts - a.ts),
    );
    await ask(seen, { from: T0, to: T0 + 3_600_000, point: B, state: "acked" });
    assert.deepEqual(
      (seen.out[seen.out.length - 1].payload as { rows: AlarmJournalRow[] }).rows,
      journal.filter((j) => j.key === B && j.state === "acked").sort((a, b) => b.ts - a.ts),
    );
  });

  it("refuses bad input with the route's words, a red dot and no message; the next good one is answered", async function () {
    const seen = await load({ points: A, step: "60000" });
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ from: "yesterday" }, /^from must be epoch milliseconds or an ISO 8601 time \(got "yesterday"\)$/],
      [{ from: "now-1h", to: T0 }, /^from must be epoch milliseconds/],
      [{ from: T0 + 10, to: T0 }, /^to must be later than from$/],
      [{ from: T0, to: T0 + 1000, agg: "median" }, /^agg takes min, max, avg, first, last, count/],
      [{ from: T0, to: T0 + 1000, step: 0 }, /^step must be a whole number/],
      [{ from: T0, to: T0 + 1000, cursor: "nonsense" }, /^cursor is not one this API gave$/],
      [{ from: T0, to: T0 + 1000, points: [] }, /^points must name at least one point key$/],
    ];
    for (const [msg, words] of bad) {
      const before = seen.errors.length;
      await ask(seen, msg);
      assert.equal(seen.errors.length, before + 1, JSON.stringify(msg));
      assert.match(seen.errors[before], words);
      await until(() => seen.statuses.at(-1)?.fill === "red", 5000, "a red status");
    }
    assert.equal(seen.out.length, 0);
    await ask(seen, { from: T0, to: T0 + 120_000 });
    assert.equal(seen.out.length, 1);
    await until(() => seen.statuses.at(-1)?.fill === "green", 5000, "green again");
  });

  it("a query MySQL fails (no such table) is an error with MySQL's reason, not a throw", async function () {
    const seen = await load({ points: A, historyTable: "no_such_table" });
    await ask(seen, { from: T0, to: T0 + 1000 });
    assert.equal(seen.out.length, 0);
    assert.match(seen.errors[0], /no_such_table/);
  });

  it("settings that do not hold are said on the node at deploy, and each message fails with the reason", async function () {
    const seen = await load({ points: A, step: "often" });
    await until(
      () => seen.statuses.some((s) => s.fill === "red" && /step/.test(s.text ?? "")),
      5000,
      "red status",
    );
    await ask(seen, { from: T0, to: T0 + 1000 });
    assert.match(seen.errors.at(-1) ?? "", /step must be a whole number/);
    assert.equal(seen.out.length, 0);
  });

  it("refuses a range that is no number of seconds at deploy", async function () {
    const seen = await load({ points: A, range: "-5" });
    await until(
      () => seen.statuses.some((s) => s.fill === "red" && /range/.test(s.text ?? "")),
      5000,
      "red status",
    );
  });

  it("leaves no connection to the database once the flow stops", async function () {
    const open = async (): Promise<number> => {
      const [r] = await db.admin.query<import("mysql2/promise").RowDataPacket[]>(
        "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()",
        [db.name],
      );
      return Number(r[0].n);
    };
    const seen = await load({ points: `${A},${B}`, step: "60000" });
    await ask(seen, { from: T0, to: T0 + 1_800_000 });
    assert.ok((await open()) > 0, "the query used connections of the pool");
    await helper.unload();
    await until(async () => (await open()) === 0, 10_000, "every pool connection closed");
  });
});
