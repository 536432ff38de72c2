/**
 * The leak check: what of ours is still alive after every flow was unloaded. An async hook records every
 * timer, TCP socket, TCP server and UDP socket as it is created (with the stack that created it) and
 * forgets it when it is destroyed (cleared, fired, closed). A flow test takes the set of live resources
 * before it loads its flow and, after unloading, waits a bounded time for everything created since to be
 * gone; what is left is reported with the place that created it. Sockets close asynchronously, so the
 * wait is "until gone or deadline", not a fixed sleep.
 */
import async_hooks from "node:async_hooks";

const TRACKED = new Set(["Timeout", "TCPWRAP", "TCPSERVERWRAP", "UDPWRAP"]);

interface Live {
  readonly type: string;
  readonly origin: Error;
}

const live = new Map<number, Live>();

async_hooks
  .createHook({
    init(id, type) {
      if (!TRACKED.has(type)) return;
      // Deep enough to get past Node's own frames (a server's keep-alive timer starts deep inside http).
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 40;
      live.set(id, { type, origin: new Error(type) });
      Error.stackTraceLimit = limit;
    },
    destroy(id) {
      live.delete(id);
    },
  })
  .enable();

/** The frame that created the resource: the first one outside Node's internals and this file. */
function creator(origin: Error): string {
  const frames = (origin.stack ?? "").split("\n").slice(1);
  return (frames.find((f) => !f.includes("(node:") && !f.includes("leaks.ts")) ?? frames[0] ?? "").trim();
}

// Timers of the test runner itself (hook and test timeouts) come and go between snapshots.
function isTestRunner(where: string): boolean {
  return /node_modules[\\/]mocha[\\/]/.test(where);
}

export type Snapshot = ReadonlySet<number>;

export function snapshotResources(): Snapshot {
  return new Set(live.keys());
}

/** Resources created since `baseline` and still alive, each with the first frame outside Node itself. */
export function extraResources(baseline: Snapshot): string[] {
  const extra: string[] = [];
  for (const [id, res] of live) {
    if (baseline.has(id)) continue;
    const where = creator(res.origin);
    if (!isTestRunner(where)) extra.push(`${res.type} created ${where}`);
  }
  return extra;
}

export class LeakError extends Error {
  constructor(readonly extra: string[]) {
    super(`leaked after the flow was unloaded:\n  ${extra.join("\n  ")}`);
    this.name = "LeakError";
  }
}

/** Resolve once nothing created since `baseline` is alive; reject with what is left after `withinMs`. */
export async function expectNoLeaks(baseline: Snapshot, withinMs = 3000): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    // Let pending close callbacks run before looking.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const extra = extraResources(baseline);
    if (extra.length === 0) return;
    if (Date.now() >= deadline) throw new LeakError(extra);
    await new Promise<void>((resolve) => setTimeout(resolve, 20)); // the poll interval of this wait
  }
}
