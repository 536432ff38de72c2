/**
 * History queries against the real MariaDB: every aggregate of every bucket checked against values the
 * test computes itself from the rows it inserted; raw rows paged by cursor without a row lost or
 * repeated; a point saved by exception answered with the value in force at `from` and no invented
 * buckets; the alarm journal newest first, filtered and paged.
 */
import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import { createMysqlPool } from "../../../src/core/history/mysql-settings";
import {
  queryAlarmJournal,
  queryHistory,
  readHistoryQuery,
  type AlarmJournalRow,
  type HistoryRow,
} from "../../../src/core/history/query";
import { alarmsTableDdl, historyTableDdl } from "../../../src/core/history/schema";
import { poolHistorySource, type HistorySource } from "../../../src/core/history/sources";
import { DataCollError } from "../../../src/core/errors";
import { handle } from "../../../src/core/rest/router";
import type { RestContext } from "../../../src/core/rest/types";
import { MemoryStore } from "../../../src/core/store/memory-store";
import { assertBuckets, expectedBuckets, rng, type Inserted } from "../../support-history/buckets";
import { createTestDatabase, testSettings, type TestDatabase } from "../../support-history/mysql";
import { insertAlarmRows, insertHistoryRows } from "../../support-history/history-rows";

const T0 = Date.UTC(2026, 11, 1, 0, 0, 0, 0);

describe("history queries (MariaDB)", function () {
  let db: TestDatabase;
  let pool: mysql.Pool;
  let source: HistorySource;
  const rows: Inserted[] = [];
  const DENSE = "qh:t1:dense";
  const SPARSE = "qh:t1:sparse";
  const TEXT = "qh:t1:text";

  before(async function () {
    db = await createTestDatabase("dc_hq");
    await db.admin.query(historyTableDdl("hq_history"));
    await db.admin.query(alarmsTableDdl("hq_alarms"));
    const r = rng(22);
    // Dense: about one row a second for an hour, with holes, odd milliseconds and a bad-quality stretch.
    for (let s = 0; s < 3600; s++) {
      if (r() < 0.15) continue;
      const ts = T0 + s * 1000 + Math.floor(r() * 1000);
      rows.push({
        key: DENSE,
        ts,
        value: Math.round((r() * 200 - 100) * 1000) / 1000,
        text: null,
        quality: s > 1000 && s < 1100 ? 0x40 : 0,
      });
    }
    // By exception: a value set before the range and a few changes inside it.
    for (const [ms, v] of [
      [-7_200_000, 5],
      [-60_000, 7],
      [900_000, 9],
      [2_400_123, 11],
    ] as const)
      rows.push({ key: SPARSE, ts: T0 + ms, value: v, text: null, quality: 0 });
    // Text only: counted, never averaged.
    for (let s = 0; s < 3600; s += 300)
      rows.push({ key: TEXT, ts: T0 + s * 1000, value: null, text: `s${s}`, quality: 0x80 });
    await insertHistoryRows(db.admin, "hq_history", rows);
    pool = createMysqlPool(testSettings(db.name));
    source = poolHistorySource(pool, {
      id: "hq",
      name: "hq",
      historyTable: "hq_history",
      alarmsTable: "hq_alarms",
    });
  });
  after(async function () {
    await pool?.end();
    await db?.drop();
  });

  for (const step of [60_000, 7_000, 600_000]) {
    it(`answers every aggregate of ${step} ms buckets as computed from the rows`, async function () {
      const from = T0 + 1234;
      const to = T0 + 3_600_000;
      const res = await queryHistory(source, { points: [DENSE, SPARSE, TEXT], from, to, step });
      assert.equal(res.step, step);
      assert.deepEqual(
        res.series.map((s) => s.key),
        [DENSE, SPARSE, TEXT],
      );
      for (const s of res.series) {
        const want = expectedBuckets(rows, s.key, from, to, step);
        assertBuckets(s.buckets ?? [], want, s.key);
      }
    });
  }

  it("answers only the aggregates asked for", async function () {
    const res = await queryHistory(source, {
      points: [DENSE],
      from: T0,
      to: T0 + 600_000,
      step: 60_000,
      agg: ["max", "last"],
    });
    const b = res.series[0].buckets?.[0] ?? {};
    assert.deepEqual(Object.keys(b).sort(), ["count", "last", "max", "quality", "t"]);
  });

  it("answers a point saved by exception with the value in force at from and no invented buckets", async function () {
    const res = await queryHistory(source, { points: [SPARSE], from: T0, to: T0 + 3_600_000, step: 60_000 });
    const s = res.series[0];
    assert.equal(s.initial?.value, 7);
    assert.equal(s.initial?.ts, T0 - 60_000);
    assert.deepEqual(
      (s.buckets ?? []).map((b) => [b.t, b.first]),
      [
        [T0 + 900_000, 9],
        [T0 + 2_400_000, 11],
      ],
    );
    const raw = await queryHistory(source, { points: [SPARSE], from: T0 + 1_000_000, to: T0 + 2_000_000 });
    assert.deepEqual(raw.series[0].rows, []);
    assert.equal(raw.series[0].initial?.value, 9);
  });

  it("pages raw rows with a cursor, none lost or repeated", async function () {
    const from = T0 + 500_000;
    const to = T0 + 1_500_000;
    const want = rows
      .filter((r) => r.key === DENSE && r.ts >= from && r.ts < to)
      .map((r) => r.ts)
      .sort((a, b) => a - b);
    assert.ok(want.length > 700);
    const seen: HistoryRow[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await queryHistory(source, {
        points: [DENSE, SPARSE],
        from,
        to,
        limit: 250,
        ...(cursor ? { cursor } : {}),
      });
      const dense = res.series.find((s) => s.key === DENSE);
      seen.push(...(dense?.rows ?? []));
      // The sparse point's one row in range comes on the first page; the cursor then continues only dense.
      const sparse = res.series.find((s) => s.key === SPARSE);
      assert.deepEqual(
        (sparse?.rows ?? []).map((r) => r.value),
        pages === 0 ? [9] : [],
      );
      cursor = res.next;
      pages++;
    } while (cursor !== undefined);
    assert.equal(pages, Math.ceil(want.length / 250));
    assert.deepEqual(
      seen.map((r) => r.ts),
      want,
    );
    const text = await queryHistory(source, { points: [TEXT], from: T0, to: T0 + 700_000 });
    assert.deepEqual(text.series[0].rows, [
      { ts: T0, value: null, text: "s0", quality: 0x80, cause: "poll" },
      { ts: T0 + 300_000, value: null, text: "s300", quality: 0x80, cause: "poll" },
      { ts: T0 + 600_000, value: null, text: "s600", quality: 0x80, cause: "poll" },
    ]);
  });

  it("reads query fields as a caller sends them and names the field at fault", function () {
    const q = readHistoryQuery({
      points: "a:b:c, d:e:f",
      from: "2026-12-01T00:00:00Z",
      to: String(T0 + 60_000),
      step: "1000",
      agg: "min,max",
    });
    assert.deepEqual(q, {
      points: ["a:b:c", "d:e:f"],
      from: T0,
      to: T0 + 60_000,
      step: 1000,
      agg: ["min", "max"],
    });
    assert.equal(
      readHistoryQuery({ points: "a", from: "2026-12-01 00:00:00", to: "2026-12-01T02:00:00+01:00" }).to,
      T0 + 3_600_000,
    );
    const field = (raw: Record<string, unknown>): string | undefined => {
      try {
        readHistoryQuery(raw);
      } catch (err) {
        assert.ok(err instanceof DataCollError);
        return err.field;
      }
      return undefined;
    };
    assert.equal(field({ points: "", from: T0, to: T0 + 1 }), "points");
    assert.equal(field({ points: "a", from: "yesterday", to: T0 + 1 }), "from");
    assert.equal(field({ points: "a", from: T0, to: T0 }), "to");
    assert.equal(field({ points: "a", from: T0, to: T0 + 1000, step: "0" }), "step");
    assert.equal(field({ points: "a", from: T0, to: T0 + 10_000_000, step: 1 }), "step");
    assert.equal(field({ points: "a", from: T0, to: T0 + 1, agg: "median" }), "agg");
    assert.equal(field({ points: "a", from: T0, to: T0 + 1, cursor: "nonsense" }), "cursor");
  });

  it("answers the alarm journal newest first, filtered and paged", async function () {
    const journal: AlarmJournalRow[] = [];
    const states = ["raised", "acked", "cleared"];
    for (let i = 0; i < 30; i++) {
      const key = i % 2 === 0 ? DENSE : SPARSE;
      journal.push({
        key,
        condition: "hi",
        state: states[i % 3],
        previous: states[(i + 2) % 3],
        active: i % 3 !== 2,
        // Pairs share a time, so the cursor must break ties by the rest of the key.
        ts: T0 + Math.floor(i / 2) * 10_000,
        severity: 500,
        text: `alarm ${i}`,
        value: i,
        ackBy: i % 3 === 1 ? "op" : null,
      });
    }
    await insertAlarmRows(db.admin, "hq_alarms", journal);
    const order = (a: AlarmJournalRow, b: AlarmJournalRow): number =>
      b.ts - a.ts || (b.key < a.key ? -1 : b.key > a.key ? 1 : 0);
    const got: AlarmJournalRow[] = [];
    let cursor: string | undefined;
    do {
      const page = await queryAlarmJournal(source, {
        from: T0,
        to: T0 + 3_600_000,
        limit: 7,
        ...(cursor ? { cursor } : {}),
      });
      got.push(...page.rows);
      cursor = page.next;
    } while (cursor !== undefined);
    assert.deepEqual(got, [...journal].sort(order));
    const raised = await queryAlarmJournal(source, {
      from: T0,
      to: T0 + 100_000,
      point: SPARSE,
      state: "raised",
    });
    assert.deepEqual(
      raised.rows,
      journal.filter((j) => j.key === SPARSE && j.state === "raised" && j.ts < T0 + 100_000).sort(order),
    );
  });

  it("answers GET /v2/history and /v2/alarm-journal over the API, errors in its JSON shape", async function () {
    const store = new MemoryStore({ namespace: "hq:", instanceId: "hq" });
    let found: ReturnType<NonNullable<RestContext["history"]>> = { source };
    const ctx: RestContext = {
      store,
      basePath: "/api",
      maxBodyBytes: 10_000,
      now: Date.now,
      history: () => found,
    };
    const get = (path: string, query: Record<string, string>) =>
      handle({ method: "GET", path, query, headers: {}, body: undefined }, ctx);
    try {
      const query = {
        points: `${DENSE},${SPARSE}`,
        from: new Date(T0).toISOString(),
        to: String(T0 + 3_600_000),
        step: "60000",
        agg: "min,max,avg",
      };
      const ok = await get("/v2/history", query);
      assert.equal(ok.status, 200);
      assert.deepEqual(
        ok.body,
        await queryHistory(source, {
          points: [DENSE, SPARSE],
          from: T0,
          to: T0 + 3_600_000,
          step: 60_000,
          agg: ["min", "max", "avg"],
        }),
      );
      const bad = await get("/v2/history", { ...query, from: "yesterday" });
      assert.equal(bad.status, 400);
      assert.deepEqual(
        { ...(bad.body as Record<string, unknown>), message: undefined },
        { error: "invalid", field: "from", message: undefined },
      );
      const journal = await get("/v2/alarm-journal", { from: String(T0), to: String(T0 + 1) });
      assert.equal(journal.status, 200);
      found = { problem: "no datacoll-save node is running to read history from" };
      const none = await get("/v2/history", query);
      assert.equal(none.status, 503);
      assert.deepEqual(none.body, {
        error: "unavailable",
        message: "no datacoll-save node is running to read history from",
      });
    } finally {
      await store.close();
    }
  });
});
