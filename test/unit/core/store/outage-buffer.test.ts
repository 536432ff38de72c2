/**
 * The outage buffer on a manual clock over a store the test switches off and on: batches made while the
 * store is away are written once it is back, in order, none twice; a full buffer drops the oldest and
 * says how many; the automatic bound follows a minute of the rate.
 */
import assert from "node:assert/strict";
import { ENVELOPE_VERSION, type PointsEnvelope } from "../../../../src/core/bus/envelope";
import type { DataPoint } from "../../../../src/core/model/datapoint";
import { AUTO_FLOOR, OutageBuffer, type OutageCapacity } from "../../../../src/core/store/outage-buffer";
import { ManualClock } from "../../../../src/transport/manual-clock";

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function sample(n: number): DataPoint {
  return {
    key: "d:t:v",
    deviceId: "d",
    termId: "t",
    itemId: "v",
    value: n,
    ts: n,
    quality: {},
    cause: "poll",
  };
}

/** A batch of `size` samples numbered from `first`; its id names the first. */
function batch(first: number, size = 1): PointsEnvelope {
  const points = Array.from({ length: size }, (_, i) => sample(first + i));
  return { v: ENVELOPE_VERSION, instance: "t", id: `t-${first}`, ts: first, points };
}

/** A store that takes writes while `up`, and can fail chosen ids once. */
class FakeStore {
  up = true;
  readonly written: number[] = [];
  readonly failOnce = new Set<string>();
  attempts = 0;

  write = async (env: PointsEnvelope): Promise<void> => {
    this.attempts++;
    await Promise.resolve();
    if (!this.up || this.failOnce.delete(env.id)) throw new Error("Connection is closed.");
    for (const p of env.points) this.written.push(Number(p.value));
  };
}

function rig(capacity: OutageCapacity = 1000) {
  const clock = new ManualClock(1_700_000_000_000);
  const store = new FakeStore();
  const drops: [number, number][] = [];
  const recoveries: [number, number][] = [];
  const buffer = new OutageBuffer({
    write: store.write,
    capacity,
    clock,
    retryMs: 100,
    onDrop: (points, total) => drops.push([points, total]),
    onRecovered: (written, dropped) => recoveries.push([written, dropped]),
  });
  return { clock, store, buffer, drops, recoveries };
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("OutageBuffer", function () {
  it("writes batches in order while the store is up and holds nothing", async function () {
    const r = rig();
    await Promise.all([1, 2, 3, 4].map((n) => r.buffer.submit(batch(n))));
    assert.deepEqual(r.store.written, [1, 2, 3, 4]);
    assert.deepEqual(r.buffer.stats(), { outage: false, held: 0, capacity: 1000, dropped: 0, delayed: 0 });
  });

  it("keeps what is made during an outage and writes it once the store is back: none lost, none twice, in order", async function () {
    const r = rig();
    await r.buffer.submit(batch(1));
    r.store.up = false;
    // Submitters do not wait for the store while it is away.
    for (let n = 2; n <= 50; n++) await r.buffer.submit(batch(n));
    await flush();
    const during = r.buffer.stats();
    assert.equal(during.outage, true);
    assert.equal(during.held, 49);
    // Retries while it is still away write nothing and keep everything.
    r.clock.advance(1000);
    await flush();
    assert.deepEqual(r.store.written, [1]);
    r.store.up = true;
    r.clock.advance(100);
    for (let i = 0; i < 10 && r.buffer.stats().held > 0; i++) await flush();
    assert.deepEqual(r.store.written, range(1, 50));
    assert.deepEqual(r.buffer.stats(), { outage: false, held: 0, capacity: 1000, dropped: 0, delayed: 49 });
    assert.deepEqual(r.recoveries, [[49, 0]]);
    assert.deepEqual(r.drops, []);
  });

  it("puts the failed part of a round back at the head, and does not write the written part again", async function () {
    const r = rig();
    r.store.failOnce.add("t-3");
    r.store.failOnce.add("t-4");
    await Promise.all([1, 2, 3, 4].map((n) => r.buffer.submit(batch(n))));
    assert.deepEqual(r.store.written, [1, 2], "the first round wrote its head");
    const fifth = r.buffer.submit(batch(5));
    await fifth;
    r.clock.advance(100);
    for (let i = 0; i < 10 && r.buffer.stats().held > 0; i++) await flush();
    assert.deepEqual(r.store.written, [1, 2, 3, 4, 5]);
  });

  it("drops the oldest when full, counts and reports every dropped sample, and keeps the newest in order", async function () {
    const r = rig(10);
    r.store.up = false;
    for (let n = 1; n <= 25; n++) await r.buffer.submit(batch(n));
    await flush();
    const s = r.buffer.stats();
    assert.equal(s.held, 10);
    assert.equal(s.dropped, 15);
    assert.equal(
      r.drops.reduce((n, [points]) => n + points, 0),
      15,
      "each drop reported",
    );
    assert.equal(r.drops[r.drops.length - 1][1], 15, "with the running total");
    r.store.up = true;
    r.clock.advance(100);
    for (let i = 0; i < 10 && r.buffer.stats().held > 0; i++) await flush();
    assert.deepEqual(r.store.written, range(16, 25));
    assert.deepEqual(r.recoveries, [[10, 15]]);
  });

  it("sizes an automatic bound for a minute at the rate of the last minute, never below the floor", async function () {
    const r = rig("auto");
    assert.equal(r.buffer.capacity, AUTO_FLOOR);
    // 200 points a second for a minute.
    for (let s = 0; s < 60; s++) {
      if (s > 0) r.clock.advance(1000);
      await r.buffer.submit(batch(s * 200, 200));
    }
    assert.equal(r.buffer.capacity, 200 * 60);
    // A minute of nothing: the rate falls and so does the bound.
    r.clock.advance(61_000);
    assert.equal(r.buffer.capacity, AUTO_FLOOR);
  });

  it("hands what it could not write to its successor on close, which writes it ahead of its own", async function () {
    const r = rig();
    r.store.up = false;
    for (let n = 1; n <= 5; n++) await r.buffer.submit(batch(n));
    const close = r.buffer.close();
    // The probe in flight settles as the store goes away under it.
    await flush();
    const left = await close;
    assert.deepEqual(
      left.map((e) => e.id),
      ["t-1", "t-2", "t-3", "t-4", "t-5"],
    );
    await assert.rejects(r.buffer.submit(batch(6)), /closed/);
    assert.equal(r.clock.pending, 0, "no timer left behind");

    const next = rig();
    next.store.up = false;
    await next.buffer.submit(batch(6));
    next.buffer.adopt(left);
    next.store.up = true;
    next.clock.advance(100);
    for (let i = 0; i < 10 && next.buffer.stats().held > 0; i++) await flush();
    assert.deepEqual(next.store.written, [1, 2, 3, 4, 5, 6]);
  });

  it("refuses a bound that is not a whole number of points", function () {
    const clock = new ManualClock();
    const write = async (): Promise<void> => undefined;
    assert.throws(() => new OutageBuffer({ write, clock, capacity: -1 }), /whole number/);
    assert.throws(() => new OutageBuffer({ write, clock, capacity: 1.5 }), /whole number/);
  });
});
