/**
 * FC 22, mask write register (Application Protocol §6.16): the codec from the specification's example,
 * the echo check, corrupted requests answered with exception 03, and the server core applying the masks.
 */
import assert from "node:assert/strict";
import {
  applyMask,
  decodeReply,
  decodeRequest,
  encodeReply,
  encodeRequest,
  isReadOnly,
  validateRequest,
  type ModbusRequest,
} from "../../../src/protocols/modbus/codec/pdu";
import { decodeMbap, encodeMbap } from "../../../src/protocols/modbus/codec/mbap";
import { ModbusServerCore } from "../../../src/protocols/modbus/server";
import { hex } from "../../fixtures/modbus/frames";

// The specification's example: register 4 (0x0004), AND 0x00F2, OR 0x0025; 0x12 becomes 0x17.
const SPEC_REQUEST: ModbusRequest = { fn: "maskWriteRegister", address: 4, andMask: 0x00f2, orMask: 0x0025 };
const SPEC_PDU = "16 0004 00F2 0025";

describe("modbus FC 22 mask write register", () => {
  describe("codec", () => {
    it("encodes and decodes the specification's example both ways; the reply is the echo", () => {
      assert.deepEqual(encodeRequest(SPEC_REQUEST), hex(SPEC_PDU));
      assert.deepEqual(decodeRequest(hex(SPEC_PDU)), { kind: "request", request: SPEC_REQUEST });
      assert.deepEqual(encodeReply(SPEC_REQUEST), hex(SPEC_PDU));
      assert.deepEqual(decodeReply(SPEC_REQUEST, hex(SPEC_PDU)), { kind: "ok", reply: { kind: "written" } });
      assert.equal(isReadOnly(SPEC_REQUEST), false);
    });

    it("computes the specification's result and leaves a register 16 bits wide", () => {
      assert.equal(applyMask(0x12, 0x00f2, 0x0025), 0x17);
      assert.equal(applyMask(0xffff, 0xffff, 0x0000), 0xffff);
      assert.equal(applyMask(0x1234, 0x0000, 0xabcd), 0xabcd);
      assert.equal(applyMask(0x00ff, 0xfffe, 0x0000), 0x00fe);
    });

    it("refuses masks outside 16 bits", () => {
      assert.equal(validateRequest(SPEC_REQUEST), undefined);
      assert.match(validateRequest({ ...SPEC_REQUEST, andMask: 0x10000 }) ?? "", /masks/);
      assert.match(validateRequest({ ...SPEC_REQUEST, orMask: -1 }) ?? "", /masks/);
      assert.throws(() => encodeRequest({ ...SPEC_REQUEST, orMask: 1.5 }), RangeError);
    });

    it("refuses replies that are not the exact echo", () => {
      for (const bad of [
        "16 0004 00F2 0024",
        "16 0005 00F2 0025",
        "16 0004 00F2",
        "16 0004 00F2 0025 00",
        "10 0004 0001",
      ]) {
        assert.equal(decodeReply(SPEC_REQUEST, hex(bad)).kind, "malformed", bad);
      }
      assert.equal(decodeReply(SPEC_REQUEST, hex("96 02")).kind, "exception");
    });

    it("answers 03 for a request that is not exactly 7 octets", () => {
      for (const bad of ["16", "16 0004 00F2 00", "16 0004 00F2 0025 00"]) {
        const r = decodeRequest(hex(bad));
        assert.equal(r.kind === "exception" && r.code, 3, bad);
      }
    });
  });

  describe("server core", () => {
    const ask = (core: ModbusServerCore, pdu: string): string => {
      const out = core.connection().onData(encodeMbap(9, 1, hex(pdu)));
      assert.equal(out.replies.length, 1);
      const r = decodeMbap(out.replies[0]);
      assert.ok(r.kind === "frame");
      return r.frame.pdu.toString("hex").toUpperCase();
    };
    const SIZES = { coils: 1, discreteInputs: 1, holdingRegisters: 10, inputRegisters: 1 };

    it("applies the masks to the register, echoes the request and reports the write", () => {
      const core = new ModbusServerCore({ units: [1], sizes: SIZES });
      core.unit(1).holdingRegisters[4] = 0x12;
      const writes: string[] = [];
      core.onWrite((u, t, a, n) => writes.push(`${u}:${t}:${a}x${n}`));
      assert.equal(ask(core, SPEC_PDU), "16000400F20025");
      assert.equal(core.unit(1).holdingRegisters[4], 0x17);
      assert.deepEqual(writes, ["1:holdingRegisters:4x1"]);
    });

    it("answers 02 for a register outside the table", () => {
      const core = new ModbusServerCore({ units: [1], sizes: SIZES });
      assert.equal(ask(core, "16 000A 00F2 0025"), "9602");
    });
  });
});
