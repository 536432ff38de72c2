/**
 * The server core with RTU-over-TCP framing (issue #20): replies framed as RTU with a good CRC, garbage
 * and a bad CRC dropped without closing the connection, as a serial device ignores a frame that fails its
 * check, and the stream serving the next good request.
 */
import assert from "node:assert/strict";
import { ModbusServerCore } from "../../../src/protocols/modbus/server";
import { crc16, encodeRtu } from "../../../src/protocols/modbus/codec/rtu";
import { hex } from "../../fixtures/modbus/frames";

const SIZES = { coils: 10, discreteInputs: 10, holdingRegisters: 10, inputRegisters: 10 };

function served(): ModbusServerCore {
  const core = new ModbusServerCore({ units: [1], sizes: SIZES });
  core.unit(1).holdingRegisters.set([0x1234, 0x5678], 2);
  return core;
}

describe("modbus server core, RTU over TCP", () => {
  it("answers an RTU request with an RTU reply whose CRC holds", () => {
    const out = served()
      .connection("rtu-over-tcp")
      .onData(encodeRtu(1, hex("03 0002 0002")));
    assert.deepEqual(out, { replies: [encodeRtu(1, hex("03 04 1234 5678"))] });
    const r = out.replies[0];
    assert.equal(crc16(r, 0, r.length - 2), r.readUInt16LE(r.length - 2));
  });

  it("answers exceptions in RTU and stays silent for a unit it does not serve", () => {
    const conn = served().connection("rtu-over-tcp");
    assert.deepEqual(conn.onData(encodeRtu(1, hex("03 0009 0002"))).replies, [encodeRtu(1, hex("83 02"))]);
    assert.deepEqual(conn.onData(encodeRtu(5, hex("03 0000 0001"))).replies, []);
  });

  it("drops garbage and a bad CRC without closing, then serves the next request", () => {
    const core = served();
    const conn = core.connection("rtu-over-tcp");
    const bad = encodeRtu(1, hex("06 0000 0063"));
    bad[bad.length - 2] ^= 0x01;
    const out = conn.onData(Buffer.concat([hex("FF FE 00"), bad, encodeRtu(1, hex("03 0002 0001"))]));
    assert.deepEqual(out, { replies: [encodeRtu(1, hex("03 02 1234"))] });
    assert.equal(core.unit(1).holdingRegisters[0], 0, "the write with a bad CRC was not applied");
    assert.equal(core.stats.malformedStreams, 0);
  });

  it("carries out a broadcast write (address 0) on every unit and answers none; ignores a broadcast read", () => {
    const core = new ModbusServerCore({ units: [1, 2], sizes: SIZES });
    const conn = core.connection("rtu-over-tcp");
    // Serial Line §2.2: the frame an engineer's tool sends to write 77 to HR3 of every slave.
    assert.deepEqual(conn.onData(encodeRtu(0, hex("06 0003 004D"))).replies, []);
    assert.deepEqual([core.unit(1).holdingRegisters[3], core.unit(2).holdingRegisters[3]], [77, 77]);
    assert.deepEqual(conn.onData(encodeRtu(0, hex("0F 0000 0003 01 05"))).replies, []);
    assert.deepEqual(Array.from(core.unit(2).coils.subarray(0, 3)), [1, 0, 1]);
    assert.deepEqual(conn.onData(encodeRtu(0, hex("03 0003 0001"))).replies, [], "a read is not broadcast");
    // Over MBAP unit 0 is no broadcast: it names the device reached directly, answered by its first unit.
    const tcp = new ModbusServerCore({ units: [1, 2], sizes: SIZES });
    const answered = tcp.connection().onData(hex("0001 0000 0006 00 06 0003 004D"));
    assert.deepEqual(answered.replies, [hex("0001 0000 0006 00 06 0003 004D")]);
    assert.deepEqual([tcp.unit(1).holdingRegisters[3], tcp.unit(2).holdingRegisters[3]], [77, 0]);
  });

  it("still speaks MBAP on a connection of the default framing", () => {
    const out = served().connection().onData(hex("0009 0000 0006 01 03 0002 0001"));
    assert.deepEqual(out, { replies: [hex("0009 0000 0005 01 03 02 1234")] });
  });
});
