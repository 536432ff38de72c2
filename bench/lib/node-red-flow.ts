/**
 * What the benchmarks that run a real Node-RED process share (incumbent, iec104's ingest_flow): a
 * function node counting what reaches it in a global, reading that counter through the admin API, the
 * settings.js of a bench run (CPU and memory from /proc are proc-stats.ts's).
 */
import path from "node:path";
import { setTimeout as pause } from "node:timers/promises";
import type { NodeRedProcess } from "../../test/support/node-red-process";
import { httpRequest, until } from "../../test/support/net";
import { benchSettings } from "./proc-stats";

/**
 * A function node on tab `z` adding the values of each message (the length of a batch's payload, else
 * 1) to the global counter `values`.
 */
export function countingFunction(id: string, z: string): object {
  return {
    id,
    type: "function",
    z,
    name: "count",
    func: 'const n = Array.isArray(msg.payload) ? msg.payload.length : 1;\nglobal.set("values", (global.get("values") || 0) + n);\nreturn null;',
    outputs: 1,
    wires: [[]],
  };
}

/** The global counter of countingFunction; 0 before the first value. */
export async function delivered(red: NodeRedProcess): Promise<number> {
  const r = await httpRequest(red.port, "GET", "/context/global/values");
  if (r.status !== 200) throw new Error(`GET /context/global/values answered ${r.status}: ${r.text}`);
  const { msg, format } = r.json() as { msg?: string; format?: string };
  return format === "number" ? Number(msg) : 0;
}

/**
 * Start `red` — under `node --cpu-prof`, writing its profile into `cpuProfDir` when it stops, if given —,
 * wait until its counter shows the first values, let it warm up `warmupMs`, run `measure` with its process
 * id, then stop it (SIGINT, so a profile is written) and remove its user directory; `what` names the run
 * in errors.
 */
export async function measureCounting<T>(
  red: NodeRedProcess,
  opts: { readonly cpuProfDir: string | undefined; readonly warmupMs: number; readonly what: string },
  measure: (pid: number) => Promise<T>,
): Promise<T> {
  const { cpuProfDir, warmupMs, what } = opts;
  if (cpuProfDir !== undefined) red.nodeArgs = ["--cpu-prof", `--cpu-prof-dir=${path.resolve(cpuProfDir)}`];
  try {
    await red.start();
    await until(
      async () => {
        if (!red.running) throw new Error(`Node-RED exited:\n${red.output}`);
        // Until Node-RED listens the request fails: that is the wait, not an error.
        return (await delivered(red).catch(() => 0)) > 0;
      },
      120_000,
      `${what}: the first values`,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${red.output}`);
    });
    await pause(warmupMs);
    const pid = red.pid;
    if (pid === undefined) throw new Error(`${what}: Node-RED stopped during the warm-up:\n${red.output}`);
    return await measure(pid);
  } finally {
    await red.stop("SIGINT");
    red.dispose();
  }
}

/** settings.js of a bench's Node-RED (proc-stats.ts's, one text for every bench). */
export const BENCH_SETTINGS = benchSettings("a benchmark (bench/)");
