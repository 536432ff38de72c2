/**
 * manager: what the DeviceManager's runtime costs at scale (issue 6), as absolute figures with goals.
 *
 * - heap_per_point: V8 heap bytes per configured point, with 100,000 points (1,000 Modbus devices of
 *   100 points, one term each) in the embedded store's registry and a running manager runtime polling
 *   them: heapUsed after a full GC with the registry loaded, the runtime started and every term through
 *   its first cycle, minus heapUsed after GC before loading, divided by the points. The samples the
 *   cycle made are not stored (the manager's publish is a no-op here): what a point costs while
 *   configured and running is its registry record and its share of the runtime, whereas stored samples
 *   are data whose size the store's bounds set, not the number of points.
 * - heap_per_point_registry: the part of heap_per_point that is the registry in the embedded store
 *   (heap after loading, before the runtime starts); with the Redis store it is in Redis, not here.
 * - heap_per_point_with_samples: the same with the samples stored (latest value, a history bounded to
 *   one sample, and the durable events stream holding the first cycle's batches), for information.
 * - reload_10k: ms from starting the runtime on a 10,000-point registry (100 devices of 100 points)
 *   to every device running (connection made, read plan built, polls scheduled).
 * - first_poll_10k: the same start until every term has completed a cycle; it includes the scheduler's
 *   deliberate spread of first polls over up to one second (scheduler.ts), so it is not a goal.
 *
 * The devices are real: Modbus simulators in a process of their own (bench/lib/modbus-sim-process.ts),
 * one port per device. The measuring side runs in a child process with --expose-gc, so the heap figure
 * holds nothing but the manager (not the benchmark runner, not the simulators).
 */
import { spawn } from "node:child_process";
import { Manager } from "../src/core/manager";
import { parseManagerSettings } from "../src/core/manager-config";
import { startManagerRuntime, type ManagerRuntime } from "../src/core/manager-runtime";
import { spawnModbusSimulators } from "./lib/modbus-sim-process";
import { median } from "./lib/measure";
import type { Benchmark } from "./lib/types";

const HEAP_DEVICES = 1000;
const RELOAD_DEVICES = 100;
const POINTS_PER_DEVICE = 100;
const HEAP_REPEATS = 3;
const RELOAD_REPEATS = 7;
/** Long enough that nothing polls again while a figure is taken. */
const POLL_MS = 600_000;

interface HeapResult {
  readonly mode: "heap" | "heap-samples";
  readonly bytesPerPoint: number;
  /** Of which the registry in the embedded store (measured before the runtime starts). */
  readonly registryBytesPerPoint: number;
  readonly loadMs: number;
}

interface ReloadResult {
  readonly mode: "reload";
  readonly runningMs: readonly number[];
  readonly firstPollMs: readonly number[];
}

type ChildResult = HeapResult | ReloadResult;

function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with --expose-gc");
  // Twice: the first pass can leave objects that only become garbage after finalizers ran.
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** `devices` Modbus devices of POINTS_PER_DEVICE holding registers each, device i on ports[i]. */
async function loadRegistry(manager: Manager, ports: readonly number[], devices: number): Promise<void> {
  const r = manager.registry;
  for (let p = 0; p < POINTS_PER_DEVICE; p++) await r.putItem({ id: `p${p}` });
  for (let d = 0; d < devices; d++) {
    const id = `dev${d}`;
    await r.putDevice({ id, protocol: "modbus-tcp", host: "127.0.0.1", port: ports[d % ports.length] });
    await r.putTerm({ id: `${id}t`, deviceId: id, address: 1, pollInterval: POLL_MS });
    for (let p = 0; p < POINTS_PER_DEVICE; p++) {
      await r.putPoint({ deviceId: id, termId: `${id}t`, itemId: `p${p}`, address: `HR${p}` });
    }
  }
}

/** Resolves when `cond` holds, checking every millisecond; the figure is taken by the caller. */
async function whenTrue(cond: () => boolean, withinMs: number, what: string): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${withinMs} ms`);
    await new Promise((res) => setTimeout(res, 1));
  }
}

function allPolled(rt: ManagerRuntime, devices: number): boolean {
  for (let d = 0; d < devices; d++) {
    const info = rt.runner.info(`dev${d}`);
    const term = info?.[`dev${d}t`];
    if (!term || term.cycles < 1) return false;
  }
  return true;
}

function manager(): Manager {
  return new Manager(parseManagerSettings({ store: "embedded", namespace: "bench:", instanceId: "bench" }), {
    bounds: { history: 1 },
  });
}

async function heapChild(ports: readonly number[], storeSamples: boolean): Promise<HeapResult> {
  const m = manager();
  if (!storeSamples) m.publish = () => Promise.resolve();
  const before = heapAfterGc();
  const t0 = nowMs();
  await loadRegistry(m, ports, HEAP_DEVICES);
  const loadMs = nowMs() - t0;
  const loaded = heapAfterGc();
  const rt = startManagerRuntime(m);
  await rt.started;
  await whenTrue(() => allPolled(rt, HEAP_DEVICES), 60_000, "first cycle of every term");
  const after = heapAfterGc();
  await rt.close();
  await m.close();
  const points = HEAP_DEVICES * POINTS_PER_DEVICE;
  return {
    mode: storeSamples ? "heap-samples" : "heap",
    bytesPerPoint: (after - before) / points,
    registryBytesPerPoint: (loaded - before) / points,
    loadMs,
  };
}

async function reloadChild(ports: readonly number[]): Promise<ReloadResult> {
  const m = manager();
  await loadRegistry(m, ports, RELOAD_DEVICES);
  const runningMs: number[] = [];
  const firstPollMs: number[] = [];
  for (let i = 0; i < RELOAD_REPEATS; i++) {
    const t0 = nowMs();
    const rt = startManagerRuntime(m);
    await rt.started;
    await whenTrue(() => rt.runner.devices.length === RELOAD_DEVICES, 30_000, "every device running");
    runningMs.push(nowMs() - t0);
    await whenTrue(() => allPolled(rt, RELOAD_DEVICES), 30_000, "first cycle of every term");
    firstPollMs.push(nowMs() - t0);
    await rt.close();
  }
  await m.close();
  return { mode: "reload", runningMs, firstPollMs };
}

/** Run this file as a child measuring `mode`; its one stdout line is the result. */
function runChild(mode: ChildResult["mode"], ports: readonly number[]): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", __filename, mode], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, DATACOLL_BENCH_PORTS: JSON.stringify(ports) },
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== 0) reject(new Error(`manager bench child (${mode}) exited with ${code}`));
      else resolve(JSON.parse(out.trim().split("\n").pop() ?? "") as ChildResult);
    });
  });
}

const bench: Benchmark = {
  name: "manager",
  async run() {
    const sims = await spawnModbusSimulators(HEAP_DEVICES);
    try {
      const heap: HeapResult[] = [];
      const withSamples: HeapResult[] = [];
      for (let i = 0; i < HEAP_REPEATS; i++) {
        for (const mode of ["heap", "heap-samples"] as const) {
          const r = await runChild(mode, sims.ports);
          if (r.mode === "heap") heap.push(r);
          else if (r.mode === "heap-samples") withSamples.push(r);
        }
      }
      const reload = await runChild("reload", sims.ports.slice(0, RELOAD_DEVICES));
      if (reload.mode !== "reload") throw new Error("the reload child answered something else");
      return {
        heap_per_point: {
          value: median(heap.map((h) => h.bytesPerPoint)),
          unit: "bytes",
          goal: "<= 1,024 bytes",
        },
        heap_per_point_registry: {
          value: median(heap.map((h) => h.registryBytesPerPoint)),
          unit: "bytes",
        },
        heap_per_point_with_samples: {
          value: median(withSamples.map((h) => h.bytesPerPoint)),
          unit: "bytes",
        },
        reload_10k: { value: median(reload.runningMs), unit: "ms", goal: "<= 2,000 ms" },
        first_poll_10k: { value: median(reload.firstPollMs), unit: "ms" },
        registry_load_100k: { value: median(heap.map((h) => h.loadMs)), unit: "ms" },
      };
    } finally {
      await sims.stop();
    }
  },
};

export default bench;

if (require.main === module) {
  const mode = process.argv[2];
  const ports = JSON.parse(process.env.DATACOLL_BENCH_PORTS ?? "[]") as number[];
  const work =
    mode === "heap" || mode === "heap-samples"
      ? heapChild(ports, mode === "heap-samples")
      : mode === "reload"
        ? reloadChild(ports)
        : undefined;
  if (!work) throw new Error(`unknown mode ${mode}`);
  work.then(
    (res) => {
      process.stdout.write(`${JSON.stringify(res)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
