import assert from "node:assert/strict";
import { ModbusClient } from "../../../src/core/modbus/client";
import { parsePointAddress } from "../../../src/core/modbus/point-address";
import { writePoint, writePoints } from "../../../src/core/modbus/write-point";
import { ModbusServerCore } from "../../../src/protocols/modbus/server";
import { MemoryNetwork } from "../../../src/transport/memory-socket";
import { ManualClock } from "../../../src/transport/manual-clock";

describe("modbus point writes", () => {
  let core: ModbusServerCore;
  let client: ModbusClient;
  const functions: number[] = [];

  beforeEach(() => {
    core = new ModbusServerCore({ units: [3] });
    const net = new MemoryNetwork();
    client = new ModbusClient({ socketFactory: net.factory, clock: new ManualClock() });
    client.start();
    const link = net.last;
    const conn = core.connection();
    functions.length = 0;
    link.onWrite = (bytes) => {
      functions.push(bytes[7]);
      for (const r of conn.onData(bytes).replies) link.send(r);
    };
    link.accept();
  });

  afterEach(() => client.close());

  it("writes a coil with function 05", async () => {
    await writePoint(client, 3, parsePointAddress("C7"), true);
    assert.equal(core.unit(3).coils[7], 1);
    assert.deepEqual(functions, [5]);
  });

  it("writes one register with 06, or 16 when the device needs it, and scales back", async () => {
    const p = parsePointAddress("HR10:int16");
    await writePoint(client, 3, p, -12.5, { scaling: { coefficient: 0.5, base: 0 } });
    assert.equal(core.unit(3).holdingRegisters[10], 0xffe7);
    await writePoint(client, 3, p, 1, { alwaysMultiple: true });
    assert.equal(core.unit(3).holdingRegisters[10], 1);
    assert.deepEqual(functions, [6, 16]);
  });

  it("writes a multi-register value with 16 in the point's order", async () => {
    await writePoint(client, 3, parsePointAddress("HR20:float32:CDAB"), -1.5);
    assert.deepEqual(Array.from(core.unit(3).holdingRegisters.subarray(20, 22)), [0x0000, 0xbfc0]);
    assert.deepEqual(functions, [16]);
  });

  it("sets and clears one bit of a register by read-modify-write, keeping the others", async () => {
    core.unit(3).holdingRegisters[30] = 0x8001;
    await writePoint(client, 3, parsePointAddress("HR30.4"), true);
    assert.equal(core.unit(3).holdingRegisters[30], 0x8011);
    await writePoint(client, 3, parsePointAddress("HR30.15"), false);
    assert.equal(core.unit(3).holdingRegisters[30], 0x0011);
    assert.deepEqual(functions, [3, 6, 3, 6]);
  });

  it("refuses read-only tables and bad values before sending anything", async () => {
    await assert.rejects(writePoint(client, 3, parsePointAddress("IR1"), 1), /read-only/);
    await assert.rejects(writePoint(client, 3, parsePointAddress("HR1:uint16"), 70000), /uint16 range/);
    assert.deepEqual(functions, []);
  });

  it("writes an array of coils with one write multiple coils (15)", async () => {
    const req = await writePoints(client, 3, parsePointAddress("C10"), [true, false, 1, 0]);
    assert.deepEqual(Array.from(core.unit(3).coils.subarray(10, 14)), [1, 0, 1, 0]);
    assert.deepEqual(req, { fn: "writeMultipleCoils", address: 10, values: [true, false, true, false] });
    assert.deepEqual(functions, [15]);
  });

  it("writes an array of typed values back to back with one write multiple registers (16)", async () => {
    const req = await writePoints(client, 3, parsePointAddress("HR40:float32:CDAB"), [-1.5, 2], {
      scaling: { coefficient: 0.5, base: 0 },
    });
    // raw -3 is 0xC040_0000 and raw 4 is 0x4080_0000, each low word first.
    assert.deepEqual(Array.from(core.unit(3).holdingRegisters.subarray(40, 44)), [0, 0xc040, 0, 0x4080]);
    assert.equal(req.fn, "writeMultipleRegisters");
    await writePoints(client, 3, parsePointAddress("HR50:int16"), [7]);
    assert.equal(core.unit(3).holdingRegisters[50], 7);
    assert.deepEqual(functions, [16, 16]);
  });

  it("refuses an empty array, register bits, a bad element and too many values before sending", async () => {
    await assert.rejects(writePoints(client, 3, parsePointAddress("HR1"), []), /empty/);
    await assert.rejects(
      writePoints(client, 3, parsePointAddress("HR1.3"), [true, false]),
      /bits of a register/,
    );
    await assert.rejects(writePoints(client, 3, parsePointAddress("HR1:uint16"), [1, 70000]), /uint16 range/);
    await assert.rejects(writePoints(client, 3, parsePointAddress("DI1"), [true]), /read-only/);
    await assert.rejects(
      writePoints(client, 3, parsePointAddress("HR0:uint16"), Array<number>(124).fill(1)),
      /count 124 is outside 1\.\.123/,
    );
    await assert.rejects(
      writePoints(client, 3, parsePointAddress("C0"), Array<boolean>(1969).fill(true)),
      /count 1969 is outside 1\.\.1968/,
    );
    assert.deepEqual(functions, []);
  });
});
