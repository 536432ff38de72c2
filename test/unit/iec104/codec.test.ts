/**
 * Codec tests from the byte-exact APDUs captured from the reference implementation and decoded by
 * Wireshark (docs/protocols/iec104.md §6), plus corrupted copies. Every vector is decoded to the expected
 * fields and re-encoded to the same octets.
 */
import assert from "node:assert/strict";
import {
  ApduAssembler,
  cp56,
  decodeApdu,
  decodeAsdu,
  decodeCp56,
  encodeAsdu,
  encodeCp56,
  encodeIFrame,
  encodeSFrame,
  encodeUFrame,
  GOOD,
  mirrorAsdu,
  packAsdus,
  TypeId,
  withoutTimeTag,
  withTimeTag,
  type Apdu,
  type Asdu,
  type InformationObject,
} from "../../../src/protocols/iec104/codec";

function h(hex: string): Buffer {
  return Buffer.from(hex.replace(/\s+/g, ""), "hex");
}

function apduOf(bytes: Buffer): Apdu {
  const r = decodeApdu(bytes);
  assert.equal(r.kind, "apdu", JSON.stringify(r));
  if (r.kind !== "apdu") throw new Error("unreachable");
  assert.equal(r.size, bytes.length);
  return r.apdu;
}

function asduOf(bytes: Buffer): { ns: number; nr: number; asdu: Asdu } {
  const apdu = apduOf(bytes);
  assert.equal(apdu.format, "I");
  if (apdu.format !== "I") throw new Error("unreachable");
  const r = decodeAsdu(apdu.asdu);
  assert.equal(r.kind, "asdu", JSON.stringify(r));
  if (r.kind !== "asdu") throw new Error("unreachable");
  // Byte-exact round trip: the same APDU comes out of our encoder.
  assert.deepEqual(encodeIFrame(apdu.sendSeq, apdu.recvSeq, encodeAsdu(r.asdu)), bytes);
  return { ns: apdu.sendSeq, nr: apdu.recvSeq, asdu: r.asdu };
}

const hdr = { negative: false, test: false, sequence: false };

describe("iec104 codec: APCI", function () {
  const uVectors: [string, string][] = [
    ["startdt-act", "68 04 07 00 00 00"],
    ["startdt-con", "68 04 0b 00 00 00"],
    ["stopdt-act", "68 04 13 00 00 00"],
    ["stopdt-con", "68 04 23 00 00 00"],
    ["testfr-act", "68 04 43 00 00 00"],
    ["testfr-con", "68 04 83 00 00 00"],
  ];
  for (const [fn, hex] of uVectors) {
    it(`decodes and encodes U-format ${fn}`, function () {
      assert.deepEqual(apduOf(h(hex)), { format: "U", fn });
      assert.deepEqual(encodeUFrame(fn as Parameters<typeof encodeUFrame>[0]), h(hex));
    });
  }

  it("decodes and encodes S(12)", function () {
    assert.deepEqual(apduOf(h("68 04 01 00 18 00")), { format: "S", recvSeq: 12 });
    assert.deepEqual(encodeSFrame(12), h("68 04 01 00 18 00"));
  });

  it("carries sequence numbers across the 7-bit boundary and up to 32767", function () {
    for (const [ns, nr] of [
      [127, 128],
      [128, 255],
      [32767, 16384],
      [0, 32767],
    ]) {
      const frame = encodeIFrame(ns, nr, h("64 01 06 03 01 00 00 00 00 14"));
      const apdu = apduOf(frame);
      assert.equal(apdu.format, "I");
      if (apdu.format === "I") assert.deepEqual([apdu.sendSeq, apdu.recvSeq], [ns, nr]);
    }
    assert.deepEqual(encodeSFrame(32767), h("68 04 01 00 fe ff"));
    assert.throws(() => encodeSFrame(32768), RangeError);
    assert.throws(() => encodeIFrame(-1, 0, h("00")), RangeError);
  });

  it("asks for more octets until a frame is complete", function () {
    const frame = h("68 0e 00 00 08 00 64 01 06 03 01 00 00 00 00 14");
    assert.deepEqual(decodeApdu(h("")), { kind: "need-more", need: 6 });
    assert.deepEqual(decodeApdu(frame.subarray(0, 1)), { kind: "need-more", need: 5 });
    assert.deepEqual(decodeApdu(frame.subarray(0, 10)), { kind: "need-more", need: 6 });
  });

  const corrupted: [string, string, RegExp][] = [
    ["a wrong start octet", "69 04 07 00 00 00", /start octet 0x69/],
    ["a length below 4", "68 03 07 00 00", /length 3/],
    ["a length above 253", "68 fe 00 00 00 00", /length 254/],
    ["an I-frame without ASDU", "68 04 00 00 00 00", /without an ASDU/],
    ["a long S-frame", "68 05 01 00 18 00 00", /length 5/],
    ["an S-frame with reserved bits", "68 04 05 00 18 00", /reserved/],
    ["two U functions at once", "68 04 0f 00 00 00", /0x0f/],
    ["a U-frame with CF3 set", "68 04 07 00 01 00", /0x07/],
  ];
  for (const [what, hex, reason] of corrupted) {
    it(`rejects ${what}`, function () {
      const r = decodeApdu(h(hex));
      assert.equal(r.kind, "malformed");
      if (r.kind === "malformed") assert.match(r.reason, reason);
    });
  }

  it("reassembles frames fed one octet at a time and several per chunk", function () {
    const stream = Buffer.concat([
      h("68 04 07 00 00 00"),
      h("68 0e 00 00 08 00 64 01 06 03 01 00 00 00 00 14"),
      h("68 04 01 00 18 00"),
    ]);
    const oneByOne = new ApduAssembler();
    const got: string[] = [];
    for (const byte of stream) {
      for (const r of oneByOne.push(Uint8Array.of(byte)))
        got.push(r.kind === "apdu" ? r.apdu.format : r.kind);
    }
    assert.deepEqual(got, ["U", "I", "S"]);
    assert.equal(oneByOne.buffered, 0);

    const chunked = new ApduAssembler();
    assert.deepEqual(
      chunked.push(stream.subarray(0, 9)).map((r) => r.kind),
      ["apdu"],
    );
    assert.equal(chunked.buffered, 3);
    assert.deepEqual(
      chunked.push(stream.subarray(9)).map((r) => (r.kind === "apdu" ? r.apdu.format : r.kind)),
      ["I", "S"],
    );
  });

  it("keeps the partial tail when the caller reuses its chunk buffer", function () {
    const frame = h("68 0e 00 00 08 00 64 01 06 03 01 00 00 00 00 14");
    const chunk = Buffer.from(frame.subarray(0, 8));
    const a = new ApduAssembler();
    assert.deepEqual(a.push(chunk), []);
    chunk.fill(0xee);
    const [r] = a.push(frame.subarray(8));
    assert.equal(r.kind, "apdu");
    if (r.kind === "apdu" && r.apdu.format === "I") assert.deepEqual(r.apdu.asdu, frame.subarray(6));
  });

  it("stays failed after losing framing", function () {
    const a = new ApduAssembler();
    const first = a.push(h("68 04 07 00 00 00 55 04 07 00 00 00"));
    assert.deepEqual(
      first.map((r) => r.kind),
      ["apdu", "malformed"],
    );
    assert.equal(a.push(h("68 04 07 00 00 00"))[0].kind, "malformed");
  });
});

describe("iec104 codec: ASDU vectors", function () {
  it("C_IC_NA_1 activation and termination", function () {
    const act = asduOf(h("68 0e 00 00 08 00 64 01 06 03 01 00 00 00 00 14"));
    assert.deepEqual([act.ns, act.nr], [0, 4]);
    assert.deepEqual(act.asdu, {
      typeId: TypeId.C_IC_NA_1,
      ...hdr,
      cot: 6,
      originator: 3,
      commonAddress: 1,
      objects: [{ kind: "interrogation", ioa: 0, qoi: 20 }],
    });
    const term = asduOf(h("68 0e 12 00 02 00 64 01 0a 03 01 00 00 00 00 14"));
    assert.deepEqual([term.ns, term.nr, term.asdu.cot], [9, 1, 10]);
  });

  it("M_ME_NB_1 periodic and three objects in a GI answer", function () {
    const one = asduOf(h("68 10 00 00 00 00 0b 01 01 00 01 00 6e 00 00 00 00 00")).asdu;
    assert.deepEqual(one.objects, [{ kind: "scaled", ioa: 110, value: 0, quality: GOOD }]);
    assert.equal(one.cot, 1);
    const three = asduOf(
      h("68 1c 0a 00 02 00 0b 03 14 03 01 00 64 00 00 ff ff 00 65 00 00 17 00 00 66 00 00 fc 08 00"),
    );
    assert.deepEqual([three.ns, three.nr], [5, 1]);
    assert.deepEqual(
      three.asdu.objects.map((o) => [o.ioa, o.kind === "scaled" ? o.value : NaN]),
      [
        [100, -1],
        [101, 23],
        [102, 2300],
      ],
    );
  });

  it("M_SP_NA_1 with SQ=1: one IOA, eight consecutive points", function () {
    const { asdu } = asduOf(h("68 15 0e 00 02 00 01 88 14 03 01 00 2c 01 00 01 00 01 00 01 00 01 00"));
    assert.equal(asdu.sequence, true);
    assert.deepEqual(
      asdu.objects.map((o) => [o.ioa, o.kind === "single" && o.value]),
      [300, 301, 302, 303, 304, 305, 306, 307].map((ioa, i) => [ioa, i % 2 === 0]),
    );
  });

  it("M_BO_NA_1 bitstring", function () {
    const { asdu } = asduOf(h("68 12 10 00 02 00 07 01 14 03 01 00 f4 01 00 aa aa 00 00 00"));
    assert.deepEqual(asdu.objects, [{ kind: "bitstring", ioa: 500, value: 0xaaaa, quality: GOOD }]);
  });

  it("C_SC_NA_1 select ON and C_DC_NA_1 negative COT 44", function () {
    const sc = asduOf(h("68 0e 02 00 10 00 2d 01 06 03 01 00 88 13 00 81")).asdu;
    assert.deepEqual(sc.objects, [
      { kind: "single-command", ioa: 5000, value: true, qualifier: 0, select: true },
    ]);
    const dc = asduOf(h("68 0e 16 00 0a 00 2e 01 6c 03 01 00 70 17 00 02")).asdu;
    assert.deepEqual([dc.cot, dc.negative], [44, true]);
    assert.deepEqual(dc.objects, [
      { kind: "double-command", ioa: 6000, value: 2, qualifier: 0, select: false },
    ]);
  });

  it("C_SE_NC_1 12.5, C_CI_NA_1 general, C_RD_NA_1", function () {
    assert.deepEqual(asduOf(h("68 12 0a 00 1a 00 32 01 06 03 01 00 58 1b 00 00 00 48 41 00")).asdu.objects, [
      { kind: "setpoint-float", ioa: 7000, value: 12.5, qualifier: 0, select: false },
    ]);
    assert.deepEqual(asduOf(h("68 0e 0c 00 1c 00 65 01 06 03 01 00 00 00 00 05")).asdu.objects, [
      { kind: "counter-interrogation", ioa: 0, request: 5, freeze: 0 },
    ]);
    const rd = asduOf(h("68 0d 0e 00 1e 00 66 01 05 03 01 00 6e 00 00")).asdu;
    assert.deepEqual([rd.cot, rd.objects], [5, [{ kind: "read", ioa: 110 }]]);
  });

  it("C_CS_NA_1 and C_TS_TA_1 carry CP56Time2a", function () {
    const cs = asduOf(h("68 14 10 00 20 00 67 01 06 03 01 00 00 00 00 e5 e3 3a 0c 15 0b 1a")).asdu;
    assert.deepEqual(cs.objects, [
      { kind: "clock-sync", ioa: 0, time: cp56(Date.parse("2026-11-21T12:58:58.341Z")) },
    ]);
    const ts = asduOf(h("68 16 02 00 18 00 6b 01 06 03 01 00 00 00 00 38 49 5c 8f 39 0c 15 0b 1a")).asdu;
    assert.deepEqual(ts.objects, [
      { kind: "test-time", ioa: 0, counter: 0x4938, time: cp56(Date.parse("2026-11-21T12:57:36.700Z")) },
    ]);
  });

  it("C_IC_NA_1 negative with unknown common address", function () {
    const { asdu } = asduOf(h("68 0e 22 00 14 00 64 01 6e 03 02 00 00 00 00 14"));
    assert.deepEqual([asdu.cot, asdu.negative, asdu.commonAddress], [46, true, 2]);
  });
});

describe("iec104 codec: information elements", function () {
  const t = cp56(Date.parse("2026-11-21T12:57:36.700Z"));
  const roundTrip: [number, InformationObject][] = [
    [TypeId.M_SP_TB_1, { kind: "single", ioa: 1, value: true, quality: { invalid: true }, time: t }],
    [TypeId.M_DP_NA_1, { kind: "double", ioa: 2, value: 3, quality: { blocked: true, substituted: true } }],
    [TypeId.M_DP_TB_1, { kind: "double", ioa: 2, value: 1, quality: GOOD, time: t }],
    [TypeId.M_ST_NA_1, { kind: "step", ioa: 3, value: -64, transient: true, quality: { overflow: true } }],
    [TypeId.M_ST_TB_1, { kind: "step", ioa: 3, value: 63, transient: false, quality: GOOD, time: t }],
    [TypeId.M_BO_TB_1, { kind: "bitstring", ioa: 4, value: 0xffffffff, quality: GOOD, time: t }],
    [TypeId.M_ME_NA_1, { kind: "normalized", ioa: 5, value: -1, quality: { notTopical: true } }],
    [TypeId.M_ME_TD_1, { kind: "normalized", ioa: 5, value: 0.5, quality: GOOD, time: t }],
    [TypeId.M_ME_ND_1, { kind: "normalized", ioa: 5, value: 0.25, quality: GOOD }],
    [TypeId.M_ME_TE_1, { kind: "scaled", ioa: 6, value: -32768, quality: GOOD, time: t }],
    [
      TypeId.M_ME_TF_1,
      { kind: "float", ioa: 7, value: -0.5, quality: { invalid: true, overflow: true }, time: t },
    ],
    [
      TypeId.M_IT_NA_1,
      {
        kind: "totals",
        ioa: 8,
        value: -2147483648,
        sequence: 31,
        carry: true,
        adjusted: true,
        quality: { invalid: true },
      },
    ],
    [
      TypeId.M_IT_TB_1,
      {
        kind: "totals",
        ioa: 8,
        value: 123456,
        sequence: 1,
        carry: false,
        adjusted: false,
        quality: GOOD,
        time: t,
      },
    ],
    [TypeId.M_EI_NA_1, { kind: "end-of-init", ioa: 0, cause: 2, afterParameterChange: true }],
    [
      TypeId.C_SC_TA_1,
      { kind: "single-command", ioa: 9, value: false, qualifier: 3, select: false, time: t },
    ],
    [TypeId.C_DC_TA_1, { kind: "double-command", ioa: 9, value: 1, qualifier: 1, select: true, time: t }],
    [TypeId.C_RC_NA_1, { kind: "step-command", ioa: 9, value: 2, qualifier: 2, select: true }],
    [TypeId.C_SE_NA_1, { kind: "setpoint-normalized", ioa: 10, value: -0.25, qualifier: 0, select: true }],
    [
      TypeId.C_SE_TB_1,
      { kind: "setpoint-scaled", ioa: 10, value: 1234, qualifier: 127, select: false, time: t },
    ],
    [TypeId.C_SE_TC_1, { kind: "setpoint-float", ioa: 10, value: 1.5, qualifier: 0, select: true, time: t }],
    [TypeId.C_BO_TA_1, { kind: "bitstring-command", ioa: 11, value: 0x12345678, select: false, time: t }],
    [TypeId.C_TS_NA_1, { kind: "test", ioa: 0, pattern: 0x55aa }],
    [TypeId.C_RP_NA_1, { kind: "reset-process", ioa: 0, qrp: 1 }],
    [TypeId.C_CI_NA_1, { kind: "counter-interrogation", ioa: 0, request: 1, freeze: 3 }],
  ];
  for (const [typeId, obj] of roundTrip) {
    it(`round-trips type ${typeId} ${obj.kind}`, function () {
      const asdu: Asdu = { typeId, ...hdr, cot: 3, originator: 0, commonAddress: 7, objects: [obj] };
      const r = decodeAsdu(encodeAsdu(asdu));
      assert.deepEqual(r, { kind: "asdu", asdu });
    });
  }

  it("writes the quality bits where the standard puts them", function () {
    const sp = encodeAsdu({
      typeId: TypeId.M_SP_NA_1,
      ...hdr,
      cot: 3,
      originator: 0,
      commonAddress: 1,
      objects: [
        { kind: "single", ioa: 1, value: true, quality: { invalid: true, notTopical: true, blocked: true } },
      ],
    });
    assert.equal(sp[9], 0xd1);
    const me = encodeAsdu({
      typeId: TypeId.M_ME_NC_1,
      ...hdr,
      cot: 3,
      originator: 0,
      commonAddress: 1,
      objects: [{ kind: "float", ioa: 1, value: 12.5, quality: { overflow: true, substituted: true } }],
    });
    assert.deepEqual(me.subarray(9), h("00 00 48 41 21"));
  });

  it("sends normalized +1 as 32767/32768 and refuses values beyond ±1", function () {
    const base = { typeId: TypeId.M_ME_NA_1, ...hdr, cot: 3, originator: 0, commonAddress: 1 };
    const enc = encodeAsdu({ ...base, objects: [{ kind: "normalized", ioa: 1, value: 1, quality: GOOD }] });
    assert.equal(enc.readInt16LE(9), 32767);
    assert.throws(
      () => encodeAsdu({ ...base, objects: [{ kind: "normalized", ioa: 1, value: 1.01, quality: GOOD }] }),
      /outside -1..1/,
    );
  });

  it("maps time-tagged monitor types to their plain type and back", function () {
    assert.equal(withoutTimeTag(TypeId.M_SP_TB_1), TypeId.M_SP_NA_1);
    assert.equal(withoutTimeTag(TypeId.M_ME_TF_1), TypeId.M_ME_NC_1);
    assert.equal(withoutTimeTag(TypeId.M_IT_TB_1), TypeId.M_IT_NA_1);
    assert.equal(withoutTimeTag(TypeId.M_ME_NB_1), TypeId.M_ME_NB_1);
    assert.equal(withTimeTag(TypeId.M_DP_NA_1), TypeId.M_DP_TB_1);
    assert.equal(withTimeTag(TypeId.M_ME_ND_1), TypeId.M_ME_ND_1);
  });
});

describe("iec104 codec: malformed and refused ASDUs", function () {
  function malformed(hex: string): string {
    const r = decodeAsdu(h(hex));
    assert.equal(r.kind, "malformed", JSON.stringify(r));
    return r.kind === "malformed" ? r.reason : "";
  }

  it("rejects a short header, no objects, a wrong length and several command objects", function () {
    assert.match(malformed("64 01 06 03 01"), /shorter than its 6-octet header/);
    assert.match(malformed("0b 00 14 03 01 00"), /no information objects/);
    assert.match(
      malformed("0b 03 14 03 01 00 64 00 00 ff ff 00 65 00 00 17 00 00 66 00 00 fc 08"),
      /needs 18 octets/,
    );
    assert.match(malformed("0b 01 14 03 01 00 64 00 00 ff ff 00 00"), /needs 6 octets of objects, got 7/);
    assert.match(malformed("2d 02 06 03 01 00 88 13 00 81 89 13 00 81"), /one information object, not 2/);
    assert.match(malformed("2d 81 06 03 01 00 88 13 00 81"), /one information object/);
    assert.match(malformed("01 82 14 03 01 00 ff ff ff 01 00"), /past IOA/);
  });

  it("reports an unknown type with its header so a station can answer COT 44", function () {
    const r = decodeAsdu(h("7f 01 06 03 01 00 00 00 00 00"));
    assert.equal(r.kind, "unknown-type");
    if (r.kind === "unknown-type") assert.deepEqual([r.header.typeId, r.header.cot, r.count], [127, 6, 1]);
    assert.deepEqual(
      mirrorAsdu(h("7f 01 86 03 01 00 00 00 00 00"), 44, true),
      h("7f 01 ec 03 01 00 00 00 00 00"),
    );
    // An answer to the global address carries the station's own address.
    assert.deepEqual(
      mirrorAsdu(h("64 01 06 03 ff ff 00 00 00 14"), 7, false, 0x0102),
      h("64 01 07 03 02 01 00 00 00 14"),
    );
  });

  it("refuses to encode what the standard does not allow", function () {
    const base = { ...hdr, cot: 3, originator: 0, commonAddress: 1 };
    const sp = (ioa: number): InformationObject => ({ kind: "single", ioa, value: true, quality: GOOD });
    assert.throws(() => encodeAsdu({ typeId: 99, ...base, objects: [sp(1)] }), /type 99/);
    assert.throws(() => encodeAsdu({ typeId: TypeId.M_SP_NA_1, ...base, objects: [] }), /0 objects/);
    assert.throws(
      () => encodeAsdu({ typeId: TypeId.M_DP_NA_1, ...base, objects: [sp(1)] }),
      /double objects, not single/,
    );
    assert.throws(
      () => encodeAsdu({ typeId: TypeId.M_SP_NA_1, ...base, sequence: true, objects: [sp(1), sp(3)] }),
      /consecutive/,
    );
    assert.throws(() => encodeAsdu({ typeId: TypeId.M_SP_NA_1, ...base, objects: [sp(0x1000000)] }), /IOA/);
    assert.throws(
      () => encodeAsdu({ typeId: TypeId.M_SP_TB_1, ...base, objects: [sp(1)] }),
      /needs a CP56Time2a/,
    );
    // 6 + 61 × (3 + 1) = 250 octets, one more than an ASDU holds.
    const many = Array.from({ length: 61 }, (_, i) => sp(i));
    assert.throws(() => encodeAsdu({ typeId: TypeId.M_SP_NA_1, ...base, objects: many }), /exceeds 249/);
  });

  it("packs many objects into as few ASDUs as fit 249 octets", function () {
    const floats: InformationObject[] = Array.from({ length: 100 }, (_, i) => ({
      kind: "float",
      ioa: 1000 + i,
      value: i,
      quality: GOOD,
    }));
    const asdus = packAsdus(
      { typeId: TypeId.M_ME_NC_1, cot: 20, negative: false, test: false, originator: 0, commonAddress: 1 },
      floats,
    );
    // (249 − 6) / (3 + 5) = 30 objects per ASDU.
    assert.deepEqual(
      asdus.map((a) => a.objects.length),
      [30, 30, 30, 10],
    );
    for (const a of asdus) assert.ok(encodeAsdu(a).length <= 249);
    assert.deepEqual(
      asdus.flatMap((a) => a.objects),
      floats,
    );
  });
});

describe("iec104 codec: CP56Time2a", function () {
  it("decodes the worked example and its flags", function () {
    assert.deepEqual(decodeCp56(h("5c 8f 39 0c 15 0b 1a"), 0), cp56(Date.parse("2026-11-21T12:57:36.700Z")));
    assert.deepEqual(
      decodeCp56(h("5c 8f f9 8c 35 0b 1a"), 0),
      cp56(Date.parse("2026-11-21T12:57:36.700Z"), {
        invalid: true,
        substituted: true,
        summerTime: true,
        dayOfWeek: 1,
      }),
    );
  });

  it("marks impossible calendar fields invalid instead of dropping the value", function () {
    const t = decodeCp56(h("ff ff 3f 1f 00 00 00"), 0);
    assert.equal(t.invalid, true);
    assert.ok(Number.isFinite(t.epochMs));
    // Year octets 100..127 fit the 7 bits but not the standard's 0..99.
    assert.equal(decodeCp56(h("00 00 00 00 01 01 7f"), 0).invalid, true);
    assert.equal(decodeCp56(h("00 00 00 00 01 01 63"), 0).invalid, false);
  });

  it("encodes flags and refuses years outside 2000..2099", function () {
    const out = Buffer.alloc(7);
    encodeCp56(cp56(Date.parse("2099-12-31T23:59:59.999Z"), { summerTime: true, dayOfWeek: 4 }), out, 0);
    assert.deepEqual(out, h("5f ea 3b 97 9f 0c 63"));
    assert.throws(() => encodeCp56(cp56(Date.parse("1999-12-31T23:59:59.999Z")), out, 0), /2000..2099/);
    assert.throws(() => encodeCp56(cp56(NaN), out, 0), /NaN/);
  });
});
