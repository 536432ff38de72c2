/**
 * Our client against a minimal Modbus TCP server written in this test (plain node:net, our codec), on
 * loopback. Time in the client runs on a manual clock, so timeouts and reconnects happen when the test
 * says, not after a sleep.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { ModbusClient, ModbusRequestError } from "../../../src/core/modbus/client";
import { ManualClock } from "../../../src/transport/manual-clock";
import { tcpSocketFactory } from "../../../src/transport/socket";
import { MbapAssembler, encodeMbap, type MbapFrame } from "../../../src/protocols/modbus/codec/mbap";
import { decodeRequest, encodeReply } from "../../../src/protocols/modbus/codec/pdu";
import { encodeException } from "../../../src/protocols/modbus/codec/exceptions";
import { expectNoLeaks, snapshotResources, type Snapshot } from "../../support/leaks";

const SIZE = 1000;

/** Holding registers and coils 0..999; unit 9 never answers until `release()`; anything else answers. */
class TestServer {
  readonly registers = Array.from({ length: SIZE }, (_, i) => i);
  readonly coils: boolean[] = Array.from({ length: SIZE }, (_, i) => i % 3 === 0);
  readonly held: { socket: net.Socket; frame: MbapFrame }[] = [];
  readonly sockets = new Set<net.Socket>();
  onHeld: (() => void) | undefined;
  private readonly server = net.createServer((s) => this.accept(s));

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  dropAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  release(): void {
    for (const h of this.held.splice(0)) this.answer(h.socket, h.frame);
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    const asm = new MbapAssembler();
    socket.on("data", (chunk: Buffer) => {
      const r = asm.push(chunk);
      for (const frame of r.frames) {
        if (frame.unitId === 9) {
          this.held.push({ socket, frame: { ...frame, pdu: Buffer.from(frame.pdu) } });
          this.onHeld?.();
        } else {
          this.answer(socket, frame);
        }
      }
      if (r.kind === "malformed") socket.destroy();
    });
  }

  private answer(socket: net.Socket, frame: MbapFrame): void {
    const r = decodeRequest(frame.pdu);
    let pdu: Buffer;
    if (r.kind === "exception") {
      pdu = encodeException(r.functionCode, r.code);
    } else if (r.request.fn === "diagnosticsEcho") {
      pdu = encodeReply(r.request);
    } else if (r.request.fn === "readDeviceIdentification") {
      pdu = encodeException(frame.pdu[0], 1);
    } else {
      const q = r.request;
      const end = q.address + ("count" in q ? q.count : "values" in q ? q.values.length : 1);
      if (end > SIZE) {
        pdu = encodeException(frame.pdu[0], 2);
      } else if (q.fn === "readHoldingRegisters" || q.fn === "readInputRegisters") {
        pdu = encodeReply(q, this.registers.slice(q.address, end));
      } else if (q.fn === "readCoils" || q.fn === "readDiscreteInputs") {
        pdu = encodeReply(q, this.coils.slice(q.address, end));
      } else {
        if (q.fn === "writeSingleRegister") this.registers[q.address] = q.value;
        if (q.fn === "writeSingleCoil") this.coils[q.address] = q.value;
        if (q.fn === "writeMultipleRegisters") this.registers.splice(q.address, q.values.length, ...q.values);
        if (q.fn === "writeMultipleCoils") this.coils.splice(q.address, q.values.length, ...q.values);
        pdu = encodeReply(q);
      }
    }
    if (!socket.destroyed) socket.write(encodeMbap(frame.transactionId, frame.unitId, pdu));
  }
}

function connected(client: ModbusClient): Promise<void> {
  if (client.state === "connected") return Promise.resolve();
  return new Promise((resolve) => {
    const off = client.onStateChange((c) => {
      if (c.state === "connected") {
        off();
        resolve();
      }
    });
  });
}

describe("modbus client on loopback TCP", () => {
  let server: TestServer;
  let client: ModbusClient;
  let clock: ManualClock;
  let before: Snapshot;

  beforeEach(async () => {
    before = snapshotResources();
    server = new TestServer();
    const port = await server.listen();
    clock = new ManualClock(0);
    client = new ModbusClient({
      socketFactory: tcpSocketFactory({ host: "127.0.0.1", port }),
      clock,
      random: () => 0.5,
      session: { maxInFlight: 8, timeoutMs: 1000 },
      connection: { reconnectInitialMs: 100 },
    });
    client.start();
    await connected(client);
  });

  afterEach(async () => {
    client.close();
    await server.close();
    await expectNoLeaks(before);
  });

  it("reads and writes every table", async () => {
    assert.deepEqual(await client.readHoldingRegisters(1, 10, 3), [10, 11, 12]);
    assert.deepEqual(await client.readInputRegisters(1, 998, 2), [998, 999]);
    assert.deepEqual(await client.readCoils(1, 0, 4), [true, false, false, true]);
    assert.deepEqual(await client.readDiscreteInputs(1, 3, 1), [true]);
    await client.writeSingleRegister(1, 5, 0xbeef);
    await client.writeMultipleRegisters(1, 6, [1, 2, 3]);
    assert.deepEqual(await client.readHoldingRegisters(1, 5, 4), [0xbeef, 1, 2, 3]);
    await client.writeSingleCoil(1, 1, true);
    await client.writeMultipleCoils(1, 2, [true, true]);
    assert.deepEqual(await client.readCoils(1, 0, 4), [true, true, true, true]);
    assert.equal(client.stats.responses, 10);
  });

  it("pipelines many requests over one socket", async () => {
    const reads = Array.from({ length: 200 }, (_, i) => client.readHoldingRegisters(1, i, 125 - (i % 100)));
    const results = await Promise.all(reads);
    results.forEach((r, i) => assert.equal(r[0], i));
    assert.equal(client.stats.failures, 0);
  });

  it("names the exception a device answers", async () => {
    await assert.rejects(client.readHoldingRegisters(1, 999, 2), (err: unknown) => {
      assert.ok(err instanceof ModbusRequestError);
      assert.equal(err.code, "modbus-exception");
      assert.equal(err.failure.exceptionCode, 2);
      assert.match(err.message, /unit 1: Modbus exception 02 \(illegal data address\)/);
      return true;
    });
  });

  it("times out a dead unit, keeps serving others and discards its late reply", async () => {
    const onWire = new Promise<void>((resolve) => (server.onHeld = resolve));
    const dead = client.readHoldingRegisters(9, 0, 1);
    await onWire;
    clock.advance(1000);
    await assert.rejects(dead, /unit 9: no reply within 1000 ms/);
    await assert.rejects(client.readHoldingRegisters(9, 0, 1), /unit 9 is not answering/);
    const live = client.readHoldingRegisters(1, 0, 2);
    server.release();
    assert.deepEqual(await live, [0, 1]);
    // The late reply was already on the wire before `live`'s reply; it failed nothing.
    assert.equal(client.stats.lateReplies, 1);
    assert.equal(client.stats.timeouts, 1);
  });

  it("reconnects after the server drops the link and sends what was queued", async () => {
    const down = new Promise<void>((resolve) => {
      const off = client.onStateChange((c) => {
        if (c.state === "backoff") {
          off();
          resolve();
        }
      });
    });
    server.dropAll();
    await down;
    const queued = client.readHoldingRegisters(1, 42, 1);
    assert.equal(client.backlog.queued, 1);
    clock.advance(100);
    await connected(client);
    assert.deepEqual(await queued, [42]);
    assert.equal(client.stats.connects, 2);
  });

  it("fails what is waiting when closed", async () => {
    const held = new Promise<void>((resolve) => (server.onHeld = resolve));
    const pending = client.readHoldingRegisters(9, 0, 1);
    await held;
    client.close();
    await assert.rejects(
      pending,
      (err: unknown) => err instanceof ModbusRequestError && err.code === "modbus-closed",
    );
    assert.equal(client.state, "closed");
  });
});
