/**
 * The simulator server's connection limits (issue #21) on fake sockets and a fake clock: the idle
 * timeout, the partial-frame timeout, and admission of a new client when full by evicting the longest
 * idle one — each deadline met exactly and never early, a late timer put off one turn so octets that came
 * while the event loop was busy count, and no timer left once the pool is empty.
 */
import assert from "node:assert/strict";
import { LATE_TIMER_MS } from "../../../src/transport/connection";
import { ManualClock } from "../../../src/transport/manual-clock";
import {
  PeerPool,
  type PeerHandler,
  type PooledPeer,
  type RawPeer,
  type ServerPeer,
} from "../../../src/transport/tcp-server";

/** A socket that records what the pool did to it. */
class FakeSocket implements RawPeer {
  readonly written: Buffer[] = [];
  destroyed = false;
  constructor(readonly remote: string) {}
  write(bytes: Uint8Array): void {
    this.written.push(Buffer.from(bytes));
  }
  destroy(): void {
    this.destroyed = true;
  }
}

/** A handler that echoes, and holds a "frame" while the last octet it got is not 0x0a (a line framing). */
class LineHandler implements PeerHandler {
  readonly closes: string[] = [];
  private lines = 0;
  private held = 0;
  constructor(private readonly peer: ServerPeer) {}
  data(bytes: Buffer): void {
    for (const b of bytes) {
      if (b === 0x0a) {
        this.lines++;
        this.held = 0;
      } else this.held++;
    }
    this.peer.write(bytes);
  }
  closed(reason: string): void {
    this.closes.push(reason);
  }
  pendingFrame(): number | undefined {
    return this.held > 0 ? this.lines : undefined;
  }
}

interface Client {
  readonly socket: FakeSocket;
  readonly pooled: PooledPeer;
  readonly handler: LineHandler;
}

function setup(limits: ConstructorParameters<typeof PeerPool>[1]): {
  clock: ManualClock;
  pool: PeerPool;
  connect(name: string): Client;
} {
  const clock = new ManualClock(1_000_000);
  const handlers: LineHandler[] = [];
  const pool = new PeerPool(
    (peer) => {
      const h = new LineHandler(peer);
      handlers.push(h);
      return h;
    },
    limits,
    clock,
  );
  return {
    clock,
    pool,
    connect: (name) => {
      const socket = new FakeSocket(name);
      const pooled = pool.admit(socket);
      const handler = handlers[handlers.length - 1];
      return { socket, pooled, handler };
    },
  };
}

const line = (text: string): Buffer => Buffer.from(text);

describe("tcp server peer pool", function () {
  it("closes a connection that received nothing for the idle timeout, not a moment before", function () {
    const { clock, pool, connect } = setup({ idleTimeoutMs: 30_000 });
    const a = connect("a");
    clock.advance(29_999);
    assert.equal(a.socket.destroyed, false);
    clock.advance(1);
    assert.equal(a.socket.destroyed, true);
    assert.deepEqual(a.handler.closes, ["closed: nothing received for 30 s"]);
    assert.equal(pool.size, 0);
    assert.equal(clock.pending, 0, "no timer is left for an empty pool");
  });

  it("counts the idle time from the last octets received", function () {
    const { clock, connect } = setup({ idleTimeoutMs: 30_000 });
    const a = connect("a");
    clock.advance(20_000);
    a.pooled.data(line("ping\n"));
    clock.advance(29_999);
    assert.equal(a.socket.destroyed, false, "20 s + 29.999 s is past the first deadline, not the second");
    clock.advance(1);
    assert.equal(a.socket.destroyed, true);
  });

  it("never closes for idleness when the timeout is 0", function () {
    const { clock, connect } = setup({ idleTimeoutMs: 0 });
    const a = connect("a");
    assert.equal(clock.pending, 0);
    clock.advance(24 * 3_600_000);
    assert.equal(a.socket.destroyed, false);
  });

  it("closes a connection holding the start of one frame for the partial-frame timeout", function () {
    const { clock, connect } = setup({ idleTimeoutMs: 30_000, partialFrameTimeoutMs: 5_000 });
    const a = connect("a");
    a.pooled.data(line("hal"));
    clock.advance(3_000);
    // More octets of the same frame do not restart its clock: a trickle is no excuse.
    a.pooled.data(line("f a"));
    clock.advance(1_999);
    assert.equal(a.socket.destroyed, false);
    clock.advance(1);
    assert.equal(a.socket.destroyed, true);
    assert.deepEqual(a.handler.closes, ["closed: the start of a frame was held for more than 5 s"]);
  });

  it("restarts the partial-frame clock when a frame ends, even if the next one starts in the same chunk", function () {
    const { clock, connect } = setup({ idleTimeoutMs: 30_000, partialFrameTimeoutMs: 5_000 });
    const a = connect("a");
    // A busy client whose segments always end mid-frame is not holding one frame: each chunk finishes
    // the frame before and starts another.
    for (let i = 0; i < 10; i++) {
      a.pooled.data(line("end\nnext"));
      clock.advance(4_000);
    }
    assert.equal(a.socket.destroyed, false);
    a.pooled.data(line("\n"));
    clock.advance(29_999);
    assert.equal(a.socket.destroyed, false, "a completed frame leaves only the idle timeout");
    clock.advance(1);
    assert.equal(a.socket.destroyed, true);
    assert.deepEqual(a.handler.closes, ["closed: nothing received for 30 s"]);
  });

  it("admits a client when full by closing the connection quiet the longest", function () {
    const { clock, pool, connect } = setup({ maxConnections: 3, idleTimeoutMs: 0 });
    const a = connect("a");
    clock.advance(1_000);
    const b = connect("b");
    clock.advance(1_000);
    const c = connect("c");
    clock.advance(1_000);
    a.pooled.data(line("still here\n"));
    clock.advance(1_000);
    const d = connect("d");
    assert.equal(pool.size, 3);
    assert.equal(b.socket.destroyed, true, "b has said nothing since it connected, the longest");
    assert.deepEqual(b.handler.closes, [
      "closed after 3 s with nothing received, to admit d: all 3 connections were taken",
    ]);
    for (const x of [a, c, d]) assert.equal(x.socket.destroyed, false);
    // The admitted client is served like any other.
    d.pooled.data(line("hi\n"));
    assert.deepEqual(d.socket.written.map(String), ["hi\n"]);
    // The evicted one's late close from the OS changes nothing.
    b.pooled.closed("closed by the client");
    assert.equal(b.handler.closes.length, 1);
    assert.equal(pool.size, 3);
  });

  it("keeps admitting as long as clients come: a full pool never refuses", function () {
    const { pool, connect } = setup({ maxConnections: 2 });
    const clients = Array.from({ length: 10 }, (_, i) => connect(`c${i}`));
    assert.equal(pool.size, 2);
    assert.deepEqual(
      clients.map((c) => c.socket.destroyed),
      [true, true, true, true, true, true, true, true, false, false],
    );
  });

  it("closes a connection the handler closes, once, with its reason", function () {
    let serverSide: ServerPeer | undefined;
    const closes: string[] = [];
    const clock = new ManualClock();
    const pool = new PeerPool(
      (peer) => {
        serverSide = peer;
        return { data: () => peer.close(), closed: (r) => closes.push(r) };
      },
      { idleTimeoutMs: 1_000 },
      clock,
    );
    const socket = new FakeSocket("x");
    const pooled = pool.admit(socket);
    pooled.data(line("boom"));
    assert.equal(socket.destroyed, true);
    serverSide?.write(line("late"));
    assert.deepEqual(socket.written, [], "nothing is written to a closed connection");
    pooled.closed("closed by the client");
    assert.deepEqual(closes, ["closed by the server"]);
    assert.equal(clock.pending, 0);
  });

  it("closes every connection on closeAll and refuses later ones", function () {
    const { clock, pool, connect } = setup({ idleTimeoutMs: 30_000 });
    const a = connect("a");
    pool.closeAll();
    assert.equal(a.socket.destroyed, true);
    assert.deepEqual(a.handler.closes, ["the server stopped"]);
    const late = new FakeSocket("late");
    pool.admit(late);
    assert.equal(late.destroyed, true);
    assert.equal(pool.size, 0);
    assert.equal(clock.pending, 0);
  });

  // A busy event loop runs its overdue timers before it reads the sockets: octets a client sent during
  // the stall are read only after the timer that would close it as silent.
  describe("a client whose octets arrived while the event loop was busy", function () {
    /** The loop busy for `ms`, then the timers phase of its next turn: overdue timers fire, before any I/O. */
    function busyFor(clock: ManualClock, ms: number): void {
      clock.stall(ms);
      clock.advance(0);
    }

    it("stays open: a late timer judges the deadlines after the I/O of that turn", function () {
      const { clock, connect } = setup({ idleTimeoutMs: 30_000 });
      const a = connect("a");
      busyFor(clock, 40_000); // past the idle deadline; the client's octets arrive meanwhile
      assert.equal(a.socket.destroyed, false, "not closed while its octets wait unread");
      a.pooled.data(line("ping\n")); // then its I/O phase reads them
      clock.advance(1);
      assert.equal(a.socket.destroyed, false);
      clock.advance(29_998);
      assert.equal(a.socket.destroyed, false, "the idle time counts from the octets read late");
      clock.advance(1);
      assert.equal(a.socket.destroyed, true);
    });

    it("stays open when the octets read late complete the frame it held", function () {
      const { clock, connect } = setup({ idleTimeoutMs: 30_000, partialFrameTimeoutMs: 5_000 });
      const a = connect("a");
      a.pooled.data(line("hal"));
      busyFor(clock, 10_000);
      a.pooled.data(line("f\n"));
      clock.advance(1);
      assert.equal(a.socket.destroyed, false);
      assert.deepEqual(a.handler.closes, []);
    });

    it("still closes a client that sent nothing, one turn later", function () {
      const { clock, pool, connect } = setup({ idleTimeoutMs: 30_000 });
      const a = connect("a");
      busyFor(clock, 40_000);
      assert.equal(a.socket.destroyed, false);
      clock.advance(1);
      assert.equal(a.socket.destroyed, true);
      assert.deepEqual(a.handler.closes, ["closed: nothing received for 30 s"]);
      assert.equal(pool.size, 0);
      assert.equal(clock.pending, 0);
    });

    it("puts the deadlines off once only: a loop busy again at the next turn closes the client", function () {
      const { clock, connect } = setup({ idleTimeoutMs: 30_000, partialFrameTimeoutMs: 5_000 });
      const a = connect("a");
      a.pooled.data(line("hal"));
      busyFor(clock, 10_000);
      busyFor(clock, 10_000); // busy again before the next turn's timers
      assert.equal(a.socket.destroyed, true);
      assert.deepEqual(a.handler.closes, ["closed: the start of a frame was held for more than 5 s"]);
    });

    it("closes at once a client whose timer fires less than LATE_TIMER_MS late", function () {
      const { clock, connect } = setup({ idleTimeoutMs: 30_000 });
      const a = connect("a");
      busyFor(clock, 30_000 + LATE_TIMER_MS - 1);
      assert.equal(a.socket.destroyed, true);
    });

    it("puts off again after the pool emptied: the put-off belongs to the timer it came from", function () {
      const { clock, pool, connect } = setup({ idleTimeoutMs: 30_000 });
      const a = connect("a");
      busyFor(clock, 40_000);
      a.pooled.closed("closed by the client"); // the pool empties while its timer is put off
      assert.equal(clock.pending, 0);
      const b = connect("b");
      busyFor(clock, 40_000);
      assert.equal(b.socket.destroyed, false, "b's late timer is put off like any other");
      assert.equal(pool.size, 1);
    });

    it("arms nothing after closeAll, even with a timer put off", function () {
      const { clock, pool, connect } = setup({ idleTimeoutMs: 30_000 });
      const a = connect("a");
      busyFor(clock, 40_000);
      pool.closeAll();
      assert.deepEqual(a.handler.closes, ["the server stopped"]);
      assert.equal(clock.pending, 0);
      clock.advance(60_000);
      assert.equal(clock.pending, 0);
    });
  });

  it("refuses limits that cannot work", function () {
    assert.throws(() => new PeerPool(() => ({ data: () => undefined }), { maxConnections: 0 }), /at least 1/);
    assert.throws(
      () => new PeerPool(() => ({ data: () => undefined }), { idleTimeoutMs: -1 }),
      /idle timeout/,
    );
    assert.throws(
      () => new PeerPool(() => ({ data: () => undefined }), { partialFrameTimeoutMs: Number.NaN }),
      /partial frame timeout/,
    );
  });
});
