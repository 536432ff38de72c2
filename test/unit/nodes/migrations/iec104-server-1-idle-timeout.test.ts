/**
 * datacoll-iec104-server migration 1: an outstation saved before the idle timeout gets the default, 30 s,
 * which the node accepts (it must exceed t3, 20 s), so a saved flow still deploys.
 */
import assert from "node:assert/strict";
import { Iec104Simulator } from "../../../../src/core/iec104/simulator";
import { ManualClock } from "../../../../src/transport/manual-clock";
import { MIGRATIONS } from "../../../../nodes/lib/migrations/index";
import { iec104ServerIdleTimeout } from "../../../../nodes/lib/migrations/iec104-server-1-idle-timeout";
import { migrateConfig } from "../../../../nodes/lib/migrations/runner";

// test/fixtures/flows/0.1.0-iec104-poll.json's outstation as release 0.1.0 saved it (tables shortened).
const saved = {
  id: "e2c0000000000002",
  type: "datacoll-iec104-server",
  name: "IEC 104 outstation",
  host: "127.0.0.1",
  port: "2405",
  commonAddress: "1",
  updateMs: "1000",
  periodic: "0",
  selectTimeout: "10",
  points: [{ ioa: "100", type: "M_ME_NC_1", value: "", generator: "sine", min: "49.8", max: "50.2" }],
  commands: [{ ioa: "5000", type: "setpoint-float", accept: "true", sbo: "false", feedback: "" }],
};

describe("datacoll-iec104-server migration 1 (idle timeout)", function () {
  it("adds idleTimeout 30 and keeps every other setting", function () {
    assert.deepEqual(iec104ServerIdleTimeout.up(saved), { ...saved, idleTimeout: 30 });
  });

  it("keeps an idle timeout already given, 0 (never) included", function () {
    for (const idleTimeout of [0, "0", "60"]) {
      assert.deepEqual(iec104ServerIdleTimeout.up({ ...saved, idleTimeout }), { ...saved, idleTimeout });
    }
  });

  it("brings a 0.1.0 outstation to version 1 with a timeout the outstation accepts", function () {
    const upgraded = migrateConfig(MIGRATIONS, "datacoll-iec104-server", saved).config;
    assert.deepEqual(upgraded, { ...saved, idleTimeout: 30, version: 1 });
    // What the node makes of it: seconds to ms, above the default t3.
    const sim = new Iec104Simulator({
      commonAddress: 1,
      points: [],
      commands: [],
      idleTimeoutMs: Number(upgraded.idleTimeout) * 1000,
      clock: new ManualClock(),
    });
    assert.equal(sim.connections, 0);
  });
});
