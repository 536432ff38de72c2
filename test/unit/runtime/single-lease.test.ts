/** SingleLease on a manual clock with a backend that behaves like the Redis key (SET NX PX / renew). */
import assert from "node:assert/strict";
import { leaseReconnectDelay } from "../../../src/core/runtime/redis-leases";
import { SingleLease, type SingleLeaseBackend } from "../../../src/core/runtime/single-lease";
import { reconnectDelay } from "../../../src/core/store/redis-store";
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

/** A backend that also knows whether another instance's heartbeat is live. */
class HeartbeatBackend extends Backend {
  constructor(
    key: Key,
    clock: ManualClock,
    me: string,
    private readonly alive: () => boolean,
  ) {
    super(key, clock, me);
  }
  async othersAlive(): Promise<boolean> {
    if (this.cut) throw new Error("connection lost");
    return this.alive();
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

function instance(
  key: Key,
  clock: ManualClock,
  me: string,
  holdThroughOutage = false,
  patienceMs = 0,
  othersAlive?: () => boolean,
  mayTake?: () => boolean,
) {
  const backend = othersAlive
    ? new HeartbeatBackend(key, clock, me, othersAlive)
    : new Backend(key, clock, me);
  const changes: [number, boolean][] = [];
  const lease = new SingleLease(clock, backend, "c1", TTL, (held) => changes.push([clock.now(), held]), {
    holdThroughOutage,
    patienceMs,
    ...(mayTake ? { mayTake } : {}),
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
    /**
     * After a Redis restart longer than the lease, b's connection is back at once and a's only after its
     * next reconnect attempt: the role stays with a unless that attempt comes later than b's patience
     * allows. Answers who held the lease at the end.
     */
    async function restartWithHolderBackAfter(
      lateMs: number,
      /** When b's store has heard everything again, after b is back; undefined: b has no such gate. */
      bCaughtUpAfterMs?: number,
    ): Promise<{ holder?: string; aHeld: boolean[]; bTook: boolean }> {
      const clock = new ManualClock(0);
      const key = new Key(clock);
      const a = instance(key, clock, "a", true, TTL);
      a.lease.start();
      await advance(clock, 100);
      let bCaughtUpAt = 0;
      const b = instance(key, clock, "b", true, TTL, undefined, () => clock.now() >= bCaughtUpAt);
      b.lease.start();
      await advance(clock, 2000);
      a.backend.cut = true;
      b.backend.cut = true;
      bCaughtUpAt = bCaughtUpAfterMs === undefined ? 0 : Infinity;
      await advance(clock, 4000);
      key.owner = undefined;
      b.backend.cut = false;
      if (bCaughtUpAfterMs !== undefined) bCaughtUpAt = clock.now() + bCaughtUpAfterMs;
      await advance(clock, lateMs, 10);
      a.backend.cut = false;
      await advance(clock, 10_000);
      const out = {
        holder: key.holder(),
        aHeld: a.changes.map(([, held]) => held),
        bTook: b.changes.some(([, held]) => held),
      };
      await a.lease.close();
      await b.lease.close();
      return out;
    }

    it("lets the holder take back a key that expired during a Redis outage", async function () {
      // b reaches Redis first; a only a second later. a never stops being active; b never becomes it.
      assert.deepEqual(await restartWithHolderBackAfter(1000), { holder: "a", aHeld: [true], bTook: false });
    });

    it("keeps the role with a holder whose connection reconnects on the lease backoff", async function () {
      // The longest wait for a reconnect attempt on the lease backoff, at any attempt and jitter.
      let longest = 0;
      for (let attempt = 1; attempt <= 40; attempt++) {
        for (const r of [0, 0.5, 0.999])
          longest = Math.max(
            longest,
            leaseReconnectDelay(attempt, TTL, () => r),
          );
      }
      assert.ok(longest <= TTL / 6, `a reconnect attempt at most a sixth of the TTL apart (${longest} ms)`);
      assert.deepEqual(await restartWithHolderBackAfter(longest), {
        holder: "a",
        aHeld: [true],
        bTook: false,
      });
    });

    it("loses the role when the holder's connection comes back on the store's backoff (why the lease has its own)", async function () {
      // The store's backoff (100 ms doubling, capped at 10 s): after a 3.3 s outage the next attempt of
      // a connection that just missed Redis can be 3.2 s × 1.25 away — longer than the patience.
      const storeLate = reconnectDelay(6, { baseMs: 100, maxMs: 10_000 }, () => 0.999);
      assert.ok(storeLate > TTL, `${storeLate} ms`);
      const out = await restartWithHolderBackAfter(storeLate);
      assert.equal(out.holder, "b");
      assert.equal(out.bTook, true);
    });

    it("keeps the role with the holder when the standby's store is still catching up (even on the store's backoff)", async function () {
      // As above, the holder back late; b's subscription, on the same backoff, is back with it and
      // reads back what it missed: b's patience starts only then.
      const storeLate = reconnectDelay(6, { baseMs: 100, maxMs: 10_000 }, () => 0.999);
      assert.deepEqual(await restartWithHolderBackAfter(storeLate, storeLate + 200), {
        holder: "a",
        aHeld: [true],
        bTook: false,
      });
    });

    it("a standby that never catches up never takes the role; once caught up it waits its patience", async function () {
      const clock = new ManualClock(0);
      const key = new Key(clock);
      let caughtUp = false;
      const h = instance(key, clock, "h", true, TTL);
      // Another instance's heartbeat is live all along, so s is never "alone".
      const s = instance(
        key,
        clock,
        "s",
        true,
        TTL,
        () => true,
        () => caughtUp,
      );
      h.lease.start();
      await advance(clock, 100);
      s.lease.start();
      await advance(clock, 2000);
      await h.lease.close();
      await advance(clock, 20_000);
      assert.deepEqual(s.changes, [], "not while its store misses samples");
      assert.deepEqual(s.backend.calls, [], "it does not even look at the lease");
      caughtUp = true;
      const at = clock.now();
      await advance(clock, 20_000);
      const [took] = s.changes;
      assert.ok(took?.[1], "s took over");
      // It never saw another holder (its first look came after h left), so patience + TTL.
      const after = took[0] - at;
      assert.ok(
        after >= 2 * TTL && after <= 2 * TTL + TTL / 3 + 100,
        `s took over ${after} ms after catching up`,
      );
      await s.lease.close();
    });

    it("alone, a round passed over while its store connects is not its first: it takes the lease once caught up", async function () {
      const clock = new ManualClock(0);
      const key = new Key(clock);
      let caughtUp = false;
      const lone = instance(
        key,
        clock,
        "a",
        true,
        TTL,
        () => false,
        () => caughtUp,
      );
      lone.lease.start();
      await advance(clock, 1500);
      assert.equal(lone.lease.held, false);
      caughtUp = true;
      await advance(clock, TTL / 3 + 100);
      assert.equal(lone.lease.held, true, "at its first round with the store caught up");
      await lone.lease.close();
    });

    it("hands the role of a dead holder to the long-running standby, not to a node that just started", async function () {
      const clock = new ManualClock(0);
      const key = new Key(clock);
      let others = false; // h starts alone; from then on another instance's heartbeat is always live
      const alive = (): boolean => others;
      const h = instance(key, clock, "h", true, TTL, alive);
      const s = instance(key, clock, "s", true, TTL, alive);
      h.lease.start();
      await advance(clock, 100);
      others = true;
      s.lease.start();
      await advance(clock, 5000);
      assert.equal(key.holder(), "h");
      // h's instance is killed: its key expires; h's own instance restarts a moment later with a fresh
      // node (it has seen nothing), while s has followed every sample.
      h.backend.cut = true;
      await h.lease.close();
      await advance(clock, TTL + 200);
      assert.equal(key.holder(), undefined);
      const fresh = instance(key, clock, "h2", true, TTL, alive);
      fresh.lease.start();
      await advance(clock, 10_000);
      assert.equal(key.holder(), "s", "the standby that saw the samples took over");
      assert.deepEqual(fresh.changes, [], "the fresh node never became active");
      await s.lease.close();
      await fresh.lease.close();
    });

    it("takes a free lease at its first round when no other instance is alive, and waits a lease time longer when one is", async function () {
      const clock = new ManualClock(0);
      const key = new Key(clock);
      const lone = instance(key, clock, "a", true, TTL, () => false);
      lone.lease.start();
      await advance(clock, 100);
      assert.equal(lone.lease.held, true, "alone: active at once");
      await lone.lease.close();
      const other = instance(key, clock, "b", true, TTL, () => true);
      const startedAt = clock.now();
      other.lease.start();
      await advance(clock, 10_000);
      const [took] = other.changes;
      assert.ok(took?.[1], "b took the free lease");
      const after = took[0] - startedAt;
      assert.ok(after >= 2 * TTL && after <= 2 * TTL + TTL / 3 + 100, `b took it ${after} ms after starting`);
      await other.lease.close();
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
