/** SingleLease on a manual clock with a backend that behaves like the Redis key (SET NX PX / renew). */
import assert from "node:assert/strict";
import { SingleLease, type SingleLeaseBackend } from "../../../src/core/runtime/single-lease";
import { ManualClock } from "../../../src/transport/manual-clock";

/** One lease key shared by the instances of a test, expiring on the shared clock. */
class Key {
  owner: string | undefined;
  expires = 0;
  constructor(private readonly clock: ManualClock) {}
  holder(): string | undefined {
    return this.owner !== undefined && this.clock.now() < this.expires ? this.owner : undefined;
  }
}

class Backend implements SingleLeaseBackend {
  cut = false;
  calls: string[] = [];
  constructor(
    private readonly key: Key,
    private readonly clock: ManualClock,
    private readonly me: string,
  ) {}
  private check(what: string): void {
    this.calls.push(what);
    if (this.cut) throw new Error("connection lost");
  }
  async acquire(_ids: readonly string[], ttl: number): Promise<boolean[]> {
    this.check("acquire");
    if (this.key.holder() !== undefined) return [false];
    this.key.owner = this.me;
    this.key.expires = this.clock.now() + ttl;
    return [true];
  }
  async renew(_ids: readonly string[], ttl: number): Promise<boolean[]> {
    this.check("renew");
    if (this.key.holder() !== this.me) return [false];
    this.key.expires = this.clock.now() + ttl;
    return [true];
  }
  async release(): Promise<void> {
    this.check("release");
    if (this.key.holder() === this.me) this.key.owner = undefined;
  }
  async free(): Promise<boolean[]> {
    this.check("free");
    return [this.key.holder() === undefined];
  }
}

const TTL = 3000;
/** Let the promise chains of rounds that fired settle. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};
async function advance(clock: ManualClock, ms: number, step = 100): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.advance(Math.min(step, ms - t));
    await settle();
  }
}

function instance(key: Key, clock: ManualClock, me: string, holdThroughOutage = false, patienceMs = 0) {
  const backend = new Backend(key, clock, me);
  const changes: [number, boolean][] = [];
  const lease = new SingleLease(clock, backend, "c1", TTL, (held) => changes.push([clock.now(), held]), {
    holdThroughOutage,
    patienceMs,
  });
  return { backend, changes, lease };
}

describe("single lease (active/standby)", function () {
  it("one of two instances holds it, and keeps it while it renews", async function () {
    const clock = new ManualClock(1000);
    const key = new Key(clock);
    const a = instance(key, clock, "a");
    const b = instance(key, clock, "b");
    a.lease.start();
    b.lease.start();
    await advance(clock, 30_000);
    assert.equal(a.lease.held, true);
    assert.equal(b.lease.held, false);
    assert.equal(a.changes.length, 1);
    assert.ok(a.changes[0][1] && a.changes[0][0] <= 1100, "a took it at its first round");
    assert.deepEqual(b.changes, []);
    assert.ok(a.backend.calls.filter((c) => c === "renew").length >= 25, "renews every third of the TTL");
    await a.lease.close();
    await b.lease.close();
    assert.equal(clock.pending, 0, "no timer left");
  });

  it("a holder cut off from Redis stops at its local deadline, before the key expires, and the other takes over", async function () {
    const clock = new ManualClock(0);
    const key = new Key(clock);
    const a = instance(key, clock, "a");
    a.lease.start();
    await advance(clock, 100);
    const b = instance(key, clock, "b");
    b.lease.start();
    await advance(clock, 5000);
    a.backend.cut = true;
    const cutAt = clock.now();
    await advance(clock, 10_000);
    assert.equal(a.lease.held, false);
    assert.equal(b.lease.held, true);
    const [aLost] = a.changes.filter(([, held]) => !held);
    const [bGot] = b.changes;
    assert.ok(aLost, "a gave up");
    assert.ok(bGot?.[1], "b took over");
    // a's last successful renewal was at most a third of the TTL before the cut; it stops TTL/10 early.
    assert.ok(aLost[0] <= key.expires, "a gave up before its key could expire");
    assert.ok(aLost[0] < bGot[0], "never both active");
    assert.ok(bGot[0] - cutAt <= TTL + TTL / 3 + 100, `b took over ${bGot[0] - cutAt} ms after the cut`);
    await a.lease.close();
    await b.lease.close();
  });

  it("close hands the lease back, so the standby takes over at its next round", async function () {
    const clock = new ManualClock(0);
    const key = new Key(clock);
    const a = instance(key, clock, "a");
    a.lease.start();
    await advance(clock, 100);
    const b = instance(key, clock, "b");
    b.lease.start();
    await advance(clock, 2000);
    await a.lease.close();
    assert.deepEqual(a.changes.at(-1)?.[1], false);
    const closedAt = clock.now();
    await advance(clock, 2000);
    assert.equal(b.lease.held, true);
    assert.ok(b.changes[0][0] - closedAt <= TTL / 3 + 100);
    await b.lease.close();
  });

  it("a renewal answered 'not yours' (the key was taken over) drops the lease at once", async function () {
    const clock = new ManualClock(0);
    const key = new Key(clock);
    const a = instance(key, clock, "a");
    a.lease.start();
    await advance(clock, 100);
    assert.equal(a.lease.held, true);
    key.owner = "intruder";
    await advance(clock, TTL / 3 + 100);
    assert.equal(a.lease.held, false);
    await a.lease.close();
    assert.equal(key.owner, "intruder", "close does not release a lease it lost");
  });

  it("without Redis it never becomes active and says why", async function () {
    const clock = new ManualClock(0);
    const key = new Key(clock);
    const a = instance(key, clock, "a");
    a.backend.cut = true;
    a.lease.start();
    await advance(clock, 5000);
    assert.equal(a.lease.held, false);
    assert.equal(a.lease.error, "connection lost");
    a.backend.cut = false;
    await advance(clock, 1100);
    assert.equal(a.lease.held, true);
    assert.equal(a.lease.error, undefined);
    await a.lease.close();
  });

  describe("holding through an outage", function () {
    it("keeps the role while Redis cannot be reached, without busy rounds", async function () {
      const clock = new ManualClock(0);
      const key = new Key(clock);
      const a = instance(key, clock, "a", true);
      a.lease.start();
      await advance(clock, 100);
      a.backend.cut = true;
      const before = a.backend.calls.length;
      await advance(clock, 30_000);
      assert.equal(a.lease.held, true);
      assert.deepEqual(
        a.changes.map(([, held]) => held),
        [true],
      );
      assert.ok(a.backend.calls.length - before <= 31, `${a.backend.calls.length - before} calls in 30 s`);
      await a.lease.close();
    });

    it("takes a vanished key again in the same round (Redis restarted empty), staying active", async function () {
      const clock = new ManualClock(0);
      const key = new Key(clock);
      const a = instance(key, clock, "a", true);
      a.lease.start();
      await advance(clock, 100);
      a.backend.cut = true;
      await advance(clock, 5000);
      key.owner = undefined; // the restarted Redis has no key
      a.backend.cut = false;
      await advance(clock, 1200);
      assert.equal(key.holder(), "a");
      assert.deepEqual(
        a.changes.map(([, held]) => held),
        [true],
      );
      await a.lease.close();
    });

    it("gives the role up when Redis answers that another instance took it", async function () {
      const clock = new ManualClock(0);
      const key = new Key(clock);
      const a = instance(key, clock, "a", true);
      a.lease.start();
      await advance(clock, 100);
      a.backend.cut = true;
      await advance(clock, 5000);
      const b = instance(key, clock, "b", true);
      b.lease.start();
      await advance(clock, 100);
      assert.equal(b.lease.held, true, "the key expired: b took it");
      a.backend.cut = false;
      await advance(clock, 1200);
      assert.equal(a.lease.held, false);
      assert.deepEqual(
        a.changes.map(([, held]) => held),
        [true, false],
      );
      await a.lease.close();
      await b.lease.close();
    });
  });

  describe("a patient standby", function () {
    it("lets the holder take back a key that expired during a Redis outage", async function () {
      const clock = new ManualClock(0);
      const key = new Key(clock);
      const a = instance(key, clock, "a", true, TTL);
      a.lease.start();
      await advance(clock, 100);
      const b = instance(key, clock, "b", true, TTL);
      b.lease.start();
      await advance(clock, 2000);
      // Redis goes away for longer than the lease: the key is gone when it returns.
      a.backend.cut = true;
      b.backend.cut = true;
      await advance(clock, 4000);
      key.owner = undefined;
      // b reaches Redis first; a only a second later.
      b.backend.cut = false;
      await advance(clock, 1000);
      a.backend.cut = false;
      await advance(clock, 10_000);
      assert.equal(key.holder(), "a");
      assert.deepEqual(
        a.changes.map(([, held]) => held),
        [true],
        "a never stopped being active",
      );
      assert.deepEqual(b.changes, [], "b never became active");
      await a.lease.close();
      await b.lease.close();
    });

    it("takes over once the lease has been free for the patience, and at once at its first round", async function () {
      const clock = new ManualClock(0);
      const key = new Key(clock);
      const b = instance(key, clock, "b", true, TTL);
      b.lease.start();
      await advance(clock, 100);
      assert.equal(b.lease.held, true, "a lone first round takes a free lease at once");
      await b.lease.close();
      const a = instance(key, clock, "a", true, TTL);
      a.lease.start();
      await advance(clock, 100);
      const c = instance(key, clock, "c", true, TTL);
      c.lease.start();
      await advance(clock, 2000);
      await a.lease.close();
      const releasedAt = clock.now();
      await advance(clock, 10_000);
      const [took] = c.changes;
      assert.ok(took?.[1], "c took over");
      const after = took[0] - releasedAt;
      assert.ok(after >= TTL && after <= TTL + TTL / 3 + 100, `c took over ${after} ms after the release`);
      await c.lease.close();
    });
  });
});
