import assert from "node:assert/strict";
import net from "node:net";
import type { TimeSource } from "../../../src/protocols/clock";
import {
  Connection,
  systemClock,
  type DrivenSession,
  type StateChange,
  type TransportAction,
} from "../../../src/transport/connection";
import { ManualClock } from "../../../src/transport/manual-clock";
import { MemoryNetwork } from "../../../src/transport/memory-socket";
import { tcpSocketFactory } from "../../../src/transport/socket";
import { expectNoLeaks, snapshotResources } from "../../support/leaks";

type Note = { readonly type: "note"; readonly text: string };
type Out = readonly (Note | TransportAction)[];

/** A session that echoes data back, notes every call (at its clock's time), and has an optional deadline. */
class EchoSession implements DrivenSession<Note> {
  readonly calls: string[] = [];
  deadline: number | undefined;
  constructor(private readonly clock: TimeSource = systemClock) {}
  onConnected(): Out {
    this.calls.push(`connected@${this.clock.now()}`);
    return [{ type: "write", bytes: Buffer.from("hello") }];
  }
  onData(bytes: Uint8Array): Out {
    this.calls.push(`data@${this.clock.now()}`);
    const text = Buffer.from(bytes).toString();
    if (text === "bye") return [{ type: "close", reason: "peer said bye" }];
    return [
      { type: "write", bytes },
      { type: "note", text },
    ];
  }
  onDisconnected(): Out {
    this.calls.push(`disconnected@${this.clock.now()}`);
    return [{ type: "note", text: "down" }];
  }
  tick(): Out {
    const now = this.clock.now();
    this.calls.push(`tick@${now}`);
    if (this.deadline !== undefined && this.deadline <= now) {
      this.deadline = undefined;
      return [{ type: "note", text: "deadline" }];
    }
    return [];
  }
  nextDeadline(): number | undefined {
    return this.deadline;
  }
}

function setup(random = 0.5) {
  const clock = new ManualClock(1000);
  const net = new MemoryNetwork();
  const session = new EchoSession(clock);
  const notes: string[] = [];
  const states: StateChange[] = [];
  const conn = new Connection<Note>({
    session,
    socketFactory: net.factory,
    clock,
    random: () => random,
    onAction: (a) => notes.push(a.text),
    options: { connectTimeoutMs: 500, reconnectInitialMs: 100, reconnectMaxMs: 400, reconnectJitter: 0.5 },
  });
  conn.onStateChange((c) => states.push(c));
  return { clock, net, session, notes, states, conn };
}

describe("transport connection", () => {
  it("connects, lets the session write, and hands other actions to the owner", () => {
    const { net, session, notes, states, conn } = setup();
    conn.start();
    assert.equal(conn.state, "connecting");
    net.last.accept();
    assert.equal(conn.state, "connected");
    assert.deepEqual(session.calls, ["connected@1000"]);
    assert.deepEqual(net.last.written.map(String), ["hello"]);
    net.last.send(Buffer.from("ping"));
    assert.deepEqual(net.last.written.map(String), ["hello", "ping"]);
    assert.deepEqual(notes, ["ping"]);
    assert.deepEqual(
      states.map((s) => s.state),
      ["connecting", "connected"],
    );
    conn.close();
  });

  it("sends the writes of one batch as one socket write, in order", () => {
    const { net, conn } = setup();
    conn.start();
    net.last.accept();
    conn.drive(() => [
      { type: "write", bytes: Buffer.from("a") },
      { type: "note", text: "between" },
      { type: "write", bytes: Buffer.from("bc") },
    ]);
    assert.deepEqual(net.last.written.map(String), ["hello", "abc"]);
    conn.close();
  });

  it("shows the octets sent and received to traffic listeners until they unsubscribe", () => {
    const { clock, net, conn } = setup();
    const seen: string[] = [];
    const off = conn.onTraffic((dir, bytes, at) =>
      seen.push(`${dir}@${at}:${Buffer.from(bytes).toString()}`),
    );
    conn.start();
    net.last.accept();
    clock.advance(5);
    net.last.send(Buffer.from("x"));
    off();
    net.last.send(Buffer.from("y"));
    assert.deepEqual(seen, ["tx@1000:hello", "rx@1005:x", "tx@1005:x"]);
    conn.close();
  });

  it("backs off exponentially with jitter, capped, and resets after a connection", () => {
    const { clock, net, states, conn } = setup(0); // random 0 → factor 1 - jitter = 0.5
    conn.start();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      net.last.refuse();
      const b = states[states.length - 1];
      assert.equal(b.state, "backoff");
      assert.equal(b.reason, "connection refused");
      delays.push((b.retryAt ?? 0) - clock.now());
      clock.advance((b.retryAt ?? 0) - clock.now());
      assert.equal(conn.state, "connecting");
    }
    assert.deepEqual(delays, [50, 100, 200, 200, 200]);
    net.last.accept();
    net.last.drop();
    assert.equal((states[states.length - 1].retryAt ?? 0) - clock.now(), 50);
    assert.equal(net.links.length, 6);
    conn.close();
  });

  it("spreads the delay by the jitter fraction either way", () => {
    const hi = setup(0.999999);
    hi.conn.start();
    hi.net.last.refuse();
    assert.equal((hi.states[hi.states.length - 1].retryAt ?? 0) - hi.clock.now(), 150);
    hi.conn.close();
  });

  it("gives up a connect attempt at the connect timeout and destroys that socket", () => {
    const { clock, net, conn } = setup();
    conn.start();
    const first = net.last;
    clock.advance(499);
    assert.equal(conn.state, "connecting");
    clock.advance(1);
    assert.equal(conn.state, "backoff");
    assert.equal(first.destroyedByClient, true);
    clock.advance(100);
    assert.equal(net.links.length, 2);
    conn.close();
  });

  it("tells the session when the peer drops the link, and reconnects", () => {
    const { clock, net, session, notes, conn } = setup();
    conn.start();
    net.last.accept();
    clock.advance(10);
    net.last.drop("reset");
    assert.equal(conn.state, "backoff");
    assert.deepEqual(session.calls, ["connected@1000", "disconnected@1010"]);
    assert.deepEqual(notes, ["down"]);
    clock.advance(100);
    net.last.accept();
    assert.equal(conn.state, "connected");
    conn.close();
  });

  it("drops the socket when the session asks to close", () => {
    const { net, conn } = setup();
    conn.start();
    net.last.accept();
    const link = net.last;
    link.send(Buffer.from("bye"));
    assert.equal(conn.state, "backoff");
    assert.equal(link.destroyedByClient, true);
    conn.close();
  });

  it("drives the session's deadlines with a single timer", () => {
    const { clock, net, session, notes, conn } = setup();
    conn.start();
    net.last.accept();
    // The connect timeout's timer may still be armed (it will find nothing due): never more than one.
    assert.ok(clock.pending <= 1);
    conn.drive(() => {
      session.deadline = clock.now() + 300;
      return [];
    });
    assert.equal(clock.pending, 1);
    assert.equal(clock.nextAt, 1300);
    clock.advance(299);
    assert.deepEqual(notes, []);
    clock.advance(1);
    assert.deepEqual(notes, ["deadline"]);
    assert.equal(clock.pending, 0);
    conn.close();
  });

  it("arms about one timer per timeout for a poller, not one per request, and still fails a request on time", () => {
    const { clock, net, session, notes, conn } = setup();
    let armed = 0;
    const setTimer = clock.setTimer.bind(clock);
    clock.setTimer = (fn, ms) => {
      armed++;
      return setTimer(fn, ms);
    };
    conn.start();
    net.last.accept();
    armed = 0;
    // A request every 100 ms with a 1,000 ms timeout, each answered 5 ms later: 30 requests in 3 s.
    for (let i = 0; i < 30; i++) {
      conn.drive(() => {
        session.deadline = clock.now() + 1000;
        return [];
      });
      clock.advance(5);
      conn.drive(() => {
        session.deadline = undefined;
        return [];
      });
      clock.advance(95);
    }
    assert.ok(armed <= 4, `${armed} timers armed for 30 requests`);
    assert.ok(clock.pending <= 1);
    // One left unanswered fails at its deadline, not later.
    const sent = clock.now();
    conn.drive(() => {
      session.deadline = sent + 1000;
      return [];
    });
    clock.advance(999);
    assert.deepEqual(notes, []);
    clock.advance(1);
    assert.deepEqual(notes, ["deadline"]);
    conn.close();
    assert.equal(clock.pending, 0);
  });

  it("arms one timer for the earlier of the session's deadline and its own", () => {
    const { clock, session, conn } = setup();
    session.deadline = 1200;
    conn.start();
    assert.equal(clock.pending, 1);
    assert.equal(clock.nextAt, 1200);
    clock.advance(200);
    assert.equal(clock.pending, 1);
    assert.equal(clock.nextAt, 1500);
    conn.close();
  });

  it("close() releases the socket and the timer, and ignores the old socket afterwards", () => {
    const { clock, net, session, states, conn } = setup();
    conn.start();
    net.last.accept();
    session.deadline = 5000;
    conn.drive(() => []);
    assert.equal(clock.pending, 1);
    conn.close();
    assert.equal(conn.state, "closed");
    assert.equal(clock.pending, 0);
    assert.equal(net.last.destroyedByClient, true);
    assert.equal(states[states.length - 1].state, "closed");
    assert.deepEqual(session.calls, ["connected@1000", "disconnected@1000"]);
    conn.start();
    clock.advance(100000);
    assert.equal(net.links.length, 1);
  });

  it("close() in backoff leaves no timer", () => {
    const { clock, net, conn } = setup();
    conn.start();
    net.last.refuse();
    assert.equal(clock.pending, 1);
    conn.close();
    assert.equal(clock.pending, 0);
  });

  it("talks to a real TCP peer on loopback and leaves nothing behind", async () => {
    const before = snapshotResources();
    const server = net.createServer((s) => s.on("data", (d) => s.write(d)));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    const notes: string[] = [];
    const session = new EchoSession();
    let got: () => void = () => undefined;
    const echoed = new Promise<void>((resolve) => (got = resolve));
    // The echo server returns "hello", which the session echoes again: stop after the first note.
    const conn = new Connection<Note>({
      session,
      socketFactory: tcpSocketFactory({ host: "127.0.0.1", port }),
      onAction: (a) => {
        notes.push(a.text);
        conn.close();
        got();
      },
    });
    conn.start();
    await echoed;
    assert.equal(notes[0].startsWith("hello"), true);
    assert.equal(conn.state, "closed");
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await expectNoLeaks(before);
  });

  it("reports a refused TCP connection with the OS reason", async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const conn = new Connection<Note>({
      session: new EchoSession(),
      socketFactory: tcpSocketFactory({ host: "127.0.0.1", port }),
    });
    const change = new Promise<StateChange>((resolve) =>
      conn.onStateChange((c) => {
        if (c.state === "backoff") resolve(c);
      }),
    );
    conn.start();
    const c = await change;
    conn.close();
    assert.match(c.reason ?? "", /ECONNREFUSED/);
  });
});
