/**
 * Fuzz over real TCP: 100,000 random and mutated frames into each role. Each connection gets a batch of
 * frames — mostly well-framed I-frames in sequence whose ASDUs are corrupted copies of real ones, some
 * with corrupted framing — ending with one frame whose start octet is wrong. The role must survive
 * every batch (no exception, the process alive), close the connection on the malformed frame within a
 * bound (no hang), keep its memory bounded, and afterwards still serve normally; the master must
 * reconnect by itself after each close. The generator is seeded so a failure reproduces.
 */
import assert from "node:assert/strict";
import net from "node:net";
import v8 from "node:v8";
import vm from "node:vm";
import { encodeIFrame, encodeUFrame } from "../../../src/protocols/iec104/codec";
import { Iec104Master } from "../../../src/core/iec104/master";
import { Iec104Simulator, parseSimCommands, parseSimPoints } from "../../../src/core/iec104/simulator";
import { Iec104Term } from "../../../src/core/iec104/term";
import { systemClock } from "../../../src/transport/connection";
import { tcpSocketFactory } from "../../../src/transport/socket";
import { until } from "../../support/net";
import { mutate, rng, SEEDS } from "../../unit/iec104/helpers";

const FRAMES = 100_000;
const PER_CONNECTION = 250;
const CLOSE_WITHIN_MS = 2_000;

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

function heapMb(): number {
  gc();
  return process.memoryUsage().heapUsed / 1e6;
}

/**
 * One batch: I-frames numbered from 0 carrying corrupted ASDUs (most stay well framed, so the ASDU decoder
 * and the procedures see them), now and then a frame with corrupted framing, and a final frame with a
 * wrong start octet that the peer must close on.
 */
function batch(rand: () => number, count: number): Buffer {
  const frames: Buffer[] = [];
  for (let i = 0; i < count - 1; i++) {
    const asdu = mutate(SEEDS[Math.floor(rand() * SEEDS.length)], rand);
    const ok = asdu.length > 0 && asdu.length <= 249;
    const frame = ok ? encodeIFrame(i, 0, asdu) : encodeUFrame("testfr-act");
    frames.push(rand() < 0.02 ? mutate(frame, rand) : frame);
  }
  frames.push(Buffer.from([0x00, 0x04, 0x43, 0x00, 0x00, 0x00]));
  return Buffer.concat(frames);
}

/** Resolves when the socket closes; rejects naming `what` after CLOSE_WITHIN_MS. */
function closed(socket: net.Socket, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // A watchdog on the wait for the close, not a wait for time: the close ends it.
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${what}: the connection was not closed within ${CLOSE_WITHIN_MS} ms`));
    }, CLOSE_WITHIN_MS);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

describe("iec104 fuzz over TCP: 100,000 random and mutated frames into each role", function () {
  this.timeout(60_000);

  it("the outstation survives, closes each corrupted connection and still serves a master", async function () {
    const sim = new Iec104Simulator({
      commonAddress: 1,
      points: parseSimPoints([
        { ioa: 110, type: "M_ME_NB_1", value: 1 },
        { ioa: 300, type: "M_SP_NA_1", value: 1 },
        { ioa: 5, type: "M_IT_NA_1", value: 7 },
      ]),
      commands: parseSimCommands([{ ioa: 5000, type: "single-command", sbo: "true" }]),
      clock: systemClock,
    });
    const port = await sim.listen(0);
    let warnings = 0;
    sim.on((e) => {
      if (e.type === "warning") warnings++;
    });
    const rand = rng(104_104);
    const heapBefore = heapMb();
    let sent = 0;
    let connections = 0;
    try {
      while (sent < FRAMES) {
        const count = Math.min(PER_CONNECTION, FRAMES - sent);
        const socket = net.connect(port, "127.0.0.1");
        socket.on("error", () => undefined);
        socket.on("data", () => undefined);
        const done = closed(socket, `connection ${connections + 1}`);
        socket.write(Buffer.concat([encodeUFrame("startdt-act"), batch(rand, count)]));
        await done;
        sent += count;
        connections++;
      }
      const growth = heapMb() - heapBefore;
      assert.ok(growth < 64, `heap grew ${growth.toFixed(1)} MB`);
      await until(() => sim.connections === 0, 2000, "every fuzzed connection gone");

      // Still a working station: a real master interrogates it.
      const master = new Iec104Master({
        master: { commonAddress: 1 },
        socketFactory: tcpSocketFactory({ host: "127.0.0.1", port }),
      });
      const term = new Iec104Term("d", "t", 1, [
        { itemId: "a", ioa: 110, scaling: { coefficient: 1, base: 0 }, deadband: 0 },
        { itemId: "b", ioa: 300, scaling: { coefficient: 1, base: 0 }, deadband: 0 },
      ]);
      const got = new Map<string, unknown>();
      master.onData((asdu, at) => term.accept(asdu, at).forEach((p) => got.set(p.itemId, p.value)));
      master.start();
      try {
        await until(() => got.size === 2, 3000, "the interrogation answer after the fuzz");
      } finally {
        master.close();
      }
      assert.deepEqual(Object.fromEntries(got), { a: 1, b: true });
      assert.equal(connections, FRAMES / PER_CONNECTION);
      // The corrupted ASDUs reached the procedures, not only the framing.
      assert.ok(warnings > 1000, `only ${warnings} warnings`);
    } finally {
      await sim.close();
    }
  });

  it("the master survives, closes each corrupted connection and reconnects by itself", async function () {
    const rand = rng(2404_60870);
    let sent = 0;
    let connections = 0;
    let failure: Error | undefined;
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      connections++;
      socket.on("error", () => undefined);
      socket.on("close", () => sockets.delete(socket));
      let answered = false;
      socket.on("data", (bytes: Buffer) => {
        // Answer STARTDT like a station, then flood the master with a batch.
        if (answered || !bytes.subarray(0, 6).equals(encodeUFrame("startdt-act"))) return;
        answered = true;
        const count = Math.min(PER_CONNECTION, FRAMES - sent);
        if (count <= 0) {
          // The fuzz is over: behave, so the master can show it starts data transfer again.
          socket.write(encodeUFrame("startdt-con"));
          return;
        }
        sent += count;
        closed(socket, `connection ${connections}`).catch((err: Error) => (failure = err));
        socket.write(Buffer.concat([encodeUFrame("startdt-con"), batch(rand, count)]));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    const master = new Iec104Master({
      master: { commonAddress: 1 },
      socketFactory: tcpSocketFactory({ host: "127.0.0.1", port }),
      connection: { reconnectInitialMs: 1, reconnectMaxMs: 5 },
    });
    let data = 0;
    master.onData(() => data++);
    const heapBefore = heapMb();
    master.start();
    try {
      // Done when the master has come back after the last corrupted batch: one connection more than batches.
      const batches = FRAMES / PER_CONNECTION;
      await until(() => failure !== undefined || connections > batches, 50_000, "the fuzz");
      if (failure) throw failure;
      const growth = heapMb() - heapBefore;
      assert.ok(growth < 64, `heap grew ${growth.toFixed(1)} MB`);
      assert.equal(sent, FRAMES);
      await until(() => master.started, 2000, "data transfer on the connection after the fuzz");
      // The corrupted copies still decode often enough that the master delivered real data throughout.
      assert.ok(data > 300, `only ${data} ASDUs delivered`);
      assert.ok(master.stats.warnings > 1000, `only ${master.stats.warnings} warnings`);
    } finally {
      master.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
