/** datacoll-modbus-server migration 1: a simulator saved before the idle timeout gets the default, 30 s. */
import assert from "node:assert/strict";
import { MIGRATIONS } from "../../../../nodes/lib/migrations/index";
import { modbusServerIdleTimeout } from "../../../../nodes/lib/migrations/modbus-server-1-idle-timeout";
import { migrateConfig } from "../../../../nodes/lib/migrations/runner";

// test/fixtures/flows/0.1.0-modbus-poll.json's simulator as release 0.1.0 saved it (generators shortened).
const saved = {
  id: "e1c0000000000002",
  type: "datacoll-modbus-server",
  name: "Modbus simulator",
  host: "127.0.0.1",
  port: "5020",
  units: "1",
  updateMs: "1000",
  generators: [
    {
      unit: "1",
      address: "HR0:float32",
      kind: "sine",
      value: "",
      min: "215",
      max: "245",
      period: "30",
      step: "",
    },
  ],
};

describe("datacoll-modbus-server migration 1 (idle timeout)", function () {
  it("adds idleTimeout 30 and keeps every other setting", function () {
    assert.deepEqual(modbusServerIdleTimeout.up(saved), { ...saved, idleTimeout: 30 });
  });

  it("keeps an idle timeout already given, 0 (never) included", function () {
    for (const idleTimeout of [0, "0", "120", 45]) {
      assert.deepEqual(modbusServerIdleTimeout.up({ ...saved, idleTimeout }), { ...saved, idleTimeout });
    }
  });

  it("fills in a blank one, which the dialog cannot save", function () {
    assert.deepEqual(modbusServerIdleTimeout.up({ ...saved, idleTimeout: "" }), {
      ...saved,
      idleTimeout: 30,
    });
  });

  it("brings a 0.1.0 simulator through the table (1, 2, then 3), without changing the saved copy", function () {
    const copy = structuredClone(saved);
    assert.deepEqual(migrateConfig(MIGRATIONS, "datacoll-modbus-server", saved).config, {
      ...saved,
      idleTimeout: 30,
      transport: "tcp",
      unknownUnit: "silent",
      version: 3,
    });
    assert.deepEqual(saved, copy);
  });
});
