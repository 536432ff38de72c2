/**
 * The manager runtime across a Redis crash (a redis-server of the test's own, never the shared one):
 * devices keep being polled while their leases are valid, the manager reconnects and publishing resumes,
 * nothing crashes, and what could not be stored meanwhile is named in the log for what it is.
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

  const problems: string[] = [];

  /** Redis of the test's own, a simulator, a manager with its runtime, and device d polled every 100 ms. */
  async function start(): Promise<{
    port: number;
    simPort: number;
    sim: ModbusSimulator;
    manager: Manager;
    runtime: ManagerRuntime;
  }> {
    const port = await sparePort();
    redis = await startRedis(port);
    const s = (sim = new ModbusSimulator({ units: [1], clock: systemClock }));
    const simPort = await s.listen(0);
    const m = (manager = new Manager(
      parseManagerSettings({
        store: "redis",
        redisUrl: `redis://127.0.0.1:${port}`,
        namespace: "rr:",
        instanceId: "a",
      }),
      { reconnect: { baseMs: 50, maxMs: 200 }, onError: () => undefined },
    ));
    await m.ready();
    problems.length = 0;
    const rt = (runtime = startManagerRuntime(m, {
      leaseMs: 6000,
      onProblem: (id, message) => problems.push(`${id}: ${message}`),
    }));
    await rt.started;
    const r = m.registry;
    await r.putDevice({ id: "d", protocol: "modbus-tcp", host: "127.0.0.1", port: simPort });
    await r.putTerm({ id: "t", deviceId: "d", address: 1, pollInterval: 100 });
    await r.putItem({ id: "v" });
    await r.putPoint({ deviceId: "d", termId: "t", itemId: "v", address: "HR0" });
    s.set(1, "HR0", 1);
    await until(async () => (await m.store.latest("d:t:v"))?.value === 1, 2000, "the first value");
    return { port, simPort, sim: s, manager: m, runtime: rt };
  }

  it("keeps polling through a short outage and publishes again after it", async function () {
    const { port, sim, manager, runtime } = await start();
    const requestsAt = (): number => sim.core.stats.requests;
    if (redis) await stopRedis(redis);
    redis = undefined;
    const during = requestsAt();
    await until(() => requestsAt() > during + 5, 2000, "polling while Redis is down");
    redis = await startRedis(port);
    sim.set(1, "HR0", 2);
    await until(
      async () => (await manager.store.latest("d:t:v").catch(() => undefined))?.value === 2,
      5000,
      "publishing again",
    );
    assert.equal(runtime.runner.devices.join(), "d", "the device never left this instance");
  });

  it("says once that device status could not be stored while Redis is away, and not for samples", async function () {
    const { sim, simPort, manager: m } = await start();
    // A second device on the same simulator: two status writes fail in the outage, one line says so.
    await m.registry.putDevice({ id: "e", protocol: "modbus-tcp", host: "127.0.0.1", port: simPort });
    await m.registry.putTerm({ id: "te", deviceId: "e", address: 1, pollInterval: 100 });
    await m.registry.putPoint({ deviceId: "e", termId: "te", itemId: "v", address: "HR0" });
    await until(async () => (await m.store.latest("e:te:v"))?.value === 1, 2000, "e polled");
    let failedWrites = 0;
    const write = m.store.setDeviceStatus.bind(m.store);
    m.store.setDeviceStatus = (id, status) =>
      write(id, status).catch((err: unknown) => {
        failedWrites++;
        throw err;
      });
    if (redis) await stopRedis(redis);
    redis = undefined;
    // The devices go away too: their status (offline) is written, and those writes fail.
    await sim.close();
    await until(() => failedWrites >= 2, 10_000, "both devices' status writes failing");
    const said = problems.filter((p) => p.includes("storing the device status failed"));
    assert.equal(said.length, 1, `one line for the outage: ${problems.join(" | ")}`);
    assert.match(
      said[0],
      /^[de]: storing the device status failed: .+ \(said once until the store is back\)$/,
    );
    // The samples made meanwhile wait in the outage buffer: nothing says they failed.
    assert.deepEqual(
      problems.filter((p) => /samples/.test(p)),
      [],
    );
  });
});
