import assert from "node:assert/strict";
import { ManualClock } from "../../../../src/transport/manual-clock";
import { LeaseKeeper, type LeaseBackend } from "../../../../src/core/runtime/leases";

/** An in-test lease table shared by several keepers, with a switch to make one keeper lose "Redis". */
class FakeLeases {
  readonly owner = new Map<string, { by: string; until: number }>();
  readonly alive = new Map<string, number>();
  constructor(private readonly clock: ManualClock) {}

  backend(instance: string, reachable: () => boolean = () => true): LeaseBackend {
    const check = (): void => {
      if (!reachable()) throw new Error("connection lost");
    };
    const held = (id: string): boolean => {
      const o = this.owner.get(id);
      return o !== undefined && o.by === instance && o.until > this.clock.now();
    };
    return {
      heartbeat: async (ttl) => {
        check();
        const now = this.clock.now();
        this.alive.set(instance, now + ttl);
        for (const [k, until] of this.alive) if (until <= now) this.alive.delete(k);
        return this.alive.size;
      },
      acquire: async (ids, ttl) => {
        check();
        return ids.map((id) => {
          const o = this.owner.get(id);
          if (o && o.until > this.clock.now()) return false;
          this.owner.set(id, { by: instance, until: this.clock.now() + ttl });
          return true;
        });
      },
      renew: async (ids, ttl) => {
        check();
        return ids.map((id) => {
          if (!held(id)) return false;
          this.owner.set(id, { by: instance, until: this.clock.now() + ttl });
          return true;
        });
      },
      release: async (ids, leaving) => {
        check();
        for (const id of ids) if (held(id)) this.owner.delete(id);
        if (leaving) this.alive.delete(instance);
      },
    };
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

function recorder(): {
  polling: Set<string>;
  log: string[];
  events: ConstructorParameters<typeof LeaseKeeper>[2];
} {
  const polling = new Set<string>();
  const log: string[] = [];
  return {
    polling,
    log,
    events: {
      gained: (id) => {
        polling.add(id);
        log.push(`+${id}`);
      },
      lost: (id, why) => {
        polling.delete(id);
        log.push(`-${id}:${why}`);
      },
    },
  };
}

const devices = Array.from({ length: 6 }, (_, i) => `d${i}`);

describe("lease keeper", function () {
  it("takes every device alone and renews every third of the TTL", async function () {
    const clock = new ManualClock(1000);
    const leases = new FakeLeases(clock);
    const r = recorder();
    const k = new LeaseKeeper(clock, leases.backend("a"), r.events, { ttlMs: 900 });
    k.setDevices(devices);
    clock.advance(0);
    await settle();
    assert.deepEqual([...r.polling].sort(), devices);
    for (let i = 0; i < 10; i++) {
      clock.advance(300);
      await settle();
    }
    assert.equal(r.polling.size, 6, "renewals keep every lease");
    assert.ok([...leases.owner.values()].every((o) => o.until > clock.now()));
    await k.close();
    assert.equal(leases.owner.size, 0, "close hands every lease back");
    assert.equal(clock.pending, 0, "close stops the timer");
  });

  it("stops polling before the lease can expire when the backend is unreachable", async function () {
    const clock = new ManualClock(0);
    const leases = new FakeLeases(clock);
    let up = true;
    const r = recorder();
    const k = new LeaseKeeper(
      clock,
      leases.backend("a", () => up),
      r.events,
      { ttlMs: 900, marginMs: 90 },
    );
    k.setDevices(["d0"]);
    clock.advance(0);
    await settle();
    assert.ok(r.polling.has("d0"));
    const expiresAt = leases.owner.get("d0")?.until ?? 0;
    up = false;
    let stoppedAt: number | undefined;
    while (clock.now() < expiresAt + 500) {
      clock.advance(10);
      await settle();
      if (stoppedAt === undefined && !r.polling.has("d0")) stoppedAt = clock.now();
    }
    assert.ok(
      stoppedAt !== undefined && stoppedAt < expiresAt,
      `stopped at ${stoppedAt}, lease ran to ${expiresAt}`,
    );
    assert.match(k.error ?? "", /connection lost/);
    await k.close();
  });

  it("shares devices fairly, takes over a dead instance's devices, and rebalances without overlap", async function () {
    const clock = new ManualClock(0);
    const leases = new FakeLeases(clock);
    const rs = [recorder(), recorder(), recorder()];
    let alive = [true, true, true];
    const keepers = rs.map(
      (r, i) =>
        new LeaseKeeper(
          clock,
          leases.backend(`i${i}`, () => alive[i]),
          r.events,
          { ttlMs: 900 },
        ),
    );
    const overlap = (): string[] => devices.filter((d) => rs.filter((r) => r.polling.has(d)).length > 1);
    keepers.forEach((k) => k.setDevices(devices));
    for (let t = 0; t < 3000; t += 10) {
      clock.advance(10);
      await settle();
      assert.deepEqual(overlap(), [], `overlap at ${clock.now()}`);
    }
    assert.deepEqual(
      rs.map((r) => r.polling.size),
      [2, 2, 2],
    );
    // i2 dies without a word (kill -9): its leases run out, the others take its devices.
    alive = [true, true, false];
    const died = clock.now();
    let takenOverAt: number | undefined;
    for (let t = 0; t < 3000; t += 10) {
      clock.advance(10);
      await settle();
      assert.deepEqual(overlap(), [], `overlap at ${clock.now()}`);
      if (takenOverAt === undefined && rs[0].polling.size + rs[1].polling.size === 6)
        takenOverAt = clock.now();
    }
    assert.ok(
      takenOverAt !== undefined && takenOverAt - died <= 2 * 900,
      `took over after ${(takenOverAt ?? NaN) - died} ms`,
    );
    // i2 comes back: the others hand back their extras and balance returns.
    alive = [true, true, true];
    for (let t = 0; t < 4000; t += 10) {
      clock.advance(10);
      await settle();
      assert.deepEqual(overlap(), [], `overlap at ${clock.now()}`);
    }
    assert.deepEqual(
      rs.map((r) => r.polling.size),
      [2, 2, 2],
    );
    for (const k of keepers) await k.close();
  });

  it("stops and releases a device that is no longer wanted", async function () {
    const clock = new ManualClock(0);
    const leases = new FakeLeases(clock);
    const r = recorder();
    const k = new LeaseKeeper(clock, leases.backend("a"), r.events, { ttlMs: 900 });
    k.setDevices(["d0", "d1"]);
    clock.advance(0);
    await settle();
    k.setDevices(["d1"]);
    await settle();
    assert.deepEqual([...r.polling], ["d1"]);
    assert.ok(r.log.includes("-d0:removed"));
    assert.equal(leases.owner.has("d0"), false);
    await k.close();
  });
  it("stops at its deadline while a round waits on a backend that does not answer, and a late answer counts for nothing", async function () {
    const clock = new ManualClock(0);
    const leases = new FakeLeases(clock);
    const base = leases.backend("a");
    // A stalled Redis (CLIENT PAUSE, a failover, a held TCP connection): commands are sent, not answered.
    let stalled = false;
    const held: (() => void)[] = [];
    const stall = <T>(run: () => Promise<T>): Promise<T> =>
      stalled ? new Promise<T>((resolve) => held.push(() => void run().then(resolve))) : run();
    const backend: LeaseBackend = {
      heartbeat: (ttl) => stall(() => base.heartbeat(ttl)),
      acquire: (ids, ttl) => stall(() => base.acquire(ids, ttl)),
      renew: (ids, ttl) => stall(() => base.renew(ids, ttl)),
      release: (ids, leaving) => stall(() => base.release(ids, leaving)),
    };
    const r = recorder();
    const k = new LeaseKeeper(clock, backend, r.events, { ttlMs: 900, marginMs: 90 });
    k.setDevices(["d0"]);
    clock.advance(0);
    await settle();
    assert.ok(r.polling.has("d0"));
    const expiresAt = leases.owner.get("d0")?.until ?? 0;
    stalled = true;
    while (r.polling.has("d0")) {
      assert.ok(clock.now() < expiresAt, `still polling at ${clock.now()}, lease ran to ${expiresAt}`);
      clock.advance(10);
      await settle();
    }
    assert.ok(held.length > 0, "a round was waiting on the backend when polling stopped");
    assert.deepEqual(r.log, ["+d0", "-d0:expired"]);
    // The stall ends: the renewal sent before the deadline is answered "renewed", too late to count.
    stalled = false;
    for (const answer of held.splice(0)) answer();
    await settle();
    assert.equal(r.polling.has("d0"), false, "a late renewal does not restart polling");
    await k.close();
  });

  it("after Redis lost its leases, the holder takes its own back and the others take none for a TTL", async function () {
    const clock = new ManualClock(0);
    const leases = new FakeLeases(clock);
    const ra = recorder();
    const rb = recorder();
    let aUp = true;
    const a = new LeaseKeeper(
      clock,
      leases.backend("a", () => aUp),
      ra.events,
      { ttlMs: 900 },
    );
    a.setDevices(["d0", "d1"]);
    clock.advance(0);
    await settle();
    assert.equal(ra.polling.size, 2);
    // A failover to a replica that had not received the leases: the keys are gone; b's connection came
    // back just now. a renews d0 and d1 at its next round and finds them gone.
    leases.owner.clear();
    let backAt = clock.now();
    const b = new LeaseKeeper(clock, { ...leases.backend("b"), reconnectedAt: () => backAt }, rb.events, {
      ttlMs: 900,
    });
    b.setDevices(["d0", "d1"]);
    const polledBoth: string[] = [];
    const step = async (): Promise<void> => {
      clock.advance(10);
      await settle();
      for (const d of ["d0", "d1"]) if (ra.polling.has(d) && rb.polling.has(d)) polledBoth.push(d);
    };
    while (clock.now() < backAt + 900 - 10) {
      await step();
      assert.equal(rb.polling.size, 0, `b took a lease at ${clock.now()}, within a TTL of its reconnect`);
    }
    assert.deepEqual(ra.log, ["+d0", "+d1"], `a kept both devices without a gap: ${ra.log.join()}`);
    // Afterwards the fair share returns (a hands one to b).
    for (let t = 0; t < 2000; t += 10) await step();
    assert.deepEqual([ra.polling.size, rb.polling.size], [1, 1]);
    // Again, but a dies with the loss: b takes a's device only after a's deadline has passed.
    aUp = false;
    leases.owner.clear();
    backAt = clock.now();
    for (let t = 0; t < 3000; t += 10) await step();
    assert.equal(rb.polling.size, 2, "b took them over");
    await a.close();
    await b.close();
  });
  it("takes no lease in a round whose commands waited for the connection that came back meanwhile", async function () {
    // ioredis queues a round's commands while it reconnects; the connection's "ready" (which starts the
    // quiet period) comes after the round began and before its heartbeat is answered.
    const clock = new ManualClock(0);
    const leases = new FakeLeases(clock);
    const r = recorder();
    let backAt: number | undefined;
    const base = leases.backend("late");
    const keeper = new LeaseKeeper(
      clock,
      {
        ...base,
        heartbeat: async (ttl) => {
          backAt ??= clock.now();
          return base.heartbeat(ttl);
        },
        reconnectedAt: () => backAt,
      },
      r.events,
      { ttlMs: 900 },
    );
    keeper.setDevices(["d0"]);
    clock.advance(0);
    await settle();
    assert.equal(backAt, 0, "the connection came back during the first round");
    while (clock.now() < 900 - 10) {
      clock.advance(10);
      await settle();
      assert.equal(r.polling.size, 0, `a lease taken at ${clock.now()}, within a TTL of the reconnect`);
    }
    for (let t = 0; t < 2000 && r.polling.size === 0; t += 10) {
      clock.advance(10);
      await settle();
    }
    assert.equal(r.polling.size, 1, "taken once the quiet period is over");
    await keeper.close();
  });
});
