import assert from "node:assert/strict";
import {
  type ModbusSessionAction,
  type ModbusSessionOptions,
} from "../../../src/protocols/modbus/session/client-session";
import { TimedSession, settled } from "./timed-session";
import { decodeMbap, encodeMbap } from "../../../src/protocols/modbus/codec/mbap";
import { decodeRequest, encodeReply, type ModbusRequest } from "../../../src/protocols/modbus/codec/pdu";

const READ: ModbusRequest = { fn: "readHoldingRegisters", address: 0, count: 2 };

/** A fake peer: parses what the session wrote and builds replies to it. */
interface Sent {
  readonly tid: number;
  readonly unit: number;
  readonly request: ModbusRequest;
}

function sent(actions: readonly ModbusSessionAction[]): Sent[] {
  const out: Sent[] = [];
  for (const a of actions) {
    if (a.type !== "write") continue;
    const r = decodeMbap(a.bytes);
    assert.equal(r.kind, "frame");
    if (r.kind !== "frame") continue;
    const req = decodeRequest(r.frame.pdu);
    assert.equal(req.kind, "request");
    if (req.kind === "request")
      out.push({ tid: r.frame.transactionId, unit: r.frame.unitId, request: req.request });
  }
  return out;
}

function reply(s: Sent, values: number[] = [1, 2], unit = s.unit): Buffer {
  return encodeMbap(s.tid, unit, encodeReply(s.request, values));
}

function session(opts: Partial<ModbusSessionOptions> = {}): TimedSession {
  return new TimedSession({ unitBackoffMs: 0, queueTimeoutMs: 0, ...opts });
}

describe("modbus client session", () => {
  it("queues while disconnected and sends on connect", () => {
    const s = session();
    const { id, actions } = s.submit(1, READ, 0);
    assert.deepEqual(actions, []);
    const w = sent(s.onConnected(10));
    assert.equal(w.length, 1);
    assert.deepEqual(w[0].request, READ);
    const done = s.onData(reply(w[0], [7, 8]), 20);
    assert.deepEqual(done, [{ type: "resolve", id, reply: { kind: "registers", values: [7, 8] } }]);
    assert.equal(s.stats.responses, 1);
  });

  it("keeps at most maxInFlight requests on the wire, each with its own transaction id", () => {
    const s = session({ maxInFlight: 2 });
    s.onConnected(0);
    const w = [1, 2, 3].flatMap((u) => sent(s.submit(u, READ, 0).actions));
    assert.equal(w.length, 2);
    assert.notEqual(w[0].tid, w[1].tid);
    assert.equal(s.queued, 1);
    // Answering the second first proves matching is by transaction id, not order.
    const a = s.onData(reply(w[1]), 1);
    assert.equal(settled(a).get(2), "ok");
    const third = sent(a);
    assert.equal(third.length, 1);
    assert.equal(third[0].unit, 3);
  });

  it("fails a request at its deadline, then discards its late reply without failing the next", () => {
    const s = session({ timeoutMs: 100 });
    s.onConnected(0);
    const first = s.submit(1, READ, 0);
    const second = s.submit(1, READ, 0);
    const w1 = sent(first.actions)[0];
    assert.equal(s.nextDeadline(), 100);
    assert.deepEqual(s.tick(99), []);
    const t = s.tick(100);
    assert.equal(settled(t).get(first.id), "timeout");
    const w2 = sent(t)[0];
    assert.notEqual(w2.tid, w1.tid);
    // The late reply to the first arrives while the second is on the wire.
    assert.deepEqual(s.onData(reply(w1), 120), []);
    assert.equal(s.stats.lateReplies, 1);
    assert.equal(s.pendingOnWire, 1);
    assert.equal(settled(s.onData(reply(w2), 130)).get(second.id), "ok");
    assert.equal(s.stats.timeouts, 1);
  });

  it("counts replies with an unknown transaction id and fails nothing", () => {
    const s = session();
    s.onConnected(0);
    const w = sent(s.submit(1, READ, 0).actions)[0];
    assert.deepEqual(s.onData(reply({ ...w, tid: (w.tid + 99) & 0xffff }), 1), []);
    assert.equal(s.stats.unknownReplies, 1);
    assert.equal(s.pendingOnWire, 1);
  });

  it("backs off a unit that timed out without stalling other units behind the gateway", () => {
    const s = session({ timeoutMs: 100, unitBackoffMs: 1000, unitBackoffMaxMs: 4000 });
    s.onConnected(0);
    const dead = s.submit(9, READ, 0);
    const queuedForDead = s.submit(9, READ, 0);
    const live = s.submit(2, READ, 0);
    assert.equal(sent(dead.actions)[0].unit, 9);
    const t = s.tick(100);
    const r = settled(t);
    assert.equal(r.get(dead.id), "timeout");
    assert.equal(r.get(queuedForDead.id), "unit-backoff");
    const next = sent(t);
    assert.equal(next.length, 1);
    assert.equal(next[0].unit, 2);
    assert.equal(settled(s.onData(reply(next[0]), 110)).get(live.id), "ok");
    // New requests for the dead unit fail fast until the backoff ends...
    assert.equal(settled(s.submit(9, READ, 500).actions).size, 1);
    assert.equal(s.stats.backoffRejects, 2);
    // ...then one goes out as a probe; a second timeout doubles the backoff.
    const probe = s.submit(9, READ, 1100);
    assert.equal(sent(probe.actions).length, 1);
    s.tick(1200);
    assert.equal(s.unitBackedOffUntil(9, 1200), 3200);
    // A reply clears it.
    const later = s.submit(9, READ, 3200);
    const w = sent(later.actions)[0];
    assert.equal(settled(s.onData(reply(w), 3210)).get(later.id), "ok");
    assert.equal(s.unitBackedOffUntil(9, 3210), undefined);
  });

  it("asks to reconnect after N timeouts in a row with nothing received, not while others answer", () => {
    const s = session({ timeoutMs: 100, reconnectAfterTimeouts: 3, maxInFlight: 2 });
    const closes = (a: readonly ModbusSessionAction[]) => a.filter((x) => x.type === "close");
    s.onConnected(0);
    s.submit(1, READ, 0);
    s.submit(2, READ, 0);
    assert.deepEqual(closes(s.tick(100)), []);
    // A reply from another unit resets the count...
    const [b] = sent(s.submit(3, READ, 100).actions);
    s.onData(reply(b), 150);
    s.submit(4, READ, 150);
    s.submit(5, READ, 150);
    assert.deepEqual(closes(s.tick(250)), []);
    // ...and so does a stray frame.
    s.onData(encodeMbap(0x7777, 1, Buffer.from([0x03, 0x00])), 260);
    s.submit(6, READ, 260);
    assert.deepEqual(closes(s.tick(360)), []);
    s.submit(7, READ, 360);
    s.submit(8, READ, 360);
    assert.deepEqual(closes(s.tick(460)), [
      { type: "close", reason: "no reply to 3 requests in a row; reconnecting" },
    ]);
    assert.equal(s.stats.timeouts, 7);
  });

  it("never asks to reconnect for timeouts when reconnectAfterTimeouts is 0", () => {
    const s = session({ timeoutMs: 10, reconnectAfterTimeouts: 0 });
    s.onConnected(0);
    for (let t = 0; t < 100; t += 10) {
      s.submit(1, READ, t);
      assert.equal(
        s.tick(t + 10).some((x) => x.type === "close"),
        false,
      );
    }
  });

  it("caps the backoff at unitBackoffMaxMs", () => {
    const s = session({ timeoutMs: 10, unitBackoffMs: 1000, unitBackoffMaxMs: 1500 });
    s.onConnected(0);
    s.submit(1, READ, 0);
    s.tick(10);
    s.submit(1, READ, 1010);
    s.tick(1020);
    assert.equal(s.unitBackedOffUntil(1, 1020), 2520);
  });

  it("rejects requests beyond the queue bound and counts them", () => {
    const s = session({ maxQueue: 2 });
    s.submit(1, READ, 0);
    s.submit(1, READ, 0);
    const over = s.submit(1, READ, 0);
    assert.equal(settled(over.actions).get(over.id), "queue-full");
    assert.equal(s.stats.queueOverflows, 1);
    assert.equal(s.queued, 2);
  });

  it("keeps the queue across a reconnect, requeues in-flight reads first and fails in-flight writes", () => {
    const s = session({ maxInFlight: 2 });
    s.onConnected(0);
    const read = s.submit(1, READ, 0);
    const write = s.submit(1, { fn: "writeSingleRegister", address: 5, value: 42 }, 0);
    const queued = s.submit(1, { fn: "readCoils", address: 0, count: 8 }, 0);
    assert.equal(s.pendingOnWire, 2);
    const d = s.onDisconnected(5);
    assert.deepEqual([...settled(d)], [[write.id, "disconnected"]]);
    assert.equal(s.queued, 2);
    const w = sent(s.onConnected(50));
    assert.deepEqual(
      w.map((x) => x.request.fn),
      ["readHoldingRegisters", "readCoils"],
    );
    const done = settled([
      ...s.onData(reply(w[0]), 60),
      ...s.onData(
        encodeMbap(
          w[1].tid,
          1,
          encodeReply(w[1].request, [true, false, true, false, true, false, true, false]),
        ),
        61,
      ),
    ]);
    assert.equal(done.get(read.id), "ok");
    assert.equal(done.get(queued.id), "ok");
  });

  it("fails an in-flight FC 23 on disconnect like a write: it writes before it reads", () => {
    const s = session({ maxInFlight: 2 });
    s.onConnected(0);
    const rw = s.submit(
      1,
      { fn: "readWriteMultipleRegisters", address: 0, count: 1, writeAddress: 4, values: [7] },
      0,
    );
    const read = s.submit(1, READ, 0);
    const d = s.onDisconnected(5);
    assert.deepEqual([...settled(d)], [[rw.id, "disconnected"]]);
    assert.equal(s.queued, 1);
    assert.deepEqual(
      sent(s.onConnected(50)).map((x) => x.request.fn),
      ["readHoldingRegisters"],
    );
    assert.notEqual(read.id, rw.id);
  });

  it("fails requests that wait in the queue longer than queueTimeoutMs", () => {
    const s = session({ queueTimeoutMs: 500 });
    const a = s.submit(1, READ, 0);
    const b = s.submit(1, READ, 300);
    assert.equal(s.nextDeadline(), 500);
    const t = settled(s.tick(500));
    assert.equal(t.get(a.id), "queue-timeout");
    assert.equal(t.has(b.id), false);
    assert.equal(s.nextDeadline(), 800);
  });

  it("discards a reply from another unit id unless rewritten unit ids are accepted", () => {
    const strict = session();
    strict.onConnected(0);
    const w = sent(strict.submit(1, READ, 0).actions)[0];
    assert.deepEqual(strict.onData(reply(w, [1, 2], 0xff), 1), []);
    assert.equal(strict.stats.unitMismatches, 1);
    // When the request then times out, its failure says what was seen and what to set.
    const failed = strict.tick(1000).find((a) => a.type === "reject");
    assert.match(
      failed?.type === "reject" ? failed.failure.message : "",
      /^unit 1: no reply within \d+ ms \(a reply came as unit 255: the gateway may rewrite unit ids; accept replies with a rewritten unit id if it does\)$/,
    );

    const lax = session({ acceptRewrittenUnitId: true });
    lax.onConnected(0);
    const r = lax.submit(1, READ, 0);
    const w2 = sent(r.actions)[0];
    assert.equal(settled(lax.onData(reply(w2, [1, 2], 0xff), 1)).get(r.id), "ok");
  });

  it("rejects with the named exception and keeps the connection for a malformed reply", () => {
    const s = session({ maxInFlight: 2 });
    s.onConnected(0);
    const a = s.submit(1, READ, 0);
    const b = s.submit(1, READ, 0);
    const [wa, wb] = sent([...a.actions, ...b.actions]);
    const ex = s.onData(encodeMbap(wa.tid, 1, Buffer.from([0x83, 0x02])), 1);
    const rej = ex.find((x) => x.type === "reject");
    assert.ok(rej && rej.type === "reject");
    assert.equal(rej.failure.kind, "exception");
    assert.equal(rej.failure.exceptionCode, 2);
    assert.match(rej.failure.message, /unit 1: Modbus exception 02 \(illegal data address\)/);
    const bad = s.onData(encodeMbap(wb.tid, 1, Buffer.from([0x03, 0x02, 0, 1])), 2);
    assert.equal(settled(bad).get(b.id), "malformed-reply");
    assert.equal(
      bad.some((x) => x.type === "close"),
      false,
    );
  });

  it("asks to close the connection when the MBAP framing is lost", () => {
    const s = session();
    s.onConnected(0);
    s.submit(1, READ, 0);
    const a = s.onData(Buffer.from("00010005000001", "hex"), 1);
    assert.equal(a.length, 1);
    assert.equal(a[0].type, "close");
  });

  it("handles replies split across segments and several in one segment", () => {
    const s = session({ maxInFlight: 3 });
    s.onConnected(0);
    const subs = [1, 2, 3].map(() => s.submit(1, READ, 0));
    const w = sent(subs.flatMap((x) => x.actions));
    const all = Buffer.concat(w.map((x) => reply(x)));
    const got = new Map<number, string>();
    for (const part of [all.subarray(0, 5), all.subarray(5, 20), all.subarray(20)]) {
      for (const [k, v] of settled(s.onData(part, 1))) got.set(k, v);
    }
    assert.deepEqual([...got.values()], ["ok", "ok", "ok"]);
  });

  it("refuses invalid requests up front and everything after close", () => {
    const s = session();
    const bad = s.submit(1, { fn: "readHoldingRegisters", address: 0, count: 126 }, 0);
    assert.equal(settled(bad.actions).get(bad.id), "invalid-request");
    const badUnit = s.submit(256, READ, 0);
    assert.equal(settled(badUnit.actions).get(badUnit.id), "invalid-request");
    const q = s.submit(1, READ, 0);
    assert.equal(settled(s.close()).get(q.id), "closed");
    const after = s.submit(1, READ, 0);
    assert.equal(settled(after.actions).get(after.id), "closed");
    assert.equal(s.nextDeadline(), undefined);
  });

  it("wraps transaction ids at 65536 and skips ids still on the wire", () => {
    const s = session({ maxInFlight: 2, timeoutMs: 1e9 });
    s.onConnected(0);
    const stuck = sent(s.submit(1, READ, 0).actions)[0];
    assert.equal(stuck.tid, 0);
    let last = -1;
    for (let i = 0; i < 65536; i++) {
      const w = sent(s.submit(1, READ, 0).actions)[0];
      assert.notEqual(w.tid, stuck.tid);
      last = w.tid;
      s.onData(reply(w), 1);
    }
    assert.equal(last, 1);
  });
});
