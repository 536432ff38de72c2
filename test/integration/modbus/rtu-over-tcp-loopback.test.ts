/**
 * RTU over TCP end to end (issue #20): our client with the RTU framing against our simulator serving
 * RTU over TCP on loopback — reads and writes (the newer function codes too), an exception, a unit that is not there timing out alone,
 * and a raw peer's garbage dropped without losing the connection.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { ModbusClient, ModbusRequestError } from "../../../src/core/modbus/client";
import { startModbusSimulator } from "../../../src/core/modbus/simulator";
import { ModbusServerCore } from "../../../src/protocols/modbus/server";
import { encodeRtu } from "../../../src/protocols/modbus/codec/rtu";
import type { TcpServerHandle } from "../../../src/transport/tcp-server";
import { expectNoLeaks, snapshotResources, type Snapshot } from "../../support/leaks";
import { hex } from "../../fixtures/modbus/frames";
import { newerFunctionCodes, readsAndWritesEveryTable } from "./exercise";

describe("modbus RTU over TCP: our client against our simulator", () => {
  let before: Snapshot;
  let core: ModbusServerCore;
  let sim: TcpServerHandle;
  let client: ModbusClient;

  beforeEach(async () => {
    before = snapshotResources();
    core = new ModbusServerCore({ units: [1, 2] });
    sim = await startModbusSimulator(core, { port: 0, framing: "rtu-over-tcp" });
    client = ModbusClient.tcp("127.0.0.1", sim.port, { session: { framing: "rtu-over-tcp" } });
    client.start();
    await client.whenConnected();
  });

  afterEach(async () => {
    client.close();
    await sim.close();
    await expectNoLeaks(before);
  });

  it("reads and writes every table, many requests queued at once", async () => {
    await readsAndWritesEveryTable(client, core);
  });

  it("frames the function codes beyond the eight: 22, 23, 43/14 and 8/00 echoes of any length", async () => {
    await newerFunctionCodes(client, core);
  });

  it("passes an exception and times out a unit that is not there without disturbing the others", async () => {
    await assert.rejects(
      client.readHoldingRegisters(1, 65000, 10),
      (e: unknown) => e instanceof ModbusRequestError && e.failure.exceptionCode === 2,
    );
    const lost = client.readHoldingRegisters(7, 0, 1, { timeoutMs: 50 });
    const fine = client.readHoldingRegisters(2, 0, 1);
    await assert.rejects(
      lost,
      (e: unknown) => e instanceof ModbusRequestError && e.failure.kind === "timeout",
    );
    assert.deepEqual(await fine, [0]);
  });

  it("keeps a raw peer's connection through garbage and answers its next good frame", async () => {
    core.unit(1).holdingRegisters[0] = 0x4242;
    const raw = net.connect(sim.port, "127.0.0.1");
    const got: Buffer[] = [];
    const want = encodeRtu(1, hex("03 02 4242"));
    const answered = new Promise<void>((resolve) =>
      raw.on("data", (d: Buffer) => {
        got.push(d);
        if (Buffer.concat(got).length >= want.length) resolve();
      }),
    );
    raw.write(Buffer.concat([Buffer.from("GET / HTTP/1.1\r\n\r\n"), encodeRtu(1, hex("03 0000 0001"))]));
    await answered;
    assert.deepEqual(Buffer.concat(got), want);
    assert.equal(core.stats.malformedStreams, 0);
    const closed = new Promise<void>((resolve) => raw.on("close", () => resolve()));
    raw.end();
    await closed;
  });

  it("refuses an echo that does not return what was sent, in length or in data", async () => {
    // A peer whose echo is well framed (good CRC) but not the request's data: one word short, then altered.
    const wrong = [
      (req: Buffer): Buffer => encodeRtu(req[0], req.subarray(1, req.length - 4)),
      (req: Buffer): Buffer => encodeRtu(req[0], Buffer.concat([req.subarray(1, req.length - 3), hex("00")])),
    ];
    let answer = 0;
    const peer = net.createServer((s) =>
      s.on("data", (req: Buffer) => s.write(wrong[answer++ % wrong.length](req))),
    );
    await new Promise<void>((resolve) => peer.listen(0, "127.0.0.1", resolve));
    const port = (peer.address() as net.AddressInfo).port;
    const bad = ModbusClient.tcp("127.0.0.1", port, {
      session: { framing: "rtu-over-tcp", timeoutMs: 60000 },
    });
    bad.start();
    try {
      for (let i = 0; i < wrong.length; i++) {
        // A 60 s timeout: only a refusal of the reply can end this request within the test's time.
        await assert.rejects(
          bad.diagnosticsEcho(1, [0x1111, 0x2222, 0x3333]),
          (e: unknown) => e instanceof ModbusRequestError && e.failure.kind === "malformed-reply",
        );
      }
    } finally {
      bad.close();
      await new Promise<void>((resolve) => peer.close(() => resolve()));
    }
  });
});
