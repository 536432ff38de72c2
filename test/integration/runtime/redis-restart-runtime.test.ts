/**
 * The manager runtime across a Redis crash (a redis-server of the test's own, never the shared one):
 * devices keep being polled while their leases are valid, the manager reconnects and publishing resumes,
 * nothing crashes.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { Manager } from "../../../src/core/manager";
import { parseManagerSettings } from "../../../src/core/manager-config";
import { startManagerRuntime, type ManagerRuntime } from "../../../src/core/manager-runtime";
import { ModbusSimulator } from "../../../src/core/modbus/simulator";
import { systemClock } from "../../../src/transport/connection";
import { until } from "../../support/net";
import { sparePort, startRedis, stopRedis } from "../store/redis-server";

describe("manager runtime across a Redis restart", function () {
  this.timeout(30_000);
  let redis: ChildProcess | undefined;
  let sim: ModbusSimulator | undefined;
  let manager: Manager | undefined;
  let runtime: ManagerRuntime | undefined;

  afterEach(async function () {
    await runtime?.close();
    await manager?.close();
    await sim?.close();
    if (redis) await stopRedis(redis);
  });

  it("keeps polling through a short outage and publishes again after it", async function () {
    const port = await sparePort();
    redis = await startRedis(port);
    sim = new ModbusSimulator({ units: [1], clock: systemClock });
    const simPort = await sim.listen(0);
    const requestsAt = (): number => sim?.core.stats.requests ?? 0;
    manager = new Manager(
      parseManagerSettings({
        store: "redis",
        redisUrl: `redis://127.0.0.1:${port}`,
        namespace: "rr:",
        instanceId: "a",
      }),
      { reconnect: { baseMs: 50, maxMs: 200 }, onError: () => undefined },
    );
    await manager.ready();
    runtime = startManagerRuntime(manager, { leaseMs: 6000 });
    await runtime.started;
    const r = manager.registry;
    await r.putDevice({ id: "d", protocol: "modbus-tcp", host: "127.0.0.1", port: simPort });
    await r.putTerm({ id: "t", deviceId: "d", address: 1, pollInterval: 100 });
    await r.putItem({ id: "v" });
    await r.putPoint({ deviceId: "d", termId: "t", itemId: "v", address: "HR0" });
    sim.set(1, "HR0", 1);
    await until(async () => (await manager?.store.latest("d:t:v"))?.value === 1, 2000, "the first value");

    await stopRedis(redis);
    redis = undefined;
    const during = requestsAt();
    await until(() => requestsAt() > during + 5, 2000, "polling while Redis is down");
    redis = await startRedis(port);
    sim.set(1, "HR0", 2);
    await until(
      async () => (await manager?.store.latest("d:t:v").catch(() => undefined))?.value === 2,
      5000,
      "publishing again",
    );
    assert.equal(runtime.runner.devices.join(), "d", "the device never left this instance");
  });
});
