/**
 * What the soak watches of each Node-RED process, from outside where it can: resident memory and its
 * peak from /proc/<pid>/status (VmRSS, VmHWM), open file descriptors and how many are sockets from
 * /proc/<pid>/fd; the V8 heap from inside, through the flow's GET /soak/memory (process.memoryUsage()).
 */
import fs from "node:fs";

export interface ProcFigures {
  readonly rssKb: number;
  readonly peakRssKb: number;
  readonly fds: number;
  readonly sockets: number;
}

function statusField(text: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

/** The figures of a running process, or undefined when it is gone (a race with a kill). */
export function procFigures(pid: number): ProcFigures | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    let fds = 0;
    let sockets = 0;
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
      fds++;
      try {
        if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith("socket:")) sockets++;
      } catch {
        // closed between the listing and the look: not open any more
        fds--;
      }
    }
    return { rssKb: statusField(status, "VmRSS"), peakRssKb: statusField(status, "VmHWM"), fds, sockets };
  } catch {
    return undefined;
  }
}

/** process.memoryUsage() of the instance listening on `port`, or undefined when it does not answer. */
export async function heapUsed(port: number): Promise<number | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/soak/memory`, { signal: AbortSignal.timeout(5000) });
    if (res.status !== 200) return undefined;
    const body = (await res.json()) as { heapUsed?: unknown };
    return typeof body.heapUsed === "number" ? body.heapUsed : undefined;
  } catch {
    return undefined;
  }
}

/** The value at quantile q (0..1) of `xs`, nearest rank; NaN when empty. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}
