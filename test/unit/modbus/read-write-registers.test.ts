/**
 * FC 23, read/write multiple registers (Application Protocol §6.17): the codec from the specification's
 * example, its limits, corrupted requests answered with an exception, and the server core's order of
 * operations (write first, then read).
 */
import assert from "node:assert/strict";
import { requestExceptionCode } from "./helpers";
import {
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

// The specification's example: read 6 registers from 3 (0x0003), write 3 registers at 14 (0x000E).
const SPEC_REQUEST: ModbusRequest = {
  fn: "readWriteMultipleRegisters",
  address: 3,
  count: 6,
  writeAddress: 14,
  values: [0x00ff, 0x00ff, 0x00ff],
};
const SPEC_REQUEST_PDU = "17 0003 0006 000E 0003 06 00FF 00FF 00FF";
const SPEC_REPLY_PDU = "17 0C 00FE 0ACD 0001 0003 000D 00FF";
const SPEC_READ = [0x00fe, 0x0acd, 0x0001, 0x0003, 0x000d, 0x00ff];

const rw = (count: number, writes: number, address = 0, writeAddress = 0): ModbusRequest => ({
  fn: "readWriteMultipleRegisters",
  address,
  count,
  writeAddress,
  values: Array<number>(writes).fill(1),
});

describe("modbus FC 23 read/write multiple registers", () => {
  describe("codec", () => {
    it("encodes and decodes the specification's example both ways", () => {
      assert.deepEqual(encodeRequest(SPEC_REQUEST), hex(SPEC_REQUEST_PDU));
      assert.deepEqual(decodeRequest(hex(SPEC_REQUEST_PDU)), { kind: "request", request: SPEC_REQUEST });
      assert.deepEqual(encodeReply(SPEC_REQUEST, SPEC_READ), hex(SPEC_REPLY_PDU));
      assert.deepEqual(decodeReply(SPEC_REQUEST, hex(SPEC_REPLY_PDU)), {
        kind: "ok",
        reply: { kind: "registers", values: SPEC_READ },
      });
    });

    it("is not read-only: a lost connection must not resend it", () => {
      assert.equal(isReadOnly(SPEC_REQUEST), false);
      assert.equal(isReadOnly({ fn: "readHoldingRegisters", address: 0, count: 1 }), true);
    });

    it("limits reads to 125 and writes to 121 registers, inside the address space", () => {
      assert.equal(validateRequest(rw(125, 121)), undefined);
      assert.match(validateRequest(rw(126, 1)) ?? "", /count 126 is outside 1\.\.125/);
      assert.match(validateRequest(rw(0, 1)) ?? "", /1\.\.125/);
      assert.match(validateRequest(rw(1, 122)) ?? "", /write count 122 is outside 1\.\.121/);
      assert.match(validateRequest(rw(1, 0)) ?? "", /write count 0/);
      assert.match(validateRequest(rw(1, 2, 0, 65535)) ?? "", /write address 65535 \+ count 2 runs past/);
      assert.match(validateRequest(rw(1, 1, 0, 65536)) ?? "", /write address 65536 is outside/);
      assert.match(
        validateRequest({ ...SPEC_REQUEST, values: [1, 65536] } as ModbusRequest) ?? "",
        /index 1 is not 0\.\.65535/,
      );
      assert.throws(() => encodeRequest(rw(1, 122)), RangeError);
    });

    it("refuses replies that do not carry exactly the registers asked for", () => {
      for (const bad of [
        "17 0C 00FE 0ACD 0001 0003 000D",
        "17 0C 00FE 0ACD 0001 0003 000D 00FF 00",
        "17 0A 00FE 0ACD 0001 0003 000D",
        "17",
        "03 0C 00FE 0ACD 0001 0003 000D 00FF",
        "97 02 00",
      ]) {
        assert.equal(decodeReply(SPEC_REQUEST, hex(bad)).kind, "malformed", bad);
      }
      assert.equal(decodeReply(SPEC_REQUEST, hex("97 02")).kind, "exception");
    });

    it("answers 03 for short, padded or inconsistent requests and 02 past the address space", () => {
      const code = requestExceptionCode;
      assert.equal(code("17"), 3);
      assert.equal(code("17 0003 0006 000E 0003"), 3);
      assert.equal(code("17 0003 0006 000E 0003 06 00FF 00FF"), 3);
      assert.equal(code("17 0003 0006 000E 0003 06 00FF 00FF 00FF 00"), 3);
      assert.equal(code("17 0003 0006 000E 0003 04 00FF 00FF"), 3);
      assert.equal(code("17 0003 0000 000E 0001 02 00FF"), 3);
      assert.equal(code("17 0003 007E 000E 0001 02 00FF"), 3);
      assert.equal(code("17 0003 0001 000E 0000 00"), 3);
      assert.equal(code("17 FFFF 0002 000E 0001 02 00FF"), 2);
      assert.equal(code("17 0000 0001 FFFF 0002 04 00FF 00FF"), 2);
      assert.equal(code("17 0000 007D 0000 0001 02 00FF"), undefined);
    });
  });

  describe("server core", () => {
    const SIZES = { coils: 10, discreteInputs: 10, holdingRegisters: 100, inputRegisters: 10 };
    const ask = (core: ModbusServerCore, pdu: string): string => {
      const out = core.connection().onData(encodeMbap(3, 1, hex(pdu)));
      assert.equal(out.replies.length, 1);
      const r = decodeMbap(out.replies[0]);
      assert.ok(r.kind === "frame");
      return r.frame.pdu.toString("hex").toUpperCase();
    };

    it("writes before it reads, so an overlapping read returns the values just written", () => {
      const core = new ModbusServerCore({ units: [1], sizes: SIZES });
      core.unit(1).holdingRegisters.set([10, 11, 12, 13], 0);
      const writes: string[] = [];
      core.onWrite((u, t, a, n) => writes.push(`${u}:${t}:${a}x${n}`));
      assert.equal(ask(core, "17 0000 0004 0002 0002 04 ABCD 1234"), "1708" + "000A000BABCD1234");
      assert.deepEqual(Array.from(core.unit(1).holdingRegisters.subarray(0, 4)), [10, 11, 0xabcd, 0x1234]);
      assert.deepEqual(writes, ["1:holdingRegisters:2x2"]);
    });

    it("answers 02 when either range leaves the table, and then writes nothing", () => {
      const core = new ModbusServerCore({ units: [1], sizes: SIZES });
      assert.equal(ask(core, "17 0063 0002 0000 0001 02 0005"), "9702");
      assert.equal(ask(core, "17 0000 0001 0063 0002 04 0005 0006"), "9702");
      assert.equal(core.unit(1).holdingRegisters[0], 0);
      assert.equal(ask(core, "17 0000 0001 0063 0001 02 0005"), "170200" + "00");
      assert.equal(core.unit(1).holdingRegisters[99], 5);
    });
  });
});
