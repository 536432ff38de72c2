/**
 * FC 8 sub-function 00, return query data (Application Protocol §6.8.1): the codec from the
 * specification's example, the echo check, bad requests answered with an exception, and our client
 * against our server core over an in-memory socket.
 */
import assert from "node:assert/strict";
import { requestExceptionCode } from "./helpers";
import { ModbusClient, ModbusRequestError } from "../../../src/core/modbus/client";
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
import { MemoryNetwork } from "../../../src/transport/memory-socket";
import { ManualClock } from "../../../src/transport/manual-clock";
import { hex } from "../../fixtures/modbus/frames";

// The specification's example: sub-function 00 with the data A5 37.
const SPEC_REQUEST: ModbusRequest = { fn: "diagnosticsEcho", data: [0xa537] };
const SPEC_PDU = "08 0000 A537";

describe("modbus FC 8/00 diagnostics echo", () => {
  describe("codec", () => {
    it("encodes and decodes the specification's example both ways; the reply is the echo", () => {
      assert.deepEqual(encodeRequest(SPEC_REQUEST), hex(SPEC_PDU));
      assert.deepEqual(decodeRequest(hex(SPEC_PDU)), { kind: "request", request: SPEC_REQUEST });
      assert.deepEqual(encodeReply(SPEC_REQUEST), hex(SPEC_PDU));
      assert.deepEqual(decodeReply(SPEC_REQUEST, hex(SPEC_PDU)), {
        kind: "ok",
        reply: { kind: "echo", data: [0xa537] },
      });
      assert.equal(isReadOnly(SPEC_REQUEST), true);
    });

    it("echoes no data, or up to 125 words, and nothing that is not a word", () => {
      assert.deepEqual(encodeRequest({ fn: "diagnosticsEcho", data: [] }), hex("08 0000"));
      assert.equal(validateRequest({ fn: "diagnosticsEcho", data: Array<number>(125).fill(1) }), undefined);
      assert.match(
        validateRequest({ fn: "diagnosticsEcho", data: Array<number>(126).fill(1) }) ?? "",
        /126 words/,
      );
      assert.match(validateRequest({ fn: "diagnosticsEcho", data: [1, 0x10000] }) ?? "", /index 1/);
      assert.throws(() => encodeRequest({ fn: "diagnosticsEcho", data: [-1] }), RangeError);
    });

    it("refuses a reply that is not the exact echo", () => {
      for (const bad of [
        "08 0000 A536",
        "08 0001 A537",
        "08 0000",
        "08 0000 A537 00",
        "08",
        "03 0000 A537",
      ]) {
        assert.equal(decodeReply(SPEC_REQUEST, hex(bad)).kind, "malformed", bad);
      }
      assert.equal(decodeReply(SPEC_REQUEST, hex("88 01")).kind, "exception");
    });

    it("answers 03 for an odd or short request and 01 for other sub-functions", () => {
      const code = requestExceptionCode;
      assert.equal(code("08"), 3);
      assert.equal(code("08 00"), 3);
      assert.equal(code("08 0000 A5"), 3);
      assert.equal(code("08 0001 0000"), 1);
      assert.equal(code("08 000A 0000"), 1);
      assert.equal(code("08 0000"), undefined);
    });
  });

  describe("server core and client", () => {
    it("echoes from any served unit without touching its tables, and not for other units", () => {
      const core = new ModbusServerCore({
        units: [1],
        sizes: { coils: 0, discreteInputs: 0, holdingRegisters: 0, inputRegisters: 0 },
      });
      const out = core.connection().onData(encodeMbap(4, 1, hex("08 0000 1234 5678")));
      const r = decodeMbap(out.replies[0]);
      assert.ok(r.kind === "frame");
      assert.deepEqual(r.frame.pdu, hex("08 0000 1234 5678"));
      assert.equal(core.connection().onData(encodeMbap(5, 2, hex(SPEC_PDU))).replies.length, 0);
      const sub = decodeMbap(core.connection().onData(encodeMbap(6, 1, hex("08 0004 0000"))).replies[0]);
      assert.ok(sub.kind === "frame");
      assert.deepEqual(sub.frame.pdu, hex("88 01"));
    });

    it("lets our client check the path to a unit", async () => {
      const core = new ModbusServerCore({ units: [7] });
      const net = new MemoryNetwork();
      const client = new ModbusClient({ socketFactory: net.factory, clock: new ManualClock() });
      client.start();
      const link = net.last;
      const conn = core.connection();
      link.onWrite = (bytes) => {
        for (const reply of conn.onData(bytes).replies) link.send(reply);
      };
      link.accept();
      try {
        assert.deepEqual(await client.diagnosticsEcho(7, [0xa537, 0]), [0xa537, 0]);
        assert.deepEqual(await client.diagnosticsEcho(7, []), []);
        await assert.rejects(client.diagnosticsEcho(7, [0x10000]), ModbusRequestError);
      } finally {
        client.close();
      }
    });
  });
});
