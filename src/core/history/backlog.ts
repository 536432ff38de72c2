/**
 * The backlog: rows waiting for MySQL, oldest first, bounded. The batch writer reads from the head, writes
 * the rows, and only then drops them, so a crash between the two replays rows (harmless: inserts are
 * idempotent by key) and never loses them.
 *
 * Two implementations behind one interface: in memory (one process, lost on restart) and a Redis stream
 * (survives a Node-RED restart; a new writer on the same key drains what the old one left).
 */
import type Redis from "ioredis";
import type { HistoryRow } from "./rows";
import { asHistoryRow } from "./rows";

export interface Backlog {
  /** Most rows it holds; when an append would pass it, the oldest rows make room. */
  readonly capacity: number;
  /** Add rows at the tail, in order. Resolves to how many of the oldest rows were evicted to make room. */
  append(rows: readonly HistoryRow[]): Promise<number>;
  /** Up to `n` rows from the head, left in place. */
  peek(n: number): Promise<readonly HistoryRow[]>;
  /**
   * Remove the first `n` rows of the last peek. Rows evicted since that peek are already gone and are not
   * counted again, so a drop never removes a row the caller has not seen.
   */
  drop(n: number): Promise<void>;
  size(): Promise<number>;
}

function checkCapacity(capacity: number): number {
  if (!Number.isInteger(capacity) || capacity < 1)
    throw new RangeError("backlog capacity must be a whole number >= 1");
  return capacity;
}

export class MemoryBacklog implements Backlog {
  readonly capacity: number;
  // rows[head] is the oldest live row and has sequence number headSeq; rows before head are dead space
  // reclaimed now and then, so taking from the head costs O(1) rather than a shift of the whole array.
  private rows: HistoryRow[] = [];
  private head = 0;
  private headSeq = 0;
  private peekSeq = 0;

  constructor(capacity: number) {
    this.capacity = checkCapacity(capacity);
  }

  async append(rows: readonly HistoryRow[]): Promise<number> {
    for (const r of rows) this.rows.push(r);
    const excess = Math.max(0, this.rows.length - this.head - this.capacity);
    this.advance(excess);
    return excess;
  }

  async peek(n: number): Promise<readonly HistoryRow[]> {
    this.peekSeq = this.headSeq;
    return this.rows.slice(this.head, this.head + n);
  }

  async drop(n: number): Promise<void> {
    this.advance(Math.max(0, this.peekSeq + n - this.headSeq));
  }

  async size(): Promise<number> {
    return this.rows.length - this.head;
  }

  private advance(n: number): void {
    const count = Math.min(n, this.rows.length - this.head);
    this.head += count;
    this.headSeq += count;
    if (this.head > 4096 && this.head * 2 > this.rows.length) {
      this.rows = this.rows.slice(this.head);
      this.head = 0;
    }
  }
}

/** The id right after a stream id, so `XTRIM MINID` removes everything up to and including `id`. */
function nextStreamId(id: string): string {
  const [ms, seq] = id.split("-");
  return `${ms}-${(BigInt(seq ?? "0") + 1n).toString()}`;
}

/**
 * A Redis stream, one entry per row (field `r`, the row as JSON), capped at `capacity` with an exact
 * MAXLEN so the cap is a promise, not an estimate. Only one writer should use a key at a time.
 */
export class RedisStreamBacklog implements Backlog {
  readonly capacity: number;
  /** Entries that were not rows this version wrote; removed when met, counted here. */
  corrupt = 0;
  private peekedIds: string[] = [];

  constructor(
    private readonly redis: Redis,
    readonly key: string,
    capacity: number,
  ) {
    this.capacity = checkCapacity(capacity);
  }

  async append(rows: readonly HistoryRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    // One MULTI so the before/after lengths bracket exactly our adds.
    const tx = this.redis.multi().xlen(this.key);
    for (const r of rows) tx.xadd(this.key, "MAXLEN", "=", this.capacity, "*", "r", JSON.stringify(r));
    tx.xlen(this.key);
    const results = await tx.exec();
    if (results === null) throw new Error(`the append to ${this.key} was aborted`);
    for (const [err] of results) if (err) throw err;
    const before = Number(results[0][1]);
    const after = Number(results[results.length - 1][1]);
    return before + rows.length - after;
  }

  async peek(n: number): Promise<readonly HistoryRow[]> {
    const rows: HistoryRow[] = [];
    const ids: string[] = [];
    let start = "-";
    while (rows.length < n) {
      const entries = await this.redis.xrange(this.key, start, "+", "COUNT", n - rows.length);
      if (entries.length === 0) break;
      const bad: string[] = [];
      for (const [id, fields] of entries) {
        const row = parseEntry(fields);
        if (row) {
          rows.push(row);
          ids.push(id);
        } else {
          bad.push(id);
        }
      }
      if (bad.length > 0) {
        // Left in place it would sit at the head forever, never peeked as a row and never dropped.
        await this.redis.xdel(this.key, ...bad);
        this.corrupt += bad.length;
      }
      start = `(${entries[entries.length - 1][0]}`;
    }
    this.peekedIds = ids;
    return rows;
  }

  async drop(n: number): Promise<void> {
    if (n <= 0 || this.peekedIds.length === 0) return;
    const last = this.peekedIds[Math.min(n, this.peekedIds.length) - 1];
    await this.redis.xtrim(this.key, "MINID", "=", nextStreamId(last));
    this.peekedIds = this.peekedIds.slice(n);
  }

  async size(): Promise<number> {
    return this.redis.xlen(this.key);
  }
}

function parseEntry(fields: readonly string[]): HistoryRow | undefined {
  const i = fields.indexOf("r");
  if (i < 0 || i + 1 >= fields.length) return undefined;
  try {
    return asHistoryRow(JSON.parse(fields[i + 1]));
  } catch {
    // Not JSON: someone else's entry or a torn write; the caller removes it and counts it.
    return undefined;
  }
}

/** The Redis keys of one saver (docs/redis-keys.md): its backlog stream and its dead-letter list. */
export function saverKeys(
  namespace: string,
  saverId: string,
): { readonly backlog: string; readonly deadLetters: string } {
  return { backlog: `${namespace}save:${saverId}:backlog`, deadLetters: `${namespace}save:${saverId}:dead` };
}
