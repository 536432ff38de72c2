/**
 * A clock that moves only when told to: `advance(ms)` fires, in time order, every timer that falls due.
 * For tests of anything that takes a `Clock`, so no test waits on the wall clock.
 */
import type { Clock, TimerHandle } from "../protocols/clock";

interface Pending {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

export class ManualClock implements Clock {
  private time: number;
  private nextId = 1;
  private readonly timers = new Map<number, Pending>();

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { id, at: this.time + Math.max(0, ms), fn });
    return id;
  }

  clearTimer(handle: TimerHandle): void {
    if (typeof handle === "number") this.timers.delete(handle);
  }

  /** Timers armed and not yet fired or cleared. */
  get pending(): number {
    return this.timers.size;
  }

  /** When the earliest timer fires, if any. */
  get nextAt(): number | undefined {
    let at: number | undefined;
    for (const t of this.timers.values()) if (at === undefined || t.at < at) at = t.at;
    return at;
  }

  /**
   * Move time forward by `ms` firing nothing, as a busy event loop does: timers that fall due meanwhile
   * fire late, at the next `advance`.
   */
  stall(ms: number): void {
    this.time += ms;
  }

  /** Move time forward by `ms`, firing due timers in order (timers they set are honoured too). */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let due: Pending | undefined;
      for (const t of this.timers.values()) {
        if (t.at <= end && (due === undefined || t.at < due.at || (t.at === due.at && t.id < due.id)))
          due = t;
      }
      if (due === undefined) break;
      this.timers.delete(due.id);
      this.time = Math.max(this.time, due.at);
      due.fn();
    }
    this.time = end;
  }
}
