import assert from "node:assert/strict";
import type { ModbusSessionAction } from "../../../src/protocols/modbus/session/client-session";
import { TimedSession } from "./timed-session";
import { LIBMODBUS_TRACE } from "../../fixtures/modbus/libmodbus-trace";

function outcome(actions: readonly ModbusSessionAction[], id: number): unknown {
  for (const a of actions) {
    if (a.type === "resolve" && a.id === id) return a.reply;
    if (a.type === "reject" && a.id === id)
      return a.failure.kind === "exception" ? { exception: a.failure.exceptionCode } : a.failure.kind;
  }
  return undefined;
}

/** Replay the trace through a fresh session: what we send must match, what libmodbus sent must decode. */
function replay(split: (rx: Buffer) => Buffer[], corrupt?: (rx: Buffer, i: number) => Buffer): unknown[] {
  const s = new TimedSession({ unitBackoffMs: 0, queueTimeoutMs: 0 });
  s.onConnected(0);
  const got: unknown[] = [];
  LIBMODBUS_TRACE.forEach((x, i) => {
    const { id, actions } = s.submit(1, x.request, i);
    const writes = actions.filter((a) => a.type === "write");
    assert.equal(writes.length, 1);
    assert.equal(writes[0].type === "write" && writes[0].bytes.toString("hex"), x.tx, `request ${i}`);
    const rx = Buffer.from(x.rx, "hex");
    const all: ModbusSessionAction[] = [];
    for (const part of split(corrupt ? corrupt(rx, i) : rx)) all.push(...s.onData(part, i));
    got.push(outcome(all, id) ?? all.find((a) => a.type === "close"));
  });
  return got;
}

describe("modbus session replaying a libmodbus trace", () => {
  const expected = LIBMODBUS_TRACE.map((x) => x.expect);

  it("sends byte for byte what libmodbus accepted and decodes what it answered", () => {
    assert.deepEqual(
      replay((rx) => [rx]),
      expected,
    );
  });

  it("decodes the same when every reply arrives one octet at a time", () => {
    assert.deepEqual(
      replay((rx) => [...rx].map((b) => Buffer.from([b]))),
      expected,
    );
  });

  it("turns a corrupted byte count into a malformed reply for that request only", () => {
    const got = replay(
      (rx) => [rx],
      (rx, i) => {
        if (i !== 0) return rx;
        const bad = Buffer.from(rx);
        bad[8] = 4; // byte count 6 → 4: disagrees with the 3 registers asked for and the length
        return bad;
      },
    );
    assert.equal(got[0], "malformed-reply");
    assert.deepEqual(got.slice(1), expected.slice(1));
  });

  it("asks to close when a reply's protocol id is corrupted, and fails nothing itself", () => {
    const s = new TimedSession({ unitBackoffMs: 0, queueTimeoutMs: 0 });
    s.onConnected(0);
    const first = LIBMODBUS_TRACE[0];
    s.submit(1, first.request, 0);
    const bad = Buffer.from(first.rx, "hex");
    bad[3] = 1;
    assert.deepEqual(s.onData(bad, 1), [
      { type: "close", reason: "lost Modbus framing: protocol identifier 1 is not 0 (Modbus)" },
    ]);
    // The transport then reports the disconnect; the read goes back to the queue for the next connection.
    assert.deepEqual(s.onDisconnected(2), []);
    assert.equal(s.queued, 1);
  });
});
