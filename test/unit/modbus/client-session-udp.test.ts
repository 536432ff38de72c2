/**
 * The client session over UDP framings (issue #20), on a timeline with no socket: one datagram is one
 * ADU, so a datagram that is not exactly one good frame is dropped whole and nothing of it carries over
 * to the next; a bad MBAP header never closes the "connection"; and a request whose reply was lost is
 * sent again (`retries`) before it fails, a late reply to its first send told apart by transaction id.
 */
import assert from "node:assert/strict";
import { aduCodec } from "../../../src/protocols/modbus/codec/framing";
import { encodeMbap } from "../../../src/protocols/modbus/codec/mbap";
import { encodeRtu } from "../../../src/protocols/modbus/codec/rtu";
import { decodeRequest, encodeReply, type ModbusRequest } from "../../../src/protocols/modbus/codec/pdu";
import {
  checkSessionOptions,
  DEFAULT_SESSION_OPTIONS,
} from "../../../src/protocols/modbus/session/client-session";
import type { ModbusSessionAction } from "../../../src/protocols/modbus/session/client-session";
import { TimedSession, settled } from "./timed-session";
import { hex } from "../../fixtures/modbus/frames";

const READ: ModbusRequest = { fn: "readHoldingRegisters", address: 0, count: 2 };

/** The MBAP frames the session wrote, one per write (a datagram each): transaction id and unit. */
function written(actions: readonly ModbusSessionAction[]): { tid: number; unit: number }[] {
  const out: { tid: number; unit: number }[] = [];
  for (const a of actions) {
    if (a.type !== "write") continue;
    const r = aduCodec("udp", "request").push(a.bytes);
    assert.equal(r.frames.length, 1, "one whole frame per datagram");
    assert.equal(decodeRequest(r.frames[0].pdu).kind, "request");
    out.push({ tid: r.frames[0].transactionId ?? -1, unit: r.frames[0].unitId });
  }
  return out;
}

const regs = (values: number[]): Buffer => encodeReply(READ, values);

describe("modbus datagram codec", () => {
  it("takes a datagram holding exactly one good frame, in either framing", () => {
    const mbap = aduCodec("udp", "response").push(encodeMbap(7, 1, regs([1, 2])));
    assert.equal(mbap.frames.length, 1);
    assert.equal(mbap.frames[0].transactionId, 7);
    const rtu = aduCodec("rtu-over-udp", "response").push(encodeRtu(3, regs([4, 5])));
    assert.deepEqual(
      rtu.frames.map((f) => [f.unitId, f.pdu.toString("hex")]),
      [[3, "0304" + "00040005"]],
    );
  });

  it("drops a truncated, a doubled, a padded or a corrupt datagram whole, and takes the next one", () => {
    for (const framing of ["udp", "rtu-over-udp"] as const) {
      const c = aduCodec(framing, "response");
      const good = framing === "udp" ? encodeMbap(1, 1, regs([9, 9])) : encodeRtu(1, regs([9, 9]));
      const corrupt = Buffer.from(good);
      corrupt[framing === "udp" ? 2 : good.length - 1] ^= 0x40; // MBAP protocol id, RTU CRC
      for (const bad of [
        good.subarray(0, good.length - 1),
        Buffer.concat([good, good]),
        Buffer.concat([good, hex("00")]),
        Buffer.concat([hex("55"), good]),
        corrupt,
      ]) {
        const r = c.push(bad);
        assert.deepEqual(r.frames, [], `${framing}: ${bad.toString("hex")}`);
        assert.equal(r.lost, undefined, "a bad datagram never loses the link");
        assert.equal(c.buffered, 0, "nothing carried over to the next datagram");
        assert.equal(
          c.push(good).frames.length,
          1,
          `${framing}: the good datagram after ${bad.toString("hex")}`,
        );
      }
      assert.ok(c.droppedOctets > 0);
    }
  });
});

describe("modbus client session over UDP", () => {
  it("allows several requests in flight for Modbus UDP, one for RTU over UDP, and 0 to 10 retries", () => {
    const base = DEFAULT_SESSION_OPTIONS;
    assert.equal(checkSessionOptions({ ...base, framing: "udp", maxInFlight: 8 }), undefined);
    assert.equal(
      checkSessionOptions({ ...base, framing: "rtu-over-udp", maxInFlight: 2 })?.field,
      "maxInFlight",
    );
    assert.equal(checkSessionOptions({ ...base, retries: 11 })?.field, "retries");
    assert.equal(checkSessionOptions({ ...base, retries: 1.5 })?.field, "retries");
  });

  it("sends a request again under a new transaction id when its reply is lost, then takes the reply", () => {
    const s = new TimedSession({ framing: "udp", retries: 2, timeoutMs: 100, unitBackoffMs: 1000 });
    s.onConnected(0);
    const a = s.submit(1, READ, 0);
    const [first] = written(a.actions);
    const again = s.tick(100);
    assert.deepEqual(settled(again), new Map(), "not failed while a retry is left");
    const [second] = written(again);
    assert.notEqual(second.tid, first.tid);
    assert.equal(s.session.stats.retries, 1);
    // The late reply to the first send is told apart by its id and counted, not taken.
    assert.deepEqual(s.onData(encodeMbap(first.tid, 1, regs([1, 1])), 120), []);
    assert.equal(s.session.stats.lateReplies, 1);
    const done = s.onData(encodeMbap(second.tid, 1, regs([3, 4])), 130);
    assert.deepEqual(done[0], { type: "resolve", id: a.id, reply: { kind: "registers", values: [3, 4] } });
    assert.equal(s.unitBackedOffUntil(1, 130), undefined, "a retry that was answered backs nothing off");
  });

  it("fails as a timeout only when the retries are spent, and backs the unit off then", () => {
    const s = new TimedSession({ framing: "rtu-over-udp", retries: 2, timeoutMs: 100, unitBackoffMs: 1000 });
    s.onConnected(0);
    const a = s.submit(1, READ, 0);
    let t = 0;
    for (let retry = 1; retry <= 2; retry++) {
      t += 100;
      const r = s.tick(t);
      assert.equal(r.filter((x) => x.type === "write").length, 1, `retry ${retry} sent`);
      assert.deepEqual(settled(r), new Map());
    }
    const last = s.tick(t + 100);
    assert.deepEqual(settled(last), new Map([[a.id, "timeout"]]));
    assert.equal(s.session.stats.timeouts, 1);
    assert.equal(s.session.stats.retries, 2);
    assert.equal(s.unitBackedOffUntil(1, t + 100), t + 100 + 1000);
  });
});
