/**
 * What the benches that run a real Node-RED process (incumbent, capacity) read of it from /proc, and the
 * settings.js they give it: one home, so both measure CPU and memory alike.
 */
import fs from "node:fs";

/** Clock ticks per second of /proc/PID/stat's times: USER_HZ, 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

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

/** A settings.js for one bench run: loopback only, no projects, tours or telemetry, info logging. */
export function benchSettings(writer: string): string {
  return `// Written by ${writer} for one run.
module.exports = {
  uiHost: "127.0.0.1",
  credentialSecret: false,
  logging: { console: { level: "info", metrics: false, audit: false } },
  editorTheme: { projects: { enabled: false }, tours: false },
  telemetry: { enabled: false, updateNotification: false },
};
`;
}
