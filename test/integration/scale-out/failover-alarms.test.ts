/**
 * Alarms and the REST API across a Sentinel failover (#19, "failover without loss"): the Sentinel group
 * of sentinel-failover.test.ts (a master, a replica, three sentinels; the master killed with SIGKILL),
 * two instances polling two counting devices every 100 ms, and in each instance the same check node
 * (one node id, so one lease `<ns>lease:check:<id>`: one copy active, the other standing by) fed with the
 * manager's samples as a `datacoll-data` node feeds it. Each device's point `lvl` is bit 1 of the
 * request counter (HR1.1), so it goes 0,1,1,0,0,1,1,0… and crosses the check's high limit (0.5) every
 * second reading, many times inside the failover window. Then:
 *
 * - the alarm transitions the two copies report together (as the node's second output would send them)
 *   are exactly the raises and clears the served values dictate, one each, none lost and none twice,
 *   and the alarm records on the new master end in the state of the last one;
 * - a REST client asking for the device list request after request gets 200 before the kill, 503 in the path's
 *   error shape (JSON on `/v2`, the older system's plain text on `/v1`) only between the kill and the
 *   first write of its instance that reached the new master, and 200 after.
 */
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import type { Manager } from "../../../src/core/manager";
import { startManagerRuntime, type ManagerRuntime } from "../../../src/core/manager-runtime";
import { handle } from "../../../src/core/rest/router";
import type { RestContext } from "../../../src/core/rest/types";
import { CheckController } from "../../../src/core/check/controller";
import { parseCheckForm } from "../../../src/core/check/form";
import type { AlarmTransition } from "../../../src/core/check/checker";
import type { Subscription } from "../../../src/core/bus/event-bus";
import type { PointsEnvelope } from "../../../src/core/bus/envelope";
import { until } from "../../support/net";
import { preciseNow, type RecordingSimulator } from "../../support/recording-simulator";
import {
  addCountingDevices,
  drainEventEntries,
  sentinelManager,
  startSentinelGroup,
  unstoredReadings,
  untilSettled,
  untilStoredMore,
  type SentinelGroup,
} from "../../support/sentinel-group";

const NS = "fa:";
const LEASE_MS = 2000;
const POLL_MS = 100;
const DEVICES = ["fa-d0", "fa-d1"];
const CHECK_NODE = "fa-check";
const LEVEL = "lvl";
const keyOf = (device: string): string => `${device}:${device}t:${LEVEL}`;
/** The level a reading carries: bit 1 of the counter (HR1 is the counter's low word). */
const levelOf = (seq: number): number => (seq >> 1) & 1;

interface Reported {
  readonly instance: string;
  readonly t: AlarmTransition;
}

interface Instance {
  readonly id: string;
  readonly manager: Manager;
  readonly check: CheckController;
  readonly sub: Subscription;
  readonly retry: NodeJS.Timeout;
  runtime?: ManagerRuntime;
}

interface RestSample {
  readonly path: string;
  readonly sent: number;
  readonly answered: number;
  readonly status: number;
  readonly type: string;
  readonly body: unknown;
}

describe("Sentinel failover: alarms and the REST API (kill -9 of the master)", function () {
  this.timeout(180_000);
  let group: SentinelGroup | undefined;
  const sims: RecordingSimulator[] = [];
  const instances: Instance[] = [];
  const reported: Reported[] = [];
  const problems: string[] = [];
  const rest: RestSample[] = [];
  let killAt = 0;
  let switchAt = 0;
  let entries: { readonly id: string; readonly envelope: PointsEnvelope }[] = [];
  let stopRest = false;
  /** Plain connections to the servers, by port (closed with the group). */
  const servers = new Map<number, Redis | undefined>();
  let restLoop: Promise<void> | undefined;

  /** One instance: its manager and the check node's controller, fed from the manager's bus. */
  const instance = async (id: string): Promise<Instance> => {
    if (!group) throw new Error("no Sentinel group");
    const manager = sentinelManager(group, NS, id);
    await manager.ready();
    const check = new CheckController({
      nodeId: CHECK_NODE,
      ...parseCheckForm({ scopeMode: "pattern", scope: `*:*:${LEVEL}`, high: "0.5" }),
      manager,
      leaseMs: LEASE_MS,
      onTransitions: (ts) => reported.push(...ts.map((t) => ({ instance: id, t }))),
      onNotice: () => undefined, // store-failed and the like: expected while no master answers
      onChange: () => undefined,
    });
    // As the data node hands the bus's batches to the check node: one message per batch, in order.
    const sub = manager.subscribe(`*:*:${LEVEL}`, (points) => {
      check.input(points).then(
        (r) => reported.push(...r.transitions.map((t) => ({ instance: id, t }))),
        (err: unknown) => problems.push(`${id}: ${String(err)}`),
      );
    });
    // The node retries a failed alarm write once a second when no sample does.
    const retry = setInterval(() => check.retry(), 1000);
    const inst: Instance = { id, manager, check, sub, retry };
    instances.push(inst);
    await check.ready;
    return inst;
  };

  const closeInstances = async (): Promise<void> => {
    for (const i of instances) await i.runtime?.close();
    for (const i of instances) {
      clearInterval(i.retry);
      i.sub.unsubscribe();
      await i.check.close(false);
    }
  };

  before(async function () {
    group = await startSentinelGroup({ downAfterMs: 1000 });
    const a = await instance("fa-a");
    const b = await instance("fa-b");
    sims.push(...(await addCountingDevices(a.manager.registry, DEVICES, POLL_MS)));
    await a.manager.registry.putItem({ id: LEVEL });
    for (const d of DEVICES)
      await a.manager.registry.putPoint({ deviceId: d, termId: `${d}t`, itemId: LEVEL, address: "HR1.1" });
    await a.manager.store.ensureEventGroup("fa-check", "start");
    // One copy of the check node active before the first sample, so every transition has a reporter.
    await until(
      () => instances.some((i) => i.check.status().kind === "active"),
      20_000,
      "one check node active",
    );
    const runtimes = [a, b].map((i) => (i.runtime = startManagerRuntime(i.manager, { leaseMs: LEASE_MS })));
    await Promise.all(runtimes.map((rt) => rt.started));
    await untilSettled(runtimes, a.manager.store, DEVICES, 10);

    // Instance a's REST API, asked for the device list one request after another through the failover, on the JSON
    // path and on the older system's, by turns.
    const ctx: RestContext = {
      store: a.manager.store,
      basePath: "/api",
      maxBodyBytes: 100_000,
      now: Date.now,
    };
    restLoop = (async () => {
      for (let n = 0; !stopRest; n++) {
        const path = n % 2 === 0 ? "/v2/devices" : "/v1/devices";
        const sent = preciseNow();
        const res = await handle({ method: "GET", path, query: {}, headers: {}, body: undefined }, ctx);
        rest.push({
          path,
          sent,
          answered: preciseNow(),
          status: res.status,
          type: res.headers["content-type"] ?? "",
          body: res.body,
        });
        // One request after another, as test/support/worst-wait.ts asks: yield to I/O, no fixed pause.
        await new Promise((r) => setImmediate(r));
      }
    })();

    await until(() => rest.some((q) => q.status === 200), 10_000, "the REST API answering");
    const { switched } = await group.watchSwitch();
    killAt = (await group.killMaster()).at;
    switchAt = await switched;
    await untilStoredMore(a.manager.store, DEVICES, 20);
    stopRest = true;
    await restLoop;
    // Polling stops; the check nodes go on until every sample reached both (the other instance's come
    // over Redis) and the active one wrote its alarm state.
    for (const i of instances) await i.runtime?.close();
    // (The records are read raw: the store's alarm list keeps only the fields every writer has.)
    entries = await drainEventEntries(a.manager.store, "fa-check");
    const final = expected().map((e) => e.at(-1));
    await until(
      async () => {
        const records = await alarmRecords().catch(() => undefined);
        return DEVICES.every((_, k) => final[k] === undefined || records?.[k]?.state === final[k]?.state);
      },
      30_000,
      "the last transitions written",
    ).catch((err: unknown) => problems.push(String(err))); // the its below say what differs
    entries.push(...(await drainEventEntries(a.manager.store, "fa-check")));
    await closeInstances();
  });

  after(async function () {
    stopRest = true;
    await restLoop;
    await closeInstances();
    for (const i of instances) await i.manager.close();
    for (const s of sims) await s.close();
    await group?.stop();
  });

  /**
   * Per device, the transitions its served readings dictate, in order: a raise at each reading whose
   * level is 1 after a 0 (or first), a clear at each 0 after a 1. A request a poller abandoned with its
   * connection (the last of a closed one) made no sample unless it is in the events stream.
   */
  function expected(): { seq: number; state: string }[][] {
    const stored = storedSeqs();
    return sims.map((sim, k) => {
      const readings = sim.connections
        .flatMap((c) =>
          c.requests.filter(
            (q, n) => n < c.requests.length - 1 || c.closed === undefined || stored[k].has(q.seq),
          ),
        )
        .map((q) => q.seq)
        .sort((x, y) => x - y);
      const out: { seq: number; state: string }[] = [];
      let level = 0;
      for (const seq of readings) {
        const now = levelOf(seq);
        if (now !== level) out.push({ seq, state: now === 1 ? "raised" : "cleared-unacked" });
        level = now;
      }
      return out;
    });
  }

  function storedSeqs(): Set<number>[] {
    const out = DEVICES.map(() => new Set<number>());
    for (const { envelope } of entries)
      for (const p of envelope.points)
        if (p.itemId === "seq" && typeof p.value === "number") out[DEVICES.indexOf(p.deviceId)]?.add(p.value);
    return out;
  }

  /** Each device's `high` alarm record as the new master holds it (undefined: none). */
  async function alarmRecords(): Promise<({ state?: string; ts?: number } | undefined)[]> {
    const port = await group?.masterPort();
    if (port === undefined) throw new Error("no Sentinel group");
    let r = servers.get(port);
    if (!r) servers.set(port, (r = group?.server(port)));
    if (!r) throw new Error("no Sentinel group");
    const hashes = await Promise.all(DEVICES.map((d) => r.hgetall(`${NS}alarm:${keyOf(d)}`)));
    return hashes.map((h) =>
      h.high === undefined ? undefined : (JSON.parse(h.high) as { state?: string; ts?: number }),
    );
  }

  /** The reading that made a sample of device `d` at `ts` (its counter in the same batch). */
  function seqAt(d: string, ts: number): number | undefined {
    for (const { envelope } of entries)
      for (const p of envelope.points)
        if (p.deviceId === d && p.itemId === "seq" && p.ts === ts && typeof p.value === "number")
          return p.value;
    return undefined;
  }

  /** When a write of `instance` first reached the new master (its stream entry's server time). */
  function firstWriteAfterKill(instanceId: string): number {
    let first = Infinity;
    for (const { id, envelope } of entries) {
      const at = Number(id.split("-")[0]);
      if (envelope.instance === instanceId && at > killAt) first = Math.min(first, at);
    }
    return first;
  }

  it("every raise and clear the values dictate is reported once, through the failover", function () {
    assert.deepEqual(problems, [], "checks that failed");
    const want = expected();
    for (const [k, d] of DEVICES.entries()) {
      const got = reported
        .filter((r) => r.t.key === keyOf(d))
        .sort((x, y) => x.t.ts - y.t.ts)
        .map((r) => `${r.t.state}#${seqAt(d, r.t.ts) ?? `?@${r.t.ts}`}`);
      // On a difference, say which readings never reached the events stream (a sample lost, not an
      // alarm) and who reported what when (ms from the kill).
      const unstored = unstoredReadings(
        [d],
        [sims[k]],
        entries.map((e) => e.envelope),
        "seq",
      );
      const who = reported
        .filter((r) => r.t.key === keyOf(d))
        .map((r) => `${r.instance}:${r.t.state}@${Math.round(r.t.ts - killAt)}`);
      assert.deepEqual(
        got,
        want[k].map((e) => `${e.state}#${e.seq}`),
        `${d}: transitions reported (by either instance) against those the served values dictate; ` +
          `readings not stored: ${unstored.join(" ") || "none"}; reported: ${who.join(" ")}; ` +
          `switch at ${Math.round(switchAt - killAt)} ms`,
      );
      // The window is covered: readings answered while no master took writes made transitions.
      const back = Math.min(firstWriteAfterKill("fa-a"), firstWriteAfterKill("fa-b"));
      const inWindow = sims[k].connections
        .flatMap((c) => c.requests)
        .filter((q) => q.at > killAt && q.at < back);
      const seqs = new Set(inWindow.map((q) => q.seq));
      assert.ok(
        want[k].some((e) => seqs.has(e.seq)),
        `${d}: a transition made by a reading answered between the kill and the first write on the new master`,
      );
    }
  });

  it("the alarm records on the new master end in the last transition's state", async function () {
    const want = expected();
    const records = await alarmRecords();
    for (const [k, d] of DEVICES.entries()) {
      const last = want[k].at(-1);
      assert.ok(last, `${d}: transitions expected`);
      const rec = records[k];
      assert.equal(rec?.state, last.state, `${d}: the record's state`);
      assert.equal(
        seqAt(d, rec?.ts ?? NaN),
        last.seq,
        `${d}: the record's time is its last transition's sample`,
      );
    }
  });

  it("REST answers 200 before the kill, 503 in the path's shape only until its store wrote to the new master, 200 after", function () {
    const back = firstWriteAfterKill("fa-a");
    assert.ok(Number.isFinite(back), "instance a wrote to the new master");
    assert.ok(
      rest.some((q) => q.answered < killAt && q.status === 200),
      "answers before the kill",
    );
    assert.ok(
      rest.some((q) => q.sent > back),
      "requests after the first write on the new master",
    );
    for (const q of rest) {
      if (q.sent > back || q.answered < killAt) {
        assert.equal(q.status, 200, `${q.path} outside the failover window: ${JSON.stringify(q.body)}`);
        continue;
      }
      if (q.status === 200) continue;
      assert.equal(q.status, 503, `${q.path}: ${q.status} ${JSON.stringify(q.body)}`);
      if (q.path.startsWith("/v2")) {
        assert.match(q.type, /^application\/json/);
        const body = q.body as { error?: unknown; message?: unknown };
        assert.equal(body.error, "unavailable");
        assert.match(String(body.message), /unreachable, try again later$/);
      } else {
        assert.match(q.type, /^text\/plain/);
        assert.match(String(q.body), /unreachable, try again later$/);
      }
    }
    // Not a hang: the API answered while no master was up.
    assert.ok(
      rest.some((q) => q.answered > killAt && q.answered < back),
      "an answer between the kill and the first write on the new master",
    );
  });
});
