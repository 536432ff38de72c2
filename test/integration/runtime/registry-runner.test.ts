/**
 * The manager running registry devices against our Modbus simulator over real TCP: a device created in
 * the store starts polling within a second, a changed point re-plans only its own term, a deleted
 * device stops and closes its socket within a second.
 */
import assert from "node:assert/strict";
import { Manager } from "../../../src/core/manager";
import { parseManagerSettings } from "../../../src/core/manager-config";
import { modbusConnections } from "../../../src/core/modbus/devices";
import { modbusDriver } from "../../../src/core/modbus/driver";
import { ModbusSimulator } from "../../../src/core/modbus/simulator";
import { RegistryRunner } from "../../../src/core/runtime/registry-runner";
import { systemClock } from "../../../src/transport/connection";
import { until } from "../../support/net";

describe("registry runner (Modbus, embedded store)", function () {
  let sim: ModbusSimulator;
  let port: number;
  let manager: Manager;
  let runner: RegistryRunner;
  const problems: string[] = [];

  beforeEach(async function () {
    sim = new ModbusSimulator({ units: [1, 2], clock: systemClock });
    port = await sim.listen(0);
    sim.set(1, "HR0:float32", 230.5);
    sim.set(1, "HR2:int16", 42);
    sim.set(2, "HR0:uint16", 7);
    manager = new Manager(parseManagerSettings({ store: "embedded", namespace: "run:", instanceId: "i1" }));
    runner = new RegistryRunner(manager, {
      clock: systemClock,
      drivers: { "modbus-tcp": modbusDriver },
      onProblem: (id, m) => problems.push(`${id}: ${m}`),
    });
    await runner.start();
  });

  afterEach(async function () {
    await runner.close();
    await manager.close();
    await sim.close();
    assert.equal(modbusConnections(), 0, "no Modbus connection outlives the runner");
  });

  async function createPlant(): Promise<void> {
    const r = manager.registry;
    await r.putDevice({
      id: "m1",
      protocol: "modbus-tcp",
      host: "127.0.0.1",
      port,
      options: { timeout: 500 },
    });
    await r.putTerm({ id: "t1", deviceId: "m1", address: 1, pollInterval: 100 });
    await r.putTerm({ id: "t2", deviceId: "m1", address: 2, pollInterval: 100 });
    for (const id of ["volts", "amps", "count"]) await r.putItem({ id });
    await r.putPoint({ deviceId: "m1", termId: "t1", itemId: "volts", address: "HR0:float32" });
    await r.putPoint({
      deviceId: "m1",
      termId: "t1",
      itemId: "amps",
      address: "HR2:int16",
      coefficient: 0.5,
    });
    await r.putPoint({ deviceId: "m1", termId: "t2", itemId: "count", address: "HR0" });
  }

  it("polls a device created through the store within a second and fills latest values", async function () {
    // The second is each wait's limit (a watchdog on a condition; no figure is measured here).
    await createPlant();
    await until(
      async () => (await manager.store.latest("m1:t2:count"))?.value === 7,
      1000,
      "latest of m1:t2:count",
    );
    await until(
      async () => (await manager.store.latest("m1:t1:amps"))?.value === 21,
      1000,
      "latest of m1:t1:amps",
    );
    assert.equal((await manager.store.latest("m1:t1:volts"))?.value, 230.5);
    const status = await manager.store.deviceStatus("m1");
    assert.equal(status?.online, true);
    assert.equal(status?.owner, "i1");
    assert.deepEqual(problems, []);
  });

  it("re-plans only the term whose point changed; the other term keeps polling without a restart", async function () {
    await createPlant();
    await until(() => (runner.info("m1")?.t2?.cycles ?? 0) >= 3, 2000, "t2 polling");
    const before = runner.info("m1");
    assert.equal(before?.t1.reads, 1, "HR0..HR2 in one read");
    // Move amps far away: t1 now needs two reads; t2 is untouched.
    await manager.registry.putPoint({ deviceId: "m1", termId: "t1", itemId: "amps", address: "HR500:int16" });
    await until(() => runner.info("m1")?.t1.reads === 2, 1000, "t1 re-planned");
    const after = runner.info("m1");
    assert.ok(
      (after?.t2.cycles ?? 0) >= (before?.t2.cycles ?? 0),
      "t2's counters were not reset (not restarted)",
    );
    assert.ok((after?.t1.cycles ?? 0) >= (before?.t1.cycles ?? 0), "t1 kept its term, only the plan changed");
  });

  it("stops polling and closes the socket within a second of the device's deletion", async function () {
    await createPlant();
    await until(() => sim.connections === 1, 1000, "the connection");
    await manager.registry.deleteDevice("m1");
    await until(() => sim.connections === 0 && runner.devices.length === 0, 1000, "the close");
  });

  it("keeps the device's frame log in the store while its frameLog option is on, switched in place", async function () {
    await createPlant();
    await until(() => (runner.info("m1")?.t2?.cycles ?? 0) >= 5, 2000, "polling");
    assert.equal(await manager.store.framesLength("m1"), 0, "no frame log unless asked for");
    const before = runner.info("m1")?.t2?.cycles ?? 0;
    const device = { id: "m1", protocol: "modbus-tcp", host: "127.0.0.1", port };
    await manager.registry.putDevice({ ...device, options: { timeout: 500, frameLog: true } });
    await until(async () => (await manager.store.framesLength("m1")) >= 8, 2000, "logged frames");
    const cycles = runner.info("m1")?.t2?.cycles ?? 0;
    // A restart would have started the term's counters again from 0.
    assert.ok(cycles >= before, "the term kept its counters: switched in place, not restarted");
    const frames = await manager.store.frames("m1", 8);
    assert.ok(
      frames.every((f, i) => i === 0 || f.ts <= frames[i - 1].ts),
      "newest first",
    );
    // MBAP: transaction id, protocol 0, length, unit 1 or 2; then function 03 (read holding registers).
    const tx = frames.filter((f) => f.dir === "tx");
    const rx = frames.filter((f) => f.dir === "rx");
    assert.ok(tx.length > 0 && rx.length > 0, JSON.stringify(frames));
    for (const f of tx) assert.match(f.data, /^[0-9a-f]{4}00000006(01|02)03[0-9a-f]{8}$/);
    for (const f of rx) assert.match(f.data, /^[0-9a-f]{4}0000[0-9a-f]{4}(01|02)03/);
    await manager.registry.putDevice({ ...device, options: { timeout: 500 } });
    await runner.settled(); // switched off: no frame is taken from here on
    // Counted in the device's own polls (100 ms apart): the frame log writes a batch at most 200 ms after
    // its first frame, so four more polls see the last batch written, and five after that would have
    // seen their own frames written had the log stayed on.
    const polled = (more: number): Promise<number> => {
      const from = runner.info("m1")?.t2?.cycles ?? 0;
      return until(() => (runner.info("m1")?.t2?.cycles ?? 0) >= from + more, 5000, `${more} more polls`);
    };
    await polled(4);
    const stopped = await manager.store.framesLength("m1");
    await polled(5);
    assert.equal(await manager.store.framesLength("m1"), stopped, "switched off: no more frames");
    assert.ok((runner.info("m1")?.t2?.cycles ?? 0) > cycles, "still polling");
  });

  it("reports a point with a bad address as a problem and polls the rest", async function () {
    await createPlant();
    await manager.registry.putItem({ id: "bad" });
    // The registry accepts it (the protocol rule sees only the prefix); the driver cannot plan it.
    await manager.registry
      .putPoint({ deviceId: "m1", termId: "t1", itemId: "bad", address: "HR1:float32:XYZW" })
      .catch((err: unknown) => problems.push(`registry: ${String(err)}`));
    await until(async () => (await manager.store.latest("m1:t1:volts"))?.value === 230.5, 1000, "volts");
    assert.equal(problems.length, 1, problems.join("\n"));
  });

  it("tries a failed registry load and a failed reload again instead of giving up", async function () {
    await createPlant();
    // The suite's runner is done with the plant and out of the way; a second one, whose store fails
    // its first reads as while Redis restarts, is the one under test.
    await runner.settled();
    await runner.close();
    const registry = manager.registry;
    const realList = registry.listDevices.bind(registry);
    const realGet = registry.getDevice.bind(registry);
    let listFailures = 2;
    let getFailures = 0;
    const unreachable = (): Error => new Error("Connection is closed.");
    registry.listDevices = () => (listFailures-- > 0 ? Promise.reject(unreachable()) : realList());
    registry.getDevice = (id) => (getFailures-- > 0 ? Promise.reject(unreachable()) : realGet(id));
    const own: string[] = [];
    const second = new RegistryRunner(manager, {
      clock: systemClock,
      drivers: { "modbus-tcp": modbusDriver },
      retryMs: 100,
      onProblem: (id, m) => own.push(`${id}: ${m}`),
    });
    try {
      await second.start();
      assert.deepEqual(second.devices, ["m1"]);
      assert.equal(own.filter((m) => m.includes("registry load failed, trying again")).length, 2);
      // A change whose reload fails is applied on a later try, not dropped.
      getFailures = 1;
      await registry.putDevice({ id: "m1", protocol: "modbus-tcp", host: "127.0.0.1", port, enabled: false });
      await until(() => second.devices.length === 0, 2000, "the disabled device stopped");
      assert.ok(
        own.some((m) => m.includes("registry reload failed, trying again")),
        own.join("\n"),
      );
    } finally {
      registry.listDevices = realList;
      registry.getDevice = realGet;
      await second.close();
    }
  });
});
