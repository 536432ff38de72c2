/**
 * The ASCII framer (issue #20): the LRC against the classic example frame, frames of both directions
 * whole and split at every octet, each kind of garbage (bad LRC, non-hex, odd length, a frame cut short
 * by a new ':', no CR LF), and a fuzz — random garbage and mutated frames, split at every octet — proving
 * it never throws, never hands out a frame whose LRC fails, and resynchronises on the next ':'.
 */
import assert from "node:assert/strict";
import { prng, splitAt } from "./helpers";
import { readFrame, type FrameAssembler } from "../../../src/protocols/framing/assembler";
import {
  ASCII_FRAMING,
  ASCII_MAX_SIZE,
  asciiAssembler,
  encodeAscii,
  lrc,
  type AsciiFrame,
} from "../../../src/protocols/modbus/codec/ascii";
import { hex } from "../../fixtures/modbus/frames";

/** Every frame from pushing `chunks` in order, as hex "unit:pdu". */
function drain(a: FrameAssembler<AsciiFrame>, chunks: readonly Buffer[]): string[] {
  const out: string[] = [];
  for (const c of chunks) {
    const r = a.push(c);
    assert.equal(r.kind, "frames", "a resynchronising framing never breaks the stream");
    for (const f of r.frames) out.push(`${f.unitId}:${f.pdu.toString("hex")}`);
  }
  return out;
}

const name = (unit: number, pdu: string): string => `${unit}:${pdu.replace(/\s+/g, "").toLowerCase()}`;
const text = (s: string): Buffer => Buffer.from(s, "latin1");

// Requests and replies from the spec's examples (Application Protocol V1.1b3 §6): ASCII reads both alike.
const FRAMES: readonly [number, string][] = [
  [0x11, "03 006B 0003"],
  [0x11, "03 06 022B 0000 0064"],
  [0x02, "0F 0013 000A 02 CD01"],
  [0x03, "83 02"],
  [0x05, "2B 0E 01 01 00 00 02 00 03 41 42 43 01 02 76 31"],
  [0x08, "07"],
  [0xf7, "03 FA " + "00".repeat(250)],
];

const stream = (): Buffer => Buffer.concat(FRAMES.map(([u, p]) => encodeAscii(u, hex(p))));
const WANTED = FRAMES.map(([u, p]) => name(u, p));

describe("Modbus ASCII framer", () => {
  it("computes the LRC and encodes the classic example frame :1103006B00037E CR LF", () => {
    assert.equal(lrc(hex("11 03 006B 0003")), 0x7e);
    assert.equal(lrc(hex("01 03 0000 000A")), 0xf2);
    assert.deepEqual(encodeAscii(0x11, hex("03 006B 0003")), text(":1103006B00037E\r\n"));
    assert.deepEqual(encodeAscii(1, hex("03 0000 000A")), text(":01030000000AF2\r\n"));
  });

  it("refuses to encode a unit or PDU out of range", () => {
    assert.throws(() => encodeAscii(256, hex("03 0000 0001")), RangeError);
    assert.throws(() => encodeAscii(1, Buffer.alloc(0)), RangeError);
    assert.throws(() => encodeAscii(1, Buffer.alloc(254, 3)), RangeError);
    assert.equal(encodeAscii(1, Buffer.alloc(253, 3)).length, ASCII_MAX_SIZE);
  });

  it("reads frames of both directions whole, split at every octet, and octet by octet", () => {
    const bytes = stream();
    assert.deepEqual(drain(asciiAssembler(), [bytes]), WANTED);
    for (let cut = 1; cut < bytes.length; cut++) {
      assert.deepEqual(drain(asciiAssembler(), splitAt(bytes, [cut])), WANTED, `cut at ${cut}`);
    }
    const octets = [...bytes].map((b) => Buffer.from([b]));
    assert.deepEqual(drain(asciiAssembler(), octets), WANTED);
  });

  it("accepts lower-case hex digits", () => {
    assert.deepEqual(drain(asciiAssembler(), [text(":1103006b00037e\r\n")]), [name(0x11, "03 006B 0003")]);
  });

  for (const [what, bad, reason] of [
    ["a bad LRC", ":1103006B00037F\r\n", /LRC 0x7f does not match 0x7e/],
    ["a character that is not hex", ":1103006G00037E\r\n", /not a hex digit/],
    ["an odd number of digits", ":1103006B0003E\r\n", /odd number/],
    ["LF without CR", ":1103006B00037E\n", /CR LF/],
    ["a frame cut short by a new ':'", ":1103006B", /new frame starts/],
    ["noise before the ':'", "xyz", /start with ':'/],
  ] as const) {
    it(`drops ${what} and delivers the good frame after it`, () => {
      const a = asciiAssembler();
      const good = encodeAscii(2, hex("06 0001 0003"));
      const bytes = Buffer.concat([text(bad), good]);
      // The assembler keeps the reason for the last octet dropped; the first says why the frame was.
      const first = readFrame(ASCII_FRAMING, bytes, 0);
      assert.equal(first.kind, "malformed");
      assert.match(first.kind === "malformed" ? first.error.reason : "", reason);
      assert.deepEqual(drain(a, [bytes]), [name(2, "06 0001 0003")]);
      assert.equal(a.dropped.octets, bad.length);
      assert.equal(a.buffered, 0);
    });
  }

  it("drops a frame whose end never comes within 513 characters, then resyncs on the next ':'", () => {
    const a = asciiAssembler();
    const runaway = text(":" + "0".repeat(ASCII_MAX_SIZE));
    const good = encodeAscii(1, hex("83 02"));
    assert.deepEqual(drain(a, [runaway, good]), [name(1, "83 02")]);
    assert.equal(a.dropped.octets, runaway.length);
    assert.equal(a.buffered, 0);
  });

  it("holds an incomplete frame until its CR LF, and a reset drops it", () => {
    const a = asciiAssembler();
    assert.deepEqual(drain(a, [text(":1103006B")]), []);
    assert.equal(a.buffered, 9);
    assert.equal(a.pendingFrame, 0);
    a.reset();
    assert.deepEqual(drain(a, [encodeAscii(9, hex("83 02"))]), [name(9, "83 02")]);
  });

  it("fuzz: random garbage before good frames never throws, never yields a bad frame, and resyncs", () => {
    const rnd = prng(20);
    const good = stream();
    for (let round = 0; round < 300; round++) {
      // Half the rounds draw from the frame's own alphabet, which looks most like a frame.
      const alphabet = round % 2 === 0 ? undefined : ":0123456789ABCDEF\r\n";
      const garbage = Buffer.from(
        Array.from({ length: Math.floor(rnd() * 60) }, () =>
          alphabet === undefined
            ? Math.floor(rnd() * 256)
            : alphabet.charCodeAt(Math.floor(rnd() * alphabet.length)),
        ),
      );
      const bytes = Buffer.concat([garbage, good]);
      const cut = 1 + Math.floor(rnd() * (bytes.length - 1));
      const got = drain(asciiAssembler(), splitAt(bytes, [cut]));
      // The ':' of the first good frame ends any garbage frame, so every good frame comes through,
      // after at most a frame that garbage of the frame's own alphabet formed with a passing LRC.
      assert.deepEqual(got.slice(-WANTED.length), WANTED, `round ${round}`);
      assert.ok(got.length <= WANTED.length + 1, `round ${round}: ${got.join(" ")}`);
    }
  });

  it("fuzz: a mutated frame split at every octet is dropped and the frames after it come through", () => {
    const rnd = prng(2026);
    const follow = stream();
    for (const [u, p] of FRAMES) {
      for (let round = 0; round < 4; round++) {
        const mutated = encodeAscii(u, hex(p));
        // Any octet but the ':' (a frame without its start is plain noise, tested above) may change.
        const at = 1 + Math.floor(rnd() * (mutated.length - 1));
        mutated[at] ^= 1 + Math.floor(rnd() * 255);
        const bytes = Buffer.concat([mutated, follow]);
        for (let cut = 1; cut < mutated.length + 4; cut++) {
          const got = drain(asciiAssembler(), splitAt(bytes, [cut]));
          const label = `${name(u, p)} mutated at ${at}, cut ${cut}`;
          // A changed octet breaks the LRC, a hex digit or a delimiter — unless it only changed a
          // digit's case, which reads the same frame; a ':' in its place may start a frame of its own.
          assert.deepEqual(got.slice(-WANTED.length), WANTED, label);
          assert.ok(got.length <= WANTED.length + 1, label);
        }
      }
    }
  });

  it("fuzz: pure random octets in random chunks never throw and hold at most one frame's worth", () => {
    const rnd = prng(7);
    const a = asciiAssembler();
    const alphabet = ":0123456789ABCDEF\r\n";
    for (let i = 0; i < 3000; i++) {
      const chunk = Buffer.from(
        Array.from({ length: 1 + Math.floor(rnd() * 64) }, () =>
          i % 2 === 0 ? Math.floor(rnd() * 256) : alphabet.charCodeAt(Math.floor(rnd() * alphabet.length)),
        ),
      );
      const r = a.push(chunk);
      assert.equal(r.kind, "frames");
      for (const f of r.frames) {
        // Whatever came through passed its LRC: re-encoding it gives a frame that reads back the same.
        assert.deepEqual(drain(asciiAssembler(), [encodeAscii(f.unitId, f.pdu)]), [
          `${f.unitId}:${f.pdu.toString("hex")}`,
        ]);
      }
      assert.ok(a.buffered < ASCII_MAX_SIZE, `held ${a.buffered} octets`);
    }
    a.reset();
    assert.deepEqual(drain(a, [encodeAscii(9, hex("83 02"))]), [name(9, "83 02")]);
  });
});
