/**
 * The RTU framer (issue #20): CRC-16/MODBUS against its published check value and the Serial Line
 * spec's example frames, sizes by function code in both directions, and a fuzz — random garbage and
 * mutated frames, split at every octet — proving it never throws, never hands out a frame whose CRC
 * fails, and resynchronises on the next good frame.
 */
import assert from "node:assert/strict";
import { prng, splitAt } from "./helpers";
import type { FrameAssembler } from "../../../src/protocols/framing/assembler";
import {
  crc16,
  encodeRtu,
  rtuAssembler,
  type RtuDirection,
  type RtuFrame,
} from "../../../src/protocols/modbus/codec/rtu";
import { hex } from "../../fixtures/modbus/frames";

/** Every frame from pushing `chunks` in order, as hex "unit:pdu". */
function drain(a: FrameAssembler<RtuFrame>, chunks: readonly Buffer[]): string[] {
  const out: string[] = [];
  for (const c of chunks) {
    const r = a.push(c);
    assert.equal(r.kind, "frames", "a resynchronising framing never breaks the stream");
    for (const f of r.frames) out.push(`${f.unitId}:${f.pdu.toString("hex")}`);
  }
  return out;
}

const name = (unit: number, pdu: string): string => `${unit}:${pdu.replace(/\s+/g, "").toLowerCase()}`;

// Frames of both directions, from the spec's examples (Application Protocol V1.1b3 §6).
const REQUESTS: readonly [number, string][] = [
  [0x11, "03 006B 0003"],
  [0x01, "01 0013 0013"],
  [0x02, "0F 0013 000A 02 CD01"],
  [0x03, "10 0001 0002 04 000A 0102"],
  [0x04, "16 0004 00F2 0025"],
  [0x05, "17 0003 0006 000E 0003 06 00FF 00FF 00FF"],
  [0x06, "2B 0E 01 00"],
  [0x07, "08 0000 A537"],
  [0x08, "07"],
  // Return query data echoes any number of words; nothing in the header says how many (§6.8.1).
  [0x09, "08 0000 0102 0304 0506"],
  [0x0a, "08 0000"],
];
const RESPONSES: readonly [number, string][] = [
  [0x11, "03 06 022B 0000 0064"],
  [0x01, "01 03 CD6B05"],
  [0x02, "10 0001 0002"],
  [0x03, "83 02"],
  [0x04, "16 0004 00F2 0025"],
  [0x05, "2B 0E 01 01 00 00 02 00 03 41 42 43 01 02 76 31"],
  [0x06, "05 00AC FF00"],
  [0x07, "18 0006 0002 01B8 1284"],
  [0x08, "08 0000 A537"],
  [0x09, "08 0000 0102 0304 0506 0708 090A"],
];

function stream(frames: readonly [number, string][]): Buffer {
  return Buffer.concat(frames.map(([u, p]) => encodeRtu(u, hex(p))));
}

describe("Modbus RTU framer", () => {
  it("computes CRC-16/MODBUS: check value 0x4B37 and the Serial Line spec's example frames", () => {
    assert.equal(crc16(Buffer.from("123456789", "latin1")), 0x4b37);
    assert.deepEqual(encodeRtu(0x01, hex("03 0000 000A")), hex("01 03 0000 000A C5CD"));
    assert.deepEqual(encodeRtu(0x11, hex("03 006B 0003")), hex("11 03 006B 0003 7687"));
  });

  it("refuses to encode a unit or PDU out of range", () => {
    assert.throws(() => encodeRtu(256, hex("03 0000 0001")), RangeError);
    assert.throws(() => encodeRtu(1, Buffer.alloc(0)), RangeError);
    assert.throws(() => encodeRtu(1, Buffer.alloc(254, 3)), RangeError);
  });

  for (const [direction, frames] of [
    ["request", REQUESTS],
    ["response", RESPONSES],
  ] as const) {
    it(`sizes every ${direction} by its function code, whole, split at every octet, and octet by octet`, () => {
      const bytes = stream(frames);
      const want = frames.map(([u, p]) => name(u, p));
      assert.deepEqual(drain(rtuAssembler(direction), [bytes]), want);
      for (let cut = 1; cut < bytes.length; cut++) {
        assert.deepEqual(drain(rtuAssembler(direction), splitAt(bytes, [cut])), want, `cut at ${cut}`);
      }
      const octets = [...bytes].map((b) => Buffer.from([b]));
      assert.deepEqual(drain(rtuAssembler(direction), octets), want);
    });
  }

  it("tells a request from a reply of the same function: a read request is 8 octets, its reply counted", () => {
    const req = encodeRtu(1, hex("03 0000 0002"));
    const a = rtuAssembler("response");
    // Read as a reply, octet 2 (0x00) is a byte count: a 5-octet frame whose CRC fails, so it is dropped.
    assert.deepEqual(drain(a, [req]), []);
    assert.ok(a.dropped.octets > 0);
    assert.deepEqual(drain(rtuAssembler("request"), [req]), [name(1, "03 0000 0002")]);
  });

  it("ends a diagnostics frame where its CRC holds: echoes of 0 to 125 words, both directions", () => {
    for (const direction of ["request", "response"] as RtuDirection[]) {
      for (const words of [0, 1, 2, 3, 17, 125]) {
        const data = Array.from({ length: words }, (_, i) => ((i * 0x0101 + 0x1234) & 0xffff).toString(16));
        const pdu = `08 0000 ${data.map((w) => w.padStart(4, "0")).join(" ")}`;
        const next = encodeRtu(2, hex(direction === "request" ? "03 0000 0001" : "83 02"));
        const bytes = Buffer.concat([encodeRtu(1, hex(pdu)), next, encodeRtu(1, hex(pdu))]);
        const want = [name(1, pdu), `2:${next.subarray(1, -2).toString("hex")}`, name(1, pdu)];
        assert.deepEqual(drain(rtuAssembler(direction), [bytes]), want, `${direction}, ${words} words`);
        const octets = [...bytes].map((b) => Buffer.from([b]));
        assert.deepEqual(
          drain(rtuAssembler(direction), octets),
          want,
          `${direction}, ${words} words, octets`,
        );
      }
    }
  });

  it("drops a diagnostics frame whose CRC never holds, at the largest frame, and resynchronises", () => {
    const bad = encodeRtu(1, hex("08 0000 0102 0304"));
    bad[bad.length - 1] ^= 0x5a;
    const a = rtuAssembler("response");
    // Alone it waits for more octets: a longer echo could still end further on.
    assert.deepEqual(drain(a, [bad]), []);
    assert.equal(a.buffered, bad.length);
    const good = encodeRtu(1, hex("03 02 0007"));
    // Enough good frames to reach the largest RTU frame (256 octets), where the search gives up.
    const many = Buffer.concat(Array.from({ length: 60 }, () => good));
    const got = drain(a, [many]);
    assert.ok(got.length > 0 && got.every((g) => g === name(1, "03 02 0007")));
    assert.ok(a.dropped.octets >= bad.length);
  });

  it("drops a frame with a bad CRC and delivers the good frame after it", () => {
    const bad = encodeRtu(1, hex("03 0000 0001"));
    bad[bad.length - 1] ^= 0x55;
    const good = encodeRtu(2, hex("06 0001 0003"));
    const a = rtuAssembler("request");
    assert.deepEqual(drain(a, [Buffer.concat([bad, good])]), [name(2, "06 0001 0003")]);
    assert.equal(a.dropped.last?.code, "bad-frame");
    assert.match(a.dropped.last?.reason ?? "", /CRC/);
    assert.equal(a.buffered, 0);
  });

  it("drops an unknown function code and resynchronises", () => {
    const a = rtuAssembler("response");
    const good = encodeRtu(0x63, hex("83 02"));
    assert.deepEqual(drain(a, [Buffer.concat([hex("01 63 00"), good])]), [name(0x63, "83 02")]);
    assert.equal(a.dropped.octets, 3);
    assert.match(a.dropped.last?.reason ?? "", /function code/);
  });

  it("holds frames behind garbage that claims a long frame until it is filled or reset", () => {
    // 00 01 reads as a read-coils reply whose byte count 0x83 claims 136 octets: with no silence to
    // end it, only more octets (then its CRC fails) or a reset (the client's reply timeout) frees it.
    const a = rtuAssembler("response");
    const good = encodeRtu(1, hex("83 02"));
    assert.deepEqual(drain(a, [Buffer.concat([hex("00"), good])]), []);
    assert.equal(a.buffered, 1 + good.length);
    a.reset();
    assert.deepEqual(drain(a, [good]), [name(1, "83 02")]);
    const b = rtuAssembler("response");
    const many = Buffer.concat(Array.from({ length: 30 }, () => good));
    const got = drain(b, [Buffer.concat([hex("00"), many])]);
    assert.ok(got.length > 0 && got.every((g) => g === name(1, "83 02")));
    assert.equal(b.buffered, 0);
  });

  it("after a bad CRC, finds the good frame behind octets that claim a longer frame", () => {
    // Noise inside a corrupted reply reads, one octet on, as a byte count of 0xFF+: while resynchronising
    // the assembler looks past it for a whole frame whose CRC holds.
    const bad = encodeRtu(1, hex("03 04 FF01 0001"));
    bad[5] ^= 0x10;
    const good = encodeRtu(1, hex("03 04 0004 0005"));
    const a = rtuAssembler("response");
    assert.deepEqual(drain(a, [Buffer.concat([bad, good])]), [name(1, "03 04 0004 0005")]);
    assert.equal(a.dropped.octets, bad.length);
    assert.equal(a.buffered, 0);
  });

  it("fuzz: random garbage before good frames never throws, never yields a bad frame, and resyncs", () => {
    const rnd = prng(20);
    for (const direction of ["request", "response"] as RtuDirection[]) {
      const frames = direction === "request" ? REQUESTS : RESPONSES;
      const good = stream(frames);
      const wanted = new Set(frames.map(([u, p]) => name(u, p)));
      for (let round = 0; round < 200; round++) {
        const garbage = Buffer.from(
          Array.from({ length: Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256)),
        );
        // Enough good frames after the garbage to fill any size the garbage may claim (at most 256).
        const tail = Buffer.concat(Array.from({ length: 8 }, () => good));
        const bytes = Buffer.concat([garbage, tail]);
        const cut = 1 + Math.floor(rnd() * (bytes.length - 1));
        const got = drain(rtuAssembler(direction), splitAt(bytes, [cut]));
        // A frame out of garbage could only pass the CRC by chance (1 in 65536); none may be foreign.
        for (const g of got) assert.ok(wanted.has(g), `round ${round}: foreign frame ${g}`);
        // The last copy of the good frames always comes through whole, in order.
        assert.deepEqual(got.slice(-frames.length), [...wanted], `round ${round}`);
      }
    }
  });

  it("fuzz: a mutated frame split at every octet is dropped and the frames after it come through", () => {
    const rnd = prng(2026);
    for (const direction of ["request", "response"] as RtuDirection[]) {
      const frames = direction === "request" ? REQUESTS : RESPONSES;
      const wanted = frames.map(([u, p]) => name(u, p));
      const follow = Buffer.concat(Array.from({ length: 8 }, () => stream(frames)));
      for (const [u, p] of frames) {
        const mutated = encodeRtu(u, hex(p));
        const at = Math.floor(rnd() * mutated.length);
        mutated[at] ^= 1 + Math.floor(rnd() * 255);
        const bytes = Buffer.concat([mutated, follow]);
        for (let cut = 1; cut < mutated.length + 4; cut++) {
          const got = drain(rtuAssembler(direction), splitAt(bytes, [cut]));
          for (const g of got) assert.ok(wanted.includes(g), `foreign frame ${g}`);
          assert.deepEqual(got.slice(-frames.length), wanted, `${name(u, p)} mutated at ${at}, cut ${cut}`);
        }
      }
    }
  });

  it("fuzz: pure random octets in random chunks never throw and leave at most one frame's worth held", () => {
    const rnd = prng(7);
    for (const direction of ["request", "response"] as RtuDirection[]) {
      const a = rtuAssembler(direction);
      for (let i = 0; i < 2000; i++) {
        const chunk = Buffer.from(
          Array.from({ length: 1 + Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256)),
        );
        const r = a.push(chunk);
        assert.equal(r.kind, "frames");
        for (const f of r.frames) {
          // Whatever came through passed its CRC: re-encoding it gives a frame with a matching check.
          const again = encodeRtu(f.unitId, f.pdu);
          assert.equal(crc16(again, 0, again.length - 2), again.readUInt16LE(again.length - 2));
        }
        assert.ok(a.buffered < 256, `held ${a.buffered} octets`);
      }
      a.reset();
      assert.deepEqual(
        drain(a, [encodeRtu(9, hex("83 02"))]),
        direction === "response" ? [name(9, "83 02")] : [],
      );
    }
  });
});
