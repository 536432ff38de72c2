/**
 * The batch writer: DataPoints and alarm transitions in, multi-row INSERTs out, nothing lost while MySQL is
 * away and nothing stuck behind a bad row.
 *
 * Rows flow one of two ways:
 * - `direct` (the backlog is empty): rows gather in memory and go out when `batchSize` are waiting or
 *   `maxDelayMs` after the first one, whichever comes first.
 * - `queued` (the backlog holds rows): new rows are appended to the backlog behind the old ones and the
 *   writer drains it from the head. A row leaves the backlog only after MySQL took it.
 * A batch that fails for connection (or statement) reasons moves, with everything gathered after it, to
 * the backlog and the writer retries with backoff; when the backlog is empty again it goes back to direct.
 * Since rows only ever move from memory to the backlog's tail, and the backlog is read from its head, every
 * point's rows reach MySQL in the order they were written. With `durable` the writer stays queued, so
 * every row is in the backlog (Redis) before it goes to MySQL.
 *
 * While MySQL is up but slower than the input, writes wait (backpressure) rather than pile up in memory;
 * the overflow policy (drop oldest, drop newest, block) governs only the backlog, which fills in outages.
 *
 * Each round sends up to `concurrency` batches at once, one per lane; a point always hashes to the same
 * lane, so batches in flight together never hold rows of the same point. A round that fails in any lane is
 * replayed whole; the lanes that had succeeded write the same rows again, which the tables' primary keys
 * turn into no-ops (schema.ts). Custom SQL should be idempotent too (ON DUPLICATE KEY UPDATE or a unique
 * key with INSERT IGNORE), or such a replay can repeat rows; a duplicate-key error is a dead letter.
 *
 * A batch refused for its content is split in halves and retried until the bad rows stand alone; those go
 * to the dead letters, the rest are written.
 *
 * When steps run, back off or stop is the pump's state machine (pump.ts); this file holds the steps.
 */
import { DataCollError } from "../errors";
import type { AlarmTransition } from "../check/checker";
import type { DataPoint } from "../model/datapoint";
import type { Backlog } from "./backlog";
import { MemoryBacklog } from "./backlog";
import { ChangeFilter } from "./change-filter";
import type { Clock, TimerHandle } from "../../transport/connection";
import { systemClock } from "../../transport/connection";
import { customSqlParams, validateCustomSql } from "./custom-sql";
import type { DeadLetter, DeadLetters } from "./dead-letters";
import { MemoryDeadLetters } from "./dead-letters";
import type { ClassifiedError, MysqlErrorKind } from "./mysql-errors";
import { classifyMysqlError } from "./mysql-errors";
import { withStatementTimeout } from "./statement-timeout";
import type { MysqlSettings } from "./mysql-settings";
import { createMysqlPool } from "./mysql-settings";
import { endPool, type WriterConnection, type WriterPool } from "./pool";
import type { PumpEvent, PumpState } from "./pump";
import { PUMP_IDLE, pumpClosing, pumpMove, pumpRunning, pumpTimer } from "./pump";
import type { AlarmRow, HistoryRow, PointRow } from "./rows";
import { alarmRow, pointRow, rowProblem } from "./rows";
import type { TableNames } from "./schema";
import { partitionClause, type PartitionPolicy } from "./partitions";
import { LATE_AFTER_MS, ensureRollupTables, markLateSql } from "./rollup";
import { sqlTime } from "./rows";
import {
  alarmValues,
  alarmsInsertSql,
  ensureTables,
  historyInsertSql,
  historyValues,
  validateTableNames,
  type SqlValue,
} from "./schema";

/** What happens to new rows when the backlog is full. */
export type OverflowPolicy = "drop-oldest" | "drop-newest" | "block";

export interface BatchWriterOptions {
  /** A pool shared with others (left open on close), or settings for a pool the writer owns. */
  readonly mysql: { readonly pool: WriterPool } | { readonly settings: MysqlSettings };
  readonly tables?: { readonly history?: string; readonly alarms?: string };
  /** Create the tables when missing (default true; the history table only without custom SQL). */
  readonly createTables?: boolean;
  /** How tables it creates are partitioned (partitions.ts); default none, as before partitions existed. */
  readonly partitions?: PartitionPolicy;
  /** One statement per point row with named placeholders (see custom-sql.ts), instead of the history table. */
  readonly customSql?: string;
  /**
   * The history table's per-minute roll-up (rollup.ts): a batch holding late rows records its time range
   * for the roll-up in the same transaction. Other batches are written as without it.
   */
  readonly rollupTable?: string;
  /** Rows per INSERT (default 1000). */
  readonly batchSize?: number;
  /** Longest a row waits for its batch to fill (default 200 ms). */
  readonly maxDelayMs?: number;
  /** Batches in flight at once (default: the pool size from settings, else 4). */
  readonly concurrency?: number;
  /** false: save a sample only when it changed by more than the deadband or its quality changed. */
  readonly saveUnchanged?: boolean;
  readonly deadband?: number | ((key: string) => number);
  /** Where rows wait (default: in memory, `backlogCapacity` rows). */
  readonly backlog?: Backlog;
  readonly backlogCapacity?: number;
  readonly deadLetters?: DeadLetters;
  readonly overflow?: OverflowPolicy;
  /**
   * true: every row goes through the backlog, even while MySQL is up, so a row is safe from the moment
   * write() resolves — a crash of Node-RED loses nothing when the backlog is in Redis. Costs a Redis round
   * trip per write. false (default): the backlog is used only while MySQL is away or slow to drain.
   */
  readonly durable?: boolean;
  readonly clock?: Clock;
  /** Reconnect backoff: first wait, doubling up to the most (defaults 500 ms and 30 s). */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /**
   * Longest one statement may take (default 30 s). A server that stops answering without closing the
   * connection (a network black hole) then counts as an outage instead of holding every row, and close,
   * forever.
   */
  readonly queryTimeoutMs?: number;
}

export type WriterState = "ok" | "queued" | "retrying" | "closed";

export interface WriterError {
  readonly kind: MysqlErrorKind | "backlog";
  readonly code: string | null;
  readonly message: string;
  readonly at: number;
}

export interface WriterStats {
  readonly state: WriterState;
  /** Rows waiting in the backlog. */
  readonly backlog: number;
  /** Rows gathering for the next batch in memory. */
  readonly pending: number;
  /** Rows MySQL accepted since the writer started. */
  readonly written: number;
  /** Rows accepted over the last few seconds, per second. */
  readonly rowsPerSecond: number;
  /** Rows given up to the dead letters since the writer started. */
  readonly deadLetters: number;
  /** Rows lost to the overflow policy or to a backlog that could not be written. */
  readonly dropped: number;
  /** Writes that had to wait for room in the backlog (overflow policy "block"). */
  readonly blocked: number;
  /** Samples not saved because they had not changed. */
  readonly skipped: number;
  readonly lastError: WriterError | null;
}

export type WriterEvent =
  | { readonly type: "stats"; readonly stats: WriterStats }
  | { readonly type: "deadLetters"; readonly letters: readonly DeadLetter[] }
  | { readonly type: "failure"; readonly error: WriterError; readonly rows: number };

export interface WriteOutcome {
  /** Rows taken in (into a batch or the backlog). */
  readonly accepted: number;
  readonly skipped: number;
  /** Rows that can never be stored (e.g. a time stamp out of range); they went to the dead letters. */
  readonly invalid: number;
  /** Rows lost to the overflow policy. */
  readonly dropped: number;
}

/** What one pump step did: moved rows (look again), found nothing to do, or failed (back off). */
type StepResult = "more" | "rest" | "failed";

type BatchResult =
  | { readonly ok: true; readonly written: number; readonly letters: readonly DeadLetter[] }
  | { readonly ok: false; readonly error: ClassifiedError };

const RATE_WINDOW_MS = 5000;
/** First wait before an append the backlog refused is tried again (then doubling, up to retryMaxMs). */
const BACKLOG_RETRY_MS = 100;
// A history row is at most ~1.5 kB as SQL text (255 four-byte characters of text plus ids), so 10,000 of
// them stay under MySQL's default 16 MB max_allowed_packet.
const MAX_BATCH = 10_000;

function positive(value: number | undefined, fallback: number, field: string, max: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1 || v > max) {
    throw new DataCollError("invalid", `${field} must be a whole number from 1 to ${max}`, field);
  }
  return v;
}

// FNV-1a: cheap, and spreads short similar keys (d1:t1:i1, d1:t1:i2, …) evenly over the lanes.
function lane(key: string, lanes: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % lanes;
}

export class BatchWriter {
  private readonly pool: WriterPool;
  private readonly ownsPool: boolean;
  private readonly tables: TableNames;
  private readonly createTables: boolean;
  private readonly customSql: string | undefined;
  private readonly historySql: string;
  private readonly alarmsSql: string;
  private readonly batchSize: number;
  private readonly maxDelayMs: number;
  private readonly concurrency: number;
  private readonly filter: ChangeFilter;
  private readonly backlog: Backlog;
  private readonly dead: DeadLetters;
  private readonly overflow: OverflowPolicy;
  private readonly durable: boolean;
  private readonly clock: Clock;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private readonly queryTimeoutMs: number;
  private readonly listeners = new Set<(e: WriterEvent) => void>();

  // Until the first pass has looked, the backlog may hold rows a previous instance left: start queued.
  private mode: "direct" | "queued" = "queued";
  private pending: HistoryRow[] = [];
  private backlogCount = 0;
  private schemaReady = false;
  private pump: PumpState = PUMP_IDLE;
  private timerFired = false;
  private flushRequested = false;
  private cancelTimer: (() => void) | undefined;
  // Failed attempts since the last success: the backoff exponent, and "retrying" in the stats.
  private failures = 0;
  private appendChain: Promise<unknown> = Promise.resolve();
  private appendsInFlight = 0;
  /** The last append to the backlog failed: appends wait for it (appendHeld) rather than drop rows. */
  private backlogDown = false;
  /** Rows in appends not yet done: while the backlog is away, what waits in memory. */
  private rowsToAppend = 0;
  // Appends parked until the backlog has room (policy "block"): in flight, but not work in progress.
  private waitingForSpace = 0;
  // Writes waiting for room in memory (backpressure), and those let in that have not pushed their rows yet.
  private admitWaiters: (() => void)[] = [];
  private admitting = 0;
  private readonly highWater: number;
  // Bumped by every append, so the pump can tell whether one slipped in while it was looking at the size.
  private appendEpoch = 0;
  private sideInFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private spaceWaiters: (() => void)[] = [];
  private closed: Promise<void> | undefined;
  /** Connects under way: close gives up on them (see connection()). */
  private readonly connecting = new Set<(err: Error) => void>();
  private readonly partitions: PartitionPolicy | undefined;
  private readonly rollupTable: string | undefined;
  /** A connect was given up at close: the server did not answer, so close tries no other. */
  private connectAbandoned = false;
  private lastError: WriterError | null = null;
  private readonly rate: { t: number; n: number }[] = [];
  private counters = { written: 0, deadLetters: 0, dropped: 0, blocked: 0, skipped: 0 };

  constructor(options: BatchWriterOptions) {
    this.partitions = options.partitions;
    this.rollupTable = options.rollupTable;
    this.tables = validateTableNames(options.tables ?? {});
    this.createTables = options.createTables ?? true;
    this.customSql = options.customSql === undefined ? undefined : validateCustomSql(options.customSql);
    this.historySql = historyInsertSql(this.tables.history);
    this.alarmsSql = alarmsInsertSql(this.tables.alarms);
    this.batchSize = positive(options.batchSize, 1000, "batchSize", MAX_BATCH);
    this.maxDelayMs = positive(options.maxDelayMs, 200, "maxDelayMs", 60_000);
    const poolSize = "settings" in options.mysql ? options.mysql.settings.poolSize : 4;
    this.concurrency = positive(options.concurrency, poolSize, "concurrency", 64);
    // Room for the round in flight and the next one, so the pipeline never runs dry while writes wait.
    this.highWater = this.batchSize * this.concurrency * 2;
    this.filter = new ChangeFilter({
      saveUnchanged: options.saveUnchanged ?? true,
      deadband: options.deadband ?? 0,
    });
    this.backlog =
      options.backlog ??
      new MemoryBacklog(positive(options.backlogCapacity, 100_000, "backlogCapacity", 100_000_000));
    this.dead = options.deadLetters ?? new MemoryDeadLetters(1000);
    this.overflow = options.overflow ?? "drop-oldest";
    this.durable = options.durable ?? false;
    this.clock = options.clock ?? systemClock;
    this.retryMinMs = positive(options.retryMinMs, 500, "retryMinMs", 3_600_000);
    this.retryMaxMs = positive(options.retryMaxMs, 30_000, "retryMaxMs", 3_600_000);
    this.queryTimeoutMs = positive(options.queryTimeoutMs, 30_000, "queryTimeoutMs", 3_600_000);
    // Last, so options that fail validation leave no pool behind.
    if ("pool" in options.mysql) {
      this.pool = options.mysql.pool;
      this.ownsPool = false;
    } else {
      this.pool = createMysqlPool(options.mysql.settings);
      this.ownsPool = true;
    }
    this.kick();
  }

  /** Take samples for saving. Resolves once they are batched or queued — not when they are in MySQL. */
  async write(points: DataPoint | readonly DataPoint[]): Promise<WriteOutcome> {
    this.assertOpen();
    const list: readonly DataPoint[] = Array.isArray(points) ? points : [points as DataPoint];
    const rows: PointRow[] = [];
    let skipped = 0;
    for (const p of list) {
      if (this.filter.accept(p)) rows.push(pointRow(p));
      else skipped++;
    }
    this.counters.skipped += skipped;
    return { ...(await this.take(rows)), skipped };
  }

  /** Take alarm transitions for the alarms table. */
  async writeAlarms(transitions: AlarmTransition | readonly AlarmTransition[]): Promise<WriteOutcome> {
    this.assertOpen();
    const list: readonly AlarmTransition[] = Array.isArray(transitions)
      ? transitions
      : [transitions as AlarmTransition];
    return { ...(await this.take(list.map(alarmRow))), skipped: 0 };
  }

  /**
   * Send what is gathering now and resolve when the writer has nothing more it can do: everything written,
   * or the rest waiting in the backlog for a retry (stats tell which).
   */
  flush(): Promise<WriterStats> {
    this.flushRequested = true;
    this.kick();
    return this.idle();
  }

  /**
   * Resolve when nothing is in progress — no batch in flight, no append, no dead-letter write — without
   * hurrying rows that are waiting for their batch to fill (flush does that). For tests and for close.
   */
  idle(): Promise<WriterStats> {
    return new Promise((resolve) => {
      this.idleWaiters.push(() => resolve(this.stats()));
      this.checkIdle();
    });
  }

  /** Skip the rest of the backoff and try MySQL now (e.g. the user pressed "retry"). */
  retryNow(): void {
    this.move(pumpTimer(this.pump) === undefined ? "kick" : "retry-due");
  }

  stats(): WriterStats {
    const now = this.clock.now();
    while (this.rate.length > 0 && this.rate[0].t <= now - RATE_WINDOW_MS) this.rate.shift();
    const recent = this.rate.reduce((sum, r) => sum + r.n, 0);
    return {
      state: this.state(),
      backlog: this.backlogCount,
      pending: this.pending.length,
      ...this.counters,
      rowsPerSecond: recent / (RATE_WINDOW_MS / 1000),
      lastError: this.lastError,
    };
  }

  /** Listen to stats, dead letters and failures; returns the function that removes this listener only. */
  subscribe(listener: (e: WriterEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The dead letters, newest first. */
  deadLetters(limit = 100): Promise<readonly DeadLetter[]> {
    return this.dead.list(limit);
  }

  /**
   * Write what can be written, stop the timers, and close the pool if the writer owns it. Rows still
   * waiting for MySQL stay in the backlog: a Redis backlog keeps them for the next writer on its key.
   */
  close(): Promise<void> {
    if (!this.closed) this.closed = this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    this.move("close");
    // A server that accepts and never answers (hung, or a half-open route) holds a connect for the whole
    // connect timeout — longer than Node-RED waits for a close; the rows stay in the backlog instead.
    for (const abandon of [...this.connecting]) abandon(closedWhileConnecting());
    if (this.cancelTimer) this.cancelTimer();
    this.cancelTimer = undefined;
    this.wakeSpace();
    this.admitNext();
    await this.flush();
    // From here nothing touches the pool, which may be ending; a pending retry is dropped with the state.
    this.move("stop");
    this.emit({ type: "stats", stats: this.stats() });
    if (this.ownsPool) await endPool(this.pool);
  }

  private assertOpen(): void {
    if (this.closing) throw new DataCollError("closed", "the history saver is closed");
  }

  /** Close has been asked: writes are refused, nothing blocks, and failures are not retried. */
  private get closing(): boolean {
    return pumpClosing(this.pump);
  }

  private state(): WriterState {
    if (this.pump.tag === "closed") return "closed";
    // Still retrying while an attempt is under way, until one succeeds: the node logged "MySQL is
    // reachable again" each time a retry started during a long cut.
    if (pumpTimer(this.pump) !== undefined || this.failures > 0) return "retrying";
    return this.mode === "queued" ? "queued" : "ok";
  }

  /** A timer on the injected clock; the returned function cancels it. */
  private after(ms: number, fn: () => void): () => void {
    const handle = this.clock.setTimer(fn, ms);
    return () => this.clock.clearTimer(handle);
  }

  private emit(e: WriterEvent): void {
    for (const l of this.listeners) l(e);
  }

  // ---- taking rows in -------------------------------------------------------------------------------

  private async take(rows: readonly HistoryRow[]): Promise<Omit<WriteOutcome, "skipped">> {
    const good: HistoryRow[] = [];
    const letters: DeadLetter[] = [];
    for (const r of rows) {
      const problem = rowProblem(r);
      if (problem === undefined) good.push(r);
      else letters.push({ row: r, error: problem, code: null, at: this.clock.now() });
    }
    if (letters.length > 0) this.recordDeadLetters(letters);
    if (good.length === 0) return { accepted: 0, invalid: letters.length, dropped: 0 };
    const admitted = this.mode === "direct" ? this.admission() : undefined;
    if (admitted) {
      await admitted;
      this.admitting--;
    }
    if (this.mode === "direct") {
      for (const r of good) this.pending.push(r);
      if (this.pending.length >= this.batchSize) this.kick();
      else this.armTimer();
      this.admitNext();
      return { accepted: good.length, invalid: letters.length, dropped: 0 };
    }
    // The delay runs from when the rows came, as in direct mode, not from when the pump next looks.
    if (this.durable) this.armTimer();
    const { accepted, dropped } = await this.toBacklog(good, true);
    return { accepted, invalid: letters.length, dropped };
  }

  /**
   * Backpressure while MySQL is up but slower than the input: a write waits, in arrival order, until the
   * rows gathering in memory are below the high-water mark. Losing rows to a burst while the server is
   * healthy would be wrong; the overflow policy is for outages, where the backlog is what fills.
   */
  private admission(): Promise<void> | undefined {
    if (this.pending.length < this.highWater && this.admitWaiters.length === 0 && this.admitting === 0) {
      return undefined;
    }
    return new Promise<void>((resolve) => {
      this.admitWaiters.push(resolve);
      this.checkIdle();
    });
  }

  /**
   * Let the next waiting write in when there is room — one at a time, each pushing its rows before the
   * next is let in, so none overtakes another — or every one at once when rows no longer go to memory.
   */
  private admitNext(): void {
    if (this.mode !== "direct" || this.closing) {
      const all = this.admitWaiters;
      this.admitWaiters = [];
      for (const resolve of all) {
        this.admitting++;
        resolve();
      }
      return;
    }
    if (this.admitting > 0 || this.pending.length >= this.highWater) return;
    const next = this.admitWaiters.shift();
    if (next) {
      this.admitting++;
      next();
    }
  }

  private armTimer(): void {
    if (this.cancelTimer) return;
    this.cancelTimer = this.after(this.maxDelayMs, () => {
      this.cancelTimer = undefined;
      this.timerFired = true;
      this.kick();
    });
  }

  /**
   * Append to the backlog. Appends run one after another in call order, so rows keep their order even
   * when one append has to wait for room. `fromInput` is false for rows the writer already holds (a failed
   * round, a spill): those never block — the pump that would make room is the one appending them.
   */
  private toBacklog(
    rows: readonly HistoryRow[],
    fromInput: boolean,
  ): Promise<{ accepted: number; dropped: number }> {
    // While the backlog is away rows wait in memory (appendHeld), at most as many as it could hold.
    if (fromInput && this.backlogDown && this.rowsToAppend + rows.length > this.backlog.capacity) {
      this.counters.dropped += rows.length;
      return Promise.resolve({ accepted: 0, dropped: rows.length });
    }
    this.appendsInFlight++;
    this.appendEpoch++;
    this.rowsToAppend += rows.length;
    const done = this.appendChain.then(() => this.appendNow(rows, fromInput));
    this.appendChain = done;
    return done.finally(() => {
      this.rowsToAppend -= rows.length;
      this.appendsInFlight--;
      this.kick();
      this.checkIdle();
    });
  }

  private async appendNow(
    rows: readonly HistoryRow[],
    fromInput: boolean,
  ): Promise<{ accepted: number; dropped: number }> {
    let accepted = 0;
    let evicted = 0;
    const append = async (part: readonly HistoryRow[]): Promise<void> => {
      const out = await this.appendHeld(part);
      this.backlogCount += part.length - out;
      accepted += part.length;
      evicted += out;
    };
    try {
      if (this.overflow === "drop-oldest") {
        await append(rows);
      } else if (this.overflow === "drop-newest" || !fromInput) {
        await append(rows.slice(0, Math.max(0, this.backlog.capacity - this.backlogCount)));
      } else {
        let waited = false;
        while (accepted < rows.length && !this.closing) {
          const room = this.backlog.capacity - this.backlogCount;
          if (room > 0) {
            await append(rows.slice(accepted, accepted + room));
            continue;
          }
          if (!waited) this.counters.blocked++;
          waited = true;
          this.waitingForSpace++;
          const space = new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
          this.checkIdle();
          await space;
          this.waitingForSpace--;
        }
      }
    } catch (err) {
      this.fail(
        { kind: "backlog", code: null, message: `the backlog could not take rows: ${String(err)}` },
        rows.length - accepted,
      );
    }
    const dropped = rows.length - accepted + evicted;
    this.counters.dropped += dropped;
    return { accepted, dropped };
  }

  /**
   * One append to the backlog, tried again while the backlog cannot take it (a Redis backlog during a
   * Redis restart or failover) instead of dropping the rows: with two instances a sample reaches MySQL
   * through either one's saver, and at a Redis kill both may hold it — the owner's heard at poll time,
   * just before the kill, the other's heard over pub/sub a moment before it — and both appends fail.
   * Dropping them there lost the sample for good (the soak's one sample at a Redis kill, issue 19). The
   * rows wait in memory, appends behind them in order, until the backlog answers or the writer closes;
   * only close gives up (the rows are then counted as dropped, as a killed process loses them).
   */
  private async appendHeld(part: readonly HistoryRow[]): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      try {
        const out = await this.backlog.append(part);
        this.backlogDown = false;
        return out;
      } catch (err) {
        if (this.closing) throw err;
        if (!this.backlogDown) {
          this.fail(
            { kind: "backlog", code: null, message: `the backlog could not take rows: ${String(err)}` },
            0,
          );
        }
        this.backlogDown = true;
        const delay = Math.min(this.retryMaxMs, BACKLOG_RETRY_MS * 2 ** Math.min(attempt, 10));
        // Parked like an append waiting for room: close (wakeSpace) ends the wait at once.
        this.waitingForSpace++;
        this.checkIdle();
        let timer: TimerHandle | undefined;
        await new Promise<void>((resolve) => {
          this.spaceWaiters.push(resolve);
          timer = this.clock.setTimer(resolve, delay);
        });
        if (timer !== undefined) this.clock.clearTimer(timer);
        this.waitingForSpace--;
      }
    }
  }

  private wakeSpace(): void {
    const waiters = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const w of waiters) w();
  }

  private recordDeadLetters(letters: readonly DeadLetter[]): void {
    this.counters.deadLetters += letters.length;
    this.emit({ type: "deadLetters", letters });
    this.sideInFlight++;
    this.dead
      .add(letters)
      .catch((err: unknown) =>
        this.fail(
          { kind: "backlog", code: null, message: `dead letters could not be stored: ${String(err)}` },
          0,
        ),
      )
      .finally(() => {
        this.sideInFlight--;
        this.checkIdle();
      });
  }

  private fail(error: Omit<WriterError, "at">, rows: number): void {
    this.lastError = { ...error, at: this.clock.now() };
    this.emit({ type: "failure", error: this.lastError, rows });
  }

  // ---- the pump -------------------------------------------------------------------------------------

  private kick(): void {
    this.move("kick");
  }

  /**
   * The one place the pump's state changes (the moves are pump.ts's table). Leaving a waiting state
   * clears its backoff timer (a no-op when that timer is what fired); entering a running state from one
   * that was not starts the loop of steps, so exactly one loop is alive while the pump runs.
   */
  private move(event: PumpEvent): void {
    const from = this.pump;
    const to = pumpMove(from, event, () => this.armRetry());
    this.pump = to;
    const timer = pumpTimer(from);
    if (timer !== undefined && pumpTimer(to) === undefined) this.clock.clearTimer(timer);
    if (pumpRunning(to) && !pumpRunning(from)) this.startSteps();
  }

  private startSteps(): void {
    this.runSteps().then(
      () => this.checkIdle(),
      (err: unknown) => {
        // A bug, not a MySQL problem (those are results): report it rather than stop silently.
        if (pumpRunning(this.pump)) this.move("rest");
        this.fail({ kind: "statement", code: null, message: `internal error: ${String(err)}` }, 0);
        this.checkIdle();
      },
    );
  }

  private async runSteps(): Promise<void> {
    for (;;) {
      this.move("step");
      const result = await this.pumpOnce();
      const now = this.pump;
      if (!pumpRunning(now)) return; // closed under the step
      if (result === "more") continue;
      if (result === "failed" && now.tag === "pumping") {
        this.move("fail");
        this.emit({ type: "stats", stats: this.stats() });
        return;
      }
      // Closing makes no retries: a failed step ends like one that found nothing, unless work came.
      if (now.kicked) continue;
      this.move("rest");
      return;
    }
  }

  /** One step. */
  private async pumpOnce(): Promise<StepResult> {
    if (!this.schemaReady) {
      try {
        const ddl = {
          query: (sql: string) =>
            this.unlessClosed(
              () => this.pool.query(sql),
              () => undefined,
            ),
        };
        const policy = this.partitions;
        await ensureTables(
          ddl,
          this.tables,
          { history: this.createTables && this.customSql === undefined, alarms: this.createTables },
          policy === undefined ? "" : partitionClause(policy, this.clock.now()),
        );
        // Late marks go to the roll-up's late table: it is there before the first batch that needs it.
        if (this.rollupTable !== undefined && this.createTables && this.customSql === undefined)
          await ensureRollupTables(
            ddl,
            this.rollupTable,
            policy === undefined ? "" : partitionClause(policy, this.clock.now()),
          );
        this.schemaReady = true;
      } catch (err) {
        this.outage(classifyMysqlError(err), 0);
        return "failed";
      }
    }
    return this.mode === "queued" ? this.drainBacklog() : this.sendPending();
  }

  private async drainBacklog(): Promise<StepResult> {
    let rows: readonly HistoryRow[];
    try {
      rows = await this.backlog.peek(this.batchSize * this.concurrency);
    } catch (err) {
      this.backlogFailure(err);
      return "failed";
    }
    if (rows.length === 0) {
      if (this.appendsInFlight > 0) return "rest"; // their completion kicks the pump again
      const epoch = this.appendEpoch;
      let size: number;
      try {
        size = await this.backlog.size();
      } catch (err) {
        this.backlogFailure(err);
        return "failed";
      }
      if (size === 0 && this.appendsInFlight === 0 && epoch === this.appendEpoch) {
        this.backlogCount = 0;
        if (this.failures > 0) this.succeeded(); // the backlog answers and nothing is left to write
        if (this.durable) return "rest"; // stays queued: the next append kicks the pump

        this.mode = "direct";
        this.emit({ type: "stats", stats: this.stats() });
        return "more";
      }
      this.backlogCount = size;
      return size > 0 ? "more" : "rest";
    }
    if (this.durable && rows.length < this.batchSize && !this.batchDue()) {
      // Durable rows wait for their batch like direct ones do; rows left by an outage are overdue.
      this.armTimer();
      return "rest";
    }
    if (this.cancelTimer) this.cancelTimer();
    this.cancelTimer = undefined;
    this.timerFired = false;
    const result = await this.writeRound(rows);
    if (!result.ok) {
      this.outage(result.error, rows.length);
      return "failed";
    }
    try {
      await this.backlog.drop(rows.length);
      this.backlogCount = await this.backlog.size();
    } catch (err) {
      // The rows are in MySQL; if they are still in the backlog they will be written again, harmlessly.
      this.backlogFailure(err);
      return "failed";
    }
    this.wakeSpace();
    this.succeeded();
    return "more";
  }

  private async sendPending(): Promise<StepResult> {
    if (this.pending.length === 0) {
      this.flushRequested = false;
      this.timerFired = false;
      return "rest";
    }
    if (this.pending.length < this.batchSize && !this.batchDue()) {
      this.armTimer();
      return "rest";
    }
    if (this.cancelTimer) this.cancelTimer();
    this.cancelTimer = undefined;
    const round = this.pending.splice(0, this.batchSize * this.concurrency);
    if (this.pending.length === 0) this.timerFired = false;
    const result = await this.writeRound(round);
    if (!result.ok) {
      // The round and everything gathered behind it go to the backlog in one append, round first.
      const rows = round.concat(this.pending);
      this.pending = [];
      this.mode = "queued";
      void this.toBacklog(rows, false);
      this.outage(result.error, rows.length);
      this.admitNext();
      return "failed";
    }
    this.succeeded();
    this.admitNext();
    return "more";
  }

  /** Whether rows short of a full batch should go now: the delay is up, a flush or close asks, or a retry. */
  private batchDue(): boolean {
    return this.timerFired || this.flushRequested || this.closing || this.failures > 0;
  }

  private succeeded(): void {
    this.failures = 0;
    this.emit({ type: "stats", stats: this.stats() });
  }

  /** Report a failed write; the step then returns "failed" and the pump backs off. */
  private outage(error: ClassifiedError, rows: number): void {
    if (error.kind === "statement" && error.code === "ER_NO_SUCH_TABLE") this.schemaReady = false;
    this.fail({ kind: error.kind, code: error.code ?? null, message: error.message }, rows);
  }

  private backlogFailure(err: unknown): void {
    this.fail({ kind: "backlog", code: null, message: `the backlog could not be read: ${String(err)}` }, 0);
  }

  /** The backoff timer for the move into waiting-retry: from retryMinMs, doubling, up to retryMaxMs. */
  private armRetry(): TimerHandle {
    const delay = Math.min(this.retryMaxMs, this.retryMinMs * 2 ** Math.min(this.failures, 20));
    this.failures++;
    return this.clock.setTimer(() => this.move("retry-due"), delay);
  }

  private checkIdle(): void {
    const idle =
      !pumpRunning(this.pump) && this.appendsInFlight === this.waitingForSpace && this.sideInFlight === 0;
    if (!idle || this.idleWaiters.length === 0) return;
    this.flushRequested = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  // ---- writing to MySQL -----------------------------------------------------------------------------

  /** Write one round: lanes in parallel, each lane's batches in order; all-or-retry. */
  private async writeRound(rows: readonly HistoryRow[]): Promise<BatchResult> {
    const lanes: HistoryRow[][] = Array.from({ length: this.concurrency }, () => []);
    if (this.concurrency === 1) lanes[0] = rows.slice();
    else for (const r of rows) lanes[lane(r.key, this.concurrency)].push(r);
    let failure: ClassifiedError | undefined;
    const letters: DeadLetter[] = [];
    let written = 0;
    await Promise.all(
      lanes.map(async (laneRows) => {
        for (let i = 0; i < laneRows.length && failure === undefined; i += this.batchSize) {
          const chunk = laneRows.slice(i, i + this.batchSize);
          const points = chunk.filter((r): r is PointRow => r.kind === "point");
          const alarms = chunk.filter((r): r is AlarmRow => r.kind === "alarm");
          for (const part of [points, alarms]) {
            if (part.length === 0 || failure !== undefined) continue;
            const result = await this.writeBatch(part);
            if (!result.ok) failure = result.error;
            else {
              written += result.written;
              for (const l of result.letters) letters.push(l);
            }
          }
        }
      }),
    );
    if (failure !== undefined) return { ok: false, error: failure };
    // Dead letters are recorded only once the round stands, so a replayed round does not record them twice.
    if (letters.length > 0) this.recordDeadLetters(letters);
    this.counters.written += written;
    this.rate.push({ t: this.clock.now(), n: written });
    return { ok: true, written, letters };
  }

  private writeBatch(rows: readonly PointRow[] | readonly AlarmRow[]): Promise<BatchResult> {
    if (rows[0].kind === "point" && this.customSql !== undefined) {
      return this.writeCustom(this.customSql, rows as readonly PointRow[]);
    }
    return this.bisect(rows);
  }

  /** One multi-row INSERT; on a content error, halves until the bad rows are alone. */
  private async bisect(rows: readonly HistoryRow[]): Promise<BatchResult> {
    try {
      await this.insert(rows);
      return { ok: true, written: rows.length, letters: [] };
    } catch (err) {
      const error = classifyMysqlError(err);
      if (error.kind !== "content") return { ok: false, error };
      if (rows.length === 1) {
        return {
          ok: true,
          written: 0,
          letters: [{ row: rows[0], error: error.message, code: error.code ?? null, at: this.clock.now() }],
        };
      }
      const half = Math.ceil(rows.length / 2);
      const first = await this.bisect(rows.slice(0, half));
      if (!first.ok) return first;
      const second = await this.bisect(rows.slice(half));
      if (!second.ok) return second;
      return {
        ok: true,
        written: first.written + second.written,
        letters: [...first.letters, ...second.letters],
      };
    }
  }

  /**
   * A pooled connection, given up when close is asked before it is made. While closing after a connect
   * was given up, or during an outage, no new connect is tried: the rows wait in the backlog (parked or
   * journaled as on any outage) rather than holding the close for a connect timeout.
   */
  private connection(): Promise<WriterConnection> {
    return this.unlessClosed(
      () => this.pool.getConnection(),
      // A connect that completes after all is not wanted any more.
      (conn) => conn.destroy(),
    );
  }

  /** `ask` of the pool, given up when close is asked first; `late` disposes of an answer nobody waits for. */
  private unlessClosed<T>(ask: () => Promise<T>, late: (value: T) => void): Promise<T> {
    if (this.closing && (this.connectAbandoned || this.failures > 0)) {
      return Promise.reject(closedWhileConnecting());
    }
    const pending = ask();
    return new Promise<T>((resolve, reject) => {
      const abandon = (err: Error): void => {
        this.connecting.delete(abandon);
        this.connectAbandoned = true;
        reject(err);
        pending.then(late, () => undefined); // the close reported the outage; this failure adds nothing
      };
      this.connecting.add(abandon);
      pending.then(
        (value) => {
          if (this.connecting.delete(abandon)) resolve(value);
          else late(value);
        },
        (err: unknown) => {
          if (this.connecting.delete(abandon)) reject(err);
        },
      );
    });
  }

  /** One statement on `conn`, given up after queryTimeoutMs (see statement-timeout.ts). */
  private timed<T>(conn: WriterConnection, statement: Promise<T>): Promise<T> {
    return withStatementTimeout(conn, this.queryTimeoutMs, statement);
  }

  private async insert(rows: readonly HistoryRow[]): Promise<void> {
    const values =
      rows[0].kind === "point"
        ? (rows as readonly PointRow[]).map(historyValues)
        : (rows as readonly AlarmRow[]).map(alarmValues);
    const sql = rows[0].kind === "point" ? this.historySql : this.alarmsSql;
    const late = rows[0].kind === "point" ? this.lateRange(rows as readonly PointRow[]) : undefined;
    const conn = await this.connection();
    let reusable = true;
    try {
      if (late === undefined) await this.timed(conn, conn.query(sql, [values]));
      else {
        // The late range and its rows commit together, so the roll-up redoes exactly what was written.
        await this.timed(conn, conn.beginTransaction());
        try {
          await this.timed(conn, conn.query(markLateSql(), late));
          await this.timed(conn, conn.query(sql, [values]));
          await this.timed(conn, conn.commit());
        } catch (err) {
          // A refused row fails only its statement: the mark must not stay behind for rows not written.
          if (classifyMysqlError(err).kind !== "connection") await this.timed(conn, conn.rollback());
          throw err;
        }
      }
    } catch (err) {
      // After a timeout the statement may still be running and its answer still due on this connection;
      // handed back, it would hold up the next batch behind an answer that may never come.
      reusable = classifyMysqlError(err).kind !== "connection";
      throw err;
    } finally {
      if (reusable) conn.release();
      else conn.destroy();
    }
  }

  /**
   * The late mark's parameters when the batch holds a row older than LATE_AFTER_MS (rollup.ts), else
   * undefined: fresh batches, the usual case, cost nothing more than the min and max of their times.
   */
  private lateRange(rows: readonly PointRow[]): SqlValue[] | undefined {
    if (this.rollupTable === undefined) return undefined;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const r of rows) {
      if (r.ts < min) min = r.ts;
      if (r.ts > max) max = r.ts;
    }
    if (min >= this.clock.now() - LATE_AFTER_MS) return undefined;
    return [this.rollupTable, sqlTime(min), sqlTime(max)];
  }

  /**
   * Custom SQL runs once per row, all rows of a batch in one transaction on one connection: one commit
   * instead of one per row. A row refused for its content fails alone (InnoDB rolls back the statement,
   * not the transaction) and goes to the dead letters; anything else abandons the batch for a retry.
   */
  private async writeCustom(sql: string, rows: readonly PointRow[]): Promise<BatchResult> {
    let conn: WriterConnection | undefined;
    try {
      conn = await this.connection();
      await this.timed(conn, conn.beginTransaction());
      const letters: DeadLetter[] = [];
      for (const r of rows) {
        try {
          await this.timed(conn, conn.execute({ sql, namedPlaceholders: true }, customSqlParams(r)));
        } catch (err) {
          const error = classifyMysqlError(err);
          if (error.kind !== "content") throw err;
          letters.push({ row: r, error: error.message, code: error.code ?? null, at: this.clock.now() });
        }
      }
      await this.timed(conn, conn.commit());
      conn.release();
      return { ok: true, written: rows.length - letters.length, letters };
    } catch (err) {
      // The connection may be half-way through a transaction or dead: never hand it back to the pool.
      if (conn) conn.destroy();
      return { ok: false, error: classifyMysqlError(err) };
    }
  }
}

/** A connection-class error (fatal, so no row is blamed): the connect was given up because the writer closed. */
function closedWhileConnecting(): Error {
  return Object.assign(new Error("closed while connecting to MySQL; the rows stay in the backlog"), {
    code: "DATACOLL_CLOSED_CONNECTING",
    fatal: true,
  });
}
