/**
 * The poll scheduler: runs tasks (a term's read cycle, a formula on a timer) at fixed rates on one timer
 * for all of them. A task never overlaps itself: a tick that falls due while the previous run is still
 * going is skipped and counted as an overrun, so a slow device cannot pile up requests. Rates are fixed
 * (ticks stay on the grid `start + n * interval`), so the poll period does not drift with run time.
 * Time comes from an injected clock, so tests drive it.
 */
import type { Clock, TimerHandle } from "../transport/connection";

export interface ScheduledTask {
  readonly id: string;
  readonly intervalMs: number;
  run(): Promise<void>;
}

export interface TaskStats {
  readonly runs: number;
  readonly overruns: number;
  readonly failures: number;
  readonly lastDurationMs: number | undefined;
  readonly lastError: string | undefined;
}

interface Entry {
  task: ScheduledTask;
  nextAt: number;
  running: Promise<void> | undefined;
  runs: number;
  overruns: number;
  failures: number;
  lastDurationMs: number | undefined;
  lastError: string | undefined;
}

export const MIN_INTERVAL_MS = 10;

export class Scheduler {
  private readonly entries = new Map<string, Entry>();
  private timer: TimerHandle | undefined;
  private timerAt = Infinity;
  private closed = false;

  /**
   * `phase(id, interval)` says how far into its first interval a task starts; spreading tasks over the
   * interval keeps 100 terms with the same period from hitting the network in the same millisecond.
   * The default spreads over at most the first second, so a slow poll still reads right after a deploy.
   * Without `onError` a failure is only kept in its task's counters (`failures`, `lastError`), for a
   * caller whose tasks report their own failures.
   */
  constructor(
    private readonly clock: Clock,
    private readonly onError: (taskId: string, err: unknown) => void = () => undefined,
    private readonly phase: (id: string, intervalMs: number) => number = (id, interval) =>
      spreadPhase(id, Math.min(interval, 1000)),
  ) {}

  /** Add a task, or replace one with the same id (its counters are kept, its grid restarts). */
  set(task: ScheduledTask): void {
    if (this.closed) throw new Error("scheduler is closed");
    if (!(task.intervalMs >= MIN_INTERVAL_MS)) {
      throw new RangeError(`interval of ${task.id} must be at least ${MIN_INTERVAL_MS} ms`);
    }
    const now = this.clock.now();
    const old = this.entries.get(task.id);
    const nextAt = now + (this.phase(task.id, task.intervalMs) % task.intervalMs);
    if (old) {
      old.task = task;
      old.nextAt = nextAt;
    } else {
      this.entries.set(task.id, {
        task,
        nextAt,
        running: undefined,
        runs: 0,
        overruns: 0,
        failures: 0,
        lastDurationMs: undefined,
        lastError: undefined,
      });
    }
    this.arm();
  }

  delete(id: string): boolean {
    const had = this.entries.delete(id);
    if (had) this.arm();
    return had;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  get size(): number {
    return this.entries.size;
  }

  stats(id: string): TaskStats | undefined {
    const e = this.entries.get(id);
    if (!e) return undefined;
    return {
      runs: e.runs,
      overruns: e.overruns,
      failures: e.failures,
      lastDurationMs: e.lastDurationMs,
      lastError: e.lastError,
    };
  }

  /**
   * Run a task now, outside its grid (an on-demand "call"). When a run is already going, the caller
   * shares it instead of starting a second one.
   */
  runNow(id: string): Promise<void> {
    const e = this.entries.get(id);
    if (!e) return Promise.reject(new Error(`no task ${id}`));
    return e.running ?? this.start(e);
  }

  /** Stop every task; runs in progress finish on their own but nothing new starts. */
  close(): void {
    this.closed = true;
    this.entries.clear();
    this.disarm();
  }

  /** Resolves when no run is in progress (for an orderly shutdown). */
  async idle(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => e.running).filter((p) => p !== undefined));
  }

  private start(e: Entry): Promise<void> {
    const started = this.clock.now();
    const run = (async () => {
      try {
        await e.task.run();
        e.lastError = undefined;
      } catch (err) {
        e.failures++;
        e.lastError = err instanceof Error ? err.message : String(err);
        this.onError(e.task.id, err);
      } finally {
        e.runs++;
        e.lastDurationMs = this.clock.now() - started;
        e.running = undefined;
      }
    })();
    e.running = run;
    return run;
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.clock.now();
    for (const e of this.entries.values()) {
      if (e.nextAt > now) continue;
      // Ticks missed entirely (a stalled event loop) are skipped, not replayed in a burst.
      const missed = Math.floor((now - e.nextAt) / e.task.intervalMs);
      e.nextAt += (missed + 1) * e.task.intervalMs;
      if (e.running) {
        e.overruns += 1 + missed;
        continue;
      }
      e.overruns += missed;
      void this.start(e);
    }
    this.arm();
  }

  private arm(): void {
    if (this.closed) return;
    let at = Infinity;
    for (const e of this.entries.values()) if (e.nextAt < at) at = e.nextAt;
    if (at === this.timerAt) return;
    this.disarm();
    if (at === Infinity) return;
    this.timerAt = at;
    this.timer = this.clock.setTimer(() => this.fire(), Math.max(0, at - this.clock.now()));
  }

  private disarm(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }
}

/** A stable phase from the task id (FNV-1a), so restarts keep each task's slot. */
export function spreadPhase(id: string, intervalMs: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % intervalMs;
}
