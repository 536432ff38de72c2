/**
 * Failover without loss (#19): a Redis master, one replica and three sentinels of the test's own
 * (test/support/sentinel-group.ts), two instances (managers with their runtimes, in this process, set up
 * in Sentinel mode exactly as the manager node's dialog saves it) sharing two Modbus devices that count
 * every request they answer, a steady poll load, and the master killed with SIGKILL. Then: polling goes
 * on, every reading answered is stored exactly once on the new master (the outage buffer keeps what is
 * polled while no master answers, src/core/store/outage-buffer.ts), no device is ever polled by two
 * connections at once, and the REST API answers 503 only between the kill and the store's reconnect.
 */
import assert from "node:assert/strict";
import type { Manager } from "../../../src/core/manager";
import { startManagerRuntime, type ManagerRuntime } from "../../../src/core/manager-runtime";
import { handle } from "../../../src/core/rest/router";
import type { PointsEnvelope } from "../../../src/core/bus/envelope";
import { preciseNow, type RecordingSimulator } from "../../support/recording-simulator";
import {
  addCountingDevices,
  drainEvents,
  sentinelManager,
  startSentinelGroup,
  unstoredReadings,
  untilSettled,
  untilStoredMore,
  type SentinelGroup,
} from "../../support/sentinel-group";

const NS = "fo:";
const LEASE_MS = 2000;
const POLL_MS = 100;
const DEVICES = ["fo-d0", "fo-d1"];

describe("Sentinel failover under a poll load (kill -9 of the master)", function () {
  this.timeout(120_000);
  let group: SentinelGroup | undefined;
  const sims: RecordingSimulator[] = [];
  const managers: Manager[] = [];
  const runtimes: ManagerRuntime[] = [];
  const rest: { sent: number; answered: number; status: number }[] = [];
  let killAt = 0;
  let switchAt = 0;
  let backAt = 0;
  let envelopes: PointsEnvelope[] = [];
  let stopRest = false;
  let restLoop: Promise<void> | undefined;

  const manager = (instanceId: string): Manager => {
    if (!group) throw new Error("no Sentinel group");
    const m = sentinelManager(group, NS, instanceId);
    managers.push(m);
    return m;
  };

  before(async function () {
    group = await startSentinelGroup({ downAfterMs: 1000 });
    const [a, b] = [manager("fo-a"), manager("fo-b")];
    await Promise.all([a.ready(), b.ready()]);
    sims.push(...(await addCountingDevices(a.registry, DEVICES, POLL_MS)));
    await a.store.ensureEventGroup("fo-check", "start");
    for (const m of [a, b]) runtimes.push(startManagerRuntime(m, { leaseMs: LEASE_MS }));
    await Promise.all(runtimes.map((rt) => rt.started));
    await untilSettled(runtimes, a.store, DEVICES, 5);

    // The REST API of instance a, asked every 50 ms through the failover (the sampling clock).
    const ctx = { store: a.store, basePath: "/api", maxBodyBytes: 100_000, now: () => Date.now() };
    restLoop = (async () => {
      while (!stopRest) {
        const sent = preciseNow();
        const res = await handle(
          {
            method: "GET",
            path: "/v1/latest",
            query: { pattern: "fo-d0" },
            headers: {},
            body: undefined,
          },
          ctx,
        );
        rest.push({ sent, answered: preciseNow(), status: res.status });
        await new Promise((res2) => setTimeout(res2, Math.max(0, 50 - (preciseNow() - sent))));
      }
    })();

    const { switched } = await group.watchSwitch();
    let lost = false;
    a.onState((s) => {
      if (s.kind !== "connected") lost = killAt > 0;
      else if (lost && backAt === 0) backAt = preciseNow();
    });
    const killed = await group.killMaster();
    killAt = killed.at;
    switchAt = await switched;
    // Polling goes on: both devices' readings reach the new master, and well after the switch.
    await untilStoredMore(a.store, DEVICES, 20);
    stopRest = true;
    await restLoop;
    for (const rt of runtimes) await rt.close();
    // Everything ingested is in the events stream on the new master, read once through a consumer group.
    envelopes = await drainEvents(a.store, "fo-check");
  });

  after(async function () {
    stopRest = true;
    await restLoop;
    for (const rt of runtimes) await rt.close();
    for (const m of managers) await m.close();
    for (const s of sims) await s.close();
    await group?.stop();
  });

  it("the sentinels named a new master, and the store came back on it", function () {
    assert.ok(switchAt > killAt, "+switch-master after the kill");
    assert.ok(backAt > killAt, "the store reconnected after the kill");
  });

  it("no device is ever polled by two connections at once", function () {
    for (const [i, sim] of sims.entries()) {
      const spans = sim.connections
        .filter((c) => c.requests.length > 0)
        .map((c) => ({ c, from: c.requests[0].at, to: c.requests[c.requests.length - 1].at }))
        .sort((x, y) => x.from - y.from);
      let prevEnd = -Infinity;
      for (const s of spans) {
        assert.ok(s.from > prevEnd, `${DEVICES[i]}: connection ${s.c.id} overlaps the one before it`);
        prevEnd = Math.max(prevEnd, s.to);
      }
    }
  });

  it("polling went on through the failover", function () {
    for (const [i, sim] of sims.entries()) {
      const during = sim.connections
        .flatMap((c) => c.requests)
        .filter((q) => q.at > killAt && q.at < switchAt);
      assert.ok(during.length > 0, `${DEVICES[i]} was polled between the kill and the switch`);
    }
  });

  it("every reading answered is stored exactly once", function () {
    const seen = new Set<string>();
    for (const env of envelopes) {
      for (const p of env.points) {
        if (p.itemId !== "seq" || typeof p.value !== "number" || p.error !== undefined) continue;
        const id = `${p.deviceId}#${p.value}`;
        assert.ok(!seen.has(id), `${id} stored twice`);
        seen.add(id);
      }
    }
    const missing = unstoredReadings(DEVICES, sims, envelopes, "seq").map((m) =>
      m.replace(/@(\d+)$/, (_, at: string) => `@${Number(at) - Math.round(killAt)}ms`),
    );
    assert.deepEqual(missing, [], "readings answered but not stored (time from the kill)");
    assert.ok(seen.size > 0, "readings were stored");
  });

  it("the REST API answers 503 only between the kill and the store's reconnect", function () {
    assert.ok(rest.length > 0);
    for (const q of rest) {
      if (q.status === 200) continue;
      assert.equal(q.status, 503, `an answer ${q.status}`);
      assert.ok(q.answered >= killAt && q.sent <= backAt, "a 503 outside the failover window");
    }
  });
});
