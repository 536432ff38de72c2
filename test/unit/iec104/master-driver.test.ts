/**
 * The master driver inside the transport's own Connection, over its in-memory socket and manual clock,
 * against our outstation as the far end: proof that the session plugs into the transport unchanged, and
 * that a reconnect starts a fresh link (sequence numbers from 0, STARTDT, interrogation again).
 */
import assert from "node:assert/strict";
import { GOOD } from "../../../src/protocols/iec104/codec";
import { OutstationSession } from "../../../src/protocols/iec104/session";
import { MasterDriver, type MasterDriverAction } from "../../../src/protocols/iec104/session/master-driver";
import { Connection } from "../../../src/transport/connection";
import { ManualClock } from "../../../src/transport/manual-clock";
import { MemoryNetwork, type MemoryLink } from "../../../src/transport/memory-socket";

function setup(): {
  clock: ManualClock;
  net: MemoryNetwork;
  driver: MasterDriver;
  conn: Connection<MasterDriverAction>;
  actions: MasterDriverAction[];
  stations: OutstationSession[];
} {
  const clock = new ManualClock(Date.parse("2026-11-21T12:00:00Z"));
  const net = new MemoryNetwork();
  const stations: OutstationSession[] = [];
  // Each accepted link gets a fresh outstation, as a server makes one per TCP connection.
  net.onLink = (link: MemoryLink): void => {
    const station = new OutstationSession({ commonAddress: 1 }, clock);
    station.definePoint({ kind: "float", ioa: 100, value: 42.5, quality: GOOD });
    stations.push(station);
    link.onWrite = (bytes) => {
      for (const e of station.receive(bytes))
        if (e.type === "send" && link.state === "open") link.send(e.bytes);
    };
    link.accept();
  };
  const driver = new MasterDriver({ commonAddress: 1 }, clock);
  const actions: MasterDriverAction[] = [];
  const conn = new Connection<MasterDriverAction>({
    session: driver,
    socketFactory: net.factory,
    clock,
    random: () => 0.5,
    onAction: (a) => actions.push(a),
  });
  return { clock, net, driver, conn, actions, stations };
}

async function settle(): Promise<void> {
  // The memory network accepts links in a microtask.
  await Promise.resolve();
  await Promise.resolve();
}

describe("iec104 master driver on the transport", function () {
  it("connects, starts data transfer and receives the interrogation answer", async function () {
    const { conn, driver, actions } = setup();
    conn.start();
    await settle();
    assert.equal(conn.state, "connected");
    assert.equal(driver.state, "started");
    const data = actions.filter((a) => a.type === "data");
    assert.equal(data.length, 1);
    assert.deepEqual(
      actions.flatMap((a) => (a.type === "result" ? [`${a.id} ${a.outcome}`] : [])),
      ["1 confirmed", "1 terminated"],
    );
    conn.close();
    assert.equal(driver.state, "disconnected");
  });

  it("rejects requests while disconnected and cancels them when the link drops", async function () {
    const { conn, driver, actions, net } = setup();
    const early = driver.request({ kind: "read", ioa: 100 });
    assert.deepEqual(
      early.actions.map((a) => a.type === "result" && a.detail),
      ["not connected to the station"],
    );
    conn.start();
    await settle();
    // A read the far end never answers: drop the link while it waits.
    net.last.onWrite = undefined;
    let readId = 0;
    conn.drive(() => {
      const r = driver.request({ kind: "read", ioa: 100 });
      readId = r.id;
      return r.actions;
    });
    net.last.drop();
    assert.equal(conn.state, "backoff");
    const last = actions.filter((a) => a.type === "result" && a.id === readId).at(-1);
    assert.ok(last?.type === "result");
    assert.deepEqual([last.outcome, last.final], ["cancelled", true]);
    assert.ok(readId > early.id, "ids are never reused");
    conn.close();
  });

  it("starts a fresh link after reconnecting and interrogates again", async function () {
    const { conn, driver, actions, net, clock, stations } = setup();
    conn.start();
    await settle();
    net.last.drop();
    // Backoff: 1 s ± jitter (random 0.5 → exactly 1 s).
    clock.advance(1_000);
    await settle();
    assert.equal(conn.state, "connected");
    assert.equal(driver.state, "started");
    assert.equal(stations.length, 2);
    assert.equal(stations[1].link.receiveSequence, 1, "the new link numbered the interrogation 0");
    assert.equal(actions.filter((a) => a.type === "data").length, 2);
    conn.close();
  });

  it("closes the connection when the station stops answering, via t1", async function () {
    const { conn, driver, net, clock } = setup();
    conn.start();
    await settle();
    net.last.onWrite = undefined;
    conn.drive(() => driver.request({ kind: "interrogation" }).actions);
    clock.advance(15_000);
    assert.equal(conn.state, "backoff");
    conn.close();
  });

  it("drops the link when the station sends half an APDU and no more within t1", async function () {
    const { conn, net, clock } = setup();
    const reasons: string[] = [];
    conn.onStateChange((c) => {
      if (c.state === "backoff" && c.reason !== undefined) reasons.push(c.reason);
    });
    conn.start();
    await settle();
    const link = net.last;
    link.onWrite = undefined;
    // The start of an I-frame (start octet, length 14, two control octets) and nothing after it.
    link.send(Buffer.from([0x68, 0x0e, 0x02, 0x00]));
    clock.advance(14_999);
    assert.equal(conn.state, "connected");
    clock.advance(1);
    assert.equal(conn.state, "backoff");
    assert.deepEqual(reasons, ["an incomplete APDU (4 octets) was not completed within t1 (15000 ms)"]);
    conn.close();
  });
});
