/**
 * The soak and chaos run (issue 11): `npm run soak -- --minutes N [--keep]`. docs/soak.md says what it
 * runs, which faults it injects, what it checks and which losses it allows, and why.
 *
 * Two real Node-RED processes share one Redis namespace on a redis-server of the soak's own (with an
 * append-only file, so a restart keeps the data as a real server's would); 20 Modbus devices and 5 IEC
 * 104 outstations run in three device processes, each device behind a TCP proxy; the instances write
 * to a fresh database on the shared MariaDB through another proxy. For N minutes of steady state a
 * driver sends REST requests to both instances while a fault script kills and restarts devices, freezes
 * device links, restarts Redis, cuts MySQL off, kills an instance with SIGKILL and restarts it, and
 * redeploys 20 times. Then it compares, prints a report and exits 1 when an invariant broke.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ChildProcess } from "node:child_process";
import type { RowDataPacket } from "mysql2/promise";
import { Redis } from "ioredis";
import { Manager } from "../src/core/manager";
import { parseManagerSettings } from "../src/core/manager-config";
import { deviceOfPointKey } from "../src/core/model/datapoint";
import { alarmsTableDdl, historyTableDdl } from "../src/core/history/schema";
import { NodeRedProcess, snapshotPackage } from "../test/support/node-red-process";
import { createTestDatabase, serverPort, type TestDatabase } from "../test/support-history/mysql";
import { TcpProxy } from "../test/integration/history/tcp-proxy";
import { sparePort, startRedis, stopRedis } from "../test/integration/store/redis-server";
import { spawnDevices, type DeviceProcess, type DeviceSpec, type Produced } from "./devices";
import {
  ALARMS_TABLE,
  FORMULA,
  HISTORY_TABLE,
  IEC_STEP_MS,
  LEASE_MS,
  SAW_HIGH,
  SAW_HYSTERESIS,
  SETTINGS_JS,
  CHECK_NODE_ID,
  instanceFlow,
  registerPlant,
  sawKey,
  seqKey,
  type PlantDevice,
} from "./plant";
import {
  checkSequence,
  expectedRaises,
  twoPollers,
  lastBeforeHandOver,
  REDIS_WINDOWS,
  HAND_OVER_AT_REDIS_FAULT,
  type LossWindow,
  type SequenceVerdict,
  emptyVerdict,
} from "./check";
import { startSentinelGroup } from "./sentinel";
import { heapUsed, procFigures, quantile, type ProcFigures } from "./probe";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const now = (): number => Date.now();
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

interface Args {
  readonly minutes: number;
  readonly keep: boolean;
  /** A master, a replica and three sentinels; the Redis fault is a kill -9 of the master (a failover). */
  readonly sentinel: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  let minutes = 3;
  let keep = false;
  let sentinel = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--minutes") minutes = Number(argv[++i]);
    else if (argv[i] === "--keep") keep = true;
    else if (argv[i] === "--sentinel") sentinel = true;
    else throw new Error(`unknown argument ${argv[i]} (use --minutes N [--keep] [--sentinel])`);
  }
  if (!Number.isFinite(minutes) || minutes < 2) throw new Error("--minutes must be a number, at least 2");
  return { minutes, keep, sentinel };
}

/** Rows grouped by their `point_key`, each turned into `f`'s value, in the rows' order. */
function byPoint<T>(rows: readonly RowDataPacket[], f: (r: RowDataPacket) => T): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) {
    const key = String(r.point_key);
    const list = out.get(key);
    if (list === undefined) out.set(key, [f(r)]);
    else list.push(f(r));
  }
  return out;
}

function log(text: string): void {
  process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
}

/** The figures of one Node-RED process over its life (a restart starts a new life). */
interface Life {
  readonly label: string;
  /** When the baseline is taken: at steady state, or 20 s after a restart (devices balanced again). */
  baselineAt: number;
  baseline: ProcFigures | undefined;
  last: ProcFigures | undefined;
  peakRssKb: number;
  heaps: { at: number; used: number }[];
}

class Instance {
  readonly proc: NodeRedProcess;
  readonly lives: Life[] = [];
  generation = 0;
  down = false;

  constructor(
    readonly id: string,
    private readonly flow: (generation: number) => object[],
    packageDir: string,
  ) {
    this.proc = new NodeRedProcess(id, flow(0), SETTINGS_JS, packageDir);
  }

  async start(): Promise<void> {
    await this.proc.start();
    this.lives.push({
      label: `${this.id}#${this.lives.length + 1}`,
      baselineAt: Infinity,
      baseline: undefined,
      last: undefined,
      peakRssKb: 0,
      heaps: [],
    });
    // Generous: on a loaded 2-core machine Node-RED has taken over two minutes to load its palette.
    const deadline = now() + 300_000;
    while ((await heapUsed(this.proc.port)) === undefined) {
      if (!this.proc.running)
        throw new Error(`${this.id} exited while starting:\n${this.proc.output.slice(-3000)}`);
      if (this.proc.output.includes("Waiting for missing types"))
        throw new Error(
          `${this.id} could not load the package (run npm run build):\n${this.proc.output.slice(-3000)}`,
        );
      if (now() > deadline)
        throw new Error(`${this.id} did not answer within 300 s:\n${this.proc.output.slice(-3000)}`);
      await sleep(250);
    }
    this.down = false;
  }

  get life(): Life {
    return this.lives[this.lives.length - 1];
  }

  /** A full deploy of the (changed) flow through the admin API, as the editor's Deploy button does. */
  async redeploy(): Promise<number> {
    this.generation++;
    const res = await fetch(`http://127.0.0.1:${this.proc.port}/flows`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Node-RED-Deployment-Type": "full" },
      body: JSON.stringify(this.flow(this.generation)),
      signal: AbortSignal.timeout(60_000),
    });
    if (res.status !== 204 && res.status !== 200)
      throw new Error(`redeploy of ${this.id}: HTTP ${res.status}`);
    return res.status;
  }

  sample(): void {
    const pid = this.proc.pid;
    if (pid === undefined || this.down) return;
    const f = procFigures(pid);
    if (!f) return;
    this.life.last = f;
    if (this.life.baseline === undefined && now() >= this.life.baselineAt) this.life.baseline = f;
    this.life.peakRssKb = Math.max(this.life.peakRssKb, f.peakRssKb);
  }
}

interface FaultRecord {
  readonly what: string;
  readonly at: number;
  readonly tookMs: number;
  readonly note: string;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const started = now();
  const steadyMs = args.minutes * 60_000;
  const cleanups: (() => Promise<void> | void)[] = [];
  const procs: ChildProcess[] = [];
  const instances: Instance[] = [];
  let db: TestDatabase | undefined;
  const killAll = (): void => {
    for (const i of instances) i.proc.killNow();
    for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
  };
  process.once("exit", killAll);
  process.once("SIGINT", () => {
    killAll();
    process.exit(130);
  });

  try {
    // --- services: a redis-server of our own (AOF, so a restart keeps the data), a fresh database ---
    const redisPort = await sparePort();
    const redisDir = fs.mkdtempSync(path.join(os.tmpdir(), "datacoll-soak-redis-"));
    cleanups.push(() => fs.rmSync(redisDir, { recursive: true, force: true }));
    const redisArgs = ["--appendonly", "yes", "--appendfsync", "always", "--dir", redisDir];
    // Sentinel mode: the group's servers and sentinels instead of the one server.
    const group = args.sentinel ? await startSentinelGroup(redisDir) : undefined;
    if (group) {
      procs.push(...group.procs);
      cleanups.push(() => group.stop());
    }
    let redis = group ? undefined : await startRedis(redisPort, redisArgs);
    if (redis) procs.push(redis);
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    const sentinelOptions = group
      ? { sentinels: group.sentinels.map((s) => ({ ...s })), name: group.name }
      : undefined;
    const sentinelFlow = group
      ? { sentinels: group.sentinels.map((s) => `${s.host}:${s.port}`).join(","), name: group.name }
      : undefined;
    const namespace = "soak:";
    db = await createTestDatabase("dc_soak");
    const database = db.name;
    await db.admin.query("SET time_zone = '+00:00'");
    // The product's own tables, plus the time MySQL first stored each row (for latency).
    await db.admin.query(historyTableDdl(HISTORY_TABLE));
    await db.admin.query(alarmsTableDdl(ALARMS_TABLE));
    for (const t of [HISTORY_TABLE, ALARMS_TABLE]) {
      await db.admin.query(
        `ALTER TABLE ${t} ADD COLUMN saved_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)`,
      );
    }
    const mysqlProxy = new TcpProxy(serverPort());
    const mysqlPort = await mysqlProxy.start();
    cleanups.push(() => mysqlProxy.stop());
    log(
      `${group ? `Sentinel group "${group.name}" (master on ${await group.masterPort()}, sentinels ${sentinelFlow?.sentinels})` : `redis-server on ${redisPort}`}, database ${database} through a proxy on ${mysqlPort}`,
    );

    // --- devices, each behind a proxy, in three processes: m01-m10, m11-m20, r01-r05 ---
    const devices: PlantDevice[] = [];
    for (let i = 1; i <= 25; i++) {
      const modbus = i <= 20;
      const id = modbus ? `m${String(i).padStart(2, "0")}` : `r${String(i - 20).padStart(2, "0")}`;
      devices.push({ id, protocol: modbus ? "modbus" : "iec104", simPort: 0, proxyPort: 0 });
    }
    const groups = [devices.slice(0, 10), devices.slice(10, 20), devices.slice(20)];
    const produced = new Map<string, Produced[]>(devices.map((d) => [d.id, []]));
    const lastValue = new Map<string, number>(devices.map((d) => [d.id, 0]));
    let generation = 0;
    const onProduced = (p: Produced): void => {
      produced.get(p.deviceId)?.push(p);
      lastValue.set(p.deviceId, Math.max(lastValue.get(p.deviceId) ?? 0, p.value));
    };
    const spawnGroup = (g: readonly PlantDevice[]): Promise<DeviceProcess> => {
      const specs: DeviceSpec[] = g.map((d) => ({
        id: d.id,
        protocol: d.protocol,
        port: d.simPort,
        // A restarted device goes on well past its last value, so no value is ever produced twice.
        firstSeq: (lastValue.get(d.id) ?? 0) === 0 ? 0 : (lastValue.get(d.id) ?? 0) + 1000,
      }));
      // Connections are numbered per device process: a restarted one numbers them anew.
      const gen = ++generation;
      return spawnDevices({ devices: specs, iecStepMs: IEC_STEP_MS }, (p) =>
        onProduced(p.connection === undefined ? p : { ...p, connection: gen * 1_000_000 + p.connection }),
      );
    };
    const deviceProcs: DeviceProcess[] = [];
    cleanups.push(async () => {
      for (const p of deviceProcs) await p.kill("SIGTERM");
    });
    for (const g of groups) {
      const p = await spawnGroup(g);
      deviceProcs.push(p);
      // The first start picks free ports; a restart takes the same ones.
      g.forEach((d, i) => (d.simPort = p.ports[i]));
    }
    const proxies = new Map<string, TcpProxy>();
    for (const d of devices) {
      const proxy = new TcpProxy(d.simPort);
      d.proxyPort = await proxy.start();
      proxies.set(d.id, proxy);
      cleanups.push(() => proxy.stop());
    }

    // --- the registry, through a manager of the driver's own ---
    const admin = new Manager(
      parseManagerSettings({
        store: "redis",
        redisUrl,
        namespace,
        instanceId: "soak-driver",
      }),
      { onError: () => undefined, ...(sentinelOptions ? { redisOptions: sentinelOptions } : {}) },
    );
    await admin.ready();
    await registerPlant(admin.registry, devices);
    await admin.close();
    const watcher = sentinelOptions
      ? new Redis({ ...sentinelOptions, maxRetriesPerRequest: 1, lazyConnect: true })
      : new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
    watcher.on("error", () => undefined);
    await watcher.connect();
    cleanups.push(() => void watcher.disconnect());
    /** The devices an instance holds a lease for right now (empty when Redis does not answer). */
    /** The devices an instance holds; with `free`, also those nobody holds (it may take them next). */
    /** Each device's lease owner (null: free), in `devices` order; undefined when Redis does not answer. */
    const leaseOwners = async (): Promise<(string | null)[] | undefined> => {
      try {
        return await watcher.mget(devices.map((d) => `${namespace}lease:device:${d.id}`));
      } catch {
        return undefined;
      }
    };
    /**
     * A look at the leases, each call one more: true once every device is leased, neither instance holds
     * more than its fair share, and no owner changed for a lease time. One look is not enough: fair shares
     * can be caught in passing while devices still move (a run declared steady on one look lost 9
     * requests to hand-overs 7-9 s later).
     */
    const leaseSettling = (): (() => Promise<boolean>) => {
      let last = "";
      let changedAt = now();
      return async () => {
        const owners = await leaseOwners();
        const seen = owners === undefined ? "Redis away" : owners.join(",");
        if (seen !== last || owners === undefined) changedAt = now();
        last = seen;
        const shares = ["soak-a", "soak-b"].map((id) => owners?.filter((o) => o === id).length ?? 0);
        const fair = Math.ceil(devices.length / shares.length);
        const balanced = shares[0] + shares[1] === devices.length && shares.every((n) => n <= fair);
        return balanced && now() - changedAt >= LEASE_MS;
      };
    };
    const leasedBy = async (instanceId: string, free = false): Promise<Set<string>> => {
      const owners = await leaseOwners();
      if (owners === undefined) return new Set(devices.map((d) => d.id));
      const mine = (o: string | null): boolean => o === instanceId || (free && o === null);
      return new Set(devices.filter((_, i) => mine(owners[i])).map((d) => d.id));
    };

    // --- two Node-RED instances, on a copy of dist/ (so a build elsewhere cannot pull it away) ---
    const pkg = snapshotPackage();
    cleanups.push(() => pkg.dispose());
    for (const id of ["soak-a", "soak-b"]) {
      const inst = new Instance(
        id,
        (generation) =>
          instanceFlow({
            instanceId: id,
            redisUrl,
            namespace,
            mysqlPort,
            database,
            generation,
            ...(sentinelFlow ? { sentinel: sentinelFlow } : {}),
          }),
        pkg.dir,
      );
      instances.push(inst);
      cleanups.push(() => inst.proc.dispose());
    }
    await Promise.all(instances.map((i) => i.start()));
    log(
      `instances up on ports ${instances.map((i) => i.proc.port).join(", ")} after ${secs(now() - started)}`,
    );

    // Steady state: every device's counter in MySQL, every device leased, and the leases settled (each
    // instance at its fair share at most, no owner changed for a lease time: leaseSettling). Until then
    // the start's rebalance hands devices over, and each hand-over may abandon its request in flight
    // (docs/scale-out.md, "What can be lost" (2)).
    const seqKeys = devices.map(seqKey);
    const deadline = now() + 180_000;
    const settledAtStart = leaseSettling();
    for (;;) {
      const [rows] = await db.admin.query<RowDataPacket[]>(
        `SELECT COUNT(DISTINCT point_key) AS n FROM ${HISTORY_TABLE} WHERE point_key IN (?) AND quality = 0`,
        [seqKeys],
      );
      const settled = await settledAtStart();
      if (Number(rows[0].n) === devices.length && settled) break;
      if (now() > deadline) {
        const shares = [(await leasedBy("soak-a")).size, (await leasedBy("soak-b")).size];
        throw new Error(
          `no steady state within 180 s: ${rows[0].n} points in MySQL, leases ${shares.join(" + ")}`,
        );
      }
      await sleep(200);
    }
    const steadyAt = now();
    log(`steady after ${secs(steadyAt - started)}; running ${args.minutes} min`);
    for (const i of instances) {
      i.life.baselineAt = steadyAt;
      i.sample();
    }

    // --- watchers: process figures every 2 s, heap every 5 s ---
    let running = true;
    /** The machine's 1-minute load average, every 2 s: a loss on a loaded machine reads differently. */
    const loads: { at: number; load: number }[] = [];
    const watching = (async () => {
      let n = 0;
      while (running) {
        if (n % 2 === 0) loads.push({ at: now(), load: os.loadavg()[0] });
        for (const i of instances) {
          i.sample();
          if (n % 5 === 0 && !i.down) {
            const used = await heapUsed(i.proc.port);
            if (used !== undefined) i.life.heaps.push({ at: now(), used });
          }
        }
        n++;
        await sleep(1000);
      }
    })();

    // --- who holds the check node's role (its lease), every 200 ms: a raise missing or written twice is
    // read against the role's moves (docs/soak.md, "Alarms") ---
    const checkLeaseKey = `${namespace}lease:check:${CHECK_NODE_ID}`;
    const checkHolders: { at: number; holder: string }[] = [];
    const watchingCheck = (async () => {
      while (running) {
        let holder: string;
        try {
          holder = (await watcher.get(checkLeaseKey)) ?? "nobody";
        } catch {
          holder = "Redis away";
        }
        if (checkHolders[checkHolders.length - 1]?.holder !== holder)
          checkHolders.push({ at: now(), holder });
        await sleep(200);
      }
    })();

    // --- REST load: 4 requests/s alternating between the instances ---
    const paths = [
      "/api/v1/latest?pattern=m01",
      "/api/v1/devices",
      "/api/v2/devices",
      "/api/v1/alarms",
      "/api/v1/status",
      "/api/v1/devices/m07",
      "/api/v1/devices/m03/terms/m03t/items/seq/datas",
      "/api/v1/latest?pattern=*:*:saw",
      "/api/v1/terms/r02t/items",
    ];
    /** Answers other than 200/404, and failures, with their time (for the report). */
    const odd: { at: number; what: string }[] = [];
    const statuses = new Map<string, number>();
    const count = (k: string): void => void statuses.set(k, (statuses.get(k) ?? 0) + 1);
    const loading = (async () => {
      let n = 0;
      while (running) {
        const inst = instances[n % 2];
        const p = paths[n % paths.length];
        n++;
        const t = now();
        void fetch(`http://127.0.0.1:${inst.proc.port}${p}`, { signal: AbortSignal.timeout(10_000) }).then(
          async (res) => {
            await res.arrayBuffer();
            count(String(res.status));
            if (res.status !== 200 && res.status !== 404)
              odd.push({ at: t, what: `${inst.id} GET ${p} -> ${res.status}` });
          },
          (err: unknown) => {
            const what = inst.down ? "unreachable (instance down)" : `failed: ${(err as Error).name}`;
            count(what);
            if (!inst.down) odd.push({ at: t, what: `${inst.id} GET ${p} -> ${what}` });
          },
        );
        await sleep(250);
      }
    })();

    // --- the fault script ---
    const windows: LossWindow[] = [];
    // After an instance comes back (a restart, a redeploy) the other one, holding every device, hands
    // the newcomer its share: each graceful hand-over may abandon the request in flight (docs/scale-out.md,
    // "What can be lost" (2)). A window from `from` until the leases are balanced again (+ 2 s) excuses
    // that request only: the value produced last on a connection before another took over. Balanced as
    // at the start: fair shares, and no owner changed for a lease time (leaseSettling).
    const rebalances: Promise<void>[] = [];
    const rebalanceWindow = (from: number): void => {
      rebalances.push(
        (async () => {
          const until = now() + 60_000;
          const settled = leaseSettling();
          while (!(await settled()) && now() <= until) await sleep(200);
          windows.push({ what: "rebalance (hand-over)", from, to: now() + 2000, handOverOnly: true });
        })(),
      );
    };
    const faults: FaultRecord[] = [];
    const faultFrom = steadyAt + 15_000;
    const faultTo = steadyAt + steadyMs - 25_000;
    const cycles = Math.max(1, Math.floor(args.minutes / 3));
    type Fault = () => Promise<string>;
    const kill =
      (g: number, downMs: number): Fault =>
      async () => {
        const at = now();
        await deviceProcs[g].kill("SIGKILL");
        await sleep(downMs);
        deviceProcs[g] = await spawnGroup(groups[g]);
        windows.push({
          what: "device killed",
          from: at - 1000,
          to: now() + 2000,
          devices: new Set(groups[g].map((d) => d.id)),
        });
        return `${groups[g][0].id}..${groups[g][groups[g].length - 1].id} down ${secs(now() - at)}`;
      };
    const stalled = [...groups[1], ...groups[2]];
    const faultList: { what: string; run: Fault }[] = [
      { what: "device kill (m01-m10)", run: kill(0, 5000) },
      {
        what: "network stall (m11-m20, r01-r05)",
        run: async () => {
          const at = now();
          for (const d of stalled) proxies.get(d.id)?.stall();
          await sleep(6000);
          for (const d of stalled) proxies.get(d.id)?.restore();
          windows.push({
            what: "network stall",
            from: at - 500,
            to: now() + 3000,
            devices: new Set(stalled.map((d) => d.id)),
          });
          return `links frozen ${secs(now() - at)}`;
        },
      },
      {
        what: "MySQL cut off",
        run: async () => {
          const at = now();
          mysqlProxy.cut();
          await sleep(10_000);
          mysqlProxy.restore();
          return `cut ${secs(now() - at)} (${mysqlProxy.refused} connection attempts refused so far)`;
        },
      },
      group
        ? {
            what: "master kill -9 (Sentinel failover)",
            run: async () => {
              const f = await group.failover();
              windows.push({ what: "failover", from: f.killedAt - LEASE_MS, to: f.switchedAt + 10_000 });
              return `master ${f.from} killed, sentinels switched to ${f.to} after ${secs(f.switchedAt - f.killedAt)}; old master back as replica`;
            },
          }
        : {
            what: "Redis restart (SIGKILL)",
            run: async () => {
              const at = now();
              if (redis) await stopRedis(redis);
              await sleep(3000);
              redis = await startRedis(redisPort, redisArgs);
              procs.push(redis);
              windows.push({ what: "Redis restart", from: at - LEASE_MS, to: now() + 10_000 });
              return `down ${secs(now() - at)}`;
            },
          },
      {
        what: "instance SIGKILL + restart",
        run: async () => {
          const victim = instances[faults.filter((f) => f.what.startsWith("instance")).length % 2];
          const owned = await leasedBy(victim.id);
          const at = now();
          victim.down = true;
          await victim.proc.stop("SIGKILL");
          windows.push({
            what: "instance killed",
            from: at - 1500,
            to: at + 2 * LEASE_MS + 1500,
            devices: owned,
          });
          await sleep(3000);
          const restartAt = now();
          await victim.start();
          rebalanceWindow(restartAt);
          victim.life.baselineAt = now() + 20_000;
          return `${victim.id} (${owned.size} devices) back after ${secs(now() - at)}`;
        },
      },
      { what: "device kill (r01-r05)", run: kill(2, 5000) },
    ];
    const schedule = Array.from({ length: cycles }, () => faultList).flat();
    const slot = (faultTo - faultFrom) / schedule.length;
    const faultScript = (async () => {
      for (let k = 0; k < schedule.length; k++) {
        await sleep(faultFrom + k * slot - now());
        const f = schedule[k];
        const at = now();
        log(`fault: ${f.what}`);
        const note = await f.run();
        faults.push({ what: f.what, at, tookMs: now() - at, note });
      }
    })();
    const REDEPLOYS = 20;
    let redeploys = 0;
    const redeployScript = (async () => {
      for (let k = 0; k < REDEPLOYS; k++) {
        await sleep(faultFrom + ((k + 0.5) * (faultTo - faultFrom)) / REDEPLOYS - now());
        let target = instances[k % 2];
        if (target.down) target = instances[(k + 1) % 2];
        while (target.down) await sleep(200);
        // Free leases too: just after a Redis outage longer than L they have all expired, and the
        // instance takes devices back while its redeploy starts, then hands them over (2).
        const owned = await leasedBy(target.id, true);
        const at = now();
        try {
          await target.redeploy();
          redeploys++;
        } catch (err) {
          faults.push({ what: "redeploy failed", at, tookMs: now() - at, note: String(err) });
        }
        windows.push({ what: "redeploy (hand-over)", from: at - 500, to: now() + 3000, devices: owned });
        rebalanceWindow(at);
      }
    })();
    await Promise.all([faultScript, redeployScript]);
    await Promise.all(rebalances);
    await sleep(steadyAt + steadyMs - now());
    const endAt = now();
    running = false;
    await Promise.all([watching, loading, watchingCheck]);
    for (const i of instances) i.sample();
    log(`steady phase over; waiting for MySQL to catch up`);

    // --- collect: everything produced up to endAt - 2 s must be stored; give the savers time ---
    const cutoff = endAt - 2000;
    // A read the poller reports as failed (a row of bad quality: a timeout, most often on a loaded
    // machine) may have been answered by the device too late: that answer is dropped by design.
    const [failedReads] = await db.admin.query<RowDataPacket[]>(
      `SELECT point_key, UNIX_TIMESTAMP(ts) * 1000 AS ts FROM ${HISTORY_TABLE}
       WHERE point_key IN (?) AND quality <> 0`,
      [seqKeys],
    );
    for (const r of failedReads) {
      const t = Number(r.ts);
      const device = deviceOfPointKey(String(r.point_key));
      windows.push({
        what: "read failed (bad-quality row)",
        from: t - 3000,
        to: t + 500,
        devices: new Set([device]),
      });
    }
    const fromAt = steadyAt;
    const readRows = async (): Promise<Map<string, { value: number; ts: number; cause: string }[]>> => {
      if (!db) throw new Error("no database");
      const [rows] = await db.admin.query<RowDataPacket[]>(
        `SELECT point_key, value, UNIX_TIMESTAMP(ts) * 1000 AS ts, cause FROM ${HISTORY_TABLE}
         WHERE point_key IN (?) AND quality = 0 AND value IS NOT NULL ORDER BY point_key, ts`,
        [seqKeys],
      );
      const out = new Map<string, { value: number; ts: number; cause: string }[]>();
      for (const r of rows) {
        const list = out.get(String(r.point_key)) ?? [];
        list.push({ value: Number(r.value), ts: Number(r.ts), cause: String(r.cause) });
        out.set(String(r.point_key), list);
      }
      return out;
    };
    const verdict = async (): Promise<SequenceVerdict> => {
      const stored = await readRows();
      const v = emptyVerdict();
      for (const d of devices) {
        checkSequence(
          d.id,
          produced.get(d.id) ?? [],
          stored.get(seqKey(d)) ?? [],
          windows,
          fromAt,
          cutoff,
          v,
          lastBeforeHandOver(produced.get(d.id) ?? []),
        );
      }
      return v;
    };
    // Rows still on their way (backlogs draining, a loaded machine) get up to 2 minutes, and the wait
    // ends early only after 15 s without a new row.
    let seq = await verdict();
    const catchUp = now();
    let lastProgress = now();
    while (now() - catchUp < 120_000 && seq.unexplained.length > 0 && now() - lastProgress < 15_000) {
      const before = seq.stored;
      await sleep(5000);
      seq = await verdict();
      if (seq.stored !== before) lastProgress = now();
    }
    const fdEnd = instances.map((i) => ({ life: i.life, figures: i.life.last }));

    // --- alarms: raise transitions written against those the stored saw samples call for ---
    const sawKeys = devices.filter((d) => d.protocol === "modbus").map(sawKey);
    const compareAlarms = async (): Promise<{
      expected: number;
      written: number;
      alarmDiffs: string[];
      oddRaises: { key: string; ts: number; what: "extra" | "missing" }[];
    }> => {
      if (!db) throw new Error("no database");
      const [sawRows] = await db.admin.query<RowDataPacket[]>(
        `SELECT point_key, value, UNIX_TIMESTAMP(ts) * 1000 AS ts FROM ${HISTORY_TABLE}
         WHERE point_key IN (?) AND quality = 0 AND value IS NOT NULL ORDER BY point_key, ts`,
        [sawKeys],
      );
      const sawSamples = byPoint(sawRows, (r) => ({ value: Number(r.value), ts: Math.round(Number(r.ts)) }));
      const [alarmRows] = await db.admin.query<RowDataPacket[]>(
        `SELECT point_key, UNIX_TIMESTAMP(ts) * 1000 AS ts FROM ${ALARMS_TABLE}
         WHERE \`condition\` = 'high' AND state = 'raised' ORDER BY point_key, ts`,
      );
      const raised = byPoint(alarmRows, (r) => Math.round(Number(r.ts)));
      let expected = 0;
      let written = 0;
      const alarmDiffs: string[] = [];
      // For a point that differs: each raise row no stored sample calls for, and each raise called for
      // that has no row, with the samples around it.
      const oddRaises: { key: string; ts: number; what: "extra" | "missing" }[] = [];
      // Raises up to the cutoff only: after it the instances still run, and a raise row written between
      // the two queries above would have no sample row in the first.
      const upToCutoff = (ts: number): boolean => ts <= cutoff;
      for (const k of sawKeys) {
        const e = expectedRaises(sawSamples.get(k) ?? [], SAW_HIGH, SAW_HYSTERESIS).filter(upToCutoff);
        const w = (raised.get(k) ?? []).filter(upToCutoff);
        expected += e.length;
        written += w.length;
        if (e.length === w.length) continue;
        alarmDiffs.push(`${k}: expected ${e.length}, written ${w.length}`);
        const eSet = new Set(e);
        const wSet = new Set(w);
        for (const ts of w) if (!eSet.has(ts)) oddRaises.push({ key: k, ts, what: "extra" });
        for (const ts of e) if (!wSet.has(ts)) oddRaises.push({ key: k, ts, what: "missing" });
      }
      return { expected, written, alarmDiffs, oddRaises };
    };
    // A raise at the very end of the run may still be on its way (check node, save node, MySQL) when
    // the samples are all in: the rows get the same patience as the samples' (15 s without a new one).
    let alarmVerdict = await compareAlarms();
    const alarmWait = now();
    let alarmProgress = now();
    while (
      alarmVerdict.alarmDiffs.length > 0 &&
      now() - alarmWait < 60_000 &&
      now() - alarmProgress < 15_000
    ) {
      await sleep(3000);
      const next = await compareAlarms();
      if (next.written !== alarmVerdict.written) alarmProgress = now();
      alarmVerdict = next;
    }
    const { expected, written, alarmDiffs, oddRaises } = alarmVerdict;
    const alarmDetail: string[] = [];
    for (const o of oddRaises.slice(0, 12)) {
      const [around] = await db.admin.query<RowDataPacket[]>(
        `SELECT value, quality, UNIX_TIMESTAMP(ts) * 1000 AS ts FROM ${HISTORY_TABLE}
         WHERE point_key = ? AND ts BETWEEN FROM_UNIXTIME(?) AND FROM_UNIXTIME(?) ORDER BY ts`,
        [o.key, (o.ts - 4000) / 1000, (o.ts + 1000) / 1000],
      );
      const seq = around.map(
        (a) => `${String(a.value)}${Number(a.quality) === 0 ? "" : "?"}@${secs(Number(a.ts) - o.ts)}`,
      );
      const what = o.what === "extra" ? "raise row no sample calls for" : "raise called for, no row";
      // The check role's moves from 15 s before to 15 s after, and when the sample's row was stored.
      const [stored] = await db.admin.query<RowDataPacket[]>(
        `SELECT UNIX_TIMESTAMP(saved_at) * 1000 AS saved FROM ${HISTORY_TABLE} WHERE point_key = ? AND ts = FROM_UNIXTIME(?)`,
        [o.key, o.ts / 1000],
      );
      const savedAt = stored.length > 0 ? `, its row stored at ${secs(Number(stored[0].saved) - o.ts)}` : "";
      const first = Math.max(0, checkHolders.findIndex((h) => h.at >= o.ts - 15_000) - 1);
      const moves = checkHolders
        .slice(first)
        .filter((h) => h.at <= o.ts + 15_000)
        .map((h) => `${h.holder}@${secs(h.at - o.ts)}`);
      alarmDetail.push(
        `${o.key} ${what} at +${secs(o.ts - steadyAt)}: samples ${seq.join(" ")}${savedAt}; check role ${moves.join(" ")}`,
      );
    }

    // --- formula: every result row is 2 x its input at the same time stamp ---
    const [formulaRows] = await db.admin.query<RowDataPacket[]>(
      `SELECT f.value AS result, i.value AS input, UNIX_TIMESTAMP(f.ts) * 1000 AS ts FROM ${HISTORY_TABLE} f
       LEFT JOIN ${HISTORY_TABLE} i ON i.point_key = ? AND i.ts = f.ts
       WHERE f.point_key = ? AND f.quality = 0`,
      [FORMULA.input, FORMULA.result],
    );
    // A result whose input row is missing is right when its input is a value the device produced whose
    // row was lost inside a documented window (the instance that polled it computed the result from its
    // own bus at once; the input's store write failed, the result's, a moment later, did not).
    const m01 = deviceOfPointKey(FORMULA.input);
    const m01Produced = new Map((produced.get(m01) ?? []).map((p) => [p.value, p.at]));
    const inputLostInWindow = (r: RowDataPacket): boolean => {
      const at = m01Produced.get(Number(r.result) / FORMULA.factor);
      return (
        r.input === null &&
        at !== undefined &&
        windows.some((w) => at >= w.from && at <= w.to && (!w.devices || w.devices.has(m01)))
      );
    };
    const formulaLost = formulaRows.filter(inputLostInWindow);
    const formulaBad = formulaRows.filter(
      (r) =>
        !inputLostInWindow(r) && (r.input === null || Number(r.result) !== FORMULA.factor * Number(r.input)),
    );
    // For each mismatch, everything needed to place it (a CI run once failed here, unexplained): when the
    // device produced the value the result stands for and which windows hold that moment, where that value
    // is stored, and the input's rows around the result's time stamp.
    const formulaDetail: string[] = [];
    for (const r of formulaBad.slice(0, 5)) {
      const ts = Number(r.ts);
      const value = Number(r.result) / FORMULA.factor;
      const at = m01Produced.get(value);
      const inWindows = at === undefined ? [] : windows.filter((w) => at >= w.from && at <= w.to);
      const [rowsOfValue] = await db.admin.query<RowDataPacket[]>(
        `SELECT UNIX_TIMESTAMP(ts) * 1000 AS ts, quality, cause FROM ${HISTORY_TABLE} WHERE point_key = ? AND value = ?`,
        [FORMULA.input, value],
      );
      const [around] = await db.admin.query<RowDataPacket[]>(
        `SELECT value, quality, cause, UNIX_TIMESTAMP(ts) * 1000 AS ts FROM ${HISTORY_TABLE}
         WHERE point_key = ? AND ts BETWEEN FROM_UNIXTIME(?) AND FROM_UNIXTIME(?) ORDER BY ts`,
        [FORMULA.input, (ts - 2000) / 1000, (ts + 2000) / 1000],
      );
      const place = (t: number): string => `${((t - ts) / 1000).toFixed(3)} s`;
      formulaDetail.push(
        `      value ${value} produced ${at === undefined ? "never" : `at ${place(at)}`}` +
          ` (windows: ${inWindows.map((w) => w.what).join(", ") || "none"}); stored at ` +
          `${rowsOfValue.map((x) => `${place(Number(x.ts))} q${String(x.quality)} ${String(x.cause)}`).join(", ") || "no row"}; ` +
          `input rows ${around.map((x) => `${String(x.value)}q${String(x.quality)}@${place(Number(x.ts))}`).join(" ")}`,
      );
    }

    // --- latency device -> MySQL: first-hand samples of the counters in the steady phase ---
    const [lat] = await db.admin.query<RowDataPacket[]>(
      `SELECT UNIX_TIMESTAMP(ts) * 1000 AS ts, UNIX_TIMESTAMP(saved_at) * 1000 - UNIX_TIMESTAMP(ts) * 1000 AS ms
       FROM ${HISTORY_TABLE} WHERE point_key IN (?) AND cause IN ('poll', 'spontaneous')
       AND ts >= FROM_UNIXTIME(? / 1000) AND ts <= FROM_UNIXTIME(? / 1000)`,
      [seqKeys, fromAt, cutoff],
    );
    const latAll = lat.map((r) => Number(r.ms));
    const inWindow = (t: number): boolean =>
      windows.some((w) => t >= w.from && t <= w.to) ||
      faults.some((f) => f.what === "MySQL cut off" && t >= f.at && t <= f.at + f.tookMs + 10_000);
    const latQuiet = lat.filter((r) => !inWindow(Number(r.ts))).map((r) => Number(r.ms));
    const [totalRows] = await db.admin.query<RowDataPacket[]>(
      `SELECT (SELECT COUNT(*) FROM ${HISTORY_TABLE}) AS h, (SELECT COUNT(*) FROM ${ALARMS_TABLE}) AS a`,
    );
    const totals = { h: Number(totalRows[0].h), a: Number(totalRows[0].a) };

    // --- stop: instances gracefully, then the rest ---
    for (const i of instances) await i.proc.stop("SIGINT");

    // --- the report ---
    const broken: string[] = [];
    const out: string[] = [];
    const line = (s = ""): void => void out.push(s);
    line(
      `=== soak report: ${args.minutes} min steady, 2 Node-RED instances, 20 Modbus + 5 IEC 104 devices${args.sentinel ? ", Redis Sentinel (master + replica + 3 sentinels)" : ""} ===`,
    );
    line(
      `start-up ${secs(steadyAt - started)}, steady ${secs(endAt - steadyAt)}, total ${secs(now() - started)}`,
    );
    line(`history rows ${totals.h}, alarm rows ${totals.a}, redeploys ${redeploys}/${REDEPLOYS}`);
    line();
    line("faults:");
    for (const f of faults) line(`  +${secs(f.at - steadyAt)}  ${f.what}: ${f.note} (${secs(f.tookMs)})`);
    line();
    line("samples (device counters, produced in the steady phase):");
    line(`  produced ${seq.produced}, stored ${seq.stored}, lost ${seq.produced - seq.stored}`);
    for (const [what, n] of seq.allowed) line(`  lost inside "${what}" windows: ${n}`);
    // Which values a hand-over at a Redis fault abandoned, and on which connection: the last one on it.
    for (const p of seq.handedOver.slice(0, 10))
      line(
        `    ${HAND_OVER_AT_REDIS_FAULT}: ${p.deviceId} value ${p.value} at +${secs(p.at - steadyAt)}, connection ${p.connection}`,
      );
    line(`  lost outside any window: ${seq.unexplained.length}`);
    for (const p of seq.unexplained.slice(0, 10)) {
      // The last value on a connection another then took over from: a Modbus request a hand-over
      // abandoned, or an IEC 104 change sent as the master closed at its lease deadline.
      const handOver = lastBeforeHandOver(produced.get(p.deviceId) ?? []).has(p.value);
      const conn = p.connection === undefined ? "" : ` on connection ${p.connection}`;
      line(
        `    ${p.deviceId} value ${p.value} at +${secs(p.at - steadyAt)}${conn}${handOver ? ", the last before a hand-over" : ""}`,
      );
      // The windows around it, with their bounds: a loss just outside one is a window drawn too narrow.
      const near = windows
        .filter((w) => w.to >= p.at - 10_000 && w.from <= p.at + 10_000)
        .filter((w) => !w.devices || w.devices.has(p.deviceId))
        .map((w) => `${w.what} +${secs(w.from - steadyAt)}..+${secs(w.to - steadyAt)}`);
      if (near.length > 0)
        line(`      windows of ${p.deviceId} within 10 s: ${[...new Set(near)].join("; ")}`);
    }
    if (seq.unexplained.length > 0) {
      // Per minute of the steady phase: how many, which devices, the machine's load, and the windows that
      // ended in the 60 s before (a loss just after a window is a window drawn too narrow).
      line("    per minute (lost: devices; load; windows ended in the minute before):");
      const byMinute = new Map<number, Produced[]>();
      for (const p of seq.unexplained) {
        const m = Math.floor((p.at - steadyAt) / 60_000);
        byMinute.set(m, [...(byMinute.get(m) ?? []), p]);
      }
      for (const [m, lost] of [...byMinute].sort((a, b) => a[0] - b[0])) {
        const from = steadyAt + m * 60_000;
        const perDevice = new Map<string, number>();
        for (const p of lost) perDevice.set(p.deviceId, (perDevice.get(p.deviceId) ?? 0) + 1);
        const inMinute = loads.filter((l) => l.at >= from && l.at < from + 60_000).map((l) => l.load);
        const load = inMinute.length > 0 ? Math.max(...inMinute).toFixed(1) : "?";
        const ended = [
          ...new Set(windows.filter((w) => w.to >= from - 60_000 && w.to < from + 60_000).map((w) => w.what)),
        ];
        const devs = [...perDevice].map(([d, n]) => `${d} ${n}`).join(", ");
        line(`      +${m} min: ${lost.length} (${devs}); load ≤ ${load}; ${ended.join(", ") || "no window"}`);
      }
    }
    line(`  values stored twice (first-hand rows): ${seq.duplicated.length}`);
    for (const d of seq.duplicated.slice(0, 10)) {
      // When each row was stamped and why, and when the device produced the value: which fault, if any.
      const made = (produced.get(d.deviceId) ?? []).find((p) => p.value === d.value);
      const rows = d.rows.map((r) => `+${((r.ts - steadyAt) / 1000).toFixed(3)} s ${r.cause}`).join(", ");
      const at = made === undefined ? "" : ` (produced at +${secs(made.at - steadyAt)})`;
      line(`    ${d.deviceId} value ${d.value} in ${d.rows.length} rows: ${rows}${at}`);
    }
    line(`  values stored that no device produced: ${seq.phantom.length}`);
    for (const ph of seq.phantom.slice(0, 10)) line(`    ${ph.deviceId} value ${ph.value}`);
    if (seq.unexplained.length > 0)
      broken.push(`${seq.unexplained.length} samples lost outside the documented windows`);
    // The outage buffer keeps what is polled while Redis is away, so a Redis fault costs no sample.
    const lostInRedis = REDIS_WINDOWS.reduce((n, w) => n + (seq.allowed.get(w) ?? 0), 0);
    // An invariant: what a hand-over at the fault abandons by design (a Modbus request in flight, an IEC
    // 104 change sent as its master closed at the lease deadline) is told apart by its connection and
    // counted under its own window, so whatever is left here was made and then lost (docs/soak.md).
    line(`  lost inside Redis restart or failover windows: ${lostInRedis}`);
    if (lostInRedis > 0) broken.push(`${lostInRedis} samples lost inside Redis restart or failover windows`);
    // Where each one lay against its fault (the window starts L before the kill), to tell a write the
    // kill raced from one the outage buffer never had.
    for (const { sample: p, window: w } of seq.inRedis.slice(0, 10)) {
      const kill = w.from + LEASE_MS;
      const conn = p.connection === undefined ? "" : `, connection ${p.connection}`;
      line(
        `    ${p.deviceId} value ${p.value} at +${secs(p.at - steadyAt)} (${((p.at - kill) / 1000).toFixed(3)} s from the ${w.what} kill${conn})`,
      );
    }
    // Two pollers of one device at once: a request on a connection after another had taken over.
    const doubled = devices
      .filter((d) => d.protocol === "modbus")
      .flatMap((d) =>
        twoPollers((produced.get(d.id) ?? []).filter((p) => p.at >= steadyAt && p.at <= cutoff)),
      );
    line(`  requests answered to a second poller at once (two owners): ${doubled.length}`);
    for (const p of doubled.slice(0, 10))
      line(`    ${p.deviceId} value ${p.value} at +${secs(p.at - steadyAt)}`);
    if (doubled.length > 0)
      broken.push(`${doubled.length} requests from a second poller of one device (two owners)`);
    if (seq.duplicated.length > 0) broken.push(`${seq.duplicated.length} samples stored twice`);
    if (seq.phantom.length > 0) broken.push(`${seq.phantom.length} stored values no device produced`);
    if (seq.produced === 0) broken.push("no samples produced");
    line();
    line(`alarms (high ${SAW_HIGH}, hysteresis ${SAW_HYSTERESIS} on the 20 saw points):`);
    line(`  expected from the stored samples ${expected}, raised rows written ${written} (up to the cutoff)`);
    for (const d of alarmDiffs.slice(0, 10)) line(`    ${d}`);
    for (const d of alarmDetail.slice(0, 8)) line(`      ${d}`);
    if (alarmDiffs.length > 0)
      broken.push(`alarms: ${alarmDiffs.length} points with raised rows != expected`);
    if (expected === 0) broken.push("alarms: none expected (the saw never crossed the limit?)");
    line();
    line(
      `formula ${FORMULA.result} = ${FORMULA.factor} x ${FORMULA.input}: ${formulaRows.length} rows, ${formulaBad.length} not matching their input`,
    );
    if (formulaLost.length > 0)
      line(
        `  results whose input row was lost inside a window (result = ${FORMULA.factor} x the produced value): ${formulaLost.length}`,
      );
    formulaBad.slice(0, 5).forEach((r, i) => {
      line(`    +${secs(Number(r.ts) - steadyAt)}: result ${String(r.result)}, input ${String(r.input)}`);
      line(formulaDetail[i]);
    });
    if (formulaBad.length > 0)
      broken.push(`formula: ${formulaBad.length} result rows do not match their input`);
    if (formulaRows.length === 0) broken.push("formula: no result rows");
    line();
    const p = (xs: number[], q: number): string => `${Math.round(quantile(xs, q))} ms`;
    line("latency device -> MySQL (row ts to MySQL's first insert time):");
    line(`  all ${latAll.length} rows: p50 ${p(latAll, 0.5)}, p99 ${p(latAll, 0.99)}, max ${p(latAll, 1)}`);
    line(
      `  outside fault windows ${latQuiet.length} rows: p50 ${p(latQuiet, 0.5)}, p99 ${p(latQuiet, 0.99)}`,
    );
    if (!(quantile(latQuiet, 0.5) <= 1000)) broken.push("latency: p50 outside fault windows above 1 s");
    line();
    line("instances (fds/sockets at steady start of each life -> end; RSS peak = VmHWM; heap = heapUsed):");
    for (const inst of instances) {
      // Open fds at the end against the instance's steady start: a restarted process in the same state
      // (its share of the devices, its Redis and MySQL connections) has the same ones open.
      const first = inst.lives[0].baseline;
      const end = fdEnd.find((x) => x.life === inst.life)?.figures;
      if (first && end && end.fds - first.fds > 15)
        broken.push(`${inst.id}: ${end.fds - first.fds} more open fds at the end than at steady start`);
      for (const l of inst.lives) {
        const b = l.baseline;
        const e = l === inst.life ? fdEnd.find((x) => x.life === l)?.figures : l.last;
        const heaps = l.heaps.map((h) => h.used);
        const q = Math.max(1, Math.floor(heaps.length / 4));
        const heapStart = heaps.length > 0 ? Math.min(...heaps.slice(0, q)) : Number.NaN;
        const heapEnd = heaps.length > 0 ? Math.min(...heaps.slice(-q)) : Number.NaN;
        line(
          `  ${l.label}: fds ${b?.fds ?? "?"} -> ${e?.fds ?? "?"}, sockets ${b?.sockets ?? "?"} -> ${e?.sockets ?? "?"}, ` +
            `RSS peak ${mb(l.peakRssKb * 1024)}, heap ${mb(heapStart)} -> ${mb(heapEnd)} (${heaps.length} samples)` +
            (l === inst.life ? "" : " [killed]"),
        );
        if (l === inst.life && heapEnd - heapStart > 64 * 1024 * 1024)
          broken.push(`${l.label}: heap grew by ${mb(heapEnd - heapStart)}`);
      }
    }
    line();
    line(`REST (${[...statuses.values()].reduce((a, b) => a + b, 0)} requests):`);
    for (const [k, n] of [...statuses].sort()) line(`  ${k}: ${n}`);
    const redisDown = windows.filter((w) => REDIS_WINDOWS.includes(w.what));
    for (const o of odd.slice(0, 20)) {
      const allowed = / 503$/.test(o.what) && redisDown.some((w) => o.at >= w.from && o.at <= w.to);
      line(`    +${secs(o.at - steadyAt)} ${o.what}${allowed ? " (Redis down: allowed)" : ""}`);
    }
    const bad5xx = odd.filter(
      (o) =>
        / 5\d\d$/.test(o.what) &&
        !(/ 503$/.test(o.what) && redisDown.some((w) => o.at >= w.from && o.at <= w.to)),
    );
    if (bad5xx.length > 0)
      broken.push(`REST: ${bad5xx.length} 5xx answers (other than 503 while Redis was down)`);
    if ((statuses.get("200") ?? 0) === 0) broken.push("REST: no 200 answers");
    line();
    if (broken.length === 0) line("RESULT: PASS — every invariant held");
    else {
      line(`RESULT: FAIL — ${broken.length} invariant(s) broken:`);
      for (const b of broken) line(`  - ${b}`);
      for (const i of instances) {
        const tail = i.proc.output
          .split("\n")
          .filter((l) => /warn|error/i.test(l))
          .slice(-15)
          .join("\n");
        line(`--- ${i.id}: last warnings ---\n${tail}`);
      }
    }
    process.stdout.write(`${out.join("\n")}\n`);
    if (args.keep) log(`kept database ${database}`);
    return broken.length === 0 ? 0 : 1;
  } finally {
    for (const i of instances) await i.proc.stop("SIGINT", 5000);
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        log(`cleanup: ${String(err)}`);
      }
    }
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) await stopRedis(p);
    if (db) {
      if (args.keep) await db.admin.end();
      else await db.drop();
    }
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `soak failed to run: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(2);
  },
);
