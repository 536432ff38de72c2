/** datacoll-modbus-server migration 2: a simulator saved before the transport setting serves Modbus TCP. */
import assert from "node:assert/strict";
import { MIGRATIONS } from "../../../../nodes/lib/migrations/index";
import { modbusServerTransport } from "../../../../nodes/lib/migrations/modbus-server-2-transport";
import { migrateConfig } from "../../../../nodes/lib/migrations/runner";

// A simulator as the release before issue #20 saved it: version 1, with its idle timeout.
const saved = {
  id: "e1c0000000000002",
  type: "datacoll-modbus-server",
  name: "Modbus simulator",
  host: "127.0.0.1",
  port: "5020",
  units: "1",
  updateMs: "1000",
  idleTimeout: 30,
  generators: [],
  version: 1,
};

describe("datacoll-modbus-server migration 2 (transport)", function () {
  it("adds transport tcp and keeps every other setting", function () {
    assert.deepEqual(modbusServerTransport.up(saved), { ...saved, transport: "tcp" });
  });

  it("keeps a transport already given, and fills in a blank one", function () {
    const rtu = { ...saved, transport: "rtu-over-tcp" };
    assert.deepEqual(modbusServerTransport.up(rtu), rtu);
    assert.deepEqual(modbusServerTransport.up({ ...saved, transport: "" }), { ...saved, transport: "tcp" });
  });

  it("brings a version 1 simulator to the current version through the table, without changing the saved copy", function () {
    const copy = structuredClone(saved);
    assert.deepEqual(migrateConfig(MIGRATIONS, "datacoll-modbus-server", saved).config, {
      ...saved,
      transport: "tcp",
      unknownUnit: "silent",
      version: 3,
    });
    assert.deepEqual(saved, copy);
  });
});
