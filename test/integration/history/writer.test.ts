/**
 * The batch writer against the real MariaDB: every column, alarms, table names, injection attempts,
 * idempotent replay, batching by size and time, save-on-change, dead letters and custom SQL.
 */
import assert from "node:assert/strict";
import type { RowDataPacket } from "mysql2/promise";
import { BatchWriter } from "../../../src/core/history/batch-writer";
import type { BatchWriterOptions } from "../../../src/core/history/batch-writer";
import type { AlarmTransition } from "../../../src/core/check/checker";
import type { DataPoint } from "../../../src/core/model/datapoint";
import { ManualClock } from "../../../src/transport/manual-clock";
import type { TestDatabase } from "../../support-history/mysql";
import { createTestDatabase, testSettings } from "../../support-history/mysql";

const T0 = Date.UTC(2026, 10, 21, 14, 0, 0, 0);

function dp(
  itemId: string,
  value: DataPoint["value"],
  ts: number,
  extra: Partial<DataPoint> = {},
): DataPoint {
  return {
    key: `dev1:term1:${itemId}`,
    deviceId: "dev1",
    termId: "term1",
    itemId,
    value,
    ts,
    quality: {},
    cause: "poll",
    ...extra,
  };
}

describe("history batch writer (MariaDB)", function () {
  let db: TestDatabase;
  const writers: BatchWriter[] = [];

  before(async function () {
    db = await createTestDatabase();
  });
  after(async function () {
    await db.drop();
  });
  afterEach(async function () {
    await Promise.all(writers.splice(0).map((w) => w.close()));
  });

  function writer(options: Partial<BatchWriterOptions> = {}): BatchWriter {
    const w = new BatchWriter({ mysql: { settings: testSettings(db.name) }, ...options });
    writers.push(w);
    return w;
  }

  async function rows(sql: string, params: unknown[] = []): Promise<RowDataPacket[]> {
    const [r] = await db.admin.query<RowDataPacket[]>(sql, params);
    return r;
  }

  it("stores every column of a sample: ids, ms time in UTC, value, text, quality bits, cause", async function () {
    const w = writer({ tables: { history: "h_columns" } });
    await w.write([
      dp("num", 12.345, T0 + 1),
      dp("bool", true, T0 + 2, { cause: "spontaneous", quality: { substituted: true } }),
      dp("text", "RUN ü", T0 + 3, { cause: "interrogation" }),
      dp("null", null, T0 + 4, { quality: { invalid: true, notTopical: true }, cause: "call" }),
      dp("nan", Number.NaN, T0 + 5, { quality: { overflow: true, blocked: true }, cause: "formula" }),
      dp("neg", -1e300, T0 + 999, { cause: "manual" }),
    ]);
    const stats = await w.flush();
    assert.equal(stats.written, 6);
    const got = await rows(
      "SELECT point_key, device_id, term_id, item_id, DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s.%f') AS ts, value, value_text, quality, cause FROM h_columns ORDER BY ts",
    );
    assert.deepEqual(
      got.map((r) => ({ ...r })),
      [
        {
          point_key: "dev1:term1:num",
          device_id: "dev1",
          term_id: "term1",
          item_id: "num",
          ts: "2026-11-21 14:00:00.001000",
          value: 12.345,
          value_text: null,
          quality: 0,
          cause: "poll",
        },
        {
          point_key: "dev1:term1:bool",
          device_id: "dev1",
          term_id: "term1",
          item_id: "bool",
          ts: "2026-11-21 14:00:00.002000",
          value: 1,
          value_text: "true",
          quality: 0x20,
          cause: "spontaneous",
        },
        {
          point_key: "dev1:term1:text",
          device_id: "dev1",
          term_id: "term1",
          item_id: "text",
          ts: "2026-11-21 14:00:00.003000",
          value: null,
          value_text: "RUN ü",
          quality: 0,
          cause: "interrogation",
        },
        {
          point_key: "dev1:term1:null",
          device_id: "dev1",
          term_id: "term1",
          item_id: "null",
          ts: "2026-11-21 14:00:00.004000",
          value: null,
          value_text: null,
          quality: 0xc0,
          cause: "call",
        },
        {
          point_key: "dev1:term1:nan",
          device_id: "dev1",
          term_id: "term1",
          item_id: "nan",
          ts: "2026-11-21 14:00:00.005000",
          value: null,
          value_text: "NaN",
          quality: 0x11,
          cause: "formula",
        },
        {
          point_key: "dev1:term1:neg",
          device_id: "dev1",
          term_id: "term1",
          item_id: "neg",
          ts: "2026-11-21 14:00:00.999000",
          value: -1e300,
          value_text: null,
          quality: 0,
          cause: "manual",
        },
      ],
    );
  });

  it("stores alarm transitions with every column in the alarms table", async function () {
    const w = writer({ tables: { history: "h_al", alarms: "a_al" } });
    const raised: AlarmTransition = {
      key: "dev1:term1:temp",
      condition: "high",
      state: "raised",
      previous: "normal",
      active: true,
      severity: 700,
      text: "T > 90 °C",
      ts: T0 + 10,
      value: 91.5,
    };
    await w.writeAlarms([
      raised,
      { ...raised, state: "acked", previous: "raised", ts: T0 + 20, value: "HIGH", by: "operator 'jo'" },
      {
        ...raised,
        state: "cleared-unacked",
        previous: "raised",
        active: false,
        ts: T0 + 20,
        value: undefined,
      },
    ]);
    assert.equal((await w.flush()).written, 3);
    const got = await rows(
      "SELECT point_key, device_id, term_id, item_id, `condition`, state, previous, active, DATE_FORMAT(ts, '%H:%i:%s.%f') AS ts, severity, text, value, value_text, ack_by FROM a_al ORDER BY ts, state",
    );
    const common = {
      point_key: "dev1:term1:temp",
      device_id: "dev1",
      term_id: "term1",
      item_id: "temp",
      condition: "high",
    };
    assert.deepEqual(
      got.map((r) => ({ ...r })),
      [
        {
          ...common,
          state: "raised",
          previous: "normal",
          active: 1,
          ts: "14:00:00.010000",
          severity: 700,
          text: "T > 90 °C",
          value: 91.5,
          value_text: null,
          ack_by: null,
        },
        {
          ...common,
          state: "acked",
          previous: "raised",
          active: 1,
          ts: "14:00:00.020000",
          severity: 700,
          text: "T > 90 °C",
          value: null,
          value_text: "HIGH",
          ack_by: "operator 'jo'",
        },
        {
          ...common,
          state: "cleared-unacked",
          previous: "raised",
          active: 0,
          ts: "14:00:00.020000",
          severity: 700,
          text: "T > 90 °C",
          value: null,
          value_text: null,
          ack_by: null,
        },
      ],
    );
  });

  it("keeps injection attempts in ids, item names and values as plain data", async function () {
    const w = writer({ tables: { history: "h_inject", alarms: "a_inject" } });
    const evil = [
      "x'); DROP TABLE h_inject; --",
      'a" OR "1"="1',
      "`; DELETE FROM h_inject; #",
      "\\'; SELECT SLEEP(5); --",
      "0x27 UNION SELECT 1",
    ];
    await w.write(
      evil.map((e, i) => ({
        key: `d${e}:t${i}:${e}`,
        deviceId: `d${e}`,
        termId: `t${i}`,
        itemId: e,
        value: e,
        ts: T0 + i,
        quality: {},
        cause: "poll" as const,
      })),
    );
    await w.writeAlarms({
      key: `d:t:${evil[0]}`,
      condition: "high",
      state: "acked",
      previous: "raised",
      active: true,
      severity: 500,
      text: evil[3],
      ts: T0,
      value: evil[1],
      by: evil[2],
    });
    assert.equal((await w.flush()).written, evil.length + 1);
    const got = await rows("SELECT item_id, value_text, device_id FROM h_inject ORDER BY ts");
    assert.deepEqual(
      got.map((r) => r.item_id),
      evil,
    );
    assert.deepEqual(
      got.map((r) => r.value_text),
      evil,
    );
    assert.deepEqual(
      got.map((r) => r.device_id),
      evil.map((e) => `d${e}`),
    );
    const alarm = await rows("SELECT item_id, value_text, ack_by, text FROM a_inject");
    assert.deepEqual(
      { ...alarm[0] },
      { item_id: evil[0], value_text: evil[1], ack_by: evil[2], text: evil[3] },
    );
  });

  it("makes a replay a no-op and lets the last write of a (point, ts) win", async function () {
    const batch = Array.from({ length: 50 }, (_, i) => dp(`i${i % 5}`, i, T0 + i));
    const first = writer({ tables: { history: "h_replay" } });
    await first.write(batch);
    await first.flush();
    const again = writer({ tables: { history: "h_replay" } });
    await again.write(batch);
    await again.write(dp("i0", 1000, T0, { quality: { invalid: true } }));
    assert.equal((await again.flush()).written, 51);
    assert.equal((await rows("SELECT COUNT(*) AS n FROM h_replay"))[0].n, 50);
    const [row] = await rows(
      "SELECT value, quality FROM h_replay WHERE point_key = 'dev1:term1:i0' AND ts = ?",
      ["2026-11-21 14:00:00.000"],
    );
    assert.deepEqual({ ...row }, { value: 1000, quality: 0x80 });
  });

  it("sends a batch when it is full and the rest when the delay is up", async function () {
    const clock = new ManualClock(T0);
    const w = writer({
      tables: { history: "h_timing" },
      batchSize: 5,
      maxDelayMs: 200,
      concurrency: 1,
      clock,
    });
    await w.idle(); // the start-up look at the backlog
    const count = async () => Number((await rows("SELECT COUNT(*) AS n FROM h_timing"))[0].n);
    await w.write(Array.from({ length: 12 }, (_, i) => dp("i", i, T0 + i)));
    await w.idle();
    assert.equal(await count(), 10, "two full batches go at once");
    assert.equal(w.stats().pending, 2);
    clock.advance(199);
    await w.idle();
    assert.equal(await count(), 10, "the rest waits for the delay");
    clock.advance(1);
    await w.idle();
    assert.equal(await count(), 12);
    await w.write(dp("i", 99, T0 + 99));
    await w.idle();
    assert.equal(await count(), 12, "a new first row starts a new delay");
    clock.advance(200);
    await w.idle();
    assert.equal(await count(), 13);
  });

  it("holds writes back while MySQL is slower than a burst, instead of dropping rows", async function () {
    const w = writer({ tables: { history: "h_burst" }, batchSize: 10, concurrency: 1, backlogCapacity: 50 });
    await w.idle();
    const burst = Array.from({ length: 60 }, (_, chunk) =>
      Array.from({ length: 10 }, (_, i) => dp(`i${i}`, chunk, T0 + chunk * 10 + i)),
    );
    // Not awaited one by one: a burst from many messages at once, 12 times what the backlog could hold.
    const outcomes = await Promise.all(burst.map((chunk) => w.write(chunk)));
    assert.equal(
      outcomes.reduce((n, o) => n + o.accepted, 0),
      600,
    );
    const stats = await w.flush();
    assert.deepEqual([stats.written, stats.dropped, stats.backlog], [600, 0, 0]);
    assert.equal((await rows("SELECT COUNT(*) AS n FROM h_burst"))[0].n, 600);
  });

  it("reports stats to each listener until it unsubscribes, and rows/s over the last 5 s", async function () {
    const clock = new ManualClock(T0);
    const w = writer({ tables: { history: "h_stats" }, clock });
    const a: string[] = [];
    const b: string[] = [];
    const offA = w.subscribe((e) => a.push(e.type));
    w.subscribe((e) => b.push(e.type));
    await w.write(Array.from({ length: 100 }, (_, i) => dp("i", i, T0 + i)));
    await w.flush();
    assert.ok(a.includes("stats") && b.includes("stats"));
    offA();
    const seenByA = a.length;
    await w.write(dp("i", 1, T0 + 500));
    const stats = await w.flush();
    assert.equal(a.length, seenByA, "an unsubscribed listener hears nothing more");
    assert.ok(b.length > seenByA);
    assert.equal(stats.rowsPerSecond, 101 / 5);
    clock.advance(5000);
    assert.equal(w.stats().rowsPerSecond, 0);
  });

  it("saves only changes beyond the deadband when unchanged samples are not saved", async function () {
    const w = writer({ tables: { history: "h_change" }, saveUnchanged: false, deadband: 0.5 });
    const values = [1, 1.2, 1.4, 1.6, 1.6, 2.5];
    const outcome = await w.write(values.map((v, i) => dp("i", v, T0 + i)));
    assert.deepEqual(outcome, { accepted: 3, skipped: 3, invalid: 0, dropped: 0 });
    await w.flush();
    const got = await rows("SELECT value FROM h_change ORDER BY ts");
    assert.deepEqual(
      got.map((r) => r.value),
      [1, 1.6, 2.5],
    );
    assert.equal(w.stats().skipped, 3);
  });

  it("sends rows MySQL refuses to the dead letters and writes the rest of their batch", async function () {
    const w = writer({ tables: { history: "h_dead" } });
    const letters: string[] = [];
    w.subscribe((e) => {
      if (e.type === "deadLetters") for (const l of e.letters) letters.push(l.code ?? "none");
    });
    const batch = Array.from({ length: 100 }, (_, i) => dp(`i${i}`, i, T0 + i));
    batch[17] = dp("i17", "x".repeat(256), T0 + 17);
    batch[63] = { ...dp("i63", 63, T0 + 63), itemId: "y".repeat(129) };
    batch[80] = dp("i80", 80, Number.NaN);
    const outcome = await w.write(batch);
    assert.equal(outcome.invalid, 1, "the NaN time stamp is refused before it reaches MySQL");
    const stats = await w.flush();
    assert.equal(stats.written, 97);
    assert.equal(stats.deadLetters, 3);
    assert.equal(stats.state, "ok");
    assert.equal((await rows("SELECT COUNT(*) AS n FROM h_dead"))[0].n, 97);
    const dead = await w.deadLetters();
    assert.deepEqual(dead.map((l) => [l.row.key, l.code]).sort(), [
      ["dev1:term1:i17", "ER_DATA_TOO_LONG"],
      ["dev1:term1:i63", "ER_DATA_TOO_LONG"],
      ["dev1:term1:i80", null],
    ]);
    assert.match(dead.find((l) => l.code === null)?.error ?? "", /time stamp/);
    assert.deepEqual(letters.sort(), ["ER_DATA_TOO_LONG", "ER_DATA_TOO_LONG", "none"]);
  });

  describe("custom SQL", function () {
    before(async function () {
      await db.admin.query(
        "CREATE TABLE my_hist (seq INT AUTO_INCREMENT PRIMARY KEY, tag VARCHAR(100) NOT NULL, v DOUBLE NULL, txt VARCHAR(20) NULL, t DATETIME(3) NOT NULL, t_ms BIGINT NOT NULL, q INT NOT NULL, why VARCHAR(16), dev VARCHAR(50), term VARCHAR(50), item VARCHAR(50))",
      );
    });

    it("runs the user's statement per row with every placeholder bound as data", async function () {
      const w = writer({
        customSql:
          "INSERT INTO my_hist (tag, v, txt, t, t_ms, q, why, dev, term, item) VALUES (:key, :value, :valueText, :ts, :tsMs, :quality, :cause, :deviceId, :termId, :itemId)",
      });
      await w.write([
        dp("a", 1.5, T0 + 7, { quality: { invalid: true } }),
        dp("b'; DROP TABLE my_hist; --", "x'--", T0 + 8),
      ]);
      const stats = await w.flush();
      assert.equal(stats.written, 2);
      const got = await rows(
        "SELECT tag, v, txt, DATE_FORMAT(t, '%H:%i:%s.%f') AS t, t_ms, q, why, dev, term, item FROM my_hist ORDER BY t_ms",
      );
      assert.deepEqual(
        got.map((r) => ({ ...r })),
        [
          {
            tag: "dev1:term1:a",
            v: 1.5,
            txt: null,
            t: "14:00:00.007000",
            t_ms: T0 + 7,
            q: 0x80,
            why: "poll",
            dev: "dev1",
            term: "term1",
            item: "a",
          },
          {
            tag: "dev1:term1:b'; DROP TABLE my_hist; --",
            v: null,
            txt: "x'--",
            t: "14:00:00.008000",
            t_ms: T0 + 8,
            q: 0,
            why: "poll",
            dev: "dev1",
            term: "term1",
            item: "b'; DROP TABLE my_hist; --",
          },
        ],
      );
      assert.equal(
        (
          await rows(
            "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = ? AND table_name = 'dc_history'",
            [db.name],
          )
        )[0].n,
        0,
        "with custom SQL the default history table is not created",
      );
    });

    it("dead-letters a row the statement refuses and keeps the others", async function () {
      await db.admin.query("DELETE FROM my_hist");
      const w = writer({
        customSql:
          "INSERT INTO my_hist (tag, v, txt, t, t_ms, q) VALUES (:key, :value, :valueText, :ts, :tsMs, :quality)",
      });
      await w.write([dp("a", 1, T0), dp("b", "much too long for twenty", T0 + 1), dp("c", 3, T0 + 2)]);
      const stats = await w.flush();
      assert.deepEqual([stats.written, stats.deadLetters], [2, 1]);
      assert.deepEqual(
        (await rows("SELECT tag FROM my_hist ORDER BY tag")).map((r) => r.tag),
        ["dev1:term1:a", "dev1:term1:c"],
      );
      assert.equal((await w.deadLetters())[0].code, "ER_DATA_TOO_LONG");
    });

    it("keeps rows waiting when the statement itself is wrong, and says so", async function () {
      const clock = new ManualClock(T0);
      const w = writer({ customSql: "INSERT INTO my_hist (tag, nope) VALUES (:key, :value)", clock });
      await w.write([dp("a", 1, T0), dp("b", 2, T0)]);
      const stats = await w.flush();
      assert.equal(stats.state, "retrying");
      assert.equal(stats.backlog, 2);
      assert.equal(stats.deadLetters, 0);
      assert.equal(stats.lastError?.kind, "statement");
      assert.equal(stats.lastError?.code, "ER_BAD_FIELD_ERROR");
    });

    it("keeps each point's rows in order when a burst is held back", async function () {
      await db.admin.query("DELETE FROM my_hist");
      const w = writer({
        customSql: "INSERT INTO my_hist (tag, t, t_ms, q) VALUES (:key, :ts, :tsMs, :quality)",
        batchSize: 10,
        concurrency: 2,
      });
      await w.idle();
      const burst = Array.from({ length: 60 }, (_, chunk) =>
        Array.from({ length: 10 }, (_, i) => dp(`p${i % 3}`, 0, T0 + chunk * 10 + i)),
      );
      await Promise.all(burst.map((chunk) => w.write(chunk)));
      assert.equal((await w.flush()).written, 600);
      const got = await rows("SELECT tag, t_ms FROM my_hist ORDER BY seq");
      const last = new Map<string, number>();
      for (const r of got) {
        assert.ok((last.get(r.tag) ?? -Infinity) < Number(r.t_ms), `${r.tag} out of order at ${r.t_ms}`);
        last.set(r.tag, Number(r.t_ms));
      }
      assert.equal(got.length, 600);
    });

    it("keeps each point's rows in order with several batches in flight", async function () {
      await db.admin.query("DELETE FROM my_hist");
      const w = writer({
        customSql: "INSERT INTO my_hist (tag, t, t_ms, q) VALUES (:key, :ts, :tsMs, :quality)",
        batchSize: 50,
        concurrency: 4,
      });
      for (let chunk = 0; chunk < 10; chunk++) {
        await w.write(Array.from({ length: 100 }, (_, i) => dp(`p${i % 20}`, 0, T0 + chunk * 100 + i)));
      }
      assert.equal((await w.flush()).written, 1000);
      const got = await rows("SELECT tag, t_ms FROM my_hist ORDER BY seq");
      assert.equal(got.length, 1000);
      const last = new Map<string, number>();
      for (const r of got) {
        assert.ok((last.get(r.tag) ?? -Infinity) < Number(r.t_ms), `${r.tag} out of order at ${r.t_ms}`);
        last.set(r.tag, Number(r.t_ms));
      }
      assert.equal(last.size, 20);
    });
  });
});
