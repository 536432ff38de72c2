/**
 * The IEC 104 outstation node (`datacoll-iec104-server`) fed bad input over real TCP. The outstation's
 * session and codec get 100,000 mutated frames in test/integration/iec104/fuzz-tcp.test.ts; this is the
 * node as a flow deploys it: plain garbage, a wrong start octet, lengths the APCI forbids, half a frame
 * left hanging, seeded random bytes, and many connections at once. Each bad connection is closed (or
 * simply left waiting for the rest of a frame), the node never throws, and afterwards a well-behaved
 * master still gets STARTDT confirmed and an interrogation answered.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { encodeUFrame } from "../../src/protocols/iec104/codec";
import { freePort, until } from "../support/net";
import { helper, nodeModule, useNodeRed } from "../support/node-red";
import { rng } from "../unit/iec104/helpers";

const server = nodeModule("datacoll-iec104-server");

/** Connect, write `bytes`, and resolve with what came back once the server closed or `waitMs` passed. */
function poke(port: number, bytes: Buffer, waitMs = 1500): Promise<{ closed: boolean; got: Buffer }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = net.connect(port, "127.0.0.1", () => s.write(bytes));
    let closed = false;
    // A watchdog on the wait for the server to close, not a wait for time: the close ends it.
    const timer = setTimeout(() => s.destroy(), waitMs);
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("error", () => undefined);
    s.on("close", () => {
      clearTimeout(timer);
      resolve({ closed, got: Buffer.concat(chunks) });
    });
    // The server ended it (our own destroy after waitMs gives no "end").
    s.on("end", () => (closed = true));
  });
}

describe("datacoll-iec104-server node: malformed input over TCP", function () {
  this.timeout(30_000);
  useNodeRed();
  let port = 0;

  beforeEach(async function () {
    port = await freePort();
    await helper.load(server, [
      {
        id: "srv",
        type: "datacoll-iec104-server",
        port: String(port),
        commonAddress: "1",
        points: [{ ioa: 1, type: "M_ME_NC_1", value: "12.5", generator: "constant" }],
        commands: [],
      },
    ]);
    await until(
      () =>
        new Promise<boolean>((resolve) => {
          const s = net.connect(port, "127.0.0.1", () => {
            s.destroy();
            resolve(true);
          });
          s.on("error", () => resolve(false));
        }),
      5000,
      "the outstation listening",
    );
  });

  it("closes connections that send garbage, a wrong start octet or a forbidden length", async function () {
    const errors: unknown[] = [];
    helper.getNode("srv").on("call:error", (call: unknown) => errors.push(call));
    const bad = [
      Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
      Buffer.from([0x00, 0x04, 0x07, 0x00, 0x00, 0x00]),
      Buffer.from([0x68, 0x02, 0x07, 0x00]),
      Buffer.from([0x68, 0xff, ...Buffer.alloc(255)]),
      Buffer.from([0x68, 0x04, 0x03, 0x00, 0x00, 0x00]),
      Buffer.from([
        0x68, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x64, 0x01, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x14,
      ]),
    ];
    for (const bytes of bad) {
      const r = await poke(port, bytes);
      assert.ok(r.closed, `not closed after ${bytes.toString("hex").slice(0, 40)}`);
    }
    assert.deepEqual(errors, []);
  });

  it("survives seeded random bytes on 50 connections at once, then serves a master", async function () {
    const rand = rng(104);
    const pokes = Array.from({ length: 50 }, () => {
      const bytes = Buffer.from(
        Array.from({ length: 1 + Math.floor(rand() * 600) }, () => Math.floor(rand() * 256)),
      );
      // Half start with the right octet, so the length and control field get exercised too.
      if (rand() < 0.5) bytes[0] = 0x68;
      return poke(port, bytes, 500);
    });
    await Promise.all(pokes);
    // Half a frame, then the peer leaves.
    await poke(port, Buffer.from([0x68, 0x04, 0x07]), 100);
    const master = net.connect(port, "127.0.0.1");
    const got: Buffer[] = [];
    master.on("data", (d: Buffer) => got.push(d));
    try {
      await new Promise<void>((resolve) => master.once("connect", () => resolve()));
      master.write(encodeUFrame("startdt-act"));
      await until(() => Buffer.concat(got).includes(encodeUFrame("startdt-con")), 5000, "STARTDT con");
      // General interrogation (C_IC_NA_1, COT 6, CA 1, IOA 0, QOI 20) as I-frame 0.
      master.write(
        Buffer.from([
          0x68, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x64, 0x01, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x14,
        ]),
      );
      // The answer carries type 13 (M_ME_NC_1) for our point.
      await until(
        () => Buffer.concat(got).includes(Buffer.from([0x0d, 0x01, 0x14, 0x00])),
        5000,
        "the interrogated point",
      );
    } finally {
      master.destroy();
    }
  });
});
