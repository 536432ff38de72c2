/**
 * datacoll-modbus-server migration 3: a simulator saved before the "other units" setting answered other
 * unit ids with silence, and keeps doing so now that new simulators default to "auto" (0B in RTU gateway
 * mode) — whatever its transport.
 */
import assert from "node:assert/strict";
import { MIGRATIONS } from "../../../../nodes/lib/migrations/index";
import { modbusServerUnknownUnit } from "../../../../nodes/lib/migrations/modbus-server-3-unknown-unit";
import { migrateConfig } from "../../../../nodes/lib/migrations/runner";
import { parseUnknownUnit } from "../../../../src/core/modbus/simulator";

// A simulator as saved at version 2, serving RTU over TCP, before the setting existed.
const saved = {
  id: "e1c0000000000003",
  type: "datacoll-modbus-server",
  name: "gateway",
  host: "127.0.0.1",
  port: "5020",
  units: "1",
  updateMs: "1000",
  idleTimeout: 30,
  transport: "rtu-over-tcp",
  generators: [],
  version: 2,
};

describe("datacoll-modbus-server migration 3 (other units)", function () {
  it("adds unknownUnit silent, which the node reads as silence even in RTU gateway mode", function () {
    const up = modbusServerUnknownUnit.up(saved);
    assert.deepEqual(up, { ...saved, unknownUnit: "silent" });
    assert.equal(parseUnknownUnit(up.unknownUnit, "rtu-over-tcp"), "silent");
    // Without the migration the same flow would have been read as the new default, a gateway.
    assert.equal(parseUnknownUnit(undefined, "rtu-over-tcp"), "gateway");
  });

  it("keeps a choice already made, and fills in a blank one", function () {
    for (const choice of ["gateway", "silent", "auto"]) {
      const c = { ...saved, unknownUnit: choice };
      assert.deepEqual(modbusServerUnknownUnit.up(c), c);
    }
    assert.deepEqual(modbusServerUnknownUnit.up({ ...saved, unknownUnit: "" }), {
      ...saved,
      unknownUnit: "silent",
    });
  });

  it("brings a version 2 simulator to version 3 through the table, without changing the saved copy", function () {
    const copy = structuredClone(saved);
    assert.deepEqual(migrateConfig(MIGRATIONS, "datacoll-modbus-server", saved).config, {
      ...saved,
      unknownUnit: "silent",
      version: 3,
    });
    assert.deepEqual(saved, copy);
  });
});
