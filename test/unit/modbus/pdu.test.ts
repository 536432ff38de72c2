import assert from "node:assert/strict";
import { requestExceptionCode } from "./helpers";
import {
  decodeReply,
  decodeRequest,
  encodeReply,
  encodeRequest,
  validateRequest,
  type ModbusRequest,
} from "../../../src/protocols/modbus/codec/pdu";
import { describeException, encodeException } from "../../../src/protocols/modbus/codec/exceptions";
import * as F from "../../fixtures/modbus/frames";

const hex = F.hex;

describe("modbus PDU codec", () => {
  describe("client requests", () => {
    const vectors: [ModbusRequest, Buffer][] = [
      [{ fn: "readCoils", address: 0x13, count: 0x13 }, F.READ_COILS_PDU],
      [{ fn: "readDiscreteInputs", address: 0xc4, count: 0x16 }, F.READ_DI_PDU],
      [{ fn: "readHoldingRegisters", address: 0x6b, count: 3 }, hex("03 006B 0003")],
      [{ fn: "readInputRegisters", address: 8, count: 1 }, F.READ_IR_PDU],
      [{ fn: "writeSingleCoil", address: 0xac, value: true }, F.WRITE_COIL_PDU],
      [{ fn: "writeSingleCoil", address: 0xac, value: false }, hex("05 00AC 0000")],
      [{ fn: "writeSingleRegister", address: 1, value: 3 }, F.WRITE_REGISTER_PDU],
      [{ fn: "writeMultipleCoils", address: 0x13, values: F.WRITE_COILS_BITS }, F.WRITE_COILS_PDU],
      [{ fn: "writeMultipleRegisters", address: 1, values: [0x000a, 0x0102] }, F.WRITE_REGISTERS_PDU],
    ];
    for (const [req, pdu] of vectors) {
      it(`encodes ${req.fn} as the spec's example`, () => assert.deepEqual(encodeRequest(req), pdu));
      it(`decodes ${req.fn} back on the server side`, () =>
        assert.deepEqual(decodeRequest(pdu), { kind: "request", request: req }));
    }

    it("validates the limits jsmodbus does not", () => {
      assert.equal(validateRequest({ fn: "readHoldingRegisters", address: 0, count: 125 }), undefined);
      assert.match(validateRequest({ fn: "readHoldingRegisters", address: 0, count: 126 }) ?? "", /1\.\.125/);
      assert.match(validateRequest({ fn: "readInputRegisters", address: 0, count: 0 }) ?? "", /1\.\.125/);
      assert.equal(validateRequest({ fn: "readCoils", address: 0, count: 2000 }), undefined);
      assert.match(validateRequest({ fn: "readDiscreteInputs", address: 0, count: 2001 }) ?? "", /1\.\.2000/);
      const regs = (n: number): ModbusRequest => ({
        fn: "writeMultipleRegisters",
        address: 0,
        values: Array(n).fill(1),
      });
      assert.equal(validateRequest(regs(123)), undefined);
      assert.match(validateRequest(regs(124)) ?? "", /1\.\.123/);
      const coils = (n: number): ModbusRequest => ({
        fn: "writeMultipleCoils",
        address: 0,
        values: Array(n).fill(true),
      });
      assert.equal(validateRequest(coils(1968)), undefined);
      assert.match(validateRequest(coils(1969)) ?? "", /1\.\.1968/);
      assert.match(validateRequest({ fn: "readHoldingRegisters", address: 65535, count: 2 }) ?? "", /past/);
      assert.match(
        validateRequest({ fn: "readHoldingRegisters", address: 65536, count: 1 }) ?? "",
        /address/,
      );
      assert.match(validateRequest({ fn: "writeSingleRegister", address: 0, value: 65536 }) ?? "", /16-bit/);
      assert.match(
        validateRequest({ fn: "writeMultipleRegisters", address: 0, values: [1, -1] }) ?? "",
        /index 1/,
      );
      assert.throws(() => encodeRequest({ fn: "readHoldingRegisters", address: 0, count: 126 }), RangeError);
    });
  });

  describe("client replies", () => {
    it("decodes the spec's coil, discrete input and register replies", () => {
      assert.deepEqual(decodeReply({ fn: "readCoils", address: 0x13, count: 19 }, F.READ_COILS_REPLY_PDU), {
        kind: "ok",
        reply: { kind: "bits", values: F.READ_COILS_BITS },
      });
      const di = decodeReply({ fn: "readDiscreteInputs", address: 0xc4, count: 22 }, F.READ_DI_REPLY_PDU);
      assert.equal(di.kind, "ok");
      if (di.kind === "ok" && di.reply.kind === "bits") {
        assert.equal(di.reply.values.length, 22);
        assert.deepEqual(di.reply.values.slice(0, 8), [false, false, true, true, false, true, false, true]);
      }
      assert.deepEqual(
        decodeReply({ fn: "readHoldingRegisters", address: 0x6b, count: 3 }, hex("03 06 022B 0000 0064")),
        {
          kind: "ok",
          reply: { kind: "registers", values: [555, 0, 100] },
        },
      );
      assert.deepEqual(decodeReply({ fn: "readInputRegisters", address: 8, count: 1 }, F.READ_IR_REPLY_PDU), {
        kind: "ok",
        reply: { kind: "registers", values: [10] },
      });
    });

    it("accepts write echoes that match and refuses ones that do not", () => {
      const coil: ModbusRequest = { fn: "writeSingleCoil", address: 0xac, value: true };
      assert.deepEqual(decodeReply(coil, F.WRITE_COIL_PDU), { kind: "ok", reply: { kind: "written" } });
      assert.equal(decodeReply(coil, hex("05 00AC 0000")).kind, "malformed");
      const regs: ModbusRequest = { fn: "writeMultipleRegisters", address: 1, values: [10, 258] };
      assert.deepEqual(decodeReply(regs, F.WRITE_REGISTERS_REPLY_PDU), {
        kind: "ok",
        reply: { kind: "written" },
      });
      assert.equal(decodeReply(regs, hex("10 0001 0003")).kind, "malformed");
      const coils: ModbusRequest = { fn: "writeMultipleCoils", address: 0x13, values: F.WRITE_COILS_BITS };
      assert.deepEqual(decodeReply(coils, F.WRITE_COILS_REPLY_PDU), {
        kind: "ok",
        reply: { kind: "written" },
      });
    });

    it("names exception replies", () => {
      const r = decodeReply({ fn: "readHoldingRegisters", address: 0, count: 1 }, hex("83 02"));
      assert.deepEqual(r, {
        kind: "exception",
        code: 2,
        name: "illegal data address",
        message: "Modbus exception 02 (illegal data address)",
      });
      const names: [number, RegExp][] = [
        [1, /illegal function/],
        [3, /illegal data value/],
        [4, /server device failure/],
        [6, /busy/],
        [0x0a, /0A \(gateway path unavailable/],
        [0x0b, /0B \(gateway target device failed to respond/],
        [0x42, /unknown exception/],
      ];
      for (const [code, re] of names) assert.match(describeException(code), re);
    });

    it("refuses truncated, padded and mismatched replies", () => {
      const hr: ModbusRequest = { fn: "readHoldingRegisters", address: 0, count: 3 };
      for (const bad of [
        "03 06 022B 0000",
        "03 06 022B 0000 0064 00",
        "03 04 022B 0000",
        "04 06 022B 0000 0064",
        "83",
        "83 02 00",
        "",
        "84 02",
      ]) {
        assert.equal(decodeReply(hr, hex(bad)).kind, "malformed", bad);
      }
      const coils: ModbusRequest = { fn: "readCoils", address: 0, count: 19 };
      assert.equal(decodeReply(coils, hex("01 02 CD 6B")).kind, "malformed");
    });
  });

  describe("server side", () => {
    it("answers 01 for functions it does not serve", () => {
      assert.deepEqual(decodeRequest(hex("07")), {
        kind: "exception",
        functionCode: 0x07,
        code: 1,
        reason: "function 0x07 is not served",
      });
      const empty = decodeRequest(Buffer.alloc(0));
      assert.equal(empty.kind === "exception" && empty.code, 1);
    });

    it("answers 03 for bad counts and inconsistent byte counts, 02 past the address space", () => {
      const code = requestExceptionCode;
      assert.equal(code("03 0000 007E"), 3);
      assert.equal(code("03 0000 0000"), 3);
      assert.equal(code("01 0000 07D1"), 3);
      assert.equal(code("03 FFFF 0002"), 2);
      assert.equal(code("03 0000 0001 00"), 3);
      assert.equal(code("05 0000 1234"), 3);
      assert.equal(code("10 0001 0002 03 000A 01"), 3);
      assert.equal(code("10 0001 0002 04 000A 01"), 3);
      assert.equal(code("0F 0013 000A 01 CD"), 3);
      assert.equal(code("10 FFFF 0002 04 000A 0102"), 2);
      assert.equal(code("03 0000 007D"), undefined);
    });

    it("encodes replies byte for byte", () => {
      assert.deepEqual(
        encodeReply({ fn: "readCoils", address: 0x13, count: 19 }, F.READ_COILS_BITS),
        F.READ_COILS_REPLY_PDU,
      );
      assert.deepEqual(
        encodeReply({ fn: "readHoldingRegisters", address: 0x6b, count: 3 }, [555, 0, 100]),
        hex("03 06 022B 0000 0064"),
      );
      assert.deepEqual(
        encodeReply({ fn: "readInputRegisters", address: 8, count: 1 }, [10]),
        F.READ_IR_REPLY_PDU,
      );
      assert.deepEqual(encodeReply({ fn: "writeSingleCoil", address: 0xac, value: true }), F.WRITE_COIL_PDU);
      assert.deepEqual(
        encodeReply({ fn: "writeSingleRegister", address: 1, value: 3 }),
        F.WRITE_REGISTER_PDU,
      );
      assert.deepEqual(
        encodeReply({ fn: "writeMultipleCoils", address: 0x13, values: F.WRITE_COILS_BITS }),
        F.WRITE_COILS_REPLY_PDU,
      );
      assert.deepEqual(
        encodeReply({ fn: "writeMultipleRegisters", address: 1, values: [10, 258] }),
        F.WRITE_REGISTERS_REPLY_PDU,
      );
      assert.deepEqual(encodeException(3, 2), hex("83 02"));
      assert.throws(
        () => encodeReply({ fn: "readHoldingRegisters", address: 0, count: 3 }, [1, 2]),
        RangeError,
      );
    });
  });
});
