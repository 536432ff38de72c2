/**
 * The outage buffer (issue 19, item 4): a Redis outage — a restart, a network cut, a Sentinel failover —
 * costs no samples. Every batch an instance makes goes to the store through here, in order; while the
 * store cannot take them they wait in a bounded local queue and are written, oldest first, once it can.
 * So the latest values, the history, the events stream (and through it the other instances and their
 * save nodes) all get them, late but whole, by the one write path normal samples take.
 *
 * Order is kept by writing in rounds: a round sends everything queued (pipelined, so a healthy store
 * costs one round trip per round, not per batch), and the next round starts only when it has settled.
 * The batches of a round that failed stay at the head of the queue in their order; those that were
 * written are not sent again. Writing a batch late after a newer one would set the latest value back.
 *
 * The queue is bounded in points. When a batch would pass the bound the oldest batches are dropped and
 * counted (`dropped`), and `onDrop` says so: a loss is never silent. The bound is a number of points, or
 * `auto`: what the instance makes in `AUTO_SECONDS` at its rate of the last minute (never less than
 * `AUTO_FLOOR`), so the default rides out a minute of outage whatever the plant's size.
 */
import type { Clock, TimerHandle } from "../../protocols/clock";
import type { PointsEnvelope } from "../bus/envelope";
import { DataCollError } from "../errors";
import { RateMeter } from "../rate-meter";

/** Points, or `auto`: sized for AUTO_SECONDS at the measured rate. 0 turns the buffer off. */
export type OutageCapacity = number | "auto";

export const AUTO_SECONDS = 60;
/** The least an automatic bound holds, for an instance whose rate is not known yet (just started). */
export const AUTO_FLOOR = 1000;
/** Batches per round: a drain after a long outage goes out in slices, not as one huge pipeline. */
const ROUND_BATCHES = 256;

export interface OutageBufferOptions {
  /** The store's write of one batch (RedisStore.ingest). */
  readonly write: (env: PointsEnvelope) => Promise<void>;
  readonly capacity: OutageCapacity;
  readonly clock: Clock;
  /** How long after a failed round the head is tried again; default 250 ms. */
  readonly retryMs?: number;
  /** Points dropped because the buffer was full (the oldest first), and how many have been in all. */
  readonly onDrop?: (points: number, total: number) => void;
  /** The store took writes again after an outage: how many points waited, how many were dropped. */
  readonly onRecovered?: (written: number, dropped: number) => void;
}

/** What the buffer holds now and has done, for status texts. */
export interface OutageStats {
  /** True from a failed write until a round succeeds again. */
  readonly outage: boolean;
  /** Points waiting (queued or in a round being written). */
  readonly held: number;
  /** The bound in points now (an automatic one follows the rate). */
  readonly capacity: number;
  /** Points dropped for room since the start. */
  readonly dropped: number;
  /** Points written late (after waiting through an outage) since the start. */
  readonly delayed: number;
}

interface Entry {
  readonly env: PointsEnvelope;
  readonly size: number;
  /** Settles the submitter's promise: once written, or at once while the store is away. */
  settle: (() => void) | undefined;
  /** Waited through an outage: counted as delayed once written. */
  late: boolean;
}

export class OutageBuffer {
  private queue: Entry[] = [];
  private queued = 0;
  private inRound = 0;
  private round: Promise<void> | undefined;
  private retry: TimerHandle | undefined;
  private down = false;
  /** Set by a failed write, cleared once the queue has drained after it (when onRecovered is said). */
  private recovering = false;
  private closed = false;
  private dropped = 0;
  private delayed = 0;
  /** Points written late and dropped in the current outage, for onRecovered. */
  private outageWritten = 0;
  private outageDropped = 0;
  private readonly rate = new RateMeter(AUTO_SECONDS);
  private readonly retryMs: number;

  constructor(private readonly opts: OutageBufferOptions) {
    if (opts.capacity !== "auto" && !(Number.isInteger(opts.capacity) && opts.capacity >= 0))
      throw new RangeError("outage buffer capacity must be a whole number of points >= 0, or auto");
    this.retryMs = opts.retryMs ?? 250;
  }

  /**
   * Hand a batch to the store. Resolves once it is written, or — while the store is away — once it is
   * queued: the caller's work (a poll cycle) must not wait for Redis. Rejects only after close().
   */
  submit(env: PointsEnvelope): Promise<void> {
    if (this.closed) return Promise.reject(new DataCollError("closed", "the manager is closed"));
    const size = env.points.length;
    if (size === 0) return Promise.resolve();
    this.rate.add(size, this.opts.clock.now());
    return new Promise<void>((resolve) => {
      const entry: Entry = { env, size, settle: resolve, late: this.down };
      if (this.down) this.release(entry);
      this.queue.push(entry);
      this.queued += size;
      this.trim();
      this.pump();
    });
  }

  /** The store says it is reachable again: try the head now rather than at the next retry. */
  wake(): void {
    if (!this.down || this.round !== undefined) return;
    if (this.retry !== undefined) this.opts.clock.clearTimer(this.retry);
    this.retry = undefined;
    this.pump();
  }

  /** The bound in points now. */
  get capacity(): number {
    const c = this.opts.capacity;
    if (c !== "auto") return c;
    return Math.max(AUTO_FLOOR, Math.ceil(this.rate.perSecond(this.opts.clock.now()) * AUTO_SECONDS));
  }

  stats(): OutageStats {
    return {
      outage: this.down,
      held: this.queued + this.inRound,
      capacity: this.capacity,
      dropped: this.dropped,
      delayed: this.delayed,
    };
  }

  /**
   * Stop taking batches and trying; the round under way settles (the store closes under it). Resolves to
   * the batches never written, oldest first, so a manager made in this one's place can write them.
   */
  async close(): Promise<PointsEnvelope[]> {
    this.closed = true;
    if (this.retry !== undefined) this.opts.clock.clearTimer(this.retry);
    this.retry = undefined;
    await this.round;
    const left = this.queue;
    this.queue = [];
    this.queued = 0;
    for (const e of left) this.release(e);
    return left.map((e) => e.env);
  }

  /**
   * Batches another buffer could not write (the manager this one replaces closed during an outage): they
   * go ahead of everything queued here, as they are older.
   */
  adopt(envs: readonly PointsEnvelope[]): void {
    if (this.closed || envs.length === 0) return;
    const entries: Entry[] = envs.map((env) => ({
      env,
      size: env.points.length,
      settle: undefined,
      late: true,
    }));
    this.queue = [...entries, ...this.queue];
    this.queued += entries.reduce((n, e) => n + e.size, 0);
    this.recovering = true;
    this.trim();
    this.pump();
  }

  private release(e: Entry): void {
    const settle = e.settle;
    e.settle = undefined;
    e.late = true;
    settle?.();
  }

  /** Drop the oldest batches until the queue fits its bound (batches in a round are already on their way). */
  private trim(): void {
    const bound = this.capacity;
    let gone = 0;
    while (this.queued + this.inRound > bound && this.queue.length > 0) {
      const e = this.queue.shift();
      if (e === undefined) break;
      this.queued -= e.size;
      gone += e.size;
      this.release(e);
    }
    if (gone === 0) return;
    this.dropped += gone;
    this.outageDropped += gone;
    this.opts.onDrop?.(gone, this.dropped);
  }

  private pump(): void {
    if (this.round !== undefined || this.retry !== undefined || this.closed) return;
    if (this.queue.length === 0) {
      // Drained after an outage: one report for the whole of it.
      if (this.recovering && !this.down) {
        this.recovering = false;
        const written = this.outageWritten;
        const dropped = this.outageDropped;
        this.outageWritten = 0;
        this.outageDropped = 0;
        this.opts.onRecovered?.(written, dropped);
      }
      return;
    }
    // While the store is away one batch goes ahead as a probe; the rest follow once it is written.
    const batch = this.queue.splice(0, this.down ? 1 : ROUND_BATCHES);
    const points = batch.reduce((n, e) => n + e.size, 0);
    this.queued -= points;
    this.inRound = points;
    this.round = this.write(batch).finally(() => {
      this.round = undefined;
      this.inRound = 0;
      this.pump();
    });
  }

  private async write(batch: readonly Entry[]): Promise<void> {
    const results = await Promise.allSettled(batch.map((e) => this.opts.write(e.env)));
    const failed: Entry[] = [];
    batch.forEach((e, i) => {
      if (results[i].status === "rejected") {
        failed.push(e);
        return;
      }
      if (e.late) {
        this.delayed += e.size;
        this.outageWritten += e.size;
      }
      e.settle?.();
      e.settle = undefined;
    });
    if (failed.length === 0) {
      this.down = false;
      return;
    }
    // Back at the head, in their order, ahead of everything queued since; their submitters and those
    // queued behind them stop waiting (the poll cycle goes on), the batches stay.
    this.down = true;
    this.recovering = true;
    for (const e of failed) this.release(e);
    for (const e of this.queue) this.release(e);
    this.queue = [...failed, ...this.queue];
    this.queued += failed.reduce((n, e) => n + e.size, 0);
    this.trim();
    if (!this.closed) {
      this.retry = this.opts.clock.setTimer(() => {
        this.retry = undefined;
        this.pump();
      }, this.retryMs);
    }
  }
}
