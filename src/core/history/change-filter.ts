/**
 * Save-only-on-change (the old system's `save_unchanged` switch turned off): a sample is saved when it
 * differs from the last one saved for its point by more than the deadband, or when its quality changed.
 * Comparing with the last *saved* value, not the last seen one, means a slow drift is still saved once it
 * has moved a deadband in total.
 */
import type { DataPoint } from "../model/datapoint";
import { qualityBits } from "./rows";

export interface ChangeFilterOptions {
  /** true saves every sample (the filter passes everything). */
  readonly saveUnchanged: boolean;
  /** Absolute deadband in engineering units, for all points or per point key. 0: any change counts. */
  readonly deadband: number | ((key: string) => number);
}

interface Saved {
  readonly value: DataPoint["value"];
  readonly quality: number;
}

export class ChangeFilter {
  private readonly last = new Map<string, Saved>();

  constructor(private readonly options: ChangeFilterOptions) {}

  /** Whether to save `p`; remembers it as the last saved value when the answer is yes. */
  accept(p: DataPoint): boolean {
    if (this.options.saveUnchanged) return true;
    const quality = qualityBits(p.quality);
    const prev = this.last.get(p.key);
    if (prev && prev.quality === quality && !this.changed(p.key, prev.value, p.value)) return false;
    this.last.set(p.key, { value: p.value, quality });
    return true;
  }

  /** Forget a point (e.g. it was deleted from the registry), so its next sample is saved. */
  forget(key: string): void {
    this.last.delete(key);
  }

  private changed(key: string, before: DataPoint["value"], now: DataPoint["value"]): boolean {
    if (typeof before === "number" && typeof now === "number") {
      if (Number.isNaN(before) || Number.isNaN(now)) return !(Number.isNaN(before) && Number.isNaN(now));
      const band =
        typeof this.options.deadband === "number" ? this.options.deadband : this.options.deadband(key);
      return band > 0 ? Math.abs(now - before) > band : now !== before;
    }
    return before !== now;
  }
}
