/** datacoll-modbus migration 1: a device saved before the transport setting is a TCP device. */
import assert from "node:assert/strict";
import { MIGRATIONS } from "../../../../nodes/lib/migrations/index";
import { modbusTransport } from "../../../../nodes/lib/migrations/modbus-1-transport";
import { migrateConfig } from "../../../../nodes/lib/migrations/runner";

// examples/01-modbus-poll.json's device as release 0.1.0 saved it.
const saved = {
  id: "e1c0000000000006",
  type: "datacoll-modbus",
  name: "sim",
  deviceId: "",
  host: "127.0.0.1",
  port: "5020",
  timeout: "1000",
  inFlight: "1",
  queueSize: "1000",
  backoff: "1000",
  backoffMax: "30000",
  acceptRewrittenUnit: false,
};

describe("datacoll-modbus migration 1 (transport)", function () {
  it("adds transport tcp and keeps every other setting", function () {
    assert.deepEqual(modbusTransport.up(saved), { ...saved, transport: "tcp" });
  });

  it("keeps a transport already given (a flow written by hand for the next release)", function () {
    assert.deepEqual(modbusTransport.up({ ...saved, transport: "udp" }), { ...saved, transport: "udp" });
  });

  it("brings a 0.1.0 device to version 1 through the table", function () {
    assert.deepEqual(migrateConfig(MIGRATIONS, "datacoll-modbus", saved).config, {
      ...saved,
      transport: "tcp",
      version: 1,
    });
  });
});
