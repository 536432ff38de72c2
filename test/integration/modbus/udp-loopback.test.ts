/**
 * Modbus UDP and RTU over UDP end to end (issue #20): our client against our simulator on loopback —
 * every table, the newer function codes, an exception, pipelining where MBAP allows it; a link that
 * loses datagrams, where retries carry requests through; a raw sender's garbage datagrams ignored; and
 * a port nobody serves. Each test ends with the leak check: no UDP socket or timer outlives it.
 */
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { ModbusClient, ModbusRequestError } from "../../../src/core/modbus/client";
import { startModbusSimulator } from "../../../src/core/modbus/simulator";
import { ModbusServerCore } from "../../../src/protocols/modbus/server";
import { encodeAdu, type ModbusFraming } from "../../../src/protocols/modbus/codec/framing";
import type { TcpServerHandle } from "../../../src/transport/tcp-server";
import { expectNoLeaks, snapshotResources, type Snapshot } from "../../support/leaks";
import { hex } from "../../fixtures/modbus/frames";
import { newerFunctionCodes, readsAndWritesEveryTable } from "./exercise";

/** A UDP relay between a client and the server that drops the client's datagrams whose ordinal is odd. */
async function lossyRelay(serverPort: number): Promise<{ port: number; close(): Promise<void> }> {
  const sock = dgram.createSocket("udp4");
  const upstream = dgram.createSocket("udp4");
  let client: dgram.RemoteInfo | undefined;
  let n = 0;
  sock.on("message", (msg, rinfo) => {
    client = rinfo;
    n++;
    if (n % 2 === 1) return; // lost on the way
    upstream.send(msg, serverPort, "127.0.0.1");
  });
  upstream.on("message", (msg) => {
    if (client !== undefined) sock.send(msg, client.port, client.address);
  });
  await new Promise<void>((resolve) => sock.bind(0, "127.0.0.1", resolve));
  await new Promise<void>((resolve) => upstream.bind(0, "127.0.0.1", resolve));
  return {
    port: sock.address().port,
    close: async () => {
      await new Promise<void>((resolve) => sock.close(() => resolve()));
      await new Promise<void>((resolve) => upstream.close(() => resolve()));
    },
  };
}

for (const framing of ["udp", "rtu-over-udp"] as const satisfies readonly ModbusFraming[]) {
  describe(`modbus ${framing}: our client against our simulator`, () => {
    let before: Snapshot;
    let core: ModbusServerCore;
    let sim: TcpServerHandle;
    const clients: ModbusClient[] = [];

    function connect(port: number, session: Record<string, number> = {}): ModbusClient {
      const c = ModbusClient.network("127.0.0.1", port, {
        session: { framing, maxInFlight: framing === "udp" ? 8 : 1, ...session },
      });
      clients.push(c);
      c.start();
      return c;
    }

    beforeEach(async () => {
      before = snapshotResources();
      core = new ModbusServerCore({ units: [1, 2] });
      sim = await startModbusSimulator(core, { port: 0, framing });
    });

    afterEach(async () => {
      for (const c of clients.splice(0)) c.close();
      await sim.close();
      await expectNoLeaks(before);
    });

    it("reads and writes every table and the newer function codes, many requests at once", async () => {
      const client = connect(sim.port);
      await client.whenConnected();
      await readsAndWritesEveryTable(client, core);
      await newerFunctionCodes(client, core);
      await assert.rejects(
        client.readHoldingRegisters(1, 65000, 10),
        (e: unknown) => e instanceof ModbusRequestError && e.failure.exceptionCode === 2,
      );
      assert.equal(client.stats.retries, 0, "nothing is lost on loopback");
    });

    it("carries every request through a link that loses half the datagrams, by retries", async () => {
      const relay = await lossyRelay(sim.port);
      try {
        const client = connect(relay.port, { retries: 2, timeoutMs: 500, maxInFlight: 1 });
        await client.whenConnected();
        core.unit(1).holdingRegisters.set([41, 42], 0);
        for (let i = 0; i < 4; i++) assert.deepEqual(await client.readHoldingRegisters(1, 0, 2), [41, 42]);
        // Every first send was dropped, so each request needed a retry (more if a reply was slow).
        assert.ok(client.stats.retries >= 4, `${client.stats.retries} retries`);
        assert.equal(client.stats.timeouts, 0);
      } finally {
        await relay.close();
      }
    });

    it("fails a request as a timeout once its retries are spent", async () => {
      const relay = await lossyRelay(sim.port);
      try {
        // No retry: the first send of each request is the one the relay drops.
        const client = connect(relay.port, { retries: 0, timeoutMs: 100, unitBackoffMs: 0 });
        await client.whenConnected();
        await assert.rejects(
          client.readHoldingRegisters(1, 0, 1),
          (e: unknown) => e instanceof ModbusRequestError && e.failure.kind === "timeout",
        );
      } finally {
        await relay.close();
      }
    });

    it("ignores datagrams that are not one good frame and answers the next good one", async () => {
      core.unit(1).holdingRegisters[0] = 0x4242;
      const raw = dgram.createSocket("udp4");
      const got: Buffer[] = [];
      const answered = new Promise<void>((resolve) =>
        raw.on("message", (d: Buffer) => {
          got.push(d);
          resolve();
        }),
      );
      await new Promise<void>((resolve) => raw.connect(sim.port, "127.0.0.1", resolve));
      const good = encodeAdu(framing, 5, 1, hex("03 0000 0001"));
      raw.send(Buffer.from("GET / HTTP/1.1\r\n\r\n"));
      raw.send(good.subarray(0, good.length - 1));
      raw.send(Buffer.concat([good, good]));
      raw.send(good);
      await answered;
      await new Promise<void>((resolve) => raw.close(() => resolve()));
      // Only the last datagram is answered (the loopback keeps order); the others got no reply at all.
      assert.deepEqual(got, [encodeAdu(framing, 5, 1, hex("03 02 4242"))]);
      assert.equal(core.stats.requests, 1);
    });
  });
}

describe("modbus UDP client against a port nobody serves", () => {
  it("fails its request and closes its socket when stopped", async () => {
    const before = snapshotResources();
    const closed = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => closed.bind(0, "127.0.0.1", resolve));
    const port = closed.address().port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const client = ModbusClient.network("127.0.0.1", port, {
      session: { framing: "udp", timeoutMs: 100, retries: 1, unitBackoffMs: 0, queueTimeoutMs: 2000 },
      connection: { reconnectInitialMs: 50, reconnectMaxMs: 100 },
    });
    client.start();
    try {
      await assert.rejects(client.readHoldingRegisters(1, 0, 1), ModbusRequestError);
    } finally {
      client.close();
    }
    await expectNoLeaks(before);
  });
});
