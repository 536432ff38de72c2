/**
 * Events per second over a sliding window, for status text (cheap: a ring of per-second buckets). In core
 * because a controller (the check node's) reports its rate with its status; nodes/lib/rate.ts re-exports it.
 */
export class RateMeter {
  private readonly buckets: number[];
  private readonly seconds: number[];

  constructor(private readonly windowSeconds = 5) {
    this.buckets = new Array<number>(windowSeconds).fill(0);
    this.seconds = new Array<number>(windowSeconds).fill(-1);
  }

  add(count: number, nowMs: number): void {
    const s = Math.floor(nowMs / 1000);
    const i = s % this.windowSeconds;
    if (this.seconds[i] !== s) {
      this.seconds[i] = s;
      this.buckets[i] = 0;
    }
    this.buckets[i] += count;
  }

  perSecond(nowMs: number): number {
    const s = Math.floor(nowMs / 1000);
    let total = 0;
    for (let i = 0; i < this.windowSeconds; i++)
      if (s - this.seconds[i] < this.windowSeconds) total += this.buckets[i];
    return total / this.windowSeconds;
  }
}
