/**
 * A Redis Sentinel group of a test's own, on loopback ports nobody else uses: a master, one replica and
 * three sentinels (Debian's redis-server and redis-sentinel, installed by scripts/services.sh), quorum 2,
 * each in a temporary directory. The failover tests and the failover benchmark kill the master with
 * SIGKILL and watch the sentinels name the replica. `stop()` kills every process and removes the
 * directory, so nothing outlives the test.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import type { PointsEnvelope } from "../../src/core/bus/envelope";
import { Manager } from "../../src/core/manager";
import { parseManagerSettings } from "../../src/core/manager-config";
import type { Registry } from "../../src/core/store/registry";
import type { Store } from "../../src/core/store/store";
import { RecordingSimulator } from "./recording-simulator";
import { until } from "./net";
import { sparePort, startRedis, stopRedis } from "../integration/store/redis-server";

export const MASTER_NAME = "dcmaster";

export interface SentinelGroupOptions {
  /** The sentinels' `down-after-milliseconds`: how long the master must be silent to count as down. */
  readonly downAfterMs?: number;
  /** The sentinels' own password (`requirepass` in sentinel.conf); the servers have none. */
  readonly sentinelPassword?: string;
}

export interface SentinelGroup {
  readonly sentinelPorts: readonly number[];
  /** The two servers' ports: the first master, then its replica (roles change at a failover). */
  readonly serverPorts: readonly number[];
  /** The port of whichever server the sentinels name master right now (as last seen). */
  masterPort(): Promise<number>;
  /** SIGKILL the current master; resolves to the kill's time (epoch ms) and the port killed. */
  killMaster(): Promise<{ at: number; port: number }>;
  /**
   * Subscribes to a sentinel's `+switch-master` channel; resolves once subscribed, with `switched`: the
   * time (epoch ms) the next switch is heard. (Wrapped, as a promise resolving to a promise would wait.)
   */
  watchSwitch(): Promise<{ readonly switched: Promise<number> }>;
  /** A plain connection to one server (not through the sentinels), for the test's checks. */
  server(port: number): Redis;
  stop(): Promise<void>;
}

export interface SentinelProcessOptions {
  readonly port: number;
  /** Where the sentinel keeps its config file (it rewrites it as it learns the group). */
  readonly dir: string;
  readonly masterName: string;
  readonly masterPort: number;
  /** `down-after-milliseconds`: how long the master must be silent to count as down. */
  readonly downAfterMs: number;
  /** The sentinels' own password (`requirepass` and `sentinel-pass`); none when undefined. */
  readonly password?: string;
}

/**
 * One redis-sentinel process on loopback watching `masterName`; resolves once it monitors the master.
 * Shared by the tests' group below and the soak's (soak/sentinel.ts).
 */
export function startSentinel(o: SentinelProcessOptions): Promise<ChildProcess> {
  const conf = path.join(o.dir, `sentinel-${o.port}.conf`);
  fs.writeFileSync(
    conf,
    [
      `port ${o.port}`,
      "bind 127.0.0.1",
      `dir ${o.dir}`,
      `sentinel monitor ${o.masterName} 127.0.0.1 ${o.masterPort} 2`,
      `sentinel down-after-milliseconds ${o.masterName} ${o.downAfterMs}`,
      `sentinel failover-timeout ${o.masterName} 10000`,
      `sentinel parallel-syncs ${o.masterName} 1`,
      ...(o.password === undefined
        ? []
        : [`requirepass ${o.password}`, `sentinel sentinel-pass ${o.password}`]),
      "",
    ].join("\n"),
  );
  const proc = spawn("redis-sentinel", [conf]);
  return new Promise((resolve, reject) => {
    let out = "";
    proc.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("+monitor master")) resolve(proc);
    });
    proc.once("error", reject);
    proc.once("exit", (code) => reject(new Error(`redis-sentinel exited with ${code}: ${out}`)));
  });
}

export async function startSentinelGroup(opts: SentinelGroupOptions = {}): Promise<SentinelGroup> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dc-sentinel-"));
  const procs = new Map<number, ChildProcess>();
  const clients: Redis[] = [];
  const client = (port: number, password?: string): Redis => {
    const c = new Redis({
      port,
      host: "127.0.0.1",
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      ...(password === undefined ? {} : { password }),
    });
    c.on("error", () => undefined);
    clients.push(c);
    return c;
  };
  const stop = async (): Promise<void> => {
    for (const c of clients) c.disconnect();
    await Promise.all([...procs.values()].map((p) => stopRedis(p)));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const masterPort = await sparePort();
    procs.set(masterPort, await startRedis(masterPort, ["--dir", dir, "--dbfilename", `m${masterPort}.rdb`]));
    const replicaPort = await sparePort();
    procs.set(
      replicaPort,
      await startRedis(replicaPort, [
        "--dir",
        dir,
        "--dbfilename",
        `r${replicaPort}.rdb`,
        "--replicaof",
        "127.0.0.1",
        String(masterPort),
      ]),
    );
    const replica = client(replicaPort);
    await until(
      async () => /master_link_status:up/.test(await replica.info("replication").catch(() => "")),
      10_000,
      "the replica's link to the master",
    );
    const sentinelPorts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await sparePort();
      procs.set(
        port,
        await startSentinel({
          port,
          dir,
          masterName: MASTER_NAME,
          masterPort,
          downAfterMs: opts.downAfterMs ?? 1000,
          password: opts.sentinelPassword,
        }),
      );
      sentinelPorts.push(port);
    }
    // Ready once every sentinel knows the replica and the two other sentinels (they find each other
    // through the master's hello channel): only then can they agree on a failover.
    const sentinel = (port: number): Redis => client(port, opts.sentinelPassword);
    const sentinels = sentinelPorts.map((p) => sentinel(p));
    await until(
      async () => {
        for (const s of sentinels) {
          const replicas = (await s.call("SENTINEL", "REPLICAS", MASTER_NAME).catch(() => [])) as unknown[];
          const others = (await s.call("SENTINEL", "SENTINELS", MASTER_NAME).catch(() => [])) as unknown[];
          if (replicas.length < 1 || others.length < 2) return false;
        }
        return true;
      },
      30_000,
      "the sentinels knowing the replica and each other",
    );
    const masterPortNow = async (): Promise<number> => {
      const addr = (await sentinels[0].call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME)) as string[];
      return Number(addr[1]);
    };
    const watchSwitch = async (): Promise<{ readonly switched: Promise<number> }> => {
      const sub = sentinel(sentinelPorts[0]);
      const switched = new Promise<number>((resolve) => {
        sub.on("message", (channel: string) => {
          if (channel !== "+switch-master") return;
          const at = Date.now();
          sub.disconnect();
          resolve(at);
        });
      });
      await sub.subscribe("+switch-master");
      return { switched };
    };
    return {
      sentinelPorts,
      serverPorts: [masterPort, replicaPort],
      masterPort: masterPortNow,
      killMaster: async () => {
        const port = await masterPortNow();
        const proc = procs.get(port);
        if (!proc) throw new Error(`no process of this group listens on ${port}`);
        const at = Date.now();
        await stopRedis(proc); // SIGKILL
        return { at, port };
      },
      watchSwitch,
      server: client,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * A manager of one instance on `group`, set up in Sentinel mode exactly as the manager node's dialog
 * saves it. Its errors are the failover's and are not the test's business (the caller closes it).
 */
export function sentinelManager(group: SentinelGroup, namespace: string, instanceId: string): Manager {
  return new Manager(
    parseManagerSettings({
      store: "redis",
      redisMode: "sentinel",
      sentinels: group.sentinelPorts.map((p) => `127.0.0.1:${p}`).join(", "),
      sentinelName: MASTER_NAME,
      namespace,
      instanceId,
    }),
    { onError: () => undefined },
  );
}

/**
 * The readings the devices answered that are not in `envelopes` (the events stream), as
 * `device#reading@ms` (time of the answer, epoch ms). The request a connection had in flight when its
 * poller stopped is answered into a closed socket and makes no sample: it is not counted.
 */
export function unstoredReadings(
  deviceIds: readonly string[],
  sims: readonly RecordingSimulator[],
  envelopes: readonly PointsEnvelope[],
  itemId: string,
): string[] {
  const stored = deviceIds.map(() => new Set<number>());
  for (const env of envelopes) {
    for (const p of env.points) {
      if (p.itemId !== itemId || typeof p.value !== "number" || p.error !== undefined) continue;
      stored[deviceIds.indexOf(p.deviceId)]?.add(p.value);
    }
  }
  const missing: string[] = [];
  for (const [i, sim] of sims.entries()) {
    for (const c of sim.connections) {
      c.requests.forEach((q, k) => {
        if (k === c.requests.length - 1 && c.closed !== undefined) return;
        if (!stored[i].has(q.seq)) missing.push(`${deviceIds[i]}#${q.seq}@${Math.round(q.at)}`);
      });
    }
  }
  return missing;
}

/**
 * One counting device (a RecordingSimulator) per id in `registry`: a term `<id>t` polled every `pollMs`,
 * item `seq` = HR0:uint32, so each stored sample names the request that made it.
 */
export async function addCountingDevices(
  registry: Registry,
  deviceIds: readonly string[],
  pollMs: number,
): Promise<RecordingSimulator[]> {
  await registry.putItem({ id: "seq" });
  const sims: RecordingSimulator[] = [];
  for (const d of deviceIds) {
    const sim = new RecordingSimulator();
    sims.push(sim);
    const port = await sim.listen();
    await registry.putDevice({
      id: d,
      protocol: "modbus-tcp",
      host: "127.0.0.1",
      port,
      options: { timeout: 1000 },
    });
    await registry.putTerm({ id: `${d}t`, deviceId: d, address: 1, pollInterval: pollMs });
    await registry.putPoint({ deviceId: d, termId: `${d}t`, itemId: "seq", address: "HR0:uint32" });
  }
  return sims;
}

/** The counter each device's `seq` point last stored (0 before the first, or while no master answers). */
export async function latestSeqs(store: Store, deviceIds: readonly string[]): Promise<number[]> {
  return Promise.all(
    deviceIds.map(async (d) => {
      const p = await store.latest(`${d}:${d}t:seq`).catch(() => undefined);
      return typeof p?.value === "number" ? p.value : 0;
    }),
  );
}

/**
 * Waits until each instance runs one device and every device has more than `readings` stored. The
 * failover tests kill the master only then: a device caught between a rebalance's stop and the other
 * instance's take when Redis goes has no poller until one lease time after the failover
 * (docs/scale-out.md, "Failover"), a cost they do not measure.
 */
export async function untilSettled(
  runtimes: readonly { readonly runner: { readonly devices: readonly string[] } }[],
  store: Store,
  deviceIds: readonly string[],
  readings: number,
): Promise<void> {
  await until(
    () => runtimes.every((rt) => rt.runner.devices.length === 1),
    20_000,
    "one device running on each instance",
  );
  await until(
    async () => (await latestSeqs(store, deviceIds)).every((v) => v > readings),
    20_000,
    "every device polled and stored",
  );
}

/** Waits until every device has `more` readings stored beyond what it has now (polling goes on). */
export async function untilStoredMore(
  store: Store,
  deviceIds: readonly string[],
  more: number,
): Promise<void> {
  const now = await latestSeqs(store, deviceIds);
  await until(
    async () => (await latestSeqs(store, deviceIds)).every((v, i) => v > now[i] + more),
    30_000,
    "samples stored on the new master",
  );
}

/** Every envelope left for consumer group `group` in the events stream, read and acknowledged. */
export async function drainEvents(store: Store, group: string): Promise<PointsEnvelope[]> {
  return (await drainEventEntries(store, group)).map((e) => e.envelope);
}

/**
 * The same with each envelope's stream id, whose first part is the server's clock (epoch ms) when the
 * entry was written: when a write reached the new master.
 */
export async function drainEventEntries(
  store: Store,
  group: string,
): Promise<{ readonly id: string; readonly envelope: PointsEnvelope }[]> {
  const entries: { id: string; envelope: PointsEnvelope }[] = [];
  for (;;) {
    const batch = await store.readEvents(group, "drain", 2000, 0);
    if (batch.length === 0) return entries;
    for (const rec of batch) if (rec.ok) entries.push({ id: rec.id, envelope: rec.envelope });
    await store.ackEvents(
      group,
      batch.map((b) => b.id),
    );
  }
}
