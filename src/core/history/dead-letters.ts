/**
 * Dead letters: rows MySQL refused for what is in them, kept with the reason so a person can see what was
 * lost and why, without those rows holding up the rest. Capped, newest first; in memory or a Redis list.
 */
import type Redis from "ioredis";
import type { HistoryRow } from "./rows";
import { asHistoryRow } from "./rows";

export interface DeadLetter {
  readonly row: HistoryRow;
  /** The server's or the saver's message. */
  readonly error: string;
  /** e.g. ER_DATA_TOO_LONG; null when the saver refused the row itself. */
  readonly code: string | null;
  /** Epoch milliseconds when the row was given up. */
  readonly at: number;
}

export interface DeadLetters {
  readonly capacity: number;
  add(letters: readonly DeadLetter[]): Promise<void>;
  /** The newest `limit` letters, newest first. */
  list(limit: number): Promise<readonly DeadLetter[]>;
  size(): Promise<number>;
  clear(): Promise<void>;
}

export class MemoryDeadLetters implements DeadLetters {
  private letters: DeadLetter[] = [];

  constructor(readonly capacity: number) {}

  async add(letters: readonly DeadLetter[]): Promise<void> {
    for (const l of letters) this.letters.unshift(l);
    if (this.letters.length > this.capacity) this.letters.length = this.capacity;
  }

  async list(limit: number): Promise<readonly DeadLetter[]> {
    return this.letters.slice(0, limit);
  }

  async size(): Promise<number> {
    return this.letters.length;
  }

  async clear(): Promise<void> {
    this.letters = [];
  }
}

export class RedisDeadLetters implements DeadLetters {
  constructor(
    private readonly redis: Redis,
    readonly key: string,
    readonly capacity: number,
  ) {}

  async add(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const results = await this.redis
      .multi()
      .lpush(this.key, ...letters.map((l) => JSON.stringify(l)))
      .ltrim(this.key, 0, this.capacity - 1)
      .exec();
    if (results === null) throw new Error(`the dead-letter append to ${this.key} was aborted`);
    for (const [err] of results) if (err) throw err;
  }

  async list(limit: number): Promise<readonly DeadLetter[]> {
    const raw = await this.redis.lrange(this.key, 0, limit - 1);
    const out: DeadLetter[] = [];
    for (const text of raw) {
      const letter = parseLetter(text);
      if (letter) out.push(letter);
    }
    return out;
  }

  async size(): Promise<number> {
    return this.redis.llen(this.key);
  }

  async clear(): Promise<void> {
    await this.redis.del(this.key);
  }
}

function parseLetter(text: string): DeadLetter | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // Not ours (the list is readable and writable by anyone with Redis access): leave it out of the view.
    return undefined;
  }
  if (typeof raw !== "object" || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const row = asHistoryRow(r.row);
  if (!row || typeof r.error !== "string" || typeof r.at !== "number") return undefined;
  return { row, error: r.error, code: typeof r.code === "string" ? r.code : null, at: r.at };
}
