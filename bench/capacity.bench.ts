/**
 * capacity: what one Node-RED instance costs for a plant of 100,000 points polled every second — the
 * figure a user sizes a machine by (issue 23, item 4) — and whether the cost per point stays the same
 * from 10,000 points to 100,000.
 *
 * The plant: Modbus devices of 500 holding registers each, served by our simulator in
 * CAPACITY_SIM_PROCESSES processes of their own (bench/lib/capacity-sim-process.ts; their CPU is not the
 * Node-RED's and is not counted), on loopback ports from 28500. Once a second a tenth of each device's
 * registers moves (CHANGE_EVERY = 10: every tenth register, a different tenth each second), as in a
 * plant where most values hold still from one poll to the next; our polls report by exception, so a
 * tenth of the values polled leave the poll nodes, are checked and saved.
 *
 * The flow, in a plain Node-RED process (our devDependency, the built package in dist/): a
 * datacoll-manager, and per device a datacoll-modbus device and a datacoll-poll of 500 uint16 items
 * HR0..HR499 (four reads of 125 registers) every 1000 ms, one message per batch, with the manager chosen
 * (every sample becomes the point's latest value and history and is published on the bus); all polls
 * wired to one datacoll-check (limits high 50,000 and high-high 60,000, which the values stay under, and
 * bad quality, so every value is checked and no alarm is raised by a sound run) whose points and alarm
 * transitions go to one datacoll-save writing history rows to MySQL (a database of the run's own, batches
 * of 1,000 rows or 200 ms, dropped after).
 *
 * The store: Redis (REDIS_URL, default 127.0.0.1:6379, a namespace of the run's own, its keys deleted
 * after) is what a production plant runs, and its cost in Node-RED (commands and their replies for every
 * sample) is part of what a user sizes for; the Redis server's own CPU, like MySQL's, is not counted.
 * The embedded store (the demo of `npm start`) is measured too; CAPACITY_STORES=redis (or embedded)
 * keeps one.
 *
 * For each store, two runs, each a fresh Node-RED: 20 devices (10,000 points) and 200 devices (100,000
 * points). After the first rows are saved it warms up WARMUP_MS, then measures WINDOW_MS: the CPU of the
 * Node-RED process (utime + stime of /proc/PID/stat) in % of one core, its RSS (/proc/PID/status) at the
 * end, the requests the simulators answered (× 125 registers: the values polled, proof that every poll
 * happened), and the history rows MySQL holds (rows saved per second). Figures (Redis; the embedded
 * store's carry the suffix `_embedded`):
 * - capacity_100k_points — CPU % at 100,000 points; baseline 10 × the CPU % at 10,000 in the same run;
 *   ratio value / baseline (goal ≤ 1.0: the cost per point does not grow with scale).
 * - capacity_rss_per_point — (RSS at 100k − RSS at 10k) / 90,000 configured points, bytes (goal ≤ 2,000).
 * - cpu_pct_10k, cpu_pct_100k, rss_mb_10k, rss_mb_100k, polled_per_s_10k, polled_per_s_100k (with the
 *   reads a second against the 4 a device should get), saved_per_s_10k, saved_per_s_100k (against the
 *   tenth of the points that changed).
 *
 * Environment: CAPACITY_WARMUP_MS (default 15000), CAPACITY_WINDOW_MS (default 30000),
 * CAPACITY_CPU_PROF=DIR starts each Node-RED under `node --cpu-prof --cpu-prof-dir=DIR`;
 * CAPACITY_HEAP_SNAPSHOT=DIR writes a heap snapshot of each Node-RED into DIR after its window (RSS and
 * CPU are read before it), for `node scripts/heap-summary.mjs` to say what the memory per point is.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as pause } from "node:timers/promises";
import mysql from "mysql2/promise";
import { NodeRedProcess } from "../test/support/node-red-process";
import { httpRequest, until } from "../test/support/net";
import { deleteNamespace } from "../test/integration/store/redis-admin";
import { spawnCapacitySimulators, type CapacitySimulators } from "./lib/capacity-sim-process";
import { createBenchDatabase, type BenchDatabase } from "./lib/mysql-database";
import { modbusPollNodes } from "./lib/poll-flow";
import { benchSettings, cpuMicros, rssMb } from "./lib/proc-stats";
import type { Benchmark, Figure, Figures } from "./lib/types";

type Store = "redis" | "embedded";

const REGISTERS = 500;
/** Registers per read: the Modbus limit, so 500 registers are 4 reads. */
const PER_READ = 125;
const READS_PER_POLL = Math.ceil(REGISTERS / PER_READ);
const CHANGE_EVERY = 10;
const INTERVAL_MS = 1000;
const SIZES = [20, 200] as const;
const FIRST_PORT = 28500;
const SIM_PROCESSES = Number(process.env.CAPACITY_SIM_PROCESSES ?? 4);
/** The longest wait for the first value of every point to be saved before the warm-up starts. */
const START_MS = 180_000;
const WARMUP_MS = Number(process.env.CAPACITY_WARMUP_MS ?? 15_000);
const WINDOW_MS = Number(process.env.CAPACITY_WINDOW_MS ?? 30_000);
const CPU_PROF_DIR = process.env.CAPACITY_CPU_PROF;
const HEAP_DIR = process.env.CAPACITY_HEAP_SNAPSHOT;
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const STORES = (process.env.CAPACITY_STORES ?? "redis,embedded")
  .split(",")
  .map((s) => s.trim())
  .filter((s): s is Store => s === "redis" || s === "embedded");

const root = path.resolve(__dirname, "..");

// ---- the flow ---------------------------------------------------------------------------------------

const TAB = "capacity-tab";

interface FlowOptions {
  readonly ports: readonly number[];
  readonly store: Store;
  readonly namespace: string;
  readonly db: BenchDatabase;
  readonly historyTable: string;
}

function capacityFlow(o: FlowOptions): object[] {
  return [
    { id: TAB, type: "tab", label: "capacity" },
    {
      id: "mgr",
      type: "datacoll-manager",
      name: "capacity",
      store: o.store,
      redisMode: "standalone",
      redisUrl: REDIS_URL,
      namespace: o.namespace,
      runDevices: false,
    },
    {
      id: "db",
      type: "datacoll-mysql",
      name: "history",
      host: o.db.access.host,
      port: String(o.db.access.port),
      database: o.db.database,
      user: o.db.access.user,
      poolSize: "4",
      connectTimeout: "10000",
      tls: false,
    },
    ...o.ports.flatMap((port, d) =>
      modbusPollNodes(d, port, {
        tab: TAB,
        registers: REGISTERS,
        intervalMs: INTERVAL_MS,
        wires: ["check"],
        manager: "mgr",
      }),
    ),
    {
      id: "check",
      type: "datacoll-check",
      z: TAB,
      name: "limits",
      manager: "mgr",
      scopeMode: "pattern",
      scope: "",
      high: "50000",
      highHigh: "60000",
      hysteresis: "10",
      quality: true,
      wires: [["save"], ["save"]],
    },
    {
      id: "save",
      type: "datacoll-save",
      z: TAB,
      name: "history",
      mysql: "db",
      manager: "mgr",
      historyTable: o.historyTable,
      alarmsTable: `${o.historyTable}_alarms`,
      createTables: true,
      batchSize: "1000",
      maxDelay: "200",
      saveUnchanged: true,
      deadband: "0",
      customSql: "",
      overflow: "drop-oldest",
      backlogSize: "200000",
      durable: false,
      wires: [[], []],
    },
  ];
}

const SETTINGS = benchSettings("bench/capacity.bench.ts");

// ---- one run ----------------------------------------------------------------------------------------

interface Run {
  readonly seconds: number;
  readonly cpuPct: number;
  readonly rssMb: number;
  readonly readsPerS: number;
  readonly savedPerS: number;
  readonly alarms: number;
}

async function requests(sims: readonly CapacitySimulators[]): Promise<number> {
  const counts = await Promise.all(sims.map((s) => s.requests()));
  return counts.reduce((a, b) => a + b, 0);
}

/** Rows in a table, 0 while the save node has not created it yet. */
async function rows(conn: mysql.Connection, table: string): Promise<number> {
  try {
    const [r] = await conn.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${mysql.escapeId(table)}`);
    return Number(r[0].n);
  } catch (err: unknown) {
    if ((err as { code?: string }).code === "ER_NO_SUCH_TABLE") return 0;
    throw err;
  }
}

/**
 * Ask Node-RED for a heap snapshot (--heapsnapshot-signal) and wait until it is written: the main thread
 * writes it, so once the file is there, an answer from the admin API means it is whole.
 */
async function heapSnapshot(red: NodeRedProcess, pid: number, dir: string): Promise<void> {
  const names = (): string[] => fs.readdirSync(dir).filter((f) => f.endsWith(".heapsnapshot"));
  const before = new Set(names());
  process.kill(pid, "SIGUSR2");
  await until(() => names().some((n) => !before.has(n)), 600_000, "the heap snapshot begun");
  // A connection made while the snapshot is written may be dropped as it ends (Node's HTTP server judges
  // its header timeout then): asked again until one is answered.
  await until(
    () =>
      httpRequest(red.port, "GET", "/settings").then(
        (r) => r.status === 200,
        () => false,
      ),
    600_000,
    "an answer from Node-RED after the heap snapshot",
  );
}

async function measureRun(
  store: Store,
  devices: number,
  ports: readonly number[],
  sims: readonly CapacitySimulators[],
  db: BenchDatabase,
  conn: mysql.Connection,
): Promise<Run> {
  const namespace = `dcbench_cap_${crypto.randomBytes(4).toString("hex")}:`;
  const historyTable = `h_${store}_${devices}`;
  const flow = capacityFlow({ ports, store, namespace, db, historyTable });
  const red = new NodeRedProcess(`capacity-${store}-${devices}`, flow, SETTINGS);
  if (CPU_PROF_DIR !== undefined)
    red.nodeArgs = ["--cpu-prof", `--cpu-prof-dir=${path.resolve(CPU_PROF_DIR)}`];
  if (HEAP_DIR !== undefined)
    red.nodeArgs = [
      ...red.nodeArgs,
      "--heapsnapshot-signal=SIGUSR2",
      `--diagnostic-dir=${path.resolve(HEAP_DIR)}`,
    ];
  try {
    await red.start();
    // The first poll of a point reports it whatever its value: the run starts with a burst of one row per
    // point, which is start-up, not the steady state measured. Wait for it to be saved, or for
    // START_MS: a flow that cannot keep up is measured as it is (its polled and saved rates say so).
    const points = devices * REGISTERS;
    const started = Date.now();
    let saved = 0;
    await until(
      async () => {
        if (!red.running) throw new Error(`Node-RED exited:\n${red.output}`);
        saved = await rows(conn, historyTable);
        return saved >= points || Date.now() - started > START_MS;
      },
      START_MS + 60_000,
      `${store} ${devices} devices: the first value of every point saved`,
    );
    if (saved < points)
      console.log(
        `  ${store} ${devices} devices: ${fmt(saved)} of ${fmt(points)} first values saved after ${START_MS} ms`,
      );
    await pause(WARMUP_MS);
    const pid = red.pid;
    if (pid === undefined) throw new Error(`Node-RED stopped during the warm-up:\n${red.output}`);
    // Simulators and MySQL are read in the same order at both edges, so the time they take to answer
    // shifts both edges alike.
    const reads0 = await requests(sims);
    const rows0 = await rows(conn, historyTable);
    const cpu0 = cpuMicros(pid);
    const t0 = process.hrtime.bigint();
    await pause(WINDOW_MS);
    const cpu1 = cpuMicros(pid);
    const t1 = process.hrtime.bigint();
    const reads1 = await requests(sims);
    const rows1 = await rows(conn, historyTable);
    const rss = rssMb(pid);
    if (HEAP_DIR !== undefined) await heapSnapshot(red, pid, HEAP_DIR);
    const seconds = Number(t1 - t0) / 1e9;
    const readsPerS = (reads1 - reads0) / seconds;
    // A run that did not poll what it should: the end of Node-RED's log says why (timeouts, backlogs).
    if (readsPerS < 0.9 * devices * READS_PER_POLL)
      console.log(
        `  ${store} ${devices} devices fell behind; the end of Node-RED's log:\n${red.output.slice(-3000)}`,
      );
    return {
      seconds,
      cpuPct: (cpu1 - cpu0) / 1e4 / seconds,
      rssMb: rss,
      readsPerS,
      savedPerS: (rows1 - rows0) / seconds,
      alarms: await rows(conn, `${historyTable}_alarms`),
    };
  } finally {
    await red.stop("SIGINT", 30_000);
    red.dispose();
    if (store === "redis") await deleteNamespace(namespace, REDIS_URL);
  }
}

// ---- the run ----------------------------------------------------------------------------------------

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");

function storeFigures(store: Store, small: Run, large: Run): Figures {
  const [d10, d100] = SIZES;
  const p10 = d10 * REGISTERS;
  const p100 = d100 * REGISTERS;
  const sfx = store === "redis" ? "" : "_embedded";
  const baseline = (small.cpuPct * p100) / p10;
  const k = (points: number): string => `${points / 1000}k`;
  const polled = (run: Run, devs: number): Figure => ({
    value: run.readsPerS * PER_READ,
    unit: `values/s (${fmt(run.readsPerS)} reads/s, ${devs * READS_PER_POLL} expected)`,
  });
  const saved = (run: Run, points: number): Figure => ({
    value: run.savedPerS,
    unit: `rows/s (${fmt(points / CHANGE_EVERY)} values change a second)`,
  });
  return {
    [`capacity_100k_points${sfx}`]: {
      value: large.cpuPct,
      unit: `% of a core at ${fmt(p100)} points/s (${store} store)`,
      baseline: `10 × ${small.cpuPct.toFixed(1)} % at ${fmt(p10)} points/s = ${baseline.toFixed(1)} %`,
      ratio: large.cpuPct / baseline,
      goal: "<= 1.0x",
    },
    [`capacity_rss_per_point${sfx}`]: {
      value: ((large.rssMb - small.rssMb) * 1024 * 1024) / (p100 - p10),
      unit: `bytes RSS per configured point (${store} store)`,
      goal: "<= 2,000",
    },
    [`cpu_pct_${k(p10)}${sfx}`]: { value: small.cpuPct, unit: "% of a core" },
    [`cpu_pct_${k(p100)}${sfx}`]: { value: large.cpuPct, unit: "% of a core" },
    [`rss_mb_${k(p10)}${sfx}`]: { value: small.rssMb, unit: "MB" },
    [`rss_mb_${k(p100)}${sfx}`]: { value: large.rssMb, unit: "MB" },
    [`polled_per_s_${k(p10)}${sfx}`]: polled(small, d10),
    [`polled_per_s_${k(p100)}${sfx}`]: polled(large, d100),
    [`saved_per_s_${k(p10)}${sfx}`]: saved(small, p10),
    [`saved_per_s_${k(p100)}${sfx}`]: saved(large, p100),
  };
}

const benchmark: Benchmark = {
  name: "capacity",
  async run(): Promise<Figures> {
    if (!fs.existsSync(path.join(root, "dist", "nodes")))
      throw new Error("dist/ is missing: run `npm run build` first (Node-RED loads the built package)");
    if (STORES.length === 0) throw new Error("CAPACITY_STORES names neither redis nor embedded");
    const maxDevices = Math.max(...SIZES);
    // Device d on process d % SIM_PROCESSES, so the small run too is spread over every process.
    const ports = Array.from({ length: maxDevices }, (_, d) => FIRST_PORT + d);
    const groups = Array.from({ length: SIM_PROCESSES }, (_, p) =>
      ports.filter((_port, d) => d % SIM_PROCESSES === p),
    );
    const sims: CapacitySimulators[] = [];
    const db = await createBenchDatabase();
    const conn = await mysql.createConnection({ ...db.access, database: db.database });
    const figures: Figures = {};
    try {
      for (const g of groups) sims.push(await spawnCapacitySimulators(g, REGISTERS, CHANGE_EVERY));
      for (const store of STORES) {
        const runs: Run[] = [];
        for (const devices of SIZES) {
          const run = await measureRun(store, devices, ports.slice(0, devices), sims, db, conn);
          console.log(
            `  ${store} ${devices} devices (${fmt(devices * REGISTERS)} points): CPU ${run.cpuPct.toFixed(1)} %, ` +
              `RSS ${run.rssMb.toFixed(0)} MB, ${fmt(run.readsPerS * PER_READ)} values polled/s ` +
              `(${fmt(run.readsPerS)} reads/s), ${fmt(run.savedPerS)} rows saved/s, ${run.alarms} alarm rows, ` +
              `over ${run.seconds.toFixed(1)} s; load average ${os
                .loadavg()
                .map((l) => l.toFixed(2))
                .join(" ")}`,
          );
          runs.push(run);
        }
        Object.assign(figures, storeFigures(store, runs[0], runs[1]));
      }
    } finally {
      await Promise.all(sims.map((s) => s.stop()));
      await conn.end();
      await db.drop();
    }
    return figures;
  },
};

export default benchmark;
