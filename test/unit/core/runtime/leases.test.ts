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
});
