import assert from "node:assert/strict";
import { ModbusClient, ModbusRequestError } from "../../../src/core/modbus/client";
import { DataCollError } from "../../../src/core/errors";
import { ManualClock } from "../../../src/transport/manual-clock";
import { MemoryNetwork, type MemoryLink } from "../../../src/transport/memory-socket";
import { ModbusServerCore } from "../../../src/protocols/modbus/server";
import type { StateChange } from "../../../src/transport/connection";

/** Connect a link to a simulator core: every client write is answered synchronously. */
function serve(link: MemoryLink, core: ModbusServerCore): void {
  const conn = core.connection();
  link.onWrite = (bytes) => {
    for (const r of conn.onData(bytes).replies) link.send(r);
  };
  link.accept();
}

function setup() {
  const clock = new ManualClock(0);
  const net = new MemoryNetwork();
  const core = new ModbusServerCore({ units: [1] });
  const client = new ModbusClient({
    socketFactory: net.factory,
    clock,
    random: () => 0.5,
    session: { timeoutMs: 500, queueTimeoutMs: 0 },
    connection: { reconnectInitialMs: 100 },
  });
  const states: StateChange[] = [];
  client.onStateChange((c) => states.push(c));
  return { clock, net, core, client, states };
}

/** A request failed for its reply's timeout. */
const timedOut = (e: unknown): boolean => e instanceof ModbusRequestError && e.code === "modbus-timeout";

describe("modbus client (in memory, manual clock)", () => {
  it("refuses options out of range with the field named", () => {
    const bad = (deps: object, field: string, re: RegExp): void => {
      assert.throws(
        () => new ModbusClient({ socketFactory: new MemoryNetwork().factory, ...deps }),
        (e: unknown) =>
          e instanceof DataCollError && e.code === "modbus-config" && e.field === field && re.test(e.message),
      );
    };
    bad(
      { session: { maxInFlight: 0 } },
      "maxInFlight",
      /requests in flight 0 must be a whole number from 1 to 65535/,
    );
    bad({ session: { maxQueue: -1 } }, "maxQueue", /queue size -1/);
    bad({ session: { timeoutMs: 0 } }, "timeoutMs", /reply timeout 0 ms/);
    bad(
      { session: { unitBackoffMs: 500, unitBackoffMaxMs: 100 } },
      "unitBackoffMaxMs",
      /at least the unit backoff/,
    );
    bad({ connection: { reconnectInitialMs: 0 } }, "reconnectInitialMs", /first reconnect delay/);
    bad({ connection: { reconnectMaxMs: 10 } }, "reconnectMaxMs", /at least the first delay/);
    bad({ connection: { reconnectJitter: 2 } }, "reconnectJitter", /between 0 and 1/);
  });

  it("answers reads and writes and counts them", async () => {
    const { net, core, client } = setup();
    client.start();
    serve(net.last, core);
    await client.writeMultipleRegisters(1, 0, [5, 6]);
    assert.deepEqual(await client.readHoldingRegisters(1, 0, 2), [5, 6]);
    assert.equal(client.stats.requests, 2);
    assert.equal(client.stats.responses, 2);
    assert.equal(client.stats.connects, 1);
    client.close();
  });

  it("keeps requests made while it connects, and sends them once connected", async () => {
    const { net, core, client } = setup();
    client.start();
    assert.equal(client.state, "connecting");
    const r = client.readHoldingRegisters(1, 0, 1);
    assert.equal(client.backlog.queued, 1);
    serve(net.last, core);
    assert.deepEqual(await r, [0]);
    client.close();
  });

  it("fails what waits, and every request, while the device cannot be reached; goes on once it can", async () => {
    const { clock, net, core, client, states } = setup();
    client.start();
    const waiting = client.readHoldingRegisters(1, 0, 1);
    net.last.refuse();
    assert.equal(client.state, "backoff");
    // A refused connect: the read that waited fails now with the reason, not after the queue's limit.
    const unreachable = (e: unknown): boolean =>
      e instanceof ModbusRequestError && /^unit 1: not connected \(.+\)$/.test(e.message);
    await assert.rejects(waiting, unreachable);
    await assert.rejects(client.readHoldingRegisters(1, 0, 1), unreachable);
    assert.equal(client.backlog.queued, 0);
    clock.advance(100);
    serve(net.last, core);
    assert.deepEqual(await client.readHoldingRegisters(1, 0, 1), [0]);
    assert.deepEqual(
      states.map((s) => s.state),
      ["connecting", "backoff", "connecting", "connected"],
    );
    assert.equal(client.stats.disconnects, 1);
    client.close();
  });

  it("rejects a request on its timeout with a ModbusRequestError", async () => {
    const { clock, net, client } = setup();
    client.start();
    net.last.accept();
    const r = client.readCoils(1, 0, 1);
    clock.advance(500);
    await assert.rejects(r, timedOut);
    assert.equal(client.stats.timeouts, 1);
    client.close();
  });

  // A busy event loop (a burst of samples, a long GC) runs its overdue timers before it reads the
  // sockets: the reply that came during the stall is read only after the timer that would fail it.
  describe("a reply that arrived while the event loop was busy", () => {
    /** A server that answers only when the test hands its reply over (the loop's I/O phase). */
    function heldReplies(link: MemoryLink, core: ModbusServerCore): Buffer[] {
      const held: Buffer[] = [];
      const conn = core.connection();
      link.onWrite = (bytes) => {
        for (const r of conn.onData(bytes).replies) held.push(Buffer.from(r));
      };
      link.accept();
      return held;
    }

    it("answers the request: its deadline is judged after the I/O of that turn", async () => {
      const { clock, net, core, client } = setup();
      core.unit(1).holdingRegisters[0] = 7;
      client.start();
      const held = heldReplies(net.last, core);
      const r = client.readHoldingRegisters(1, 0, 1);
      assert.equal(held.length, 1, "the request went out");
      clock.stall(2000); // the loop busy four reply timeouts long; the reply arrives meanwhile
      clock.advance(0); // its timers phase: the overdue reply timer fires first
      net.last.send(held[0]); // then its I/O phase reads the reply
      clock.advance(1);
      assert.deepEqual(await r, [7]);
      assert.equal(client.stats.timeouts, 0);
      client.close();
    });

    it("still times out a request whose reply did not come, one turn later", async () => {
      const { clock, net, core, client } = setup();
      client.start();
      heldReplies(net.last, core);
      const r = client.readHoldingRegisters(1, 0, 1);
      clock.stall(2000);
      clock.advance(0);
      clock.advance(1);
      await assert.rejects(r, timedOut);
      assert.equal(client.stats.timeouts, 1);
      client.close();
    });

    it("puts a deadline off once only: a loop busy again at the next turn times the request out", async () => {
      const { clock, net, core, client } = setup();
      client.start();
      const held = heldReplies(net.last, core);
      const r = client.readHoldingRegisters(1, 0, 1);
      clock.stall(2000);
      clock.advance(0);
      clock.stall(2000); // busy again before the next turn's timers
      clock.advance(0);
      await assert.rejects(r, timedOut);
      net.last.send(held[0]); // now truly late: discarded, fails nothing
      assert.equal(client.stats.timeouts, 1);
      client.close();
    });

    it("times out on time as before when the loop was not busy", async () => {
      const { clock, net, core, client } = setup();
      client.start();
      heldReplies(net.last, core);
      const r = client.readHoldingRegisters(1, 0, 1);
      clock.advance(500);
      await assert.rejects(r, timedOut);
      client.close();
    });
  });

  it("after close, rejects new requests and leaves no timer", async () => {
    const { clock, net, client } = setup();
    client.start();
    net.last.accept();
    const pending = client.readCoils(1, 0, 1);
    client.close();
    await assert.rejects(pending, /closed/);
    await assert.rejects(
      client.readCoils(1, 0, 1),
      (e: unknown) => e instanceof ModbusRequestError && e.code === "modbus-closed",
    );
    assert.equal(clock.pending, 0);
    assert.equal(net.last.destroyedByClient, true);
  });
});
