/**
 * The client session with RTU-over-TCP framing (issue #20), on a timeline with no socket: one request
 * on the wire at a time, replies matched by order, late and stray replies discarded rather than taken as
 * the next request's answer, garbage dropped without closing the connection, and the octets held for a
 * request that timed out dropped with it.
 */
import assert from "node:assert/strict";
import {
  checkSessionOptions,
  DEFAULT_SESSION_OPTIONS,
  type ModbusSessionAction,
} from "../../../src/protocols/modbus/session/client-session";
import { TimedSession, settled } from "./timed-session";
import { crc16, encodeRtu, rtuAssembler } from "../../../src/protocols/modbus/codec/rtu";
import { decodeRequest, encodeReply, type ModbusRequest } from "../../../src/protocols/modbus/codec/pdu";
import { encodeException, ExceptionCode } from "../../../src/protocols/modbus/codec/exceptions";

const READ: ModbusRequest = { fn: "readHoldingRegisters", address: 0, count: 2 };
const READ_IR: ModbusRequest = { fn: "readInputRegisters", address: 5, count: 1 };

interface Sent {
  readonly unit: number;
  readonly request: ModbusRequest;
}

/** What the session wrote, read back as a server would: RTU request frames with a good CRC. */
function sent(actions: readonly ModbusSessionAction[]): Sent[] {
  const out: Sent[] = [];
  for (const a of actions) {
    if (a.type !== "write") continue;
    assert.equal(crc16(a.bytes, 0, a.bytes.length - 2), a.bytes.readUInt16LE(a.bytes.length - 2));
    const r = rtuAssembler("request").push(a.bytes);
    assert.equal(r.frames.length, 1, "one whole RTU frame per write");
    const req = decodeRequest(r.frames[0].pdu);
    assert.equal(req.kind, "request");
    if (req.kind === "request") out.push({ unit: r.frames[0].unitId, request: req.request });
  }
  return out;
}

function reply(s: Sent, values: number[] = [1, 2], unit = s.unit): Buffer {
  return encodeRtu(unit, encodeReply(s.request, values));
}

function session(): TimedSession {
  return new TimedSession({ framing: "rtu-over-tcp", unitBackoffMs: 0, queueTimeoutMs: 0, timeoutMs: 100 });
}

describe("modbus client session, RTU over TCP", () => {
  it("refuses more than one request in flight, and an unknown framing", () => {
    const base = { ...DEFAULT_SESSION_OPTIONS, framing: "rtu-over-tcp" as const };
    assert.equal(checkSessionOptions({ ...base, maxInFlight: 2 })?.field, "maxInFlight");
    assert.equal(checkSessionOptions(base), undefined);
    const odd = { ...DEFAULT_SESSION_OPTIONS, framing: "modbus-plus" } as unknown as typeof base;
    assert.equal(checkSessionOptions(odd)?.field, "framing");
    assert.throws(() => new TimedSession({ framing: "rtu-over-tcp", maxInFlight: 4 }), RangeError);
  });

  it("sends RTU frames one at a time and matches each reply by order", () => {
    const s = session();
    s.onConnected(0);
    const a = s.submit(1, READ, 1);
    const b = s.submit(2, READ_IR, 1);
    const w1 = sent(a.actions);
    assert.deepEqual(w1, [{ unit: 1, request: READ }]);
    assert.equal(s.pendingOnWire, 1);
    assert.equal(s.queued, 1);
    const r1 = s.onData(reply(w1[0], [7, 8]), 5);
    assert.deepEqual(r1[0], { type: "resolve", id: a.id, reply: { kind: "registers", values: [7, 8] } });
    const w2 = sent(r1);
    assert.deepEqual(w2, [{ unit: 2, request: READ_IR }]);
    // Split at every octet the reply still completes once, at its last octet.
    const bytes = reply(w2[0], [9]);
    for (let i = 0; i < bytes.length - 1; i++) assert.deepEqual(s.onData(bytes.subarray(i, i + 1), 6), []);
    assert.deepEqual(settled(s.onData(bytes.subarray(bytes.length - 1), 7)), new Map([[b.id, "ok"]]));
  });

  it("passes an exception reply to its request", () => {
    const s = session();
    s.onConnected(0);
    const a = s.submit(1, READ, 1);
    const done = s.onData(encodeRtu(1, encodeException(0x03, ExceptionCode.ILLEGAL_DATA_ADDRESS)), 2);
    assert.deepEqual(settled(done), new Map([[a.id, "exception"]]));
  });

  it("drops garbage and a bad CRC without closing, then takes the good reply", () => {
    const s = session();
    s.onConnected(0);
    const a = s.submit(1, READ, 1);
    const w = sent(a.actions);
    const bad = reply(w[0], [1, 1]);
    bad[3] ^= 0xff;
    const done = s.onData(Buffer.concat([bad, reply(w[0], [4, 5])]), 2);
    assert.ok(done.every((x) => x.type !== "close"));
    assert.deepEqual(done[0], { type: "resolve", id: a.id, reply: { kind: "registers", values: [4, 5] } });
    assert.ok(s.stats.droppedOctets > 0);
  });

  it("discards a late reply to a timed-out request instead of taking it as the next one's answer", () => {
    const s = session();
    s.onConnected(0);
    const a = s.submit(1, READ, 0);
    const w1 = sent(a.actions);
    const b = s.submit(1, READ_IR, 0);
    const t = s.tick(100);
    assert.equal(settled(t).get(a.id), "timeout");
    const w2 = sent(t);
    assert.deepEqual(w2, [{ unit: 1, request: READ_IR }]);
    // The late reply to the first read (another function) arrives while the second is on the wire.
    assert.deepEqual(s.onData(reply(w1[0], [1, 2]), 110), []);
    assert.equal(s.stats.lateReplies, 1);
    // A reply from another unit is not the answer either.
    assert.deepEqual(s.onData(reply(w2[0], [3], 9), 111), []);
    assert.equal(s.stats.unitMismatches, 1);
    assert.deepEqual(settled(s.onData(reply(w2[0], [3]), 112)), new Map([[b.id, "ok"]]));
  });

  it("drops the octets held for a request that timed out, so the next reply is read whole", () => {
    const s = session();
    s.onConnected(0);
    const a = s.submit(1, READ, 0);
    const w1 = sent(a.actions);
    // Half a reply, then silence until the deadline.
    s.onData(reply(w1[0]).subarray(0, 4), 10);
    const t = s.tick(100);
    assert.equal(settled(t).get(a.id), "timeout");
    const b = s.submit(1, READ, 101);
    const w2 = sent(b.actions);
    assert.deepEqual(settled(s.onData(reply(w2[0], [6, 6]), 105)), new Map([[b.id, "ok"]]));
  });

  it("counts a reply with nothing on the wire as unknown", () => {
    const s = session();
    s.onConnected(0);
    assert.deepEqual(s.onData(encodeRtu(1, encodeReply(READ, [1, 2])), 1), []);
    assert.equal(s.stats.unknownReplies, 1);
  });
});
