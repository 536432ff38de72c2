/**
 * The simulator node (`datacoll-modbus-server`) fed bad input over real TCP: garbage, oversized counts,
 * truncated and malformed frames, and a storm of 10,000 random frames plus random bytes. It must stay
 * up, answer every well-framed request with a well-formed reply (an exception where the request is
 * wrong) or close a connection whose framing is lost — and afterwards a normal client (a poll node in
 * the same flow) still reads exactly what the simulator holds. The exception 02/03 cases an independent
 * master sees are in test/integration/modbus/interop.test.ts (mbpoll, libmodbus); here it is what no
 * well-behaved master sends. The server core alone gets random frames in test/unit/modbus/server.test.ts;
 * this is the node over sockets, segmentation included.
 */
import assert from "node:assert/strict";
import net from "node:net";
import type { DataPoint } from "../../src/core/model/datapoint";
import { MbapAssembler, encodeMbap, type MbapFrame } from "../../src/protocols/modbus/codec/mbap";
import { freePort, until } from "../support/net";
import { helper, nodeModule, useNodeRed } from "../support/node-red";

const nodes = ["datacoll-modbus", "datacoll-poll", "datacoll-modbus-server"].map(nodeModule);

/** A raw TCP peer: what it received, framed, and whether the server closed it. */
class Raw {
  readonly frames: MbapFrame[] = [];
  bytes = 0;
  closed = false;
  framingLost = false;
  private readonly socket: net.Socket;
  private readonly asm = new MbapAssembler();

  private constructor(port: number) {
    this.socket = net.connect(port, "127.0.0.1");
    // A reset when the server drops us mid-write is one way of closing; it is what we test for.
    this.socket.on("error", () => this.socket.destroy());
    this.socket.on("close", () => (this.closed = true));
    this.socket.on("data", (chunk: Buffer) => {
      this.bytes += chunk.length;
      const r = this.asm.push(chunk);
      for (const f of r.frames) this.frames.push({ ...f, pdu: Buffer.from(f.pdu) });
      if (r.kind === "malformed") this.framingLost = true;
    });
  }

  static async open(port: number): Promise<Raw> {
    const raw = new Raw(port);
    await new Promise<void>((resolve, reject) => {
      raw.socket.once("connect", resolve);
      raw.socket.once("error", reject);
    });
    return raw;
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Half-close: we send no more, the server may still answer. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

const pdu = (hex: string): Buffer => Buffer.from(hex.replace(/\s+/g, ""), "hex");

/** A deterministic generator (xorshift32), so a failure reproduces. */
function random(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % n;
  };
}

describe("datacoll-modbus-server fed bad input over TCP", function () {
  const raws: Raw[] = [];
  // Registered before the runtime's hooks so our raw sockets are gone before the leak check looks.
  afterEach(function () {
    for (const r of raws.splice(0)) r.destroy();
  });
  useNodeRed();
  let port: number;

  async function raw(): Promise<Raw> {
    const r = await Raw.open(port);
    raws.push(r);
    return r;
  }

  beforeEach(async function () {
    port = await freePort();
    await helper.load(nodes, [
      {
        id: "srv",
        type: "datacoll-modbus-server",
        port: String(port),
        units: "1",
        generators: [],
        wires: [[]],
      },
      {
        id: "dev",
        type: "datacoll-modbus",
        name: "sim",
        host: "127.0.0.1",
        port: String(port),
        timeout: "500",
      },
      {
        id: "poll",
        type: "datacoll-poll",
        modbus: "dev",
        termId: "t",
        unit: "1",
        interval: "60000",
        items: [
          { item: "a", address: "HR0:uint16" },
          { item: "b", address: "HR1:float32" },
          { item: "c", address: "C5" },
        ],
        output: "batch",
        wires: [["out"]],
      },
      { id: "out", type: "helper" },
    ]);
    // The node listens asynchronously after the flow starts.
    await until(
      () =>
        new Promise<boolean>((resolve) => {
          const s = net.connect(port, "127.0.0.1");
          s.on("connect", () => {
            s.destroy();
            resolve(true);
          });
          s.on("error", () => resolve(false));
        }),
      3000,
      "the simulator listening",
    );
  });

  /** A normal client still reads exactly what the simulator holds. */
  async function stillServes(): Promise<void> {
    const srv = helper.getNode("srv");
    srv.receive({
      payload: [
        { address: "HR0:uint16", value: 4321 },
        { address: "HR1:float32", value: -2.5 },
        { address: "C5", value: true },
      ],
    });
    const out = helper.getNode("out");
    const batch = new Promise<DataPoint[]>((resolve) =>
      out.on("input", (msg: { payload: DataPoint[] }) => resolve(msg.payload)),
    );
    helper.getNode("poll").receive({});
    const points = await batch;
    const byItem = new Map(points.map((p) => [p.itemId, p]));
    assert.deepEqual(
      ["a", "b", "c"].map((i) => [byItem.get(i)?.value, byItem.get(i)?.quality]),
      [
        [4321, {}],
        [-2.5, {}],
        [true, {}],
      ],
    );
  }

  it("closes a connection that sends garbage or a broken MBAP header, and only that one", async function () {
    const bystander = await raw();
    const cases = [
      Buffer.from("GET / HTTP/1.1\r\nHost: plc\r\n\r\n"),
      encodeMbap(1, 1, pdu("03 0000 0001")).fill(0x01, 2, 3), // protocol id 0x0100
      Buffer.from("0001 0000 0000 01".replace(/\s/g, ""), "hex"), // MBAP length 0
      Buffer.from("0001 0000 0001 01".replace(/\s/g, ""), "hex"), // length 1: no function code
      Buffer.from("0001 0000 012C 01 03".replace(/\s/g, ""), "hex"), // length 300 > 254
    ];
    for (const [i, bytes] of cases.entries()) {
      const r = await raw();
      r.write(bytes);
      await until(() => r.closed, 2000, `case ${i}: the server closing the connection`);
      assert.equal(r.bytes, 0, `case ${i}: nothing answered to a broken frame`);
    }
    // The other connection was not touched and still gets answers.
    bystander.write(encodeMbap(77, 1, pdu("03 0000 0002")));
    await until(() => bystander.frames.length === 1, 2000, "the bystander's answer");
    assert.equal(bystander.frames[0].transactionId, 77);
    assert.equal(bystander.closed, false);
    await stillServes();
  });

  it("answers oversized and inconsistent counts with exception 03 or 02 and keeps the connection", async function () {
    const r = await raw();
    const asks: [string, string][] = [
      ["03 0000 007E", "8303"], // 126 registers
      ["03 0000 07D0", "8303"], // 2000 registers (jsmodbus's client allows this)
      ["03 0000 FFFF", "8303"],
      ["04 0000 0080", "8403"], // 128: what crashes jsmodbus's server
      ["01 0000 07D1", "8103"], // 2001 coils
      ["02 0000 FFFF", "8203"],
      ["10 0000 007C 02 0001", "9003"], // 124 registers to write, 2 bytes given
      ["10 0000 0002 02 0001", "9003"], // byte count disagrees with the quantity
      ["0F 0000 07B1 01 FF", "8F03"], // 1969 coils
      ["06 0001", "8603"], // truncated write single register
      ["03 00", "8303"], // truncated read
      ["03 FFFF 0064", "8302"], // address + count past the table (and past 65535)
    ];
    // All in one segment, as a pipelining master would send them.
    r.write(Buffer.concat(asks.map(([p], i) => encodeMbap(i, 1, pdu(p)))));
    await until(() => r.frames.length === asks.length, 2000, "an answer to every request");
    asks.forEach(([ask, want], i) => {
      const f = r.frames[i];
      assert.equal(f.transactionId, i);
      assert.equal(f.pdu.toString("hex").toUpperCase(), want, `${ask}`);
    });
    // The connection is still good for a normal request, even one split into single octets.
    const good = encodeMbap(500, 1, pdu("03 0000 007D"));
    for (const b of good) r.write(Buffer.of(b));
    await until(() => r.frames.length === asks.length + 1, 2000, "the answer to the split request");
    const last = r.frames.at(-1);
    assert.equal(last?.transactionId, 500);
    assert.equal(last?.pdu.length, 2 + 250, "125 registers, not truncated");
    assert.equal(r.closed, false);
    await stillServes();
  });

  it("waits for the rest of a truncated frame and lets the client go when it leaves", async function () {
    const r = await raw();
    const whole = encodeMbap(9, 1, pdu("03 0000 0004"));
    r.write(whole.subarray(0, 9)); // header and part of the PDU
    r.write(Buffer.concat([whole.subarray(9), encodeMbap(10, 1, pdu("03 0000 0001")).subarray(0, 5)]));
    await until(() => r.frames.length === 1, 2000, "the answer once the frame is whole");
    assert.equal(r.frames[0].transactionId, 9);
    r.end(); // leave with half a header sent
    await until(() => r.closed, 2000, "the server closing after our FIN");
    assert.equal(r.frames.length, 1, "no answer to half a frame");
    await stillServes();
  });

  it("stays up through 10,000 random frames and random bytes, answering each framed request", async function () {
    this.timeout(20000);
    const rand = random(0x9e3779b9);
    const fcs = [1, 2, 3, 4, 5, 6, 15, 16, 0, 7, 8, 0x11, 0x2b, 0x83, 0xff];
    const storm = await raw();
    const frames: Buffer[] = [];
    const expected = new Map<number, number>(); // transaction id → function code, for unit 1
    for (let i = 0; i < 10000; i++) {
      const len = 1 + rand(i % 20 === 0 ? 253 : 12);
      const body = Buffer.alloc(len);
      for (let j = 0; j < len; j++) body[j] = rand(256);
      body[0] = rand(5) === 0 ? rand(256) : fcs[rand(fcs.length)];
      if (len >= 5 && rand(2) === 0) {
        // Addresses and counts near the table's end and the protocol limits, where the bugs live.
        body.writeUInt16BE(rand(2) === 0 ? rand(130) : 9900 + rand(200), 1);
        body.writeUInt16BE(rand(2) === 0 ? rand(130) : 1960 + rand(50), 3);
      }
      // Unit 1 is served; unit 7 is not, and a device that is not addressed does not answer.
      const unit = rand(4) === 0 ? 7 : 1;
      if (unit === 1) expected.set(i, body[0]);
      frames.push(encodeMbap(i, unit, body));
    }
    const stream = Buffer.concat(frames);
    // Segments of random size, so frames are split anywhere.
    for (let off = 0; off < stream.length;) {
      const n = 1 + rand(1500);
      storm.write(stream.subarray(off, off + n));
      off += n;
    }
    // Meanwhile, other connections send bytes that are not Modbus at all.
    const noise = await Promise.all(Array.from({ length: 5 }, () => raw()));
    for (const n of noise) {
      const bytes = Buffer.alloc(2000);
      for (let j = 0; j < bytes.length; j++) bytes[j] = rand(256);
      bytes[2] = 1 + rand(255); // a nonzero protocol id: this stream is not framed Modbus
      n.write(bytes);
    }
    await until(() => storm.frames.length === expected.size, 10000, `${expected.size} answers`);
    assert.equal(storm.framingLost, false, "every reply is a well-formed MBAP frame");
    for (const f of storm.frames) {
      const fc = expected.get(f.transactionId);
      assert.ok(fc !== undefined, `reply ${f.transactionId} answers a request to unit 1`);
      assert.equal(f.unitId, 1);
      if (f.pdu[0] & 0x80) {
        assert.equal(f.pdu[0], (fc | 0x80) & 0xff, `reply ${f.transactionId}: exception of its function`);
        assert.equal(f.pdu.length, 2);
        assert.ok([1, 2, 3].includes(f.pdu[1]), `reply ${f.transactionId}: exception ${f.pdu[1]}`);
      } else {
        assert.equal(f.pdu[0], fc);
      }
    }
    assert.equal(new Set(storm.frames.map((f) => f.transactionId)).size, storm.frames.length, "one each");
    await until(() => noise.every((n) => n.closed), 3000, "the noisy connections closed");
    assert.equal(storm.closed, false, "the framed storm's connection stayed open");
    await stillServes();
  });
});
