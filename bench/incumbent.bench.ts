/**
 * incumbent: the cost of a value through a real Node-RED flow, ours against node-red-contrib-modbus (the
 * package users come from), side by side in the same Node-RED (our devDependency, 4.1.x) with both
 * packages installed, polling the same libmodbus server (bench/lib/libmodbus-counting-server.c).
 *
 * Each device has 100 holding registers that all change on every read, so our report-by-exception
 * passes every value. The flows:
 * - ours: per device a datacoll-modbus device and a datacoll-poll of 100 uint16 items HR0..HR99 (one
 *   read) at the interval, one message per batch — what the incumbent's flow does, and the flow the
 *   issue measured;
 * - manager: ours with a datacoll-manager (embedded store, as the demo of `npm start`) chosen in every
 *   poll node, which keeps each value as the latest, in its history and in the events stream: work the
 *   incumbent's flow has no part of, reported apart;
 * - the incumbent's (node-red-contrib-modbus, installed on first use, bench/lib/incumbent-install.ts):
 *   per device a modbus-client (TCP) and a modbus-read of 100 holding registers at the interval;
 * each poll node wired to a function node that adds the length of the payload to a global counter.
 *
 * For 1 and 20 devices at 10 ms and 100 ms, every run starts a fresh Node-RED with one side's flow,
 * waits for values, lets it warm up WARMUP_MS, then measures WINDOW_MS: the values delivered (the
 * counter, read through the admin API), the CPU of the Node-RED process (utime + stime of
 * /proc/PID/stat), its RSS (/proc/PID/status) at the end, and the requests the server answered, which
 * must be a hundredth of the values, as proof that every value came from a poll that reached the device.
 * The sides alternate, ours first, RUNS times each (A/B/C/A/B/C). The warm-up is long enough for the
 * start-up's compiling and collecting to be over: the window measures the steady state a user's
 * Node-RED lives in. Figures per set-up:
 * - cpu_per_value_* — CPU µs per delivered value over all runs, ours; ratio ours / incumbent;
 *   cpu_per_value_*_manager the same with the manager; cpu_per_value_*_floor a bare Node.js process
 *   making the same polls (bench/lib/bare-poller.ts): the least any flow can cost here, so its ratio is
 *   the best one reachable.
 * - values_per_s_* — delivered values per second (median of runs), with the server's reads per second.
 * - cpu_pct_* — CPU of the Node-RED process, % of one core (median of runs).
 * - rss_mb_* — resident memory of the Node-RED process at the end of the window (median of runs).
 * - runs_not_matching_server_reads — runs whose values were not 100 × the server's reads (goal 0).
 *
 * To look at one set-up or one side (e.g. to profile it), environment variables narrow the run:
 * INCUMBENT_SETUPS=20dev_100ms[,...] keeps those set-ups, INCUMBENT_SIDES=ours[,manager,incumbent,floor] those sides,
 * INCUMBENT_RUNS=N the runs per side, INCUMBENT_WINDOW_MS the measured window (default 10000), and
 * INCUMBENT_CPU_PROF=DIR starts each Node-RED with
 * `node --cpu-prof --cpu-prof-dir=DIR`, which writes a .cpuprofile there when the run stops it.
 */
import { fork } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as pause } from "node:timers/promises";
import { until } from "../test/support/net";
import { NodeRedProcess } from "../test/support/node-red-process";
import { INCUMBENT, INCUMBENT_VERSION, installIncumbent } from "./lib/incumbent-install";
import { median } from "./lib/measure";
import { BENCH_SETTINGS, countingFunction, delivered, measureCounting } from "./lib/node-red-flow";
import { startCountingServer, type CountingServer } from "./lib/counting-server";
import { modbusPollNodes } from "./lib/poll-flow";
import { cpuMicros, rssMb } from "./lib/proc-stats";
import type { Benchmark, Figures } from "./lib/types";

type Side = "ours" | "manager" | "incumbent" | "floor";

const REGISTERS = 100;
const MAX_DEVICES = 20;
const SETUPS: readonly { readonly devices: number; readonly intervalMs: number }[] = [
  { devices: 1, intervalMs: 10 },
  { devices: 1, intervalMs: 100 },
  { devices: 20, intervalMs: 10 },
  { devices: 20, intervalMs: 100 },
];
/** `name` of the environment split at commas; undefined when unset or empty. */
function envList(name: string): string[] | undefined {
  const v = process.env[name]?.trim();
  return v ? v.split(",").map((s) => s.trim()) : undefined;
}
const label = (s: { readonly devices: number; readonly intervalMs: number }): string =>
  `${s.devices}dev_${s.intervalMs}ms`;
const ALL_SETUPS = SETUPS;
const chosenSetups = envList("INCUMBENT_SETUPS");
const RUN_SETUPS = chosenSetups ? ALL_SETUPS.filter((s) => chosenSetups.includes(label(s))) : ALL_SETUPS;
const SIDES = (envList("INCUMBENT_SIDES") ?? ["ours", "manager", "incumbent", "floor"]) as readonly Side[];
const RUNS = Number(process.env.INCUMBENT_RUNS ?? 3);
const CPU_PROF_DIR = process.env.INCUMBENT_CPU_PROF;
/** Start-up compiling and collecting go on for seconds after the first values (measured: 2.5 % of a core
 * in the first 10 s against 1.5 % after, 1 device at 100 ms): the window starts after them. */
const WARMUP_MS = 10_000;
const WINDOW_MS = Number(process.env.INCUMBENT_WINDOW_MS ?? 10_000);
/** Values may differ from 100 × the server's reads by the replies in flight at the window's two edges. */
const PROOF_SLACK = 0.02;

const root = path.resolve(__dirname, "..");

// ---- the flows --------------------------------------------------------------------------------------

const TAB = "bench-tab";

function oursFlow(ports: readonly number[], intervalMs: number, manager: boolean): object[] {
  return [
    { id: TAB, type: "tab", label: "ours" },
    ...(manager
      ? [{ id: "mgr", type: "datacoll-manager", name: "bench", store: "embedded", runDevices: false }]
      : []),
    ...ports.flatMap((port, d) => [
      ...modbusPollNodes(d, port, {
        tab: TAB,
        registers: REGISTERS,
        intervalMs,
        wires: [`count${d}`],
        manager: manager ? "mgr" : undefined,
      }),
      countingFunction(`count${d}`, TAB),
    ]),
  ];
}

/** Field names and values as the incumbent's editor writes them (its modbus-client and modbus-read .html). */
function incumbentFlow(ports: readonly number[], intervalMs: number): object[] {
  return [
    { id: TAB, type: "tab", label: "incumbent" },
    ...ports.flatMap((port, d) => [
      {
        id: `client${d}`,
        type: "modbus-client",
        name: `device ${d}`,
        clienttype: "tcp",
        bufferCommands: true,
        stateLogEnabled: false,
        queueLogEnabled: false,
        failureLogEnabled: true,
        tcpHost: "127.0.0.1",
        tcpPort: String(port),
        tcpType: "DEFAULT",
        unit_id: "1",
        commandDelay: "1",
        clientTimeout: "1000",
        reconnectOnTimeout: true,
        reconnectTimeout: "2000",
        parallelUnitIdsAllowed: true,
        showErrors: false,
        showWarnings: true,
        showLogs: true,
      },
      {
        id: `read${d}`,
        type: "modbus-read",
        z: TAB,
        name: `read ${d}`,
        topic: "",
        showStatusActivities: false,
        logIOActivities: false,
        showErrors: false,
        showWarnings: true,
        unitid: "1",
        dataType: "HoldingRegister",
        adr: "0",
        quantity: String(REGISTERS),
        rate: String(intervalMs),
        rateUnit: "ms",
        delayOnStart: false,
        enableDeformedMessages: false,
        startDelayTime: "",
        server: `client${d}`,
        useIOFile: false,
        ioFile: "",
        useIOForPayload: false,
        emptyMsgOnFail: false,
        wires: [[`count${d}`], []],
      },
      countingFunction(`count${d}`, TAB),
    ]),
  ];
}

// ---- one run ----------------------------------------------------------------------------------------

interface Run {
  readonly values: number;
  readonly reads: number;
  readonly seconds: number;
  /** CPU of the Node-RED process over the window, µs (user + system). */
  readonly cpuMicros: number;
  readonly rssMb: number;
}

async function measureRun(
  side: Side,
  server: CountingServer,
  devices: number,
  intervalMs: number,
  incumbentPkg: string,
): Promise<Run> {
  const ports = server.ports.slice(0, devices);
  const flow =
    side === "incumbent" ? incumbentFlow(ports, intervalMs) : oursFlow(ports, intervalMs, side === "manager");
  const red = new NodeRedProcess(`bench-${side}`, flow, BENCH_SETTINGS);
  // Both packages are installed in every run, so each Node-RED loads the same node set.
  fs.symlinkSync(incumbentPkg, path.join(red.userDir, "node_modules", INCUMBENT), "dir");
  return measureCounting(red, { cpuProfDir: CPU_PROF_DIR, warmupMs: WARMUP_MS, what: side }, async (pid) => {
    // The counter and the server are read in the same order at both edges, so the time the admin API
    // takes to answer shifts both edges alike instead of widening the server's window.
    return measureWindow(pid, server, () => delivered(red));
  });
}

/** One window: values (from `values`), the server's reads, and the CPU and RSS of process `pid`. */
async function measureWindow(
  pid: number,
  server: CountingServer,
  values: () => Promise<number>,
): Promise<Run> {
  const values0 = await values();
  const reads0 = await server.requests();
  const cpu0 = cpuMicros(pid);
  const t0 = process.hrtime.bigint();
  await pause(WINDOW_MS);
  const cpu1 = cpuMicros(pid);
  const t1 = process.hrtime.bigint();
  const values1 = await values();
  const reads1 = await server.requests();
  return {
    values: values1 - values0,
    reads: reads1 - reads0,
    seconds: Number(t1 - t0) / 1e9,
    cpuMicros: cpu1 - cpu0,
    rssMb: rssMb(pid),
  };
}

/**
 * The floor (bench/lib/bare-poller.ts): the same polls from a bare Node.js process, measured as a run of
 * Node-RED is — after the same warm-up, over the same window, from /proc — its values counted by itself.
 */
async function measureFloor(server: CountingServer, devices: number, intervalMs: number): Promise<Run> {
  const child = fork(
    path.join(__dirname, "lib", "bare-poller.ts"),
    [server.ports.slice(0, devices).join(","), String(intervalMs), String(REGISTERS)],
    { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // A poller that dies answers no more: its exit fails the count that waits, rather than leaving it open.
  const gone = exited.then(() => Promise.reject(new Error("the bare poller exited")));
  gone.catch(() => undefined);
  const count = (): Promise<number> =>
    Promise.race([
      new Promise<number>((resolve) => {
        child.once("message", (m: { values: number }) => resolve(m.values));
        child.send("count");
      }),
      gone,
    ]);
  try {
    await until(async () => (await count()) > 0, 30_000, "the bare poller's first values");
    await pause(WARMUP_MS);
    const pid = child.pid;
    if (pid === undefined) throw new Error("the bare poller has no process id");
    return await measureWindow(pid, server, count);
  } finally {
    if (child.connected) child.disconnect();
    await exited;
  }
}

// ---- the run ----------------------------------------------------------------------------------------

interface Summary {
  readonly cpuPerValue: number;
  readonly valuesPerS: number;
  readonly readsPerS: number;
  readonly cpuPct: number;
  readonly rssMb: number;
}

function summarise(runs: readonly Run[]): Summary {
  const values = runs.reduce((n, r) => n + r.values, 0);
  const cpu = runs.reduce((n, r) => n + r.cpuMicros, 0);
  return {
    cpuPerValue: values > 0 ? cpu / values : Infinity,
    valuesPerS: median(runs.map((r) => r.values / r.seconds)),
    readsPerS: median(runs.map((r) => r.reads / r.seconds)),
    cpuPct: median(runs.map((r) => r.cpuMicros / 1e4 / r.seconds)),
    rssMb: median(runs.map((r) => r.rssMb)),
  };
}

/**
 * Whether every value came from a read the server answered (the replies in flight at the window's edges
 * aside): a side delivering values the device never sent, or losing answered reads, fails it.
 */
function proven(run: Run): boolean {
  const expected = run.reads * REGISTERS;
  return Math.abs(run.values - expected) <= PROOF_SLACK * Math.max(expected, run.values) + 2 * REGISTERS;
}

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");
const incumbentName = `${INCUMBENT} ${INCUMBENT_VERSION}`;

const benchmark: Benchmark = {
  name: "incumbent",
  async run(): Promise<Figures> {
    if (!fs.existsSync(path.join(root, "dist", "nodes")))
      throw new Error("dist/ is missing: run `npm run build` first (Node-RED loads the built package)");
    const incumbentPkg = await installIncumbent();
    const server = await startCountingServer(MAX_DEVICES);
    const figures: Figures = {};
    const unproven: Record<Side, number> = { ours: 0, manager: 0, incumbent: 0, floor: 0 };
    try {
      for (const setup of RUN_SETUPS) {
        const { devices, intervalMs } = setup;
        const name = label(setup);
        const runs: Record<Side, Run[]> = { ours: [], manager: [], incumbent: [], floor: [] };
        for (let i = 0; i < RUNS; i++) {
          for (const side of SIDES) {
            const run =
              side === "floor"
                ? await measureFloor(server, devices, intervalMs)
                : await measureRun(side, server, devices, intervalMs, incumbentPkg);
            console.log(
              `  ${name} ${side} #${i + 1}: ${fmt(run.values / run.seconds)} values/s, ` +
                `${fmt(run.reads / run.seconds)} reads/s at the server, ` +
                `CPU ${(run.cpuMicros / 1e4 / run.seconds).toFixed(1)} %, RSS ${run.rssMb.toFixed(0)} MB`,
            );
            if (!proven(run)) {
              console.log(
                `  ${name} ${side} #${i + 1}: the values do not match the server's reads x ${REGISTERS}`,
              );
              unproven[side]++;
            }
            runs[side].push(run);
          }
        }
        // A side left out (INCUMBENT_SIDES) has no figures to compare with.
        if (runs.incumbent.length === 0) {
          for (const side of SIDES) {
            const s = summarise(runs[side]);
            figures[`cpu_per_value_${name}_${side}`] = { value: s.cpuPerValue, unit: "µs CPU/value" };
            figures[`rss_mb_${name}_${side}`] = { value: s.rssMb, unit: "MB" };
          }
          continue;
        }
        const b = summarise(runs.incumbent);
        for (const side of ["ours", "manager", "floor"] as const) {
          if (runs[side].length === 0) continue;
          const a = summarise(runs[side]);
          const suffix = side === "ours" ? "" : `_${side}`;
          figures[`cpu_per_value_${name}${suffix}`] = {
            value: a.cpuPerValue,
            unit: "µs CPU/value",
            baseline: `${incumbentName}: ${b.cpuPerValue.toPrecision(3)} µs/value`,
            ratio: a.cpuPerValue / b.cpuPerValue,
            ...(side === "ours" ? { goal: "<= 0.25x" } : {}),
          };
          figures[`values_per_s_${name}${suffix}`] = {
            value: a.valuesPerS,
            unit: `values/s (server: ${fmt(a.readsPerS)} reads/s)`,
            baseline: `${fmt(b.valuesPerS)} values/s (server: ${fmt(b.readsPerS)} reads/s)`,
            ratio: a.valuesPerS / b.valuesPerS,
          };
          figures[`cpu_pct_${name}${suffix}`] = {
            value: a.cpuPct,
            unit: "% of a core",
            baseline: `${b.cpuPct.toFixed(1)} % of a core`,
            ratio: a.cpuPct / b.cpuPct,
          };
          figures[`rss_mb_${name}${suffix}`] = {
            value: a.rssMb,
            unit: "MB",
            baseline: `${b.rssMb.toFixed(0)} MB`,
            ratio: a.rssMb / b.rssMb,
          };
        }
      }
      figures.runs_not_matching_server_reads = {
        value: unproven.ours + unproven.manager,
        unit: `runs of ours of ${RUNS * RUN_SETUPS.length * SIDES.filter((s) => s === "ours" || s === "manager").length}`,
        baseline: `${unproven.incumbent} runs`,
      };
    } finally {
      await server.stop();
    }
    console.log(
      `  load average at the end: ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}`,
    );
    return figures;
  },
};

export default benchmark;
