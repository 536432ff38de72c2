/**
 * Store-and-forward through real outages: a TCP proxy between the writer and MariaDB is cut and restored.
 * Rows written during a cut must arrive exactly once and in order per point after the restore; with the
 * Redis backlog, a new writer (a Node-RED restart) drains what the old one left.
 */
import assert from "node:assert/strict";
import Redis from "ioredis";
import type { RowDataPacket } from "mysql2/promise";
import { RedisStreamBacklog, saverKeys } from "../../../src/core/history/backlog";
import { BatchWriter } from "../../../src/core/history/batch-writer";
import type { BatchWriterOptions } from "../../../src/core/history/batch-writer";
import { RedisDeadLetters } from "../../../src/core/history/dead-letters";
import type { DataPoint } from "../../../src/core/model/datapoint";
import { ManualClock } from "../../../src/transport/manual-clock";
import { until } from "../../support/net";
import type { TestDatabase } from "../../support-history/mysql";
import { createTestDatabase, serverPort, testSettings } from "../../support-history/mysql";
import { expectNoLeaks, snapshotResources } from "../../support/leaks";
import { REDIS_URL, uniqueNamespace } from "../../support/services";
import { TcpProxy } from "./tcp-proxy";

const T0 = Date.UTC(2026, 10, 21, 15, 0, 0, 0);
const SEQ_SQL = "INSERT INTO arrivals (tag, t_ms) VALUES (:key, :tsMs)";

function dp(point: number, ts: number): DataPoint {
  return {
    key: `d:t:p${point}`,
    deviceId: "d",
    termId: "t",
    itemId: `p${point}`,
    value: ts - T0,
    ts,
    quality: {},
    cause: "poll",
  };
}

/** `n` samples spread over `points` points, time stamps from `from`. */
function samples(from: number, n: number, points = 7): DataPoint[] {
  return Array.from({ length: n }, (_, i) => dp(i % points, from + i));
}

describe("history store-and-forward (MariaDB through a TCP proxy)", function () {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let port: number;
  let clock: ManualClock;
  const writers: BatchWriter[] = [];

  before(async function () {
    db = await createTestDatabase();
    // AUTO_INCREMENT seq records arrival order; no unique key, so a duplicate would show.
    await db.admin.query(
      "CREATE TABLE arrivals (seq INT AUTO_INCREMENT PRIMARY KEY, tag VARCHAR(100) NOT NULL, t_ms BIGINT NOT NULL)",
    );
  });
  after(async function () {
    await db.drop();
  });
  beforeEach(async function () {
    proxy = new TcpProxy(serverPort());
    port = await proxy.start();
    clock = new ManualClock(T0);
    await db.admin.query("DELETE FROM arrivals");
  });
  afterEach(async function () {
    proxy.restore();
    await Promise.all(writers.splice(0).map((w) => w.close()));
    await proxy.stop();
  });

  function writer(options: Partial<BatchWriterOptions> = {}): BatchWriter {
    const w = new BatchWriter({
      mysql: { settings: testSettings(db.name, { port, poolSize: 3 }) },
      customSql: SEQ_SQL,
      batchSize: 20,
      clock,
      ...options,
    });
    writers.push(w);
    return w;
  }

  async function arrivals(): Promise<{ tag: string; t: number }[]> {
    const [r] = await db.admin.query<RowDataPacket[]>("SELECT tag, t_ms FROM arrivals ORDER BY seq");
    return r.map((x) => ({ tag: String(x.tag), t: Number(x.t_ms) }));
  }

  /** Every sample exactly once, and each point's samples in time order. */
  function assertExactlyOnceInOrder(got: { tag: string; t: number }[], sent: DataPoint[]): void {
    assert.deepEqual(got.map((g) => `${g.tag}@${g.t}`).sort(), sent.map((p) => `${p.key}@${p.ts}`).sort());
    const last = new Map<string, number>();
    for (const g of got) {
      assert.ok((last.get(g.tag) ?? -Infinity) < g.t, `${g.tag} arrived out of order at ${g.t}`);
      last.set(g.tag, g.t);
    }
  }

  it("keeps rows written during a cut and writes them exactly once, in order, after the restore", async function () {
    const w = writer();
    const before = samples(T0, 50);
    await w.write(before);
    assert.equal((await w.flush()).written, 50);

    proxy.cut();
    const during = samples(T0 + 1000, 130);
    for (let i = 0; i < during.length; i += 10) await w.write(during.slice(i, i + 10));
    let stats = await w.flush();
    assert.equal(stats.state, "retrying");
    assert.equal(stats.lastError?.kind, "connection");
    assert.equal(stats.backlog, 130);
    assert.equal(stats.deadLetters, 0);
    // More rows while still cut join the backlog behind the others.
    const later = samples(T0 + 2000, 40);
    await w.write(later);
    clock.advance(500); // a retry falls due and fails again
    stats = await w.flush();
    assert.equal(stats.state, "retrying");
    assert.equal(stats.backlog, 170);
    assert.equal((await arrivals()).length, 50);

    proxy.restore();
    clock.advance(60_000);
    stats = await w.flush();
    assert.equal(stats.state, "ok");
    assert.equal(stats.backlog, 0);
    assert.equal(stats.written, 220);
    assertExactlyOnceInOrder(await arrivals(), [...before, ...during, ...later]);
  });

  it("moves a batch that fails in flight, and everything behind it, to the backlog in order", async function () {
    const w = writer();
    await w.flush();
    proxy.cut();
    // Written while direct: the first round fails in flight and takes the pending rows with it.
    const rows = samples(T0, 200);
    await w.write(rows);
    assert.equal((await w.flush()).backlog, 200);
    proxy.restore();
    w.retryNow();
    assert.equal((await w.flush()).backlog, 0);
    assertExactlyOnceInOrder(await arrivals(), rows);
  });

  it("starts while MySQL is away, keeps rows, and writes them once it is back", async function () {
    proxy.cut();
    const w = writer();
    const rows = samples(T0, 45);
    await w.write(rows);
    let stats = await w.flush();
    assert.deepEqual([stats.state, stats.backlog, stats.lastError?.kind], ["retrying", 45, "connection"]);
    proxy.restore();
    clock.advance(500);
    stats = await w.flush();
    assert.deepEqual([stats.state, stats.backlog, stats.written], ["ok", 0, 45]);
    assertExactlyOnceInOrder(await arrivals(), rows);
  });

  it("backs off from 500 ms, doubling, and starts again from 500 ms after a success", async function () {
    const w = writer();
    await w.flush();
    proxy.cut();
    await w.write(samples(T0, 5));
    await w.flush();
    /** The state while a retry is under way: still an outage until one succeeds (not "queued"). */
    const during: string[] = [];
    const attempts = async (ms: number): Promise<boolean> => {
      const before = proxy.refused;
      clock.advance(ms);
      during.push(w.stats().state);
      await w.flush();
      return proxy.refused > before;
    };
    assert.equal(await attempts(499), false);
    assert.equal(await attempts(1), true, "first retry after 500 ms");
    assert.equal(await attempts(999), false);
    assert.equal(await attempts(1), true, "second after 1 s more");
    assert.equal(await attempts(1999), false);
    assert.equal(await attempts(1), true, "third after 2 s more");
    assert.deepEqual(new Set(during), new Set(["retrying"]), "never reported back while cut");
    proxy.restore();
    clock.advance(4000);
    assert.equal((await w.flush()).state, "ok", "the fourth try, 4 s later, gets through");
    proxy.cut();
    await w.write(samples(T0 + 100, 5));
    await w.flush();
    assert.equal(await attempts(499), false);
    assert.equal(await attempts(1), true, "back to 500 ms");
  });

  for (const path of ["custom SQL", "multi-row INSERT"] as const) {
    it(`leaves no timer behind when the connection dies under a statement (${path})`, async function () {
      const base = snapshotResources();
      const w = writer(path === "custom SQL" ? {} : { customSql: undefined, tables: { history: "h_died" } });
      await w.write(samples(T0, 10));
      await w.flush();
      // The pooled connection is open; its next statement goes into the stall and waits for an answer...
      proxy.stall();
      const before = proxy.swallowed;
      await w.write(samples(T0 + 100, 30));
      const flushed = w.flush();
      await until(() => proxy.swallowed > before, 5000, "the statement sent into the stall");
      // ...when the link dies under it.
      proxy.cut();
      const stats = await flushed;
      assert.deepEqual([stats.state, stats.lastError?.kind], ["retrying", "connection"]);
      await w.close();
      // mysql2's own statement timeout (30 s here) stayed armed after the connection died.
      await expectNoLeaks(base, 1000);
    });
  }

  for (const path of ["custom SQL", "multi-row INSERT"] as const) {
    it(`counts a server that stops answering as an outage once a statement times out (${path})`, async function () {
      const w = writer({
        queryTimeoutMs: 300,
        // A new connection into the stall would otherwise wait out the default 10 s connect timeout.
        mysql: { settings: testSettings(db.name, { port, poolSize: 3, connectTimeoutMs: 300 }) },
        ...(path === "custom SQL" ? {} : { customSql: undefined, tables: { history: "h_stall" } }),
      });
      await w.write(samples(T0, 10));
      await w.flush();
      proxy.stall();
      const rows = samples(T0 + 100, 40);
      await w.write(rows);
      // Resolves when the writer's statement timer (real time, not the injected clock) gives up on the silent server.
      const stats = await w.flush();
      assert.deepEqual([stats.state, stats.backlog, stats.lastError?.kind], ["retrying", 40, "connection"]);
      proxy.restore();
      clock.advance(500);
      assert.equal((await w.flush()).written, 50);
      if (path === "custom SQL") assertExactlyOnceInOrder((await arrivals()).slice(10), rows);
      else {
        const [r] = await db.admin.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM h_stall");
        assert.equal(Number(r[0].n), 50);
      }
    });
  }

  it("closes promptly during an outage and reports what is left", async function () {
    const w = writer();
    await w.flush();
    proxy.cut();
    await w.write(samples(T0, 30));
    await w.close();
    const stats = w.stats();
    assert.deepEqual([stats.state, stats.backlog], ["closed", 30]);
    assert.equal(clock.pending, 0, "no retry timer is left behind");
    await assert.rejects(w.write(samples(T0 + 30, 1)), /closed/);
  });

  describe("overflow while cut", function () {
    for (const [policy, kept] of [
      ["drop-oldest", [40, 99]],
      ["drop-newest", [0, 59]],
    ] as const) {
      it(`${policy}: keeps ${policy === "drop-oldest" ? "the newest" : "the oldest"} rows and counts the rest`, async function () {
        const w = writer({ overflow: policy, backlogCapacity: 60 });
        await w.flush();
        proxy.cut();
        const rows = samples(T0, 100, 1);
        for (let i = 0; i < 100; i += 10) await w.write(rows.slice(i, i + 10));
        const stats = await w.flush();
        assert.deepEqual([stats.backlog, stats.dropped], [60, 40]);
        proxy.restore();
        w.retryNow();
        await w.flush();
        const got = await arrivals();
        assert.equal(got.length, 60);
        assert.deepEqual([got[0].t - T0, got[59].t - T0], kept);
      });
    }

    it("block: holds the input until the backlog has room, and counts it", async function () {
      const w = writer({ overflow: "block", backlogCapacity: 30 });
      await w.flush();
      proxy.cut();
      await w.write(samples(T0, 30, 1));
      await w.flush();
      let settled = false;
      const blocked = w.write(samples(T0 + 30, 25, 1)).then((o) => {
        settled = true;
        return o;
      });
      await w.idle();
      assert.equal(settled, false, "the write waits while the backlog is full");
      assert.equal(w.stats().blocked, 1);
      proxy.restore();
      w.retryNow();
      assert.deepEqual(await blocked, { accepted: 25, skipped: 0, invalid: 0, dropped: 0 });
      const stats = await w.flush();
      assert.deepEqual([stats.backlog, stats.dropped, stats.written], [0, 0, 55]);
      assertExactlyOnceInOrder(await arrivals(), samples(T0, 55, 1));
    });
  });

  describe("with the Redis backlog", function () {
    let redis: Redis;
    let keys: ReturnType<typeof saverKeys>;

    before(function () {
      redis = new Redis(REDIS_URL);
    });
    after(async function () {
      await redis.quit();
    });
    beforeEach(function () {
      keys = saverKeys(uniqueNamespace("hist"), "saver1");
    });
    afterEach(async function () {
      await redis.del(keys.backlog, keys.deadLetters);
    });

    it("lets a new writer drain what a closed one left (a Node-RED restart)", async function () {
      const old = writer({ backlog: new RedisStreamBacklog(redis, keys.backlog, 10_000) });
      await old.flush();
      proxy.cut();
      const rows = samples(T0, 150);
      for (let i = 0; i < rows.length; i += 25) await old.write(rows.slice(i, i + 25));
      assert.equal((await old.flush()).backlog, 150);
      await old.close();
      assert.equal(await redis.xlen(keys.backlog), 150, "the rows outlive the writer");

      proxy.restore();
      const next = writer({ backlog: new RedisStreamBacklog(redis, keys.backlog, 10_000) });
      const fresh = samples(T0 + 10_000, 30);
      await next.write(fresh);
      const stats = await next.flush();
      assert.deepEqual([stats.state, stats.backlog, stats.written], ["ok", 0, 180]);
      assert.equal(await redis.xlen(keys.backlog), 0);
      assertExactlyOnceInOrder(await arrivals(), [...rows, ...fresh]);
    });

    it("durable: has rows in Redis from the moment write() resolves, while MySQL is up", async function () {
      for (const durable of [false, true]) {
        const w = writer({
          durable,
          backlog: new RedisStreamBacklog(redis, keys.backlog, 10_000),
          queryTimeoutMs: 300,
          mysql: { settings: testSettings(db.name, { port, poolSize: 3, connectTimeoutMs: 300 }) },
        });
        await w.flush();
        // The server goes silent, so nothing can leave the backlog while we look at it.
        proxy.stall();
        // Fewer than a batch and the injected clock stands still: without durable, they wait in memory.
        await w.write(samples(T0 + (durable ? 1000 : 0), 5));
        assert.equal(await redis.xlen(keys.backlog), durable ? 5 : 0, `durable: ${durable}`);
        proxy.restore();
        await w.close();
      }
      const next = writer({ backlog: new RedisStreamBacklog(redis, keys.backlog, 10_000) });
      assert.equal((await next.flush()).backlog, 0);
      assert.equal((await arrivals()).length, 10);
    });

    it("durable: still gathers rows into batches by size and time", async function () {
      const w = writer({ durable: true, backlog: new RedisStreamBacklog(redis, keys.backlog, 10_000) });
      await w.idle();
      await w.write(samples(T0, 5));
      await w.idle();
      assert.deepEqual([(await arrivals()).length, await redis.xlen(keys.backlog)], [0, 5]);
      await w.write(samples(T0 + 5, 25));
      await w.idle();
      assert.equal((await arrivals()).length, 30, "a full batch goes at once, with what waited before it");
      await w.write(samples(T0 + 30, 3));
      clock.advance(199);
      await w.idle();
      assert.equal((await arrivals()).length, 30);
      clock.advance(1);
      await w.idle();
      assert.deepEqual([(await arrivals()).length, await redis.xlen(keys.backlog)], [33, 0]);
    });

    it("keeps dead letters in a capped Redis list, newest first", async function () {
      const deadLetters = new RedisDeadLetters(redis, keys.deadLetters, 3);
      const w = writer({
        deadLetters,
        customSql: "INSERT INTO arrivals (tag, t_ms) VALUES (:valueText, :tsMs)",
      });
      // One point, so one lane: the letters are recorded in the order the rows were written.
      const bad = (i: number): DataPoint => ({ ...dp(0, T0 + i), value: null });
      await w.write([bad(1), { ...dp(0, T0 + 2), value: "ok" }, bad(3), bad(4), bad(5)]);
      const stats = await w.flush();
      assert.deepEqual([stats.written, stats.deadLetters], [1, 4]);
      assert.equal(await redis.llen(keys.deadLetters), 3);
      // Someone else's entry in the list is left out of the view rather than breaking it.
      await redis.lpush(keys.deadLetters, "not a letter");
      const listed = await w.deadLetters(10);
      assert.deepEqual(
        listed.map((l) => [l.row.ts - T0, l.code]),
        [
          [5, "ER_BAD_NULL_ERROR"],
          [4, "ER_BAD_NULL_ERROR"],
          [3, "ER_BAD_NULL_ERROR"],
        ],
      );
    });
  });
});

describe("Redis stream backlog", function () {
  let redis: Redis;
  let key: string;
  const row = (ts: number) => ({
    kind: "point" as const,
    key: "d:t:i",
    deviceId: "d",
    termId: "t",
    itemId: "i",
    ts,
    value: ts,
    valueText: null,
    quality: 0,
    cause: "poll",
  });

  before(function () {
    redis = new Redis(REDIS_URL);
  });
  beforeEach(function () {
    key = saverKeys(uniqueNamespace("hist"), "b").backlog;
  });
  afterEach(async function () {
    await redis.del(key);
  });
  after(async function () {
    await redis.quit();
  });

  it("is first in, first out, capped exactly, and never drops an unseen row", async function () {
    const b = new RedisStreamBacklog(redis, key, 5);
    assert.equal(await b.append([row(0), row(1), row(2), row(3)]), 0);
    assert.deepEqual(
      (await b.peek(2)).map((r) => r.ts),
      [0, 1],
    );
    assert.equal(await b.append([row(4), row(5), row(6)]), 2, "0 and 1 make room");
    await b.drop(2); // both already evicted: 2 must stay
    assert.equal(await b.size(), 5);
    assert.deepEqual(
      (await b.peek(10)).map((r) => r.ts),
      [2, 3, 4, 5, 6],
    );
    await b.drop(3);
    assert.deepEqual(
      (await b.peek(10)).map((r) => r.ts),
      [5, 6],
    );
  });

  it("removes entries that are not rows and counts them", async function () {
    const b = new RedisStreamBacklog(redis, key, 100);
    await b.append([row(0)]);
    await redis.xadd(key, "*", "r", "{not json");
    await redis.xadd(key, "*", "other", "x");
    await b.append([row(1)]);
    assert.deepEqual(
      (await b.peek(10)).map((r) => r.ts),
      [0, 1],
    );
    assert.equal(b.corrupt, 2);
    assert.equal(await b.size(), 2);
  });
});
