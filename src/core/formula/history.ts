/**
 * Parameter history for window functions: a bounded ring of (ts, value) per point, oldest first, and the
 * interface through which the engine seeds it after a restart.
 *
 * The engine keeps its own rings, fed by the samples it sees, so evaluation never waits on a store; the
 * store is only asked once per point, when a formula starts using it.
 */
import type { PointKey } from "../model/datapoint";

export interface HistorySample {
  readonly ts: number;
  readonly value: number;
}

export type WindowSpan =
  { readonly kind: "count"; readonly count: number } | { readonly kind: "duration"; readonly ms: number };

/**
 * Recent history of a point, oldest first: the last `count` samples, or every sample with
 * `ts >= now - ms`. The real store (a capped stream per point) implements this; MemoryHistory is for tests.
 */
export interface HistorySource {
  samples(key: PointKey, span: WindowSpan, now: number): Promise<readonly HistorySample[]>;
}

export class MemoryHistory implements HistorySource {
  private readonly data = new Map<PointKey, HistorySample[]>();

  add(key: PointKey, samples: readonly HistorySample[]): void {
    const list = this.data.get(key) ?? [];
    list.push(...samples);
    list.sort((a, b) => a.ts - b.ts);
    this.data.set(key, list);
  }

  async samples(key: PointKey, span: WindowSpan, now: number): Promise<readonly HistorySample[]> {
    const list = this.data.get(key) ?? [];
    if (span.kind === "count") return list.slice(Math.max(0, list.length - span.count));
    return list.filter((s) => s.ts >= now - span.ms && s.ts <= now);
  }
}

/** A growable ring of samples in time order, never larger than `limit`. */
export class SampleRing {
  private ts: Float64Array;
  private values: Float64Array;
  private head = 0;
  size = 0;

  constructor(
    /** Hard bound on the samples kept, whatever the windows ask for. */
    readonly limit: number,
    initial = 16,
  ) {
    const cap = Math.min(limit, initial);
    this.ts = new Float64Array(cap);
    this.values = new Float64Array(cap);
  }

  /** Time of the i-th sample from the oldest. */
  tsAt(i: number): number {
    return this.ts[(this.head + i) % this.ts.length];
  }

  valueAt(i: number): number {
    return this.values[(this.head + i) % this.values.length];
  }

  get newestTs(): number {
    return this.size === 0 ? -Infinity : this.tsAt(this.size - 1);
  }

  /** Append a sample newer than the newest; returns false (and keeps nothing) for one that is not. */
  push(ts: number, value: number): boolean {
    if (ts <= this.newestTs) return false;
    if (this.size === this.ts.length) {
      if (this.size < this.limit) this.grow();
      else this.dropOldest();
    }
    const i = (this.head + this.size) % this.ts.length;
    this.ts[i] = ts;
    this.values[i] = value;
    this.size++;
    return true;
  }

  /** Forget samples no window needs: beyond the last `keepCount` and older than `keepMs` before the newest. */
  trim(keepCount: number, keepMs: number): void {
    const cutoff = this.newestTs - keepMs;
    while (this.size > keepCount && this.tsAt(0) < cutoff) this.dropOldest();
  }

  clear(): void {
    this.head = 0;
    this.size = 0;
  }

  /** Index of the first sample with ts >= t (size when none). */
  firstAtOrAfter(t: number): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.tsAt(mid) < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private dropOldest(): void {
    this.head = (this.head + 1) % this.ts.length;
    this.size--;
  }

  private grow(): void {
    const cap = Math.min(this.limit, this.ts.length * 2);
    const ts = new Float64Array(cap);
    const values = new Float64Array(cap);
    for (let i = 0; i < this.size; i++) {
      ts[i] = this.tsAt(i);
      values[i] = this.valueAt(i);
    }
    this.ts = ts;
    this.values = values;
    this.head = 0;
  }
}
