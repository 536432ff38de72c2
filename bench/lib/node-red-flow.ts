/**
 * What the benchmarks that run a real Node-RED process share (incumbent, iec104's ingest_flow): a
 * function node counting what reaches it in a global, reading that counter through the admin API, the
 * settings.js of a bench run, and the CPU and memory of the process from /proc.
 */
import fs from "node:fs";
import path from "node:path";
import { setTimeout as pause } from "node:timers/promises";
import type { NodeRedProcess } from "../../test/support/node-red-process";
import { httpRequest, until } from "../../test/support/net";

/** Clock ticks per second of /proc/PID/stat's times: USER_HZ, 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

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

/** settings.js of a bench's Node-RED: loopback only, no projects, tours or telemetry, info logging. */
export const BENCH_SETTINGS = `// Written by a benchmark (bench/) for one run.
module.exports = {
  uiHost: "127.0.0.1",
  credentialSecret: false,
  logging: { console: { level: "info", metrics: false, audit: false } },
  editorTheme: { projects: { enabled: false }, tours: false },
  telemetry: { enabled: false, updateNotification: false },
};
`;

/** utime + stime of a process, µs. */
export function cpuMicros(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces) start at field 3, the state.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS) * 1e6;
}

/** Resident memory of a process, MB. */
export function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  if (m === null) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) / 1024;
}
