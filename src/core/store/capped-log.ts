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
  private entries: LogEntry<T>[] = [];
  private start = 0;
  private nextSeq = 1;

  get length(): number {
    return this.entries.length - this.start;
  }

  push(value: T, capacity: number): number {
    const seq = this.nextSeq++;
    this.entries.push({ seq, value });
    const excess = this.length - capacity;
    if (excess > 0) this.start += excess;
    if (this.start > COMPACT_AFTER && this.start * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.start);
      this.start = 0;
    }
    return seq;
  }

  /** The newest `count` values, newest first. */
  newest(count: number): T[] {
    const out: T[] = [];
    const stop = Math.max(this.start, this.entries.length - count);
    for (let i = this.entries.length - 1; i >= stop; i--) out.push(this.entries[i].value);
    return out;
  }

  /** Up to `count` entries with a sequence number above `seq`, oldest first. */
  after(seq: number, count: number): LogEntry<T>[] {
    const first = this.length === 0 ? 0 : this.entries[this.start].seq;
    const from = this.start + Math.max(0, seq + 1 - first);
    return this.entries.slice(from, from + count);
  }

  /** The entry with this sequence number, unless it was dropped. */
  get(seq: number): LogEntry<T> | undefined {
    if (this.length === 0) return undefined;
    const i = this.start + (seq - this.entries[this.start].seq);
    return i >= this.start && i < this.entries.length ? this.entries[i] : undefined;
  }

  /** The sequence number the next entry will get minus one: where "only new entries" starts. */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }
}
