/**
 * Issue 6 acceptance: three real Node-RED processes, each with only a `datacoll-manager` config node on
 * one Redis namespace, share 30 registry devices (Modbus simulators in this process). Throughout, the
 * lease keys are sampled every 100 ms and each simulator records, per TCP connection, when requests
 * arrive, so "one poller per device" is checked twice: by the leases, and by the devices themselves
 * (the request intervals of two connections to one device never overlap). Then: kill -9 of an
 * instance (its devices are polled again within 2x the lease, per device), its restart (balance
 * returns), a graceful stop (leases handed back at once), and the saver's view of the durable events
 * stream (no duplicate, no gap beyond the takeover window, no loss beyond the killed instance's last
 * in-flight samples). docs/scale-out.md quotes the figures this test prints.
 */
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { Manager } from "../../../src/core/manager";
import { parseManagerSettings } from "../../../src/core/manager-config";
import type { PointsEnvelope } from "../../../src/core/bus/envelope";
import { until } from "../../support/net";
import { REDIS_URL, uniqueNamespace } from "../../support/services";
import { NodeRedProcess } from "../../support/node-red-process";
import { RecordingSimulator, preciseNow, type ConnectionRecord } from "../../support/recording-simulator";

const LEASE_MS = 2000;
const POLL_MS = 200;
const SAMPLE_MS = 100;
const DEVICES = 30;
const INSTANCES = ["i1", "i2", "i3"] as const;
type InstanceName = (typeof INSTANCES)[number];
/** How long the leases are watched in all, from the first balance to the end. */
const WATCH_MS = 60_000;
/** The documented gap bound between two stored samples of a device (docs/scale-out.md). */
const GAP_WINDOW_MS = 2 * LEASE_MS + POLL_MS;
const DEVICE_TIMEOUT_MS = 1000;

interface LeaseSample {
  readonly at: number;
  readonly owners: readonly (string | null)[];
  /** Instances whose heartbeat has not expired. */
  readonly live: readonly string[];
}

interface Window {
  readonly from: number;
  readonly to: number;
  readonly live: readonly InstanceName[];
}

const deviceIds = Array.from({ length: DEVICES }, (_, i) => `d${String(i + 1).padStart(2, "0")}`);
const seqKey = (d: string): string => `${d}:${d}t:seq`;
const ms = (n: number): string => `${Math.round(n)} ms`;

describe("scale-out: three Node-RED instances on one Redis namespace", function () {
  this.timeout(150_000);
  const ns = uniqueNamespace("scale");
  const sims: RecordingSimulator[] = [];
  const procs = new Map<InstanceName, NodeRedProcess>();
  const samples: LeaseSample[] = [];
  const steady: Window[] = [];
  let redis: Redis | undefined;
  let admin: Manager | undefined;
  let sampling: Promise<void> | undefined;
  let stopSampling = false;
  // Phase marks, set as the scenario runs.
  let watchFrom = 0;
  let killAt = 0;
  let victimConns: ConnectionRecord[] = [];
  let endAt = 0;

  const killAll = (): void => {
    for (const p of procs.values()) p.killNow();
  };
  const proc = (name: InstanceName): NodeRedProcess => {
    const p = procs.get(name);
    if (!p) throw new Error(`no process ${name}`);
    return p;
  };
  const logs = (): string =>
    [...procs.values()].map((p) => `--- ${p.name} ---\n${p.output.slice(-3000)}`).join("\n");
  const last = (): LeaseSample | undefined => samples[samples.length - 1];

  /** Every device leased by one of `live`, each holding its fair share (ceil(devices / live)). */
  const balanced = (live: readonly InstanceName[]): boolean => {
    const s = last();
    if (!s) return false;
    const share = Math.ceil(DEVICES / live.length);
    const counts = new Map<string, number>();
    for (const o of s.owners) {
      if (o === null || !live.includes(o as InstanceName)) return false;
      counts.set(o, (counts.get(o) ?? 0) + 1);
    }
    return live.every((n) => (counts.get(n) ?? 0) <= share);
  };
  const countsText = (): string => {
    const counts = new Map<string, number>();
    for (const o of last()?.owners ?? []) counts.set(String(o), (counts.get(String(o)) ?? 0) + 1);
    return JSON.stringify(Object.fromEntries(counts));
  };
  const owned = (name: InstanceName): number[] =>
    (last()?.owners ?? []).flatMap((o, i) => (o === name ? [i] : []));

  /** The first request to device `i` at or after `t` on a connection other than `exclude`. */
  const firstRequestAfter = (
    i: number,
    t: number,
    exclude: ReadonlySet<ConnectionRecord>,
  ): number | undefined => {
    let first: number | undefined;
    for (const c of sims[i].connections) {
      if (exclude.has(c)) continue;
      const r = c.requests.find((x) => x.at >= t);
      if (r && (first === undefined || r.at < first)) first = r.at;
    }
    return first;
  };
  /** The connection that polled device `i` last before `t`. */
  const pollerAt = (i: number, t: number): ConnectionRecord | undefined => {
    let best: { c: ConnectionRecord; at: number } | undefined;
    for (const c of sims[i].connections) {
      const before = c.requests.filter((r) => r.at < t);
      const at = before[before.length - 1]?.at;
      if (at !== undefined && (!best || at > best.at)) best = { c, at };
    }
    return best?.c;
  };
  /** Per device of `devices`: ms from `t` until another connection than its poller at `t` polls it. */
  async function takeover(
    devices: readonly number[],
    t: number,
    withinMs: number,
    what: string,
  ): Promise<number[]> {
    const old = new Set(devices.map((i) => pollerAt(i, t)).filter((c) => c !== undefined));
    await until(
      () => devices.every((i) => firstRequestAfter(i, t, old) !== undefined),
      withinMs,
      `${what}: every device polled again (${countsText()})`,
    );
    return devices.map((i) => (firstRequestAfter(i, t, old) ?? Infinity) - t);
  }
  const summary = (xs: readonly number[]): string => {
    const s = [...xs].sort((a, b) => a - b);
    return `min ${ms(s[0])}, median ${ms(s[Math.floor(s.length / 2)])}, max ${ms(s[s.length - 1])}`;
  };

  before(async function () {
    process.once("exit", killAll);
    redis = new Redis(REDIS_URL);
    admin = new Manager(
      parseManagerSettings({ store: "redis", redisUrl: REDIS_URL, namespace: ns, instanceId: "scale-test" }),
      { onError: () => undefined },
    );
    await admin.ready();
    const r = admin.registry;
    await r.putItem({ id: "seq" });
    await r.putItem({ id: "low" });
    for (const d of deviceIds) {
      const sim = new RecordingSimulator();
      sims.push(sim);
      const port = await sim.listen();
      await r.putDevice({
        id: d,
        protocol: "modbus-tcp",
        host: "127.0.0.1",
        port,
        options: { timeout: 1000 },
      });
      await r.putTerm({ id: `${d}t`, deviceId: d, address: 1, pollInterval: POLL_MS });
      await r.putPoint({ deviceId: d, termId: `${d}t`, itemId: "seq", address: "HR0:uint32" });
      await r.putPoint({ deviceId: d, termId: `${d}t`, itemId: "low", address: "HR2" });
    }
    for (const name of INSTANCES) {
      procs.set(
        name,
        new NodeRedProcess(name, [
          { id: "scale-tab", type: "tab", label: "scale-out" },
          {
            id: `mgr-${name}`,
            type: "datacoll-manager",
            name: `manager ${name}`,
            store: "redis",
            redisUrl: REDIS_URL,
            namespace: ns,
            instanceId: name,
            runDevices: true,
            leaseMs: LEASE_MS,
          },
        ]),
      );
    }
    const leaseKeys = deviceIds.map((d) => `${ns}lease:device:${d}`);
    const client = redis;
    sampling = (async () => {
      while (!stopSampling) {
        const t0 = preciseNow();
        const [owners, live] = await Promise.all([
          client.mget(leaseKeys),
          client.zrangebyscore(`${ns}instances`, Date.now(), "+inf"),
        ]);
        samples.push({ at: (t0 + preciseNow()) / 2, owners, live });
        // The sampling clock, not a wait for a result.
        await new Promise((res) => setTimeout(res, Math.max(0, SAMPLE_MS - (preciseNow() - t0))));
      }
    })();
  });

  after(async function () {
    stopSampling = true;
    await sampling?.catch(() => undefined);
    // Every process dies, whatever happened above, before the keys are swept.
    await Promise.all([...procs.values()].map((p) => p.stop("SIGKILL")));
    process.removeListener("exit", killAll);
    for (const p of procs.values()) p.dispose();
    await Promise.all(sims.map((s) => s.close()));
    await admin?.close();
    if (redis) {
      const keys = await redis.keys(`${ns}*`);
      if (keys.length > 0) await redis.del(...keys);
      assert.deepEqual(await redis.keys(`${ns}*`), [], "no key of the namespace is left");
      await redis.quit();
    }
  });

  it("three instances started at once settle on a fair share each", async function () {
    const t0 = preciseNow();
    await Promise.all(INSTANCES.map((n) => proc(n).start()));
    await until(() => balanced(INSTANCES), 60_000, "balance of three").catch((err: unknown) => {
      throw new Error(`${String(err)}; owners ${countsText()}\n${logs()}`);
    });
    watchFrom = preciseNow();
    console.log(`      start: balanced ${ms(watchFrom - t0)} after spawning three Node-RED processes`);
    for (const n of INSTANCES) assert.equal(owned(n).length, DEVICES / 3, `${n} holds its share`);
    // Steady: watched for a quarter of the run before the kill.
    await until(() => preciseNow() - watchFrom >= WATCH_MS / 4, WATCH_MS, "a quarter of the watch");
    steady.push({ from: watchFrom, to: preciseNow(), live: INSTANCES });
  });

  it("kill -9 of one instance: each of its devices is polled again within 2x the lease", async function () {
    const victim: InstanceName = "i1";
    const devices = owned(victim);
    assert.equal(devices.length, DEVICES / 3);
    killAt = preciseNow();
    victimConns = devices.flatMap((i) => pollerAt(i, killAt) ?? []);
    await proc(victim).stop("SIGKILL");
    const times = await takeover(devices, killAt, 2 * LEASE_MS + 2000, "takeover after kill -9");
    await until(() => balanced(["i2", "i3"]), 2 * LEASE_MS, "survivors hold every lease");
    const done = preciseNow();
    console.log(`      kill -9: devices polled again after ${summary(times)} (lease ${LEASE_MS} ms)`);
    for (const [k, t] of times.entries()) {
      assert.ok(t <= 2 * LEASE_MS, `${deviceIds[devices[k]]} was polled again only after ${ms(t)}`);
    }
    await until(() => preciseNow() - watchFrom >= WATCH_MS / 2, WATCH_MS, "half of the watch");
    steady.push({ from: done, to: preciseNow(), live: ["i2", "i3"] });
  });

  it("restarting it brings the balance back", async function () {
    const restartAt = preciseNow();
    await proc("i1").start();
    await until(() => last()?.live.includes("i1") === true, 60_000, "i1's heartbeat").catch(
      (err: unknown) => {
        throw new Error(`${String(err)}\n${logs()}`);
      },
    );
    const upAt = preciseNow();
    await until(() => balanced(INSTANCES), 4 * LEASE_MS, "balance of three after the restart");
    const balancedAt = preciseNow();
    console.log(
      `      restart: heartbeat ${ms(upAt - restartAt)} after spawn (Node-RED start), balanced ${ms(balancedAt - upAt)} later`,
    );
    assert.ok(balancedAt - upAt <= 2 * LEASE_MS, `balance took ${ms(balancedAt - upAt)}`);
    await until(() => preciseNow() - watchFrom >= (WATCH_MS * 7) / 8, WATCH_MS, "most of the watch");
    steady.push({ from: balancedAt, to: preciseNow(), live: INSTANCES });
  });

  it("a graceful stop hands the leases back at once: polled again within one lease time", async function () {
    const leaving: InstanceName = "i2";
    const devices = owned(leaving);
    const stopAt = preciseNow();
    await proc(leaving).stop("SIGINT");
    const times = await takeover(devices, stopAt, 2 * LEASE_MS + 2000, "takeover after a graceful stop");
    await until(() => balanced(["i1", "i3"]), 2 * LEASE_MS, "the others hold every lease");
    const done = preciseNow();
    console.log(`      graceful stop: devices polled again after ${summary(times)}`);
    for (const [k, t] of times.entries()) {
      assert.ok(t <= LEASE_MS, `${deviceIds[devices[k]]} was polled again only after ${ms(t)}`);
    }
    await until(() => preciseNow() - watchFrom >= WATCH_MS, WATCH_MS, "the end of the watch");
    endAt = preciseNow();
    steady.push({ from: done, to: endAt, live: ["i1", "i3"] });
    // Everything polled up to endAt is in the store once a later sample of every device is.
    await until(
      async () =>
        ((await admin?.store.latestMany(deviceIds.map(seqKey))) ?? []).every(
          (p) => p !== undefined && p.ts > endAt,
        ),
      4 * POLL_MS + 2000,
      "a sample after the end mark from every device",
    );
    stopSampling = true;
    await sampling;
  });

  it("every lease sample: one owner per device in steady state, never unowned beyond 2x the lease", function () {
    assert.ok(samples.length >= WATCH_MS / SAMPLE_MS / 2, `only ${samples.length} samples`);
    const watched = samples.filter((s) => s.at >= watchFrom && s.at <= endAt);
    let inSteady = 0;
    for (const w of steady) {
      for (const s of watched.filter((x) => x.at >= w.from && x.at <= w.to)) {
        inSteady++;
        s.owners.forEach((o, i) =>
          assert.ok(
            o !== null && w.live.includes(o as InstanceName),
            `${deviceIds[i]} owned by ${o} at +${ms(s.at - watchFrom)} (live: ${w.live.join()})`,
          ),
        );
      }
    }
    // In transitions a lease may be free for a moment; never longer than a takeover.
    const freeSince = new Array<number | undefined>(DEVICES).fill(undefined);
    let longestFree = 0;
    for (const s of watched) {
      s.owners.forEach((o, i) => {
        assert.ok(o === null || INSTANCES.includes(o as InstanceName), `unknown owner ${o}`);
        if (o === null) freeSince[i] ??= s.at;
        else if (freeSince[i] !== undefined) {
          longestFree = Math.max(longestFree, s.at - (freeSince[i] ?? s.at));
          freeSince[i] = undefined;
        }
      });
    }
    console.log(
      `      leases: ${watched.length} samples over ${ms(endAt - watchFrom)}, ${inSteady} in steady state, longest free lease ${ms(longestFree)}`,
    );
    assert.ok(longestFree <= 2 * LEASE_MS, `a lease was free for ${ms(longestFree)}`);
  });

  it("no device is ever polled by two connections at once", function () {
    let conns = 0;
    for (const [i, sim] of sims.entries()) {
      const spans = sim.connections
        .filter((c) => c.requests.length > 0)
        .map((c) => ({ c, from: c.requests[0].at, to: c.requests[c.requests.length - 1].at }))
        .sort((a, b) => a.from - b.from);
      conns += spans.length;
      let prevEnd = -Infinity;
      for (const s of spans) {
        assert.ok(
          s.from > prevEnd,
          `${deviceIds[i]}: connection ${s.c.id} polled from +${ms(s.from - watchFrom)} while another polled until +${ms(prevEnd - watchFrom)}`,
        );
        prevEnd = Math.max(prevEnd, s.to);
      }
    }
    console.log(`      overlap: ${conns} polling connections over ${DEVICES} devices, none overlapping`);
    assert.ok(conns >= DEVICES + DEVICES / 3, "the kill and restart moved devices to new connections");
  });

  it("the saver's events stream: no duplicate, no gap beyond the takeover window, no loss but the killed in-flight batch", async function () {
    const store = admin?.store;
    assert.ok(store);
    await store.ensureEventGroup("scale-saver", "start");
    const envelopes: PointsEnvelope[] = [];
    const streamIds = new Set<string>();
    for (;;) {
      const batch = await store.readEvents("scale-saver", "c1", 2000, 0);
      if (batch.length === 0) break;
      for (const rec of batch) {
        assert.ok(rec.ok, `unreadable event ${rec.id}`);
        assert.ok(!streamIds.has(rec.id), `stream id ${rec.id} twice`);
        streamIds.add(rec.id);
        envelopes.push(rec.envelope);
      }
      await store.ackEvents(
        "scale-saver",
        batch.map((b) => b.id),
      );
    }
    const eventIds = new Set(envelopes.map((e) => e.id));
    assert.equal(eventIds.size, envelopes.length, "an event id appears twice");

    // Per device: the stored readings (seq) with their time and the instance that made them.
    const stored = deviceIds.map(() => new Map<number, { ts: number; instance: string }>());
    let bad = 0;
    const failedAt = deviceIds.map((): number[] => []);
    const failures = new Set<string>();
    for (const env of envelopes) {
      for (const p of env.points) {
        if (p.itemId !== "seq") continue;
        if (p.error !== undefined || typeof p.value !== "number") {
          bad++; // a failed read repeats the last value marked bad: not a reading of its own
          failedAt[deviceIds.indexOf(p.deviceId)].push(p.ts);
          failures.add(p.error ?? "no value");
          continue;
        }
        const i = deviceIds.indexOf(p.deviceId);
        assert.ok(!stored[i].has(p.value), `${p.deviceId}: reading ${p.value} stored twice`);
        stored[i].set(p.value, { ts: p.ts, instance: env.instance });
      }
    }

    let maxGap = 0;
    let gaps = 0;
    for (const [i, m] of stored.entries()) {
      const ts = [...m.values()]
        .map((v) => v.ts)
        .filter((t) => t >= watchFrom && t <= endAt)
        .sort((a, b) => a - b);
      assert.ok(ts.length > 0, `${deviceIds[i]} has no samples`);
      for (let k = 1; k < ts.length; k++) {
        const gap = ts[k] - ts[k - 1];
        maxGap = Math.max(maxGap, gap);
        if (gap > 2 * POLL_MS) gaps++;
        assert.ok(
          gap <= GAP_WINDOW_MS,
          `${deviceIds[i]}: no sample for ${ms(gap)} from +${ms(ts[k - 1] - watchFrom)}`,
        );
      }
    }

    // Every request answered before the end mark produced a stored reading, except: the one a
    // connection had in flight when its owner stopped polling (the reply is dropped with the socket),
    // and the killed instance's samples not yet ingested when it died.
    let inFlightLost = 0;
    let timedOut = 0;
    let killedLost = 0;
    let killedLostEarliest = Infinity;
    let checked = 0;
    for (const [i, sim] of sims.entries()) {
      for (const c of sim.connections) {
        const killed = victimConns.includes(c);
        c.requests.forEach((r, k) => {
          if (r.at > endAt) return;
          checked++;
          if (stored[i].has(r.seq)) return;
          const lastOfClosed = k === c.requests.length - 1 && c.closed !== undefined;
          if (killed && r.at >= killAt - 2 * POLL_MS) {
            killedLost++;
            killedLostEarliest = Math.min(killedLostEarliest, r.at - killAt);
            return;
          }
          if (lastOfClosed) {
            inFlightLost++;
            return;
          }
          // A reply later than the device's timeout (1000 ms) is dropped and the poll stored as a
          // failed read: that sample is in the stream, only the late reading is not.
          if (failedAt[i].some((t) => t >= r.at && t <= r.at + DEVICE_TIMEOUT_MS + 500)) {
            timedOut++;
            return;
          }
          const near = failedAt[i].filter((t) => Math.abs(t - r.at) < 3000).map((t) => ms(t - r.at));
          assert.fail(
            `${deviceIds[i]}: reading ${r.seq} answered at +${ms(r.at - watchFrom)} on connection ${c.id} ` +
              `(request ${k + 1} of ${c.requests.length}, closed ${c.closed === undefined ? "no" : `+${ms(c.closed - watchFrom)}`}) ` +
              `was never stored; failed reads of the device near it: ${near.join(", ") || "none"}`,
          );
        });
      }
    }
    console.log(
      `      events: ${envelopes.length} events, ids unique; ${checked} readings checked; max gap ${ms(maxGap)} ` +
        `(window ${GAP_WINDOW_MS} ms, ${gaps} gaps over 2 polls); lost: ${killedLost} in flight at the kill ` +
        `(earliest ${Number.isFinite(killedLostEarliest) ? ms(killedLostEarliest) : "-"} from the kill), ` +
        `${inFlightLost} in flight at a hand-over, ${timedOut} answered after the timeout; ${bad} failed reads ${JSON.stringify([...failures])}`,
    );
  });
});
