import assert from "node:assert/strict";
import { MbapAssembler, decodeMbap, encodeMbap } from "../../../src/protocols/modbus/codec/mbap";
import { READ_HR_REPLY, READ_HR_REQUEST, hex } from "../../fixtures/modbus/frames";

describe("modbus MBAP codec", () => {
  it("encodes the spec's read-holding-registers request byte for byte", () => {
    assert.deepEqual(encodeMbap(1, 0x11, hex("03 006B 0003")), READ_HR_REQUEST);
  });

  it("decodes a whole frame with its transaction id, unit id and PDU", () => {
    const r = decodeMbap(READ_HR_REPLY);
    assert.equal(r.kind, "frame");
    if (r.kind !== "frame") return;
    assert.equal(r.size, READ_HR_REPLY.length);
    assert.equal(r.frame.transactionId, 1);
    assert.equal(r.frame.unitId, 0x11);
    assert.deepEqual(r.frame.pdu, hex("03 06 022B 0000 0064"));
  });

  it("asks for the missing octets of a partial header and a partial body", () => {
    assert.deepEqual(decodeMbap(READ_HR_REPLY.subarray(0, 3)), { kind: "need-more", need: 4 });
    assert.deepEqual(decodeMbap(READ_HR_REPLY.subarray(0, 10)), { kind: "need-more", need: 5 });
  });

  it("rejects a protocol id other than 0 as soon as it is readable", () => {
    const r = decodeMbap(hex("0001 0001"));
    assert.equal(r.kind, "malformed");
    if (r.kind === "malformed") assert.match(r.reason, /protocol identifier 1/);
  });

  it("rejects a length below 2 (no room for unit id and function code)", () => {
    for (const len of ["0000", "0001"]) {
      const r = decodeMbap(hex(`0001 0000 ${len} 11`));
      assert.equal(r.kind, "malformed");
      if (r.kind === "malformed") assert.match(r.reason, /too short/);
    }
  });

  it("accepts length 254 (a 253-octet PDU) and rejects 255", () => {
    const max = Buffer.concat([hex("0001 0000 00FE 01"), Buffer.alloc(253, 3)]);
    const ok = decodeMbap(max);
    assert.equal(ok.kind, "frame");
    if (ok.kind === "frame") assert.equal(ok.frame.pdu.length, 253);
    const r = decodeMbap(hex("0001 0000 00FF 01"));
    assert.equal(r.kind, "malformed");
    if (r.kind === "malformed") assert.match(r.reason, /too long/);
  });

  it("refuses to encode out-of-range fields", () => {
    assert.throws(() => encodeMbap(0x10000, 1, hex("03")), RangeError);
    assert.throws(() => encodeMbap(1, 256, hex("03")), RangeError);
    assert.throws(() => encodeMbap(1, 1, Buffer.alloc(0)), RangeError);
    assert.throws(() => encodeMbap(1, 1, Buffer.alloc(254)), RangeError);
  });

  describe("assembler", () => {
    const two = Buffer.concat([READ_HR_REQUEST, READ_HR_REPLY]);

    it("yields several frames from one segment", () => {
      const a = new MbapAssembler();
      const r = a.push(two);
      assert.equal(r.kind, "frames");
      assert.deepEqual(
        r.frames.map((f) => f.pdu[0]),
        [3, 3],
      );
      assert.deepEqual(
        r.frames.map((f) => f.pdu.length),
        [5, 8],
      );
      assert.equal(a.buffered, 0);
    });

    it("reassembles frames fed one octet at a time", () => {
      const a = new MbapAssembler();
      const got: Buffer[] = [];
      for (const byte of two) {
        const r = a.push(Buffer.from([byte]));
        assert.equal(r.kind, "frames");
        got.push(...r.frames.map((f) => Buffer.from(f.pdu)));
      }
      assert.deepEqual(got, [hex("03 006B 0003"), hex("03 06 022B 0000 0064")]);
    });

    it("reassembles frames split at every possible point", () => {
      for (let cut = 1; cut < two.length; cut++) {
        const a = new MbapAssembler();
        const first = a.push(two.subarray(0, cut));
        const second = a.push(two.subarray(cut));
        const n = first.frames.length + second.frames.length;
        assert.equal(n, 2, `cut at ${cut}`);
        assert.equal(a.buffered, 0);
      }
    });

    it("does not let the caller's reuse of a chunk corrupt a held tail", () => {
      const a = new MbapAssembler();
      const chunk = Buffer.from(READ_HR_REPLY.subarray(0, 8));
      a.push(chunk);
      chunk.fill(0xff);
      const r = a.push(READ_HR_REPLY.subarray(8));
      assert.equal(r.frames.length, 1);
      assert.deepEqual(r.frames[0].pdu, hex("03 06 022B 0000 0064"));
    });

    it("reports a corrupted header after the good frames before it, then stays broken", () => {
      const bad = Buffer.from(READ_HR_REPLY);
      bad.writeUInt16BE(0x1234, 2);
      const a = new MbapAssembler();
      const r = a.push(Buffer.concat([READ_HR_REQUEST, bad]));
      assert.equal(r.kind, "malformed");
      assert.equal(r.frames.length, 1);
      const again = a.push(READ_HR_REQUEST);
      assert.equal(again.kind, "malformed");
      assert.equal(again.frames.length, 0);
      a.reset();
      assert.equal(a.push(READ_HR_REQUEST).frames.length, 1);
    });

    it("reports a corrupted length split across segments", () => {
      const a = new MbapAssembler();
      assert.equal(a.push(hex("0007 0000 01")).kind, "frames");
      const r = a.push(hex("00 11 03"));
      assert.equal(r.kind, "malformed");
      if (r.kind === "malformed") assert.match(r.reason, /256 is too long/);
    });
  });
});
