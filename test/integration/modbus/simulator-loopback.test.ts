/**
 * Our client against our own simulator over loopback TCP, and the simulator against garbage from a raw
 * socket: it closes that connection and keeps serving the others.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { ModbusClient, ModbusRequestError } from "../../../src/core/modbus/client";
import { startModbusSimulator } from "../../../src/core/modbus/simulator";
import { parsePointAddress } from "../../../src/core/modbus/point-address";
import { planReads, runReads } from "../../../src/core/modbus/read-plan";
import { encodeWrite } from "../../../src/core/modbus/values";
import { ModbusServerCore } from "../../../src/protocols/modbus/server";
import type { TcpServerHandle } from "../../../src/transport/tcp-server";
import { expectNoLeaks, snapshotResources, type Snapshot } from "../../support/leaks";

function connected(client: ModbusClient): Promise<void> {
  return new Promise((resolve) => {
    const off = client.onStateChange((c) => {
      if (c.state === "connected") {
        off();
        resolve();
      }
    });
  });
}

describe("modbus client against the simulator on loopback TCP", () => {
  let before: Snapshot;
  let core: ModbusServerCore;
  let sim: TcpServerHandle;
  let client: ModbusClient;

  beforeEach(async () => {
    before = snapshotResources();
    core = new ModbusServerCore({ units: [1, 2] });
    sim = await startModbusSimulator(core, { port: 0 });
    client = ModbusClient.tcp("127.0.0.1", sim.port, { session: { maxInFlight: 4 } });
    const up = connected(client);
    client.start();
    await up;
  });

  afterEach(async () => {
    client.close();
    await sim.close();
    await expectNoLeaks(before);
  });

  it("polls a term through the planner and writes a float point", async () => {
    const f = parsePointAddress("HR100:float32:CDAB");
    const w = encodeWrite(f, 21.5);
    assert.equal(w.kind, "registers");
    if (w.kind === "registers") await client.writeMultipleRegisters(1, w.address, w.values);
    core.unit(1).inputRegisters[9] = 0xfff6;
    core.unit(1).coils[16] = 1;
    const points = [
      { id: "temp", address: f },
      { id: "level", address: parsePointAddress("30010:int16"), scaling: { coefficient: 0.5, base: 0 } },
      { id: "pump", address: parsePointAddress("00017") },
      { id: "missing", address: parsePointAddress("HR20000") },
    ];
    const readings = await runReads(client, 1, planReads(points));
    const byId = new Map(readings.map((r) => [r.id, r]));
    assert.deepEqual(byId.get("temp"), { id: "temp", ok: true, raw: 21.5, value: 21.5, quality: {} });
    assert.deepEqual(byId.get("level"), { id: "level", ok: true, raw: -10, value: -5, quality: {} });
    const pump = byId.get("pump");
    assert.ok(pump?.ok);
    assert.equal(pump.value, true);
    assert.deepEqual(byId.get("missing"), {
      id: "missing",
      ok: false,
      quality: { invalid: true },
      error: "unit 1: Modbus exception 02 (illegal data address)",
    });
  });

  it("is not reached for units it does not serve, and those time out alone", async () => {
    const lost = client.readHoldingRegisters(7, 0, 1, { timeoutMs: 50 });
    const fine = client.readHoldingRegisters(2, 0, 1);
    assert.deepEqual(await fine, [0]);
    await assert.rejects(
      lost,
      (e: unknown) => e instanceof ModbusRequestError && e.failure.kind === "timeout",
    );
  });

  it("closes a connection that sends garbage and keeps serving others", async () => {
    const raw = net.connect(sim.port, "127.0.0.1");
    const closed = new Promise<void>((resolve) => raw.on("close", () => resolve()));
    raw.on("error", () => raw.destroy());
    raw.write(Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    await closed;
    assert.equal(core.stats.malformedStreams, 1);
    assert.deepEqual(await client.readCoils(1, 0, 3), [false, false, false]);
  });
});
