/**
 * A Modbus device's transport setting (issue #20): absent means MBAP as before, "rtu-over-tcp" picks
 * the RTU framing with one request on the wire, anything else is refused with the field named.
 */
import assert from "node:assert/strict";
import { parseModbusDeviceSettings } from "../../../src/core/modbus/devices";
import { DataCollError } from "../../../src/core/errors";
import { parseModbusLinkTest } from "../../../src/core/modbus/link-test";

describe("Modbus device settings: transport", () => {
  it("reads a device saved without a transport as Modbus TCP, keeping its requests in flight", () => {
    const s = parseModbusDeviceSettings({ host: "10.0.0.5", inFlight: "4" });
    assert.equal(s.session.framing, "tcp");
    assert.equal(s.session.maxInFlight, 4);
    assert.equal(parseModbusDeviceSettings({ host: "10.0.0.5", transport: "tcp" }).session.framing, "tcp");
  });

  it("runs RTU over TCP with one request on the wire whatever in flight says", () => {
    const s = parseModbusDeviceSettings({ host: "gw.local", transport: "rtu-over-tcp", inFlight: 8 });
    assert.equal(s.session.framing, "rtu-over-tcp");
    assert.equal(s.session.maxInFlight, 1);
  });

  it("refuses a transport it does not run, naming the field", () => {
    assert.throws(
      () => parseModbusDeviceSettings({ host: "gw.local", transport: "serial" }),
      (e: unknown) => e instanceof DataCollError && e.field === "transport",
    );
  });

  it("has the dialog's test connection speak the transport the dialog shows", () => {
    assert.equal(parseModbusLinkTest({ host: "gw", transport: "rtu-over-tcp" }).framing, "rtu-over-tcp");
    assert.equal(parseModbusLinkTest({ host: "gw" }).framing, "tcp");
  });
});
