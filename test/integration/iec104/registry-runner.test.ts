/**
 * The manager running registry devices with protocol `iec104` against our outstation simulator over real
 * TCP: a device created in the store is connected and interrogated within a second, points are mapped by
 * (common address, IOA) with their scaling, spontaneous changes land in latest values, a term's station is
 * interrogated on its schedule, a REST-style call reads one point, a deleted device closes its socket.
 */
import assert from "node:assert/strict";
import { Manager } from "../../../src/core/manager";
import { parseManagerSettings } from "../../../src/core/manager-config";
import { iec104Connections } from "../../../src/core/iec104/devices";
import { iec104Driver } from "../../../src/core/iec104/driver";
import { Iec104Simulator, parseSimPoints } from "../../../src/core/iec104/simulator";
import { RegistryRunner } from "../../../src/core/runtime/registry-runner";
import { systemClock } from "../../../src/transport/connection";
import { until } from "../../support/net";

describe("registry runner (IEC 104, embedded store)", function () {
  let station1: Iec104Simulator;
  let port: number;
  let manager: Manager;
  let runner: RegistryRunner;
  const problems: string[] = [];

  beforeEach(async function () {
    problems.length = 0;
    // One outstation with common address 1; the tests address a second station (CA 2) that does not exist.
    station1 = new Iec104Simulator({
      commonAddress: 1,
      points: parseSimPoints([
        { ioa: 1001, type: "M_ME_NC_1", value: 230.5 },
        { ioa: 1002, type: "M_ME_NB_1", value: 42 },
        { ioa: 2001, type: "M_SP_NA_1", value: 1 },
      ]),
      commands: [],
      clock: systemClock,
    });
    port = await station1.listen(0);
    station1.on((e) => {
      if (e.type === "warning") problems.push(`station: ${e.message}`);
    });
    manager = new Manager(
      parseManagerSettings({ store: "embedded", namespace: "run104:", instanceId: "i1" }),
    );
    runner = new RegistryRunner(manager, {
      clock: systemClock,
      drivers: { iec104: iec104Driver },
      onProblem: (id, m) => problems.push(`${id}: ${m}`),
    });
    await runner.start();
  });

  afterEach(async function () {
    await runner.close();
    await manager.close();
    await station1.close();
    assert.equal(iec104Connections(), 0, "no IEC 104 connection outlives the runner");
  });

  async function createPlant(pollInterval = 0): Promise<void> {
    const r = manager.registry;
    await r.putDevice({ id: "rtu", protocol: "iec104", host: "127.0.0.1", port, options: { t1: 2, t2: 1 } });
    await r.putTerm({ id: "bay1", deviceId: "rtu", address: 1, pollInterval });
    for (const id of ["volts", "amps", "breaker"]) await r.putItem({ id });
    await r.putPoint({ deviceId: "rtu", termId: "bay1", itemId: "volts", address: "1001:M_ME_NC_1" });
    await r.putPoint({ deviceId: "rtu", termId: "bay1", itemId: "amps", address: "1002", coefficient: 0.5 });
    await r.putPoint({ deviceId: "rtu", termId: "bay1", itemId: "breaker", address: "2001:M_SP_NA_1" });
  }

  it("connects, interrogates and fills latest values within a second, mapped by CA and IOA with scaling", async function () {
    await createPlant();
    // The second is the wait's limit (a watchdog on a condition; no figure is measured here).
    await until(async () => (await manager.store.latest("rtu:bay1:amps"))?.value === 21, 1000, "amps");
    const volts = await manager.store.latest("rtu:bay1:volts");
    assert.equal(volts?.value, 230.5);
    assert.equal(volts?.cause, "interrogation");
    assert.equal((await manager.store.latest("rtu:bay1:breaker"))?.value, true);
    const status = await manager.store.deviceStatus("rtu");
    assert.equal(status?.online, true);
    assert.deepEqual(problems, []);
  });

  it("stores spontaneous changes as they arrive", async function () {
    await createPlant();
    await until(async () => (await manager.store.latest("rtu:bay1:volts"))?.value === 230.5, 1000, "volts");
    station1.set(1001, 231.25);
    await until(async () => (await manager.store.latest("rtu:bay1:volts"))?.value === 231.25, 1000, "change");
    assert.equal((await manager.store.latest("rtu:bay1:volts"))?.cause, "spontaneous");
  });

  it("marks the station's latest values not topical when the link is lost, and topical again after", async function () {
    await createPlant();
    await until(async () => (await manager.store.latest("rtu:bay1:volts"))?.value === 230.5, 1000, "volts");
    await station1.close();
    await until(
      async () => (await manager.store.latest("rtu:bay1:volts"))?.quality.notTopical === true,
      10_000,
      "volts not topical",
    );
    const volts = await manager.store.latest("rtu:bay1:volts");
    assert.equal(volts?.value, 230.5, "the last value is kept");
    assert.match(volts?.error ?? "", /^link to the station lost: /);
    assert.equal((await manager.store.latest("rtu:bay1:breaker"))?.quality.notTopical, true);
    // The station back on its port: the interrogation at start makes the values topical again.
    await station1.listen(port);
    await until(
      async () => (await manager.store.latest("rtu:bay1:volts"))?.quality.notTopical === undefined,
      15_000,
      "volts topical again",
    );
  });

  it("keeps the link's frames in the store's frame log when the device asks for it", async function () {
    await manager.registry.putDevice({
      id: "rtu",
      protocol: "iec104",
      host: "127.0.0.1",
      port,
      options: { t1: 2, t2: 1, frameLog: true },
    });
    await manager.registry.putTerm({ id: "bay1", deviceId: "rtu", address: 1 });
    await until(async () => (await manager.store.framesLength("rtu")) >= 4, 2000, "logged frames");
    const oldestFirst = (await manager.store.frames("rtu", 100)).reverse();
    // The link starts with STARTDT act (68 04 07 00 00 00) and its confirmation (68 04 0b 00 00 00).
    assert.deepEqual(
      oldestFirst.slice(0, 2).map((f) => [f.dir, f.data]),
      [
        ["tx", "680407000000"],
        ["rx", "68040b000000"],
      ],
    );
    // Then the general interrogation (C_IC_NA_1, type 100 = 0x64) goes out as an I-frame.
    assert.ok(
      oldestFirst.some((f) => f.dir === "tx" && /^68..........64/.test(f.data)),
      JSON.stringify(oldestFirst),
    );
  });

  it("interrogates a term on its poll interval and reads one point on call", async function () {
    await createPlant(200);
    await until(() => (runner.info("rtu")?.bay1?.cycles ?? 0) >= 3, 2000, "three scheduled interrogations");
    assert.equal(runner.info("rtu")?.bay1?.points, 3);
    station1.set(1002, 50);
    const read = await runner.call("rtu:bay1:amps");
    assert.equal(read.value, 25);
    assert.equal(read.cause, "call", "the answer to the read command");
  });

  it("reports a point for a station that does not answer, and closes the socket when the device goes", async function () {
    await createPlant();
    await manager.registry.putTerm({ id: "bay2", deviceId: "rtu", address: 2, pollInterval: 200 });
    await manager.registry.putItem({ id: "ghost" });
    await manager.registry.putPoint({ deviceId: "rtu", termId: "bay2", itemId: "ghost", address: "1001" });
    await until(() => (runner.info("rtu")?.bay2?.failedCycles ?? 0) >= 1, 2000, "a refused interrogation");
    assert.match(runner.info("rtu")?.bay2?.lastError ?? "", /COT 46/);
    assert.equal(await manager.store.latest("rtu:bay2:ghost"), undefined, "CA 2 data never mapped from CA 1");
    await until(() => station1.connections === 1, 1000, "the connection");
    await manager.registry.deleteDevice("rtu");
    await until(() => station1.connections === 0 && runner.devices.length === 0, 1000, "the close");
  });
});
