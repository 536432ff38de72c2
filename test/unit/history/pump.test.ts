/**
 * The batch writer's pump, state by state, with no server: a fake pool that is up, down, hangs or refuses
 * a poisoned row on cue, and a manual clock for the batch timer and the backoff. The real-MySQL tests
 * (test/integration/history) show the same behaviour against MariaDB; these reach every move of the
 * table in pump.ts, including the ones a real server makes hard to time (close while a batch is in flight).
 */
import assert from "node:assert/strict";
import { MemoryBacklog } from "../../../src/core/history/backlog";
import { BatchWriter } from "../../../src/core/history/batch-writer";
import type { BatchWriterOptions } from "../../../src/core/history/batch-writer";
import type { WriterConnection, WriterPool } from "../../../src/core/history/pool";
import type { PumpEvent, PumpState, PumpTag } from "../../../src/core/history/pump";
import { IllegalPumpMove, PUMP_MOVES, pumpMove } from "../../../src/core/history/pump";
import type { HistoryRow } from "../../../src/core/history/rows";
import type { SqlValue } from "../../../src/core/history/schema";
import type { DataPoint } from "../../../src/core/model/datapoint";
import { ManualClock } from "../../../src/transport/manual-clock";

const T0 = Date.UTC(2026, 10, 21, 15, 0, 0, 0);

function dp(point: number, n: number): DataPoint {
  return {
    key: `d:t:p${point}`,
    deviceId: "d",
    termId: "t",
    itemId: `p${point}`,
    value: n,
    ts: T0 + n,
    quality: {},
    cause: "poll",
  };
}

/** `count` samples numbered from `from`, spread over three points. */
function samples(from: number, count: number): DataPoint[] {
  return Array.from({ length: count }, (_, i) => dp((from + i) % 3, from + i));
}

const label = (p: DataPoint): string => `${p.key}#${String(p.value)}`;

function mysqlError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

interface Held {
  readonly rows: readonly string[];
  readonly settle: (error?: Error) => void;
}

/**
 * A pool that stores rows in an array. `down` refuses connections; `hang` holds each INSERT until the
 * test settles it; `poison` keys are refused for their content; `transient` fails that many INSERTs
 * with a deadlock, the way a busy server does.
 */
class FakePool implements WriterPool {
  down = false;
  hang = false;
  transient = 0;
  readonly poison = new Set<string>();
  /** Rows MySQL took, in the order it took them, as `key#value`. */
  readonly stored: string[] = [];
  readonly held: Held[] = [];
  /** Times the writer asked anything of the pool: a statement or a connection. */
  asks = 0;
  inserts = 0;
  ended = 0;

  query(): Promise<unknown> {
    this.asks++;
    return this.down ? Promise.reject(mysqlError("ECONNREFUSED", "connect ECONNREFUSED")) : Promise.resolve();
  }

  getConnection(): Promise<WriterConnection> {
    this.asks++;
    if (this.down) return Promise.reject(mysqlError("ECONNREFUSED", "connect ECONNREFUSED"));
    const conn: WriterConnection = {
      query: (_sql: string, values: SqlValue[][][]) => this.insert(values[0]),
      execute: () => Promise.reject(new Error("the pump tests use no custom SQL")),
      beginTransaction: () => Promise.resolve(),
      rollback: () => Promise.resolve(),
      commit: () => Promise.resolve(),
      release: () => undefined,
      destroy: () => undefined,
    };
    return Promise.resolve(conn);
  }

  end(): Promise<void> {
    this.ended++;
    return Promise.resolve();
  }

  private insert(values: SqlValue[][]): Promise<unknown> {
    this.inserts++;
    // Columns as in schema.ts historyValues: key first, value sixth.
    const rows = values.map((v) => `${String(v[0])}#${String(v[5])}`);
    if (rows.some((r) => this.poison.has(r))) {
      return Promise.reject(mysqlError("ER_DATA_TOO_LONG", "Data too long for column 'value_text'"));
    }
    if (this.transient > 0) {
      this.transient--;
      return Promise.reject(mysqlError("ER_LOCK_DEADLOCK", "Deadlock found when trying to get lock"));
    }
    if (!this.hang) {
      for (const r of rows) this.stored.push(r);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.held.push({
        rows,
        settle: (error) => {
          if (error) return reject(error);
          for (const r of rows) this.stored.push(r);
          resolve(undefined);
        },
      });
    });
  }
}

/** A memory backlog whose size, when asked to, answers only once the test lets it (the value as of the ask). */
class HeldSizeBacklog extends MemoryBacklog {
  hold = false;
  readonly held: (() => void)[] = [];

  override async size(): Promise<number> {
    const n = await super.size();
    if (!this.hold) return n;
    return new Promise((resolve) => this.held.push(() => resolve(n)));
  }
}

/** A memory backlog that refuses appends while `down`, as a Redis backlog does while Redis is away. */
class FlakyBacklog extends MemoryBacklog {
  down = false;
  refused = 0;

  override append(rows: readonly HistoryRow[]): Promise<number> {
    if (!this.down) return super.append(rows);
    this.refused++;
    return Promise.reject(new Error("Connection is closed."));
  }
}

/** Resolves once `condition` holds, checking after each turn of the event loop (no wall-clock sleep). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

describe("batch writer pump (fake pool, manual clock)", function () {
  let clock: ManualClock;
  let pool: FakePool;
  const writers: BatchWriter[] = [];

  beforeEach(function () {
    clock = new ManualClock(T0);
    pool = new FakePool();
  });
  afterEach(async function () {
    pool.down = false;
    pool.hang = false;
    for (const h of pool.held.splice(0)) h.settle();
    await Promise.all(writers.splice(0).map((w) => w.close()));
  });

  function writer(options: Partial<BatchWriterOptions> = {}): BatchWriter {
    const w = new BatchWriter({
      mysql: { pool },
      batchSize: 4,
      maxDelayMs: 200,
      concurrency: 1,
      clock,
      ...options,
    });
    writers.push(w);
    return w;
  }

  /** A writer asked to close while its first batch (four rows) is held in flight by the pool. */
  async function closeWhileWriting(): Promise<{ w: BatchWriter; closed: Promise<void> }> {
    const w = writer();
    await w.flush();
    pool.hang = true;
    await w.write(samples(0, 4));
    await until(() => pool.held.length === 1);
    return { w, closed: w.close() };
  }

  describe("the moves of the table", function () {
    const tags = Object.keys(PUMP_MOVES) as PumpTag[];
    const events: readonly PumpEvent[] = ["kick", "step", "rest", "fail", "retry-due", "close", "stop"];
    const sample: { readonly [T in PumpTag]: PumpState } = {
      idle: { tag: "idle" },
      pumping: { tag: "pumping", kicked: false },
      "waiting-retry": { tag: "waiting-retry", timer: 7 },
      draining: { tag: "draining", kicked: false },
      drained: { tag: "drained" },
      parked: { tag: "parked", timer: 7 },
      closed: { tag: "closed" },
    };

    it("goes where the table says and rejects, loudly, every move it does not list", function () {
      let legal = 0;
      for (const tag of tags) {
        for (const event of events) {
          const to = PUMP_MOVES[tag][event];
          if (to === undefined) {
            assert.throws(() => pumpMove(sample[tag], event, () => 1), IllegalPumpMove, `${event} on ${tag}`);
          } else {
            assert.equal(pumpMove(sample[tag], event, () => 1).tag, to, `${event} on ${tag}`);
            legal++;
          }
        }
      }
      assert.equal(legal, 21, "the table in pump.ts lists 21 moves");
    });

    it("arms the backoff once, on the failure, and keeps that timer through kicks and a close", function () {
      let armed = 0;
      const arm = (): number => ++armed;
      const waiting = pumpMove({ tag: "pumping", kicked: true }, "fail", arm);
      assert.deepEqual(waiting, { tag: "waiting-retry", timer: 1 });
      assert.equal(pumpMove(waiting, "kick", arm), waiting);
      assert.deepEqual(pumpMove(waiting, "close", arm), { tag: "parked", timer: 1 });
      assert.equal(armed, 1);
    });

    it("remembers a kick during a step until the next step starts, across a close", function () {
      const arm = (): number => assert.fail("no backoff here");
      const kicked = pumpMove({ tag: "pumping", kicked: false }, "kick", arm);
      assert.deepEqual(kicked, { tag: "pumping", kicked: true });
      assert.deepEqual(pumpMove(kicked, "close", arm), { tag: "draining", kicked: true });
      assert.deepEqual(pumpMove(kicked, "step", arm), { tag: "pumping", kicked: false });
      assert.deepEqual(pumpMove({ tag: "idle" }, "kick", arm), { tag: "pumping", kicked: false });
    });
  });

  it("idle -> pumping -> idle: a full batch goes at once, a short one when the batch delay is up", async function () {
    const w = writer();
    await w.write(samples(0, 4));
    await w.idle();
    assert.equal(pool.stored.length, 4);
    await w.write(samples(4, 2));
    clock.advance(199);
    await w.idle();
    assert.equal(pool.stored.length, 4, "the short batch waits for its delay");
    clock.advance(1);
    await w.idle();
    assert.deepEqual(pool.stored, samples(0, 6).map(label));
    const stats = w.stats();
    assert.deepEqual([stats.state, stats.written, stats.backlog], ["ok", 6, 0]);
    assert.equal(clock.pending, 0, "at rest, no timer is armed");
  });

  it("pumping remembers a kick during a step: rows appended while the backlog was being sized are sent", async function () {
    const backlog = new HeldSizeBacklog(1000);
    backlog.hold = true;
    const w = writer({ backlog });
    // The first step found the backlog empty and is asking its size, to decide whether to go direct.
    await until(() => backlog.held.length === 1);
    backlog.hold = false;
    await w.write(samples(0, 4)); // still queued: the rows join the backlog, and the append kicks the busy pump
    backlog.held[0](); // 0, as of before the append: that step must not be the last
    await w.idle();
    assert.deepEqual(pool.stored, samples(0, 4).map(label));
    assert.equal(w.stats().backlog, 0);
  });

  it("pumping -> waiting-retry -> pumping: a transient error is retried after a doubling backoff", async function () {
    const w = writer();
    await w.flush();
    pool.transient = 3;
    await w.write(samples(0, 4));
    let stats = await w.flush();
    assert.deepEqual(
      [stats.state, stats.backlog, stats.lastError?.code],
      ["retrying", 4, "ER_LOCK_DEADLOCK"],
    );
    assert.equal(pool.inserts, 1);
    const attemptAfter = async (ms: number): Promise<boolean> => {
      const before = pool.inserts;
      clock.advance(ms);
      await w.idle();
      return pool.inserts > before;
    };
    assert.equal(await attemptAfter(499), false);
    assert.equal(await attemptAfter(1), true, "first retry after 500 ms");
    assert.equal(await attemptAfter(999), false);
    assert.equal(await attemptAfter(1), true, "second after 1 s more");
    assert.equal(await attemptAfter(1999), false);
    assert.equal(await attemptAfter(1), true, "third after 2 s more, and it goes through");
    stats = w.stats();
    assert.deepEqual([stats.state, stats.backlog, stats.written], ["ok", 0, 4]);
    assert.deepEqual(pool.stored, samples(0, 4).map(label));
    assert.equal(clock.pending, 0, "no retry is left armed after the success");
  });

  it("waiting-retry ignores kicks: MySQL away then back, every row stored exactly once and in order", async function () {
    const w = writer();
    await w.write(samples(0, 4));
    await w.flush();
    pool.down = true;
    await w.write(samples(4, 4));
    let stats = await w.flush();
    assert.deepEqual([stats.state, stats.backlog, stats.lastError?.kind], ["retrying", 4, "connection"]);
    const tried = pool.asks;
    // Writes during the outage join the backlog; they do not hurry the next attempt.
    for (let n = 8; n < 40; n += 4) await w.write(samples(n, 4));
    stats = await w.flush();
    assert.equal(pool.asks, tried, "no attempt before the backoff is up");
    assert.equal(stats.backlog, 36);
    clock.advance(500);
    await w.idle();
    assert.equal(pool.asks, tried + 1, "one attempt when it is");
    assert.equal(w.stats().state, "retrying");
    pool.down = false;
    clock.advance(1000);
    stats = await w.flush();
    assert.deepEqual([stats.state, stats.backlog, stats.written], ["ok", 0, 40]);
    assert.deepEqual(pool.stored, samples(0, 40).map(label), "exactly once, in the order written");
    // Back to direct: new rows go straight to MySQL again.
    await w.write(samples(40, 4));
    assert.deepEqual([(await w.flush()).state, pool.stored.length], ["ok", 44]);
  });

  it("durable, the backlog away (a Redis restart): rows wait and are appended in order, none dropped", async function () {
    const backlog = new FlakyBacklog(1000);
    const w = writer({ durable: true, backlog });
    await w.write(samples(0, 4));
    backlog.down = true;
    // The owner's rows heard just before a Redis kill: their append fails and must be tried again.
    const during = [w.write(samples(4, 4)), w.write(samples(8, 4))];
    // Time goes on (the manual clock, a step per turn of the event loop) until it was tried again.
    const advanceUntil = async (condition: () => boolean): Promise<void> => {
      while (!condition()) {
        clock.advance(50);
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    await advanceUntil(() => backlog.refused >= 3);
    assert.equal(w.stats().dropped, 0, "nothing dropped while the backlog is away");
    assert.equal(w.stats().lastError?.kind, "backlog");
    backlog.down = false;
    let settled = false;
    const all = Promise.all(during).finally(() => (settled = true));
    await advanceUntil(() => settled);
    const outcomes = await all;
    assert.deepEqual(
      outcomes.map((o) => [o.accepted, o.dropped]),
      [
        [4, 0],
        [4, 0],
      ],
    );
    clock.advance(200);
    const stats = await w.flush();
    assert.deepEqual([stats.dropped, stats.backlog], [0, 0]);
    assert.deepEqual(pool.stored, samples(0, 12).map(label), "every row once, in the order written");
  });

  it("durable, the backlog away: rows past its capacity are dropped and counted; close gives up the rest", async function () {
    const backlog = new FlakyBacklog(6);
    const w = writer({ durable: true, backlog });
    backlog.down = true;
    const first = w.write(samples(0, 4));
    await until(() => backlog.refused === 1);
    // 4 wait in memory; 4 more would pass the backlog's 6: they are dropped at once, not held.
    assert.deepEqual(await w.write(samples(4, 4)), { accepted: 0, invalid: 0, dropped: 4, skipped: 0 });
    const closed = w.close();
    assert.deepEqual(await first, { accepted: 0, invalid: 0, dropped: 4, skipped: 0 });
    await closed;
    assert.equal(w.stats().dropped, 8);
  });

  it("a poisoned row goes to the dead letters and the rest of its batch is stored, with no retry", async function () {
    const w = writer();
    await w.flush();
    const rows = samples(0, 4);
    pool.poison.add(label(rows[2]));
    await w.write(rows);
    const stats = await w.flush();
    assert.deepEqual([stats.state, stats.written, stats.deadLetters], ["ok", 3, 1]);
    assert.deepEqual(pool.stored, [rows[0], rows[1], rows[3]].map(label));
    const letters = await w.deadLetters();
    assert.deepEqual(
      letters.map((l) => [l.row.key, l.code]),
      [[rows[2].key, "ER_DATA_TOO_LONG"]],
    );
    assert.equal(clock.pending, 0, "a content error is not an outage: nothing to retry");
  });

  it("retryNow moves waiting-retry -> pumping at once and drops the backoff timer", async function () {
    const w = writer();
    pool.down = true;
    await w.write(samples(0, 4));
    assert.equal((await w.flush()).state, "retrying");
    assert.equal(clock.pending, 1, "the backoff timer");
    pool.down = false;
    w.retryNow();
    const stats = await w.flush();
    assert.deepEqual([stats.state, stats.written], ["ok", 4]);
    assert.equal(clock.pending, 0);
  });

  it("close at rest (idle -> drained -> draining -> closed) sends the rows still gathering", async function () {
    const w = writer();
    await w.flush();
    await w.write(samples(0, 2));
    assert.equal(pool.stored.length, 0, "a short batch waits for its delay");
    await w.close();
    assert.deepEqual(pool.stored, samples(0, 2).map(label));
    assert.deepEqual([w.stats().state, w.stats().written], ["closed", 2]);
    assert.equal(clock.pending, 0, "the batch timer is gone");
  });

  it("close while writing (pumping -> draining -> drained -> closed): the batch in flight lands", async function () {
    const { w, closed } = await closeWhileWriting();
    await assert.rejects(w.write(samples(4, 1)), /closed/);
    const asks = pool.asks;
    pool.held[0].settle();
    await closed;
    assert.deepEqual(pool.stored, samples(0, 4).map(label));
    assert.equal(w.stats().state, "closed");
    assert.equal(pool.asks, asks, "nothing more is asked of the pool");
    assert.equal(pool.ended, 0, "a shared pool is left open");
    assert.equal(clock.pending, 0);
  });

  it("close while writing, and the write fails: no retry is armed, the rows stay in the backlog", async function () {
    const { w, closed } = await closeWhileWriting();
    // The server is gone for good: the rows' move to the backlog may kick one more try, which fails too.
    pool.down = true;
    pool.held[0].settle(
      mysqlError("PROTOCOL_CONNECTION_LOST", "Connection lost: The server closed the connection."),
    );
    await closed;
    const stats = w.stats();
    assert.deepEqual([stats.state, stats.backlog, stats.written], ["closed", 4, 0]);
    assert.equal(clock.pending, 0, "close makes no retries");
    assert.equal(pool.stored.length, 0);
  });

  it("close while waiting retry (waiting-retry -> parked -> closed): no new attempt, the timer goes", async function () {
    const w = writer();
    pool.down = true;
    await w.write(samples(0, 4));
    assert.equal((await w.flush()).state, "retrying");
    const asks = pool.asks;
    await w.close();
    let stats = w.stats();
    assert.deepEqual([stats.state, stats.backlog], ["closed", 4]);
    assert.equal(clock.pending, 0, "the backoff timer is cleared");
    pool.down = false;
    clock.advance(60_000);
    w.retryNow();
    stats = await w.idle();
    assert.equal(pool.asks, asks, "a closed writer never touches the pool");
    assert.equal(stats.state, "closed");
  });
});
