import assert from "node:assert/strict";
import { ModbusServerCore } from "../../../src/protocols/modbus/server";
import { decodeMbap, encodeMbap } from "../../../src/protocols/modbus/codec/mbap";
import { hex } from "../../fixtures/modbus/frames";
import { decodeDeviceIdReply, type DeviceIdAccess } from "../../../src/protocols/modbus/codec/device-id";

const SIZES = { coils: 100, discreteInputs: 50, holdingRegisters: 200, inputRegisters: 20 };

function ask(core: ModbusServerCore, unit: number, pdu: string): string | undefined {
  const out = core.connection().onData(encodeMbap(7, unit, hex(pdu)));
  assert.equal(out.close, undefined);
  if (out.replies.length === 0) return undefined;
  assert.equal(out.replies.length, 1);
  const r = decodeMbap(out.replies[0]);
  assert.ok(r.kind === "frame");
  assert.equal(r.frame.transactionId, 7);
  assert.equal(r.frame.unitId, unit);
  return r.frame.pdu.toString("hex").toUpperCase();
}

describe("modbus simulator server core", () => {
  it("serves the four tables of each configured unit separately", () => {
    const core = new ModbusServerCore({ units: [1, 2], sizes: SIZES });
    core.unit(1).holdingRegisters.set([0x1234, 0x5678], 10);
    core.unit(2).inputRegisters[0] = 0xabcd;
    core.unit(1).discreteInputs.set([1, 0, 1], 0);
    assert.equal(ask(core, 1, "03 000A 0002"), "0304" + "12345678");
    assert.equal(ask(core, 2, "03 000A 0002"), "0304" + "00000000");
    assert.equal(ask(core, 2, "04 0000 0001"), "0402ABCD");
    assert.equal(ask(core, 1, "02 0000 0003"), "020105");
    const writes: string[] = [];
    core.onWrite((u, t, a, n) => writes.push(`${u}:${t}:${a}x${n}`));
    assert.equal(ask(core, 1, "10 0000 0002 04 0001 0002"), "1000000002");
    assert.equal(ask(core, 1, "0F 0003 0003 01 05"), "0F00030003");
    assert.equal(ask(core, 1, "05 0009 FF00"), "050009FF00");
    assert.equal(ask(core, 1, "01 0003 0007"), "010145");
    assert.deepEqual(Array.from(core.unit(1).holdingRegisters.subarray(0, 2)), [1, 2]);
    assert.deepEqual(writes, ["1:holdingRegisters:0x2", "1:coils:3x3", "1:coils:9x1"]);
  });

  it("answers 02 past a table's end, 03 for bad counts, 01 for unknown functions", () => {
    const core = new ModbusServerCore({ units: [1], sizes: SIZES });
    assert.equal(ask(core, 1, "03 00C7 0002"), "8302");
    assert.equal(ask(core, 1, "03 00C6 0002")?.slice(0, 4), "0304");
    assert.equal(ask(core, 1, "04 0014 0001"), "8402");
    assert.equal(ask(core, 1, "06 00C8 0001"), "8602");
    assert.equal(ask(core, 1, "03 0000 007E"), "8303");
    assert.equal(ask(core, 1, "03 0000 0000"), "8303");
    assert.equal(ask(core, 1, "07"), "8701");
    assert.equal(ask(core, 1, "83 02"), "8301");
    assert.equal(core.stats.exceptions, 7);
  });

  it("ignores other unit ids, or answers 0B as a gateway", () => {
    assert.equal(ask(new ModbusServerCore({ units: [1], sizes: SIZES }), 5, "03 0000 0001"), undefined);
    const gw = new ModbusServerCore({ units: [1], sizes: SIZES, unknownUnit: "gateway" });
    assert.equal(ask(gw, 5, "03 0000 0001"), "830B");
  });

  it("answers 0xFF and 0 over MBAP with its first unit, the ids of a device reached directly", () => {
    // Messaging Implementation Guide §4.4.2: a server reached by its IP address takes 0xFF.
    const core = new ModbusServerCore({ units: [3, 4], sizes: SIZES });
    core.unit(3).holdingRegisters[0] = 0x0102;
    const writes: string[] = [];
    core.onWrite((u, t, a, n) => writes.push(`${u}:${t}:${a}x${n}`));
    assert.equal(ask(core, 0xff, "03 0000 0001"), "03020102");
    assert.equal(ask(core, 0, "06 0001 0009"), "0600010009");
    assert.equal(core.unit(3).holdingRegisters[1], 9);
    assert.deepEqual(writes, ["3:holdingRegisters:1x1"], "the write is the first unit's");
    // A listed 0xFF is itself; other ids stay unanswered.
    const own = new ModbusServerCore({ units: [1, 0xff], sizes: SIZES });
    own.unit(0xff).holdingRegisters[0] = 7;
    assert.equal(ask(own, 0xff, "03 0000 0001"), "03020007");
    assert.equal(ask(core, 5, "03 0000 0001"), undefined);
  });

  it("asks to close on a lost framing, after answering the good frames before it", () => {
    const core = new ModbusServerCore({ units: [1], sizes: SIZES });
    const out = core
      .connection()
      .onData(Buffer.concat([encodeMbap(1, 1, hex("03 0000 0001")), hex("0001 0007 0006 01 03 0000 0001")]));
    assert.equal(out.replies.length, 1);
    assert.match(out.close ?? "", /protocol identifier 7/);
  });

  it("survives 10,000 random frames and never answers with truncated data", () => {
    // A deterministic generator (xorshift32) so a failure reproduces.
    let seed = 0x2545f491;
    const rand = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const fcs = [1, 2, 3, 4, 5, 6, 15, 16, 0x16, 0x17, 0, 7, 8, 0x2b, 0x83, 0xff];
    const core = new ModbusServerCore({ units: [1, 2], sizes: SIZES, unknownUnit: "gateway" });
    const conn = core.connection();
    let replies = 0;
    for (let i = 0; i < 10000; i++) {
      const len = 1 + rand(i % 10 === 0 ? 253 : 12);
      const pdu = Buffer.alloc(len);
      for (let j = 0; j < len; j++) pdu[j] = rand(256);
      pdu[0] = rand(4) === 0 ? rand(256) : fcs[rand(fcs.length)];
      // Keep addresses and counts often near the tables' edges, where the bugs live.
      if (len >= 5 && rand(2) === 0) {
        pdu.writeUInt16BE(rand(260), 1);
        pdu.writeUInt16BE(rand(130), 3);
      }
      const unit = rand(3);
      const out = conn.onData(encodeMbap(i & 0xffff, unit, pdu));
      assert.equal(out.close, undefined);
      for (const r of out.replies) {
        replies++;
        const f = decodeMbap(r);
        assert.ok(f.kind === "frame" && f.size === r.length);
        const reply = f.frame.pdu;
        if (reply[0] & 0x80) {
          assert.equal(reply.length, 2);
          assert.ok([1, 2, 3, 0x0b].includes(reply[1]), `exception ${reply[1]}`);
          continue;
        }
        const fc = reply[0];
        assert.equal(fc, pdu[0]);
        if ((fc >= 1 && fc <= 4) || fc === 0x17) {
          const count = pdu.readUInt16BE(3);
          const bytes = fc <= 2 ? Math.ceil(count / 8) : count * 2;
          assert.equal(reply[1], bytes, "byte count answers the requested count");
          assert.equal(reply.length, 2 + bytes, "no truncated data");
        } else if (fc === 0x2b) {
          assert.notEqual(typeof decodeDeviceIdReply(pdu[2] as DeviceIdAccess, reply), "string");
        } else if (fc === 0x16 || fc === 0x08) {
          assert.deepEqual(reply, pdu, "FC 22 and FC 8/00 echo their request");
        } else {
          assert.equal(reply.length, 5);
        }
      }
    }
    assert.ok(replies > 9000, `only ${replies} replies`);
    assert.equal(core.stats.requests, 10000);
  });
});
