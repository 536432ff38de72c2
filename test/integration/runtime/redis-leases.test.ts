import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { systemClock } from "../../../src/transport/connection";
import { LeaseKeeper } from "../../../src/core/runtime/leases";
import { RedisLeaseBackend } from "../../../src/core/runtime/redis-leases";
import { until } from "../../support/net";
import { REDIS_URL, uniqueNamespace } from "../../support/services";
import { sparePort, startRedis, stopRedis } from "../store/redis-server";

describe("Redis leases", function () {
  const ns = uniqueNamespace("lease");
  const clients: Redis[] = [];
  const client = (): Redis => {
    const c = new Redis(REDIS_URL, { lazyConnect: false });
    clients.push(c);
    return c;
  };

  after(async function () {
    const c = client();
    const keys = await c.keys(`${ns}*`);
    if (keys.length > 0) await c.del(...keys);
    await Promise.all(clients.filter((x) => x.status !== "end").map((x) => x.quit()));
  });

  it("gives a lease to one instance only; only the owner renews or releases it", async function () {
    const a = new RedisLeaseBackend(client(), ns, "a");
    const b = new RedisLeaseBackend(client(), ns, "b");
    assert.deepEqual(await a.acquire(["x", "y"], 5000), [true, true]);
    assert.deepEqual(await b.acquire(["x", "z"], 5000), [false, true]);
    assert.deepEqual(await b.renew(["x", "z"], 5000), [false, true]);
    await b.release(["x"], false);
    assert.deepEqual(await a.owners(["x", "y", "z"]), ["a", "a", "b"]);
    await a.release(["x", "y"], false);
    assert.deepEqual(await a.owners(["x", "y"]), [null, null]);
    await b.release(["z"], false);
  });

  it("counts live instances by heartbeat and forgets one that leaves", async function () {
    const a = new RedisLeaseBackend(client(), ns, "h-a");
    const b = new RedisLeaseBackend(client(), ns, "h-b");
    assert.equal(await a.heartbeat(5000), 1);
    assert.equal(await b.heartbeat(5000), 2);
    await b.release([], true);
    assert.equal(await a.heartbeat(5000), 1);
    await a.release([], true);
  });

  it("hands a killed instance's devices to the survivor within two lease times", async function () {
    const ttl = 600;
    const devices = ["k1", "k2", "k3", "k4"];
    const polling = { a: new Set<string>(), b: new Set<string>() };
    const keeper = (name: "a" | "b", redis: Redis): LeaseKeeper =>
      new LeaseKeeper(
        systemClock,
        new RedisLeaseBackend(redis, `${ns}kill:`, name),
        {
          gained: (id) => {
            assert.ok(!polling[name === "a" ? "b" : "a"].has(id), `${id} polled twice`);
            polling[name].add(id);
          },
          lost: (id) => polling[name].delete(id),
        },
        { ttlMs: ttl },
      );
    const redisA = client();
    const a = keeper("a", redisA);
    const b = keeper("b", client());
    a.setDevices(devices);
    b.setDevices(devices);
    await until(() => polling.a.size === 2 && polling.b.size === 2, 5000, "a fair split");
    // Kill a: its connection is cut and its timer never runs again; it releases nothing.
    redisA.disconnect();
    // The bound of two lease times is held on a manual clock ("takes over a dead instance's devices" in
    // test/unit/core/runtime/leases.test.ts); here, on real Redis expiry, that the survivor takes them all.
    await until(() => polling.b.size === 4, 10 * ttl, "takeover");
    await a.close();
    await b.close();
  });

  it("an instance started while Redis is away takes no lease for one TTL after it first reaches Redis", async function () {
    // The Redis it reaches may have just lost a lease (a failover to a replica that had not received
    // it) whose holder still polls until its deadline, less than a TTL later.
    const ttl = 1000;
    const port = await sparePort();
    const late = new Redis({ host: "127.0.0.1", port, retryStrategy: () => 50, maxRetriesPerRequest: 1 });
    late.on("error", () => undefined); // refused until the server starts
    clients.push(late);
    const backend = new RedisLeaseBackend(late, `${ns}late:`, "late");
    const gained: number[] = [];
    const keeper = new LeaseKeeper(
      systemClock,
      backend,
      { gained: () => gained.push(Date.now()), lost: () => undefined },
      { ttlMs: ttl },
    );
    keeper.setDevices(["d"]);
    await until(() => late.status === "reconnecting", 5000, "a failed attempt");
    const server = await startRedis(port);
    try {
      await until(() => gained.length > 0, 10_000, "the lease taken");
      const back = backend.reconnectedAt();
      assert.ok(back !== undefined, "reaching Redis after failed attempts counts as coming back");
      assert.ok(gained[0] >= back + ttl, "no lease taken within a TTL of reaching Redis");
    } finally {
      await keeper.close();
      late.disconnect();
      await stopRedis(server);
    }
  });
});
