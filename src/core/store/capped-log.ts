/**
 * An append-only log that keeps only its newest entries: the memory store's stand-in for a capped Redis
 * stream. Entries get increasing sequence numbers, so a consumer group can remember where it stopped.
 */
export interface LogEntry<T> {
  readonly seq: number;
  readonly value: T;
}

// Dropping from the front of a JS array is O(n); entries are skipped by an offset and the array is
// compacted once the skipped part is the larger half.
const COMPACT_AFTER = 1024;

export class CappedLog<T> {
  // Sequence numbers are consecutive, so only the values are kept (one push per sample of every point:
  // no entry object each) and values[i] has the number firstSeq + i. LogEntry objects are made on read.
  private values: T[] = [];
  private start = 0;
  private firstSeq = 1;

  get length(): number {
    return this.values.length - this.start;
  }

  push(value: T, capacity: number): number {
    const seq = this.firstSeq + this.values.length;
    this.values.push(value);
    const excess = this.length - capacity;
    if (excess > 0) this.start += excess;
    if (this.start > COMPACT_AFTER && this.start * 2 > this.values.length) {
      this.values = this.values.slice(this.start);
      this.firstSeq += this.start;
      this.start = 0;
    }
    return seq;
  }

  /** The newest `count` values, newest first. */
  newest(count: number): T[] {
    const out: T[] = [];
    const stop = Math.max(this.start, this.values.length - count);
    for (let i = this.values.length - 1; i >= stop; i--) out.push(this.values[i]);
    return out;
  }

  /** Up to `count` entries with a sequence number above `seq`, oldest first. */
  after(seq: number, count: number): LogEntry<T>[] {
    const from = Math.max(this.start, seq + 1 - this.firstSeq);
    const to = Math.min(this.values.length, from + count);
    const out: LogEntry<T>[] = [];
    for (let i = from; i < to; i++) out.push({ seq: this.firstSeq + i, value: this.values[i] });
    return out;
  }

  /** The entry with this sequence number, unless it was dropped. */
  get(seq: number): LogEntry<T> | undefined {
    const i = seq - this.firstSeq;
    return i >= this.start && i < this.values.length ? { seq, value: this.values[i] } : undefined;
  }

  /** The sequence number the next entry will get minus one: where "only new entries" starts. */
  get lastSeq(): number {
    return this.firstSeq + this.values.length - 1;
  }
}
