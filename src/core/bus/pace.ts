/**
 * What the data node lets through, and when: "only on change" and a rate limit in messages per second.
 * Pure logic on an injected time, so it is tested without timers; the data controller
 * (data-controller.ts) drives `drain` with one timer on `nextDue`.
 */
import type { DataPoint, PointKey, Quality } from "../model/datapoint";

/**
 * How a node hands samples on (docs/architecture.md §4): a batch in one message, or one message per
 * point. It lives here, below the nodes' message mapping, because the rate limit counts messages and so
 * must know which; nodes/lib/messages.ts re-exports it for the nodes.
 */
export type OutputMode = "batch" | "point";

function sameQuality(a: Quality, b: Quality): boolean {
  return (
    a.invalid === b.invalid &&
    a.notTopical === b.notTopical &&
    a.substituted === b.substituted &&
    a.blocked === b.blocked &&
    a.overflow === b.overflow
  );
}

/** Drops a sample whose value and quality equal the last one let through for its point. */
export class ChangeFilter {
  private readonly last = new Map<PointKey, DataPoint>();

  filter(points: readonly DataPoint[]): readonly DataPoint[] {
    let out: DataPoint[] | undefined;
    for (let i = 0; i < points.length; i++) {
      const p = points[i];
      const before = this.last.get(p.key);
      const same = before !== undefined && before.value === p.value && sameQuality(before.quality, p.quality);
      if (!same) this.last.set(p.key, p);
      // Copy only once something is left out, so a batch of changes goes on as it came.
      if (same && out === undefined) out = points.slice(0, i);
      else if (!same && out !== undefined) out.push(p);
    }
    return out ?? points;
  }
}

/**
 * At most `perSecond` messages per second, with bursts up to that many (a token bucket). Points that
 * cannot go at once wait, newest sample per point: a later sample of a waiting point replaces it (and is
 * counted in `superseded`). In batch mode everything waiting goes in the next message; in point mode
 * one point per message, oldest waiting first. `perSecond` 0 lets everything through at once.
 */
export class RateLimit {
  private tokens: number;
  private at: number;
  /** Below 1 a second the bucket still holds one message, or nothing would ever go. */
  private readonly burst: number;
  private readonly waiting = new Map<PointKey, DataPoint>();
  superseded = 0;

  constructor(
    readonly perSecond: number,
    readonly mode: OutputMode,
    now: number,
  ) {
    this.burst = Math.max(1, perSecond);
    this.tokens = this.burst;
    this.at = now;
  }

  get pending(): number {
    return this.waiting.size;
  }

  /** Take samples; returns the messages to send now, each as its points. */
  offer(points: readonly DataPoint[], now: number): (readonly DataPoint[])[] {
    if (this.perSecond <= 0) return this.mode === "batch" ? [points] : points.map((p) => [p]);
    if (this.mode === "batch" && this.waiting.size === 0) {
      this.refill(now);
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return [points];
      }
    }
    for (const p of points) {
      if (this.waiting.has(p.key)) this.superseded++;
      this.waiting.set(p.key, p);
    }
    return this.drain(now);
  }

  /** The messages whose turn has come. */
  drain(now: number): (readonly DataPoint[])[] {
    this.refill(now);
    const out: (readonly DataPoint[])[] = [];
    if (this.mode === "batch") {
      if (this.waiting.size > 0 && this.tokens >= 1) {
        this.tokens -= 1;
        out.push([...this.waiting.values()]);
        this.waiting.clear();
      }
      return out;
    }
    for (const [key, p] of this.waiting) {
      if (this.tokens < 1) break;
      this.tokens -= 1;
      this.waiting.delete(key);
      out.push([p]);
    }
    return out;
  }

  /** When the next waiting message may go; undefined when nothing waits. */
  nextDue(): number | undefined {
    if (this.waiting.size === 0) return undefined;
    return this.at + (Math.max(0, 1 - this.tokens) * 1000) / this.perSecond;
  }

  private refill(now: number): void {
    if (now > this.at) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.perSecond) / 1000);
      this.at = now;
    }
  }
}
