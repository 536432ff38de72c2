/**
 * The shared frame assembler on its own: chunking (split anywhere, one octet at a time, several frames
 * per chunk), the size bounds, bad headers and bad bodies, each as its typed error — with the real MBAP
 * and APCI framings from hex vectors, and with two small test framings shaped like the ones that come
 * next (a length found from a function code, and a frame ended by a delimiter), to show both fit.
 */
import assert from "node:assert/strict";
import {
  FrameAssembler,
  readFrame,
  type FrameSpec,
  type FramingError,
  type HeaderRead,
} from "../../../src/protocols/framing/assembler";
import { APCI_FRAMING } from "../../../src/protocols/iec104/codec/apci";
import { MBAP_FRAMING } from "../../../src/protocols/modbus/codec/mbap";
import { READ_HR_REPLY, READ_HR_REQUEST, hex } from "../../fixtures/modbus/frames";

/** Test framing shaped like RTU: octet 0 a function code; 0x01 frames are 3 octets, 0x02 frames carry a
 * count in octet 1 and are 2 + count octets; anything else is an unknown function. */
interface FnFrame {
  readonly fn: number;
  readonly data: Buffer;
}
const FN_FRAMING: FrameSpec<FnFrame> = {
  readHeader: (b, off): HeaderRead => {
    const avail = b.length - off;
    if (avail < 1) return { kind: "need-more", need: 1 };
    if (b[off] === 0x01) return 3;
    if (b[off] !== 0x02) return { kind: "malformed", reason: `function ${b[off]} is unknown` };
    return avail < 2 ? { kind: "need-more", need: 1 } : 2 + b[off + 1];
  },
  minSize: 3,
  maxSize: 8,
  decode: (b, off, size) =>
    b[off + size - 1] === 0xff
      ? "last octet 0xff is reserved"
      : { fn: b[off], data: b.subarray(off + 1, off + size) },
};

/** Test framing shaped like ASCII: ':' then anything up to CR LF; the reader scans for the terminator. */
const LINE_FRAMING: FrameSpec<{ readonly text: string }> = {
  readHeader: (b, off): HeaderRead => {
    if (b.length - off < 1) return { kind: "need-more", need: 1 };
    if (b[off] !== 0x3a) return { kind: "malformed", reason: "a line does not start with ':'" };
    const end = b.indexOf("\r\n", off + 1);
    return end < 0 ? { kind: "need-more", need: 1 } : end + 2 - off;
  },
  minSize: 3,
  maxSize: 10,
  decode: (b, off, size) => ({ text: b.toString("latin1", off + 1, off + size - 2) }),
};

function errorOf<F extends object>(a: FrameAssembler<F>, chunk: Buffer): FramingError {
  const r = a.push(chunk);
  assert.equal(r.kind, "malformed");
  if (r.kind !== "malformed") throw new Error("unreachable");
  return r.error;
}

describe("frame assembler", () => {
  const apciStream = hex(
    "68 04 07 00 00 00  68 0e 00 00 08 00 64 01 06 03 01 00 00 00 00 14  68 04 01 00 18 00",
  );

  it("yields several frames from one chunk as views into it", () => {
    const a = new FrameAssembler(MBAP_FRAMING);
    const two = Buffer.concat([READ_HR_REQUEST, READ_HR_REPLY]);
    const r = a.push(two);
    assert.equal(r.kind, "frames");
    assert.deepEqual(
      r.frames.map((f) => f.pdu.toString("hex")),
      ["03006b0003", "0306022b00000064"],
    );
    // No copy when a chunk holds whole frames: the PDU shares the chunk's memory.
    assert.equal(r.frames[1].pdu.buffer, two.buffer);
    assert.equal(a.buffered, 0);
  });

  it("reassembles frames fed one octet at a time", () => {
    const a = new FrameAssembler(APCI_FRAMING);
    const got: string[] = [];
    for (const byte of apciStream) {
      const r = a.push(Uint8Array.of(byte));
      assert.equal(r.kind, "frames");
      got.push(...r.frames.map((f) => f.format));
    }
    assert.deepEqual(got, ["U", "I", "S"]);
    assert.equal(a.buffered, 0);
  });

  it("reassembles frames split at every possible point, holding only the tail", () => {
    for (let cut = 1; cut < apciStream.length; cut++) {
      const a = new FrameAssembler(APCI_FRAMING);
      const first = a.push(apciStream.subarray(0, cut));
      const held = a.buffered;
      const second = a.push(apciStream.subarray(cut));
      assert.equal(first.frames.length + second.frames.length, 3, `cut at ${cut}`);
      assert.ok(held < 16, `cut at ${cut} held ${held}`);
      assert.equal(a.buffered, 0);
    }
  });

  it("names the incomplete frame it holds, changing only when a new frame starts", () => {
    const a = new FrameAssembler(APCI_FRAMING);
    assert.equal(a.pendingFrame, undefined);
    // Octets 0..2 start frame 0 (the U-frame); more of it keeps the same name.
    a.push(apciStream.subarray(0, 2));
    assert.equal(a.pendingFrame, 0);
    a.push(apciStream.subarray(2, 4));
    assert.equal(a.pendingFrame, 0);
    // The U-frame ends and the I-frame starts in one chunk: a new frame is pending.
    a.push(apciStream.subarray(4, 10));
    assert.equal(a.pendingFrame, 1);
    // The I-frame and the S-frame end: nothing is pending.
    a.push(apciStream.subarray(10));
    assert.equal(a.pendingFrame, undefined);
    a.push(apciStream.subarray(0, 1));
    assert.equal(a.pendingFrame, 3);
    a.reset();
    assert.equal(a.pendingFrame, undefined);
  });

  it("copies a held tail, so a reused chunk cannot corrupt it", () => {
    const a = new FrameAssembler(MBAP_FRAMING);
    const chunk = Buffer.from(READ_HR_REPLY.subarray(0, 9));
    assert.deepEqual(a.push(chunk).frames, []);
    chunk.fill(0xff);
    const r = a.push(READ_HR_REPLY.subarray(9));
    assert.deepEqual(
      r.frames.map((f) => f.pdu.toString("hex")),
      ["0306022b00000064"],
    );
  });

  it("reports a size below the minimum as too-small, in the length field's own numbers", () => {
    const e = errorOf(new FrameAssembler(MBAP_FRAMING), hex("0001 0000 0001 11"));
    assert.deepEqual(e, {
      code: "too-small",
      size: 7,
      min: 8,
      reason: "MBAP length 1 is too short (minimum 2)",
    });
  });

  it("reports a size above the maximum as too-large as soon as the header is in", () => {
    const e = errorOf(new FrameAssembler(APCI_FRAMING), hex("68 fe"));
    assert.deepEqual(e, {
      code: "too-large",
      size: 256,
      max: 255,
      reason: "APDU length 254 is too long (maximum 253)",
    });
  });

  it("reports a garbage header as bad-header after the good frames before it, then stays broken until reset", () => {
    const a = new FrameAssembler(MBAP_FRAMING);
    const r = a.push(Buffer.concat([READ_HR_REQUEST, hex("0002 0001 0006 11 03")]));
    assert.equal(r.kind, "malformed");
    assert.equal(r.frames.length, 1);
    if (r.kind === "malformed")
      assert.deepEqual(r.error, { code: "bad-header", reason: "protocol identifier 1 is not 0 (Modbus)" });
    assert.equal(a.buffered, 0);
    const again = a.push(READ_HR_REQUEST);
    assert.equal(again.kind, "malformed");
    assert.equal(again.frames.length, 0);
    a.reset();
    assert.deepEqual(a.push(READ_HR_REQUEST).kind, "frames");
  });

  it("reports a whole frame its body decoder refuses as bad-frame", () => {
    const e = errorOf(new FrameAssembler(APCI_FRAMING), hex("68 04 05 00 18 00"));
    assert.deepEqual(e, { code: "bad-frame", reason: "S-format frame with reserved bits set" });
  });

  it("takes a size read from a function code, with its bounds", () => {
    const a = new FrameAssembler(FN_FRAMING);
    const r = a.push(hex("01 aa bb  02 02 cc dd  02"));
    assert.deepEqual(
      r.frames.map((f) => [f.fn, f.data.toString("hex")]),
      [
        [1, "aabb"],
        [2, "02ccdd"],
      ],
    );
    assert.equal(a.buffered, 1);
    assert.equal(a.push(hex("09")).kind, "malformed");
    assert.deepEqual(errorOf(new FrameAssembler(FN_FRAMING), hex("02 00")), {
      code: "too-small",
      size: 2,
      min: 3,
      reason: "frame of 2 octets is too short (minimum 3 octets)",
    });
    assert.deepEqual(errorOf(new FrameAssembler(FN_FRAMING), hex("07")), {
      code: "bad-header",
      reason: "function 7 is unknown",
    });
    assert.deepEqual(errorOf(new FrameAssembler(FN_FRAMING), hex("01 00 ff")), {
      code: "bad-frame",
      reason: "last octet 0xff is reserved",
    });
  });

  it("takes a frame ended by a delimiter, one octet at a time, and bounds a line that never ends", () => {
    const a = new FrameAssembler(LINE_FRAMING);
    const got: string[] = [];
    for (const byte of Buffer.from(":01\r\n:abcd\r\n", "latin1"))
      got.push(...a.push(Uint8Array.of(byte)).frames.map((f) => f.text));
    assert.deepEqual(got, ["01", "abcd"]);
    const b = new FrameAssembler(LINE_FRAMING);
    assert.equal(b.push(Buffer.from(":12345678", "latin1")).kind, "frames");
    assert.deepEqual(b.push(Buffer.from("9", "latin1")), {
      kind: "malformed",
      frames: [],
      error: { code: "too-large", size: undefined, max: 10, reason: "no frame end within 10 octets" },
    });
  });

  it("reads one frame from an offset without an assembler", () => {
    const stream = Buffer.concat([READ_HR_REQUEST, READ_HR_REPLY]);
    const r = readFrame(MBAP_FRAMING, stream, READ_HR_REQUEST.length);
    assert.equal(r.kind, "frame");
    if (r.kind === "frame") assert.deepEqual([r.size, r.frame.unitId, r.frame.transactionId], [15, 0x11, 1]);
    assert.deepEqual(readFrame(MBAP_FRAMING, stream.subarray(0, 3), 0), { kind: "need-more", need: 4 });
  });

  it("with resync, drops what cannot start a frame octet by octet, counts it, and never breaks", () => {
    const a = new FrameAssembler({ ...FN_FRAMING, resync: true });
    // 07: unknown function; 01 aa ff: a whole frame its decoder refuses; then two good frames.
    const r = a.push(Buffer.from([0x07, 0x01, 0xaa, 0xff, 0x01, 0xaa, 0xbb, 0x02, 0x01, 0x0c]));
    assert.equal(r.kind, "frames");
    assert.deepEqual(
      r.frames.map((f) => [f.fn, f.data.toString("hex")]),
      [
        [1, "aabb"],
        [2, "010c"],
      ],
    );
    assert.equal(a.dropped.octets, 4);
    assert.equal(a.dropped.last?.code, "bad-header");
    // A size out of bounds is garbage too: 02 09 claims 11 octets (maximum 8).
    const again = a.push(Buffer.from([0x02, 0x09, 0x01, 0x0d, 0x0e]));
    assert.deepEqual(
      again.frames.map((f) => f.fn),
      [1],
    );
    assert.equal(a.dropped.last?.code, "bad-header");
    assert.equal(a.buffered, 0);
  });
});
