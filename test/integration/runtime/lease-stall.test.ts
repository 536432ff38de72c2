/**
 * Lease deadlines against a stalled Redis (#19): a redis-server of the test's own is paused with
 * `CLIENT PAUSE` while two instances share a device. The owner's renewal is sent and not answered; it
 * must stop polling at its local deadline while Redis is still paused (by its own timer, not when the
 * answer comes), and the other instance may poll the device only after that.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { Redis } from "ioredis";
import { systemClock } from "../../../src/transport/connection";
import { LeaseKeeper } from "../../../src/core/runtime/leases";
import { RedisLeaseBackend } from "../../../src/core/runtime/redis-leases";
import { until } from "../../support/net";
import { preciseNow } from "../../support/recording-simulator";
import { sparePort, startRedis, stopRedis } from "../store/redis-server";

describe("lease deadlines while Redis stalls (CLIENT PAUSE)", function () {
  this.timeout(30_000);
  const TTL = 1000;
  let redis: ChildProcess | undefined;
  const clients: Redis[] = [];
  const keepers: LeaseKeeper[] = [];

  after(async function () {
    for (const k of keepers) await k.close();
    for (const c of clients) c.disconnect();
    if (redis) await stopRedis(redis);
  });

  it("the owner stops at its deadline while its renewal waits, and no two instances poll the device", async function () {
    const port = await sparePort();
    redis = await startRedis(port);
    const client = (): Redis => {
      const c = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 1 });
      c.on("error", () => undefined);
      clients.push(c);
      return c;
    };
    const polling = { a: false, b: false };
    const log: { at: number; what: string }[] = [];
    const keeper = (name: "a" | "b"): LeaseKeeper => {
      const k = new LeaseKeeper(
        systemClock,
        new RedisLeaseBackend(client(), "stall:", name),
        {
          gained: () => {
            assert.ok(
              !polling[name === "a" ? "b" : "a"],
              `${name} gained the device while the other polled it`,
            );
            polling[name] = true;
            log.push({ at: preciseNow(), what: `+${name}` });
          },
          lost: (_id, why) => {
            polling[name] = false;
            log.push({ at: preciseNow(), what: `-${name}:${why}` });
          },
        },
        { ttlMs: TTL },
      );
      keepers.push(k);
      return k;
    };
    const a = keeper("a");
    a.setDevices(["dev"]);
    await until(() => polling.a, 5000, "a polling the device");
    const b = keeper("b");
    b.setDevices(["dev"]);
    await b.round();

    // Pause every client's commands for far longer than the lease; a ping sent right after is answered
    // when the pause ends.
    const admin = client();
    const probe = client();
    await probe.ping();
    await admin.call("CLIENT", "PAUSE", String(6 * TTL), "ALL");
    let pauseEndedAt: number | undefined;
    const pinged = probe.ping().then(() => (pauseEndedAt = preciseNow()));
    await until(() => !polling.a, 6 * TTL, "a stopping while Redis is paused");
    const stoppedAt = preciseNow();
    assert.equal(pauseEndedAt, undefined, "a stopped only once Redis answered again");
    assert.deepEqual(
      log.map((e) => e.what),
      ["+a", "-a:expired"],
    );
    await pinged;
    assert.ok(stoppedAt < (pauseEndedAt ?? 0));

    // After the pause someone polls the device again, never both at once (checked in gained).
    await until(() => polling.a || polling.b, 10 * TTL, "the device polled again");
    assert.ok(log.filter((e) => e.what.startsWith("+")).length >= 2, `log: ${log.map((e) => e.what).join()}`);
  });
});
