/**
 * The IEC 104 stack over real loopback TCP: the master driver inside the transport's Connection with the
 * TCP socket factory, our outstation behind the transport's TCP server with the one timer per
 * connection that drives it. Waits on events, never on a sleep; afterwards nothing may be left running.
 */
import assert from "node:assert/strict";
import { GOOD } from "../../../src/protocols/iec104/codec";
import {
  MasterDriver,
  OutstationSession,
  type MasterDriverAction,
  type OutstationEvent,
} from "../../../src/protocols/iec104/session";
import { Connection, systemClock } from "../../../src/transport/connection";
import { tcpSocketFactory } from "../../../src/transport/socket";
import { listenTcp, type ServerPeer, type TcpServerHandle } from "../../../src/transport/tcp-server";
import { expectNoLeaks, snapshotResources, type Snapshot } from "../../support/leaks";

/** How to carry out a station's events (write, close, re-arm its timer), for the test to push changes. */
const carries = new Map<OutstationSession, (events: OutstationEvent[]) => void>();

/** One outstation per accepted connection, with its single deadline timer. */
function serveStation(
  peer: ServerPeer,
  stations: OutstationSession[],
): { data(b: Buffer): void; closed(): void } {
  const station = new OutstationSession({ commonAddress: 1 }, { now: () => Date.now() });
  station.definePoint({ kind: "float", ioa: 100, value: 42.5, quality: GOOD });
  station.definePoint({ kind: "single", ioa: 1, value: false, quality: GOOD });
  station.defineCommand({ ioa: 5000, kind: "single-command", selectRequired: true });
  stations.push(station);
  // The outstation's own timer, armed for its next deadline (t1/t2/t3): the peer keeping its protocol
  // timers on the real clock, as a station does; the test waits on frames, not on it.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const carryOut = (events: OutstationEvent[]): void => {
    for (const e of events) {
      if (e.type === "send") peer.write(e.bytes);
      else if (e.type === "close") peer.close();
    }
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const at = station.nextDeadline();
    if (at !== undefined) timer = setTimeout(() => carryOut(station.tick()), Math.max(0, at - Date.now()));
  };
  carries.set(station, carryOut);
  return {
    data: (bytes) => carryOut(station.receive(bytes)),
    closed: () => {
      station.close("the master went away");
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}

describe("iec104 master and outstation over loopback TCP", function () {
  let before: Snapshot;
  let server: TcpServerHandle;
  let conn: Connection<MasterDriverAction>;
  let driver: MasterDriver;
  const stations: OutstationSession[] = [];
  let waiters: { match: (a: MasterDriverAction) => boolean; resolve: (a: MasterDriverAction) => void }[] = [];

  function next(match: (a: MasterDriverAction) => boolean): Promise<MasterDriverAction> {
    return new Promise((resolve) => waiters.push({ match, resolve }));
  }

  beforeEach(async function () {
    before = snapshotResources();
    stations.length = 0;
    waiters = [];
    server = await listenTcp({ port: 0, onConnection: (peer) => serveStation(peer, stations) });
    // The connection's default clock, the system's, read by the driver too.
    driver = new MasterDriver({ commonAddress: 1 }, systemClock);
    conn = new Connection<MasterDriverAction>({
      session: driver,
      socketFactory: tcpSocketFactory({ host: "127.0.0.1", port: server.port }),
      onAction: (a) => {
        for (const w of waiters.filter((x) => x.match(a))) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(a);
        }
      },
    });
  });

  afterEach(async function () {
    conn.close();
    await server.close();
    await expectNoLeaks(before);
  });

  it("interrogates on connect, operates a breaker with select-before-operate and hears its change", async function () {
    const gi = next((a) => a.type === "result" && a.request === "interrogation" && a.final);
    const data: MasterDriverAction[] = [];
    const giData = next((a) => {
      if (a.type === "data") data.push(a);
      return data.length === 2;
    });
    conn.start();
    const done = await gi;
    assert.ok(done.type === "result" && done.outcome === "terminated", JSON.stringify(done));
    await giData;

    const on = { kind: "single-command", ioa: 5000, value: true, qualifier: 0, select: false } as const;
    const cmd = next((a) => a.type === "result" && a.request === "command" && a.outcome === "terminated");
    conn.drive(() => driver.request({ kind: "command", command: on, selectBeforeOperate: true }).actions);
    await cmd;

    const change = next((a) => a.type === "data" && a.asdu.cot === 3);
    const station = stations[0];
    const carryOut = carries.get(station);
    assert.ok(carryOut !== undefined);
    carryOut(station.update({ kind: "single", ioa: 1, value: true, quality: GOOD }));
    const spont = await change;
    assert.ok(spont.type === "data");
    assert.deepEqual(
      spont.asdu.objects.map((o) => [o.ioa, o.kind === "single" && o.value]),
      [[1, true]],
    );
  });
});
