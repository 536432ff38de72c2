/**
 * Interop with independent Modbus peers (docs/protocols/modbus.md §7), provisioned by `npm run services`:
 * mbpoll as a master against our simulator (its 32-bit word orders cross-check ours), our client
 * against a server on libmodbus, built from test/fixtures/modbus/libmodbus-server.c, and a libmodbus
 * client (test/fixtures/modbus/libmodbus-client.c) for the function codes mbpoll does not send (22, 23).
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { ModbusClient, ModbusRequestError } from "../../../src/core/modbus/client";
import { startModbusSimulator } from "../../../src/core/modbus/simulator";
import { parsePointAddress } from "../../../src/core/modbus/point-address";
import { encodeRegisters } from "../../../src/core/modbus/values";
import { MbapAssembler, encodeMbap } from "../../../src/protocols/modbus/codec/mbap";
import { decodeReply } from "../../../src/protocols/modbus/codec/pdu";
import { DEFAULT_TABLE_SIZES, ModbusServerCore } from "../../../src/protocols/modbus/server";
import type { TcpServerHandle } from "../../../src/transport/tcp-server";
import { buildLibmodbusFixture, run, startLibmodbusServer } from "../../support/peer-programs";

/** mbpoll's "[ref]: value" lines. */
function polled(out: string): Map<number, string> {
  const m = new Map<number, string>();
  for (const line of out.split("\n")) {
    const r = /^\[(\d+)\]:\s+(\S+)/.exec(line.trim());
    if (r !== null) m.set(Number(r[1]), r[2]);
  }
  return m;
}

describe("modbus interop: mbpoll against our simulator", () => {
  let core: ModbusServerCore;
  let sim: TcpServerHandle;
  // Options, then the host, then any values to write (mbpoll's argument order).
  const mbpoll = (args: string[], values: string[] = []) =>
    run("mbpoll", [
      "-m",
      "tcp",
      "-p",
      String(sim.port),
      "-a",
      "1",
      "-0",
      "-1",
      ...args,
      "127.0.0.1",
      ...values,
    ]);

  before(async () => {
    core = new ModbusServerCore({ units: [1] });
    sim = await startModbusSimulator(core, { port: 0 });
  });
  after(() => sim.close());

  it("reads 16-bit holding registers", async () => {
    core.unit(1).holdingRegisters.set([11, 65535, 300], 0);
    const r = await mbpoll(["-r", "0", "-c", "3", "-t", "4"]);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual([...polled(r.out).values()], ["11", "65535", "300"]);
  });

  it("agrees on float32 and int32 word orders: its default is our CDAB, its -B our ABCD", async () => {
    const hr = core.unit(1).holdingRegisters;
    hr.set(encodeRegisters(parsePointAddress("HR10:float32:CDAB"), -273.15), 10);
    hr.set(encodeRegisters(parsePointAddress("HR12:float32:ABCD"), 1013.25), 12);
    hr.set(encodeRegisters(parsePointAddress("HR14:int32:CDAB"), -123456789), 14);
    hr.set(encodeRegisters(parsePointAddress("HR16:int32:ABCD"), 987654321), 16);
    const little = await mbpoll(["-r", "10", "-c", "1", "-t", "4:float"]);
    assert.equal(polled(little.out).get(10), "-273.15", little.out);
    const big = await mbpoll(["-r", "12", "-c", "1", "-t", "4:float", "-B"]);
    assert.equal(polled(big.out).get(12), "1013.25", big.out);
    const li = await mbpoll(["-r", "14", "-c", "1", "-t", "4:int"]);
    assert.equal(polled(li.out).get(14), "-123456789", li.out);
    const bi = await mbpoll(["-r", "16", "-c", "1", "-t", "4:int", "-B"]);
    assert.equal(polled(bi.out).get(16), "987654321", bi.out);
  });

  it("reads coils and discrete inputs", async () => {
    core.unit(1).coils.set([1, 0, 1], 20);
    core.unit(1).discreteInputs.set([0, 1], 5);
    const c = await mbpoll(["-r", "20", "-c", "3", "-t", "0"]);
    assert.deepEqual([...polled(c.out).values()], ["1", "0", "1"], c.out);
    const d = await mbpoll(["-r", "5", "-c", "2", "-t", "1"]);
    assert.deepEqual([...polled(d.out).values()], ["0", "1"], d.out);
  });

  it("writes registers into our tables", async () => {
    const w = await mbpoll(["-r", "40", "-t", "4"], ["7", "4660"]);
    assert.equal(w.code, 0, w.out);
    assert.deepEqual(Array.from(core.unit(1).holdingRegisters.subarray(40, 42)), [7, 4660]);
  });

  it("gets exception 02 for a read past the table", async () => {
    const r = await mbpoll(["-r", "9999", "-c", "2", "-t", "4"]);
    assert.notEqual(r.code, 0);
    assert.match(r.out, /Illegal data address/);
  });

  it("gets exception 0B for a unit our simulator does not serve in gateway mode", async () => {
    const gateway = await startModbusSimulator(new ModbusServerCore({ units: [1], unknownUnit: "gateway" }), {
      port: 0,
    });
    try {
      const r = await run("mbpoll", [
        "-m",
        "tcp",
        "-p",
        String(gateway.port),
        "-a",
        "9",
        "-0",
        "-1",
        "-r",
        "0",
        "-t",
        "4",
        "127.0.0.1",
      ]);
      assert.notEqual(r.code, 0);
      assert.match(r.out, /Target device failed to respond/i);
    } finally {
      await gateway.close();
    }
  });
});

describe("modbus interop: our client against a libmodbus server", () => {
  let dir: string;
  let server: ChildProcess;
  let port: number;
  let client: ModbusClient;

  before(async function () {
    this.timeout(60000);
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "datacoll-libmodbus-"));
    ({ server, port } = await startLibmodbusServer(dir));
    client = ModbusClient.tcp("127.0.0.1", port, { session: { maxInFlight: 8 } });
    client.start();
  });

  after(async () => {
    client.close();
    const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()));
    server.kill();
    await exited;
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("reads every table", async () => {
    assert.deepEqual(await client.readHoldingRegisters(1, 5, 3), [5, 6, 7]);
    assert.deepEqual(await client.readInputRegisters(1, 98, 2), [1098, 1099]);
    assert.deepEqual(await client.readCoils(1, 0, 4), [false, true, false, true]);
    assert.deepEqual(await client.readDiscreteInputs(1, 0, 4), [true, false, false, true]);
  });

  it("pipelines 200 requests, 8 in flight", async () => {
    const all = await Promise.all(
      Array.from({ length: 200 }, (_, i) => client.readHoldingRegisters(1, i % 90, 10)),
    );
    all.forEach((regs, i) => assert.equal(regs[0], i % 90));
  });

  it("writes and reads back", async () => {
    await client.writeMultipleRegisters(1, 50, [0xdead, 0xbeef]);
    await client.writeSingleRegister(1, 52, 42);
    await client.writeMultipleCoils(1, 60, [true, true, false]);
    await client.writeSingleCoil(1, 63, true);
    assert.deepEqual(await client.readHoldingRegisters(1, 50, 3), [0xdead, 0xbeef, 42]);
    assert.deepEqual(await client.readCoils(1, 60, 4), [true, true, false, true]);
  });

  it("reads and writes in one FC 23 exchange, the write applied before the read", async () => {
    await client.writeMultipleRegisters(1, 70, [70, 71, 72]);
    assert.deepEqual(
      await client.readWriteMultipleRegisters(1, 70, 3, 71, [0x1111, 0x2222]),
      [70, 0x1111, 0x2222],
    );
    assert.deepEqual(await client.readHoldingRegisters(1, 70, 3), [70, 0x1111, 0x2222]);
    await assert.rejects(client.readWriteMultipleRegisters(1, 0, 1, 99, [1, 2]), (e: unknown) => {
      assert.ok(e instanceof ModbusRequestError);
      assert.equal(e.failure.exceptionCode, 2);
      return true;
    });
  });

  it("masks one register with FC 22 as libmodbus computes it", async () => {
    await client.writeSingleRegister(1, 80, 0x12);
    await client.maskWriteRegister(1, 80, 0x00f2, 0x0025);
    assert.deepEqual(await client.readHoldingRegisters(1, 80, 1), [0x17]);
    await assert.rejects(client.maskWriteRegister(1, 100, 0xffff, 0), (e: unknown) => {
      assert.ok(e instanceof ModbusRequestError);
      assert.equal(e.failure.exceptionCode, 2);
      return true;
    });
  });

  it("decodes libmodbus's exception 02 for a read past its table", async () => {
    await assert.rejects(client.readHoldingRegisters(1, 99, 2), (e: unknown) => {
      assert.ok(e instanceof ModbusRequestError);
      assert.equal(e.failure.exceptionCode, 2);
      return true;
    });
  });

  it("decodes libmodbus's exception 03 for a count of 126 (which our client refuses to send)", async () => {
    await assert.rejects(client.readHoldingRegisters(1, 0, 126), /1\.\.125/);
    // The libmodbus server serves one connection at a time: free it for the raw socket.
    client.close();
    const socket = net.connect(port, "127.0.0.1");
    const asm = new MbapAssembler();
    const frame = await new Promise<Buffer>((resolve, reject) => {
      socket.on("error", reject);
      socket.on("connect", () => socket.write(encodeMbap(9, 1, Buffer.from("030000007e", "hex"))));
      socket.on("data", (d: Buffer) => {
        const r = asm.push(d);
        if (r.frames.length > 0) resolve(Buffer.from(r.frames[0].pdu));
      });
    });
    socket.destroy();
    assert.deepEqual(decodeReply({ fn: "readHoldingRegisters", address: 0, count: 126 }, frame), {
      kind: "exception",
      code: 3,
      name: "illegal data value",
      message: "Modbus exception 03 (illegal data value)",
    });
  });
});

describe("modbus interop: a libmodbus client against our simulator", () => {
  let dir: string;
  let bin: string;
  let core: ModbusServerCore;
  let sim: TcpServerHandle;
  const libmodbus = (args: string[]) => run(bin, [String(sim.port), ...args]);

  before(async function () {
    this.timeout(60000);
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "datacoll-libmodbus-client-"));
    bin = await buildLibmodbusFixture("libmodbus-client", dir);
    core = new ModbusServerCore({ units: [1], sizes: { ...DEFAULT_TABLE_SIZES, holdingRegisters: 100 } });
    sim = await startModbusSimulator(core, { port: 0 });
  });

  after(async () => {
    await sim.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("is served FC 23: our server writes first, then reads", async () => {
    core.unit(1).holdingRegisters.set([500, 501, 502, 503], 10);
    const r = await libmodbus(["rw", "10", "4", "12", "7", "8"]);
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out.trim(), "500 501 7 8");
    assert.deepEqual(Array.from(core.unit(1).holdingRegisters.subarray(10, 14)), [500, 501, 7, 8]);
  });

  it("is served FC 22: our server applies the masks as the specification computes them", async () => {
    core.unit(1).holdingRegisters[20] = 0x12;
    const r = await libmodbus(["mask", "20", "0x00F2", "0x0025"]);
    assert.equal(r.code, 0, r.out);
    assert.equal(core.unit(1).holdingRegisters[20], 0x17);
    const past = await libmodbus(["mask", "100", "0xFFFF", "0"]);
    assert.equal(past.code, 1, past.out);
    assert.match(past.out, /Illegal data address/);
  });

  it("gets exception 02 for an FC 23 write past our table", async () => {
    const r = await libmodbus(["rw", "0", "1", "99", "1", "2"]);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /Illegal data address/);
  });
});
