/**
 * The simulator node's device settings as a flow deploys them (issue #20): its identification objects
 * (FC 43/14) — our client reads what the editor fields say, blank basic fields answer the defaults, and
 * an object too long for one reply fails the deploy with a settings error — and its answer to unit ids
 * it does not serve (silence, or exception 0B as a gateway).
 */
import assert from "node:assert/strict";
import { ModbusClient, ModbusRequestError } from "../../src/core/modbus/client";
import { freePort, until } from "../support/net";
import { helper, nodeModule, useNodeRed } from "../support/node-red";

const modbusServer = nodeModule("datacoll-modbus-server");

describe("datacoll-modbus-server identification and other units", function () {
  useNodeRed();

  it("answers read device identification with the objects configured on the node", async function () {
    const port = await freePort();
    await helper.load(modbusServer, [
      {
        id: "srv",
        type: "datacoll-modbus-server",
        port: String(port),
        units: "1, 2",
        vendorName: "ACME",
        productCode: "",
        revision: "3.2",
        productName: "Power meter",
        modelName: "",
      },
    ]);
    // Closed inside the test: the leak check runs in useNodeRed's afterEach, before any of ours.
    const client = ModbusClient.tcp("127.0.0.1", port, {});
    client.start();
    try {
      await check(client);
    } finally {
      client.close();
    }
  });

  async function check(client: ModbusClient): Promise<void> {
    await client.whenConnected();
    const regular = await client.readDeviceIdentification(2, 2);
    assert.deepEqual(regular.objects, [
      { id: 0, value: "ACME" },
      { id: 1, value: "datacoll-modbus-server" },
      { id: 2, value: "3.2" },
      { id: 4, value: "Power meter" },
    ]);
    assert.equal(regular.conformity, 0x82);
    assert.equal(await client.readDeviceIdentificationObject(1, 4), "Power meter");
  }

  it("refuses an object too long for one reply as a settings error", async function () {
    const port = await freePort();
    await helper.load(modbusServer, [
      {
        id: "srv",
        type: "datacoll-modbus-server",
        port: String(port),
        units: "1",
        vendorName: "x".repeat(245),
      },
    ]);
    await until(
      () =>
        (helper.log().args as [{ id?: string; msg?: unknown }][]).some(
          ([e]) => e.id === "srv" && e.msg === "datacoll-modbus-server.errors.config",
        ),
      3000,
      "the settings error",
    );
  });

  it("answers a unit it does not serve with exception 0B as a gateway, and with silence by default", async function () {
    const [gatewayPort, devicePort] = [await freePort(), await freePort()];
    await helper.load(modbusServer, [
      {
        id: "gw",
        type: "datacoll-modbus-server",
        port: String(gatewayPort),
        units: "1",
        unknownUnit: "gateway",
      },
      { id: "dev", type: "datacoll-modbus-server", port: String(devicePort), units: "1" },
    ]);
    const gateway = ModbusClient.tcp("127.0.0.1", gatewayPort, { session: { timeoutMs: 60000 } });
    const device = ModbusClient.tcp("127.0.0.1", devicePort, {
      session: { timeoutMs: 200, unitBackoffMs: 0 },
    });
    gateway.start();
    device.start();
    try {
      await gateway.whenConnected();
      await device.whenConnected();
      // A 60 s timeout: only the 0B reply can end this request within the test's time.
      await assert.rejects(gateway.readHoldingRegisters(9, 0, 1), (e: unknown) => {
        assert.ok(e instanceof ModbusRequestError);
        assert.equal(e.failure.exceptionCode, 0x0b);
        return true;
      });
      assert.deepEqual(await gateway.readHoldingRegisters(1, 0, 1), [0]);
      await assert.rejects(device.readHoldingRegisters(9, 0, 1), (e: unknown) => {
        assert.ok(e instanceof ModbusRequestError);
        assert.equal(e.failure.kind, "timeout");
        return true;
      });
    } finally {
      gateway.close();
      device.close();
    }
  });

  it("answers 0B by default in RTU-over-TCP gateway mode, while a flow saved before the setting stays silent", async function () {
    const [newPort, oldPort, tcpPort] = [await freePort(), await freePort(), await freePort()];
    await helper.load(modbusServer, [
      // As the dialog saves a new simulator: "other units" left at its default, auto.
      {
        id: "srvNew",
        type: "datacoll-modbus-server",
        port: String(newPort),
        units: "1",
        transport: "rtu-over-tcp",
        unknownUnit: "auto",
        version: 3,
      },
      // As saved before the setting existed (migration 3 makes it "silent").
      {
        id: "srvOld",
        type: "datacoll-modbus-server",
        port: String(oldPort),
        units: "1",
        transport: "rtu-over-tcp",
        version: 2,
      },
      {
        id: "srvTcp",
        type: "datacoll-modbus-server",
        port: String(tcpPort),
        units: "1",
        transport: "tcp",
        unknownUnit: "auto",
        version: 3,
      },
    ]);
    const rtu = { framing: "rtu-over-tcp" as const };
    const fresh = ModbusClient.tcp("127.0.0.1", newPort, { session: { ...rtu, timeoutMs: 60000 } });
    const old = ModbusClient.tcp("127.0.0.1", oldPort, {
      session: { ...rtu, timeoutMs: 200, unitBackoffMs: 0 },
    });
    const tcp = ModbusClient.tcp("127.0.0.1", tcpPort, { session: { timeoutMs: 200, unitBackoffMs: 0 } });
    const clients = [fresh, old, tcp];
    for (const c of clients) c.start();
    try {
      await Promise.all(clients.map((c) => c.whenConnected()));
      // A 60 s timeout: only the 0B reply can end this request within the test's time.
      await assert.rejects(fresh.readHoldingRegisters(9, 0, 1), (e: unknown) => {
        assert.ok(e instanceof ModbusRequestError);
        assert.equal(e.failure.exceptionCode, 0x0b);
        return true;
      });
      assert.deepEqual(await fresh.readHoldingRegisters(1, 0, 1), [0]);
      for (const silent of [old, tcp]) {
        await assert.rejects(silent.readHoldingRegisters(9, 0, 1), (e: unknown) => {
          assert.ok(e instanceof ModbusRequestError);
          assert.equal(e.failure.kind, "timeout");
          return true;
        });
      }
    } finally {
      for (const c of clients) c.close();
    }
  });
});
