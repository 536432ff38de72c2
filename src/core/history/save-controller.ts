/**
 * What a save node does, without Node-RED: it opens a BatchWriter on a shared pool with its rows waiting
 * in the manager's Redis (under the manager's namespace, keyed by the saver id, so a restarted Node-RED
 * drains what the previous run left) or in memory, filters samples by the registry points' own save
 * settings, watches the writer for outages and says why rows wait. An in-memory backlog still holding
 * rows when its saver closes for a redeploy is parked under the saver id and taken over by the next
 * saver of that id, so a redeploy during an outage loses nothing either. The node only maps its settings
 * in, the notices and status below to translated texts and a dot, and messages to points; so this is
 * tested on the real MariaDB without Node-RED.
 */
import type { Redis } from "ioredis";
import type { Clock, TimerHandle } from "../../protocols/clock";
import { systemClock } from "../../transport/connection";
import type { AlarmTransition } from "../check/checker";
import { errorMessage } from "../errors";
import type { Manager } from "../manager";
import type { DataPoint } from "../model/datapoint";
import { MemoryBacklog, RedisStreamBacklog, saverKeys } from "./backlog";
import { BatchWriter, type WriteOutcome, type WriterError, type WriterStats } from "./batch-writer";
import { MemoryDeadLetters, RedisDeadLetters, type DeadLetter } from "./dead-letters";
import { closeRedisAfter } from "../store/redis-close";
import { classifyMysqlError, outageCause, type OutageCause } from "./mysql-errors";
import { maintainTable, type MaintenanceReport } from "./partitions";
import { rollUp, rollupTableName } from "./rollup";
import { PointSaveSettings } from "./point-save";
import { validateTableNames } from "./schema";
import type { PoolShare } from "./pool-share";
import { parseSaveSettings, type SaveFields, type SaveSettings } from "./save-settings";

/** Why rows wait: MySQL's side (mysql-errors.ts), or the backlog itself failing (Redis away). */
export type WaitCause = OutageCause | "backlog";

/** Something the node should tell the user; `reason` is plain words, the node adds its own frame. */
export type SaveNotice =
  /** Rows started to wait, or wait for another cause than before; said once per outage and cause. */
  | { readonly code: "outage"; readonly cause: WaitCause; readonly reason: string; readonly backlog: number }
  /** Rows are written again after an outage. */
  | { readonly code: "back" }
  /** The backlog's Redis connection failed; said once until it is ready again. */
  | { readonly code: "redis-failed"; readonly reason: string }
  /** The registry's save settings could not be read: those points are saved in full meanwhile. */
  | { readonly code: "registry-unreadable"; readonly reason: string }
  /** Partition maintenance changed a table, or found one it leaves alone (said once per table). */
  | { readonly code: "partitions"; readonly report: MaintenanceReport }
  /** Partition maintenance failed; it is tried again at its next run. */
  | { readonly code: "partitions-failed"; readonly table: string; readonly reason: string }
  /** The per-minute roll-up failed; it is tried again at its next run. */
  | { readonly code: "rollup-failed"; readonly table: string; readonly reason: string };

export interface SaveCounts {
  readonly rowsPerSecond: number;
  readonly backlog: number;
  readonly deadLetters: number;
  readonly dropped: number;
}

/** What the node's status shows: why rows wait first, then whether a backlog drains. */
export type SaveStatus =
  | { readonly kind: "closed" }
  | {
      readonly kind: "waiting";
      readonly cause: WaitCause;
      /** The driver's or server's code (ECONNREFUSED, ER_BAD_DB_ERROR), when there is one. */
      readonly code: string | undefined;
      readonly reason: string;
      readonly backlog: number;
    }
  /** A backlog left by an outage or a former run is being written. */
  | { readonly kind: "draining"; readonly counts: SaveCounts }
  | { readonly kind: "flowing"; readonly counts: SaveCounts };

export interface SaveControllerOptions {
  /** A share of the MySQL pool; the share (and its release) stays the caller's. */
  readonly share: PoolShare;
  /** Names the backlog: its Redis keys, or the parking place of an in-memory backlog across redeploys. */
  readonly saverId: string;
  /** The save settings as the editor stores them; a bad field makes the constructor throw. */
  readonly fields: SaveFields;
  /** With Redis, the backlog and dead letters live there; with a registry, its points' save settings apply. */
  readonly manager?: Manager;
  readonly clock?: Clock;
  readonly onNotice: (notice: SaveNotice) => void;
  readonly onDeadLetters: (letters: readonly DeadLetter[]) => void;
  /** Time to show the status again (every second, and at once on a failure). */
  readonly onStatus: () => void;
}

const DEAD_LETTERS_KEPT = 1000;
const LOOK_EVERY_MS = 1000;
/** Partitions are prepared periods ahead, so an hourly look is plenty; sooner while a table is missing. */
const MAINTAIN_EVERY_MS = 3_600_000;
const MAINTAIN_SOON_MS = 30_000;
/** The roll-up follows the closed minutes (rollup.ts); a catch-up goes on at once, a run at a time. */
const ROLLUP_EVERY_MS = 60_000;
const ROLLUP_SOON_MS = 1_000;
const parked = new Map<string, MemoryBacklog>();

/** Why rows wait; the writer records a failure before it retries, so one is there while it retries. */
function waitCause(e: WriterError | null): { cause: WaitCause; code: string | undefined; reason: string } {
  if (e === null) return { cause: "unreachable", code: undefined, reason: "unknown" };
  const cause = e.kind === "backlog" ? "backlog" : outageCause({ kind: e.kind, code: e.code });
  return { cause, code: e.code ?? undefined, reason: e.message };
}

export class SaveController {
  readonly settings: SaveSettings;
  readonly backlogKind: "redis" | "memory";
  private readonly writer: BatchWriter;
  private readonly clock: Clock;
  private readonly perPoint: PointSaveSettings | undefined;
  private readonly off: () => void;
  private readonly closeStore: (removed: boolean) => Promise<number>;
  private timer: TimerHandle | undefined;
  private waiting: WaitCause | undefined;
  private maintenanceTimer: TimerHandle | undefined;
  private rollupTimer: TimerHandle | undefined;
  /** The history table's roll-up, when this saver keeps one (it creates its own history table). */
  readonly rollupTable: string | undefined;
  private maintaining: Promise<void> = Promise.resolve();
  private readonly told = new Set<string>();
  private closing = false;

  constructor(private readonly opts: SaveControllerOptions) {
    this.settings = parseSaveSettings(opts.fields);
    this.clock = opts.clock ?? systemClock;
    const manager = opts.manager;
    // Only a saver that makes its tables keeps a roll-up: its late marks need the roll-up's tables.
    this.rollupTable =
      this.settings.customSql === undefined && this.settings.createTables !== false
        ? rollupTableName(validateTableNames(this.settings.tables ?? {}).history)
        : undefined;
    const common = {
      ...this.settings,
      rollupTable: this.rollupTable,
      mysql: { pool: opts.share.pool },
      concurrency: opts.share.settings.poolSize,
      clock: this.clock,
    };
    if (manager === undefined || manager.settings.store !== "redis") {
      const old = parked.get(opts.saverId);
      parked.delete(opts.saverId);
      // A parked backlog is taken over as it is, even if the capacity setting changed meanwhile: its rows
      // matter more; the new capacity applies from the next deploy that finds it empty.
      const backlog = old ?? new MemoryBacklog(this.settings.backlogCapacity);
      const writer = new BatchWriter({
        ...common,
        backlog,
        deadLetters: new MemoryDeadLetters(DEAD_LETTERS_KEPT),
      });
      this.writer = writer;
      this.backlogKind = "memory";
      this.closeStore = async (removed) => {
        await writer.close();
        const left = await backlog.size();
        if (left === 0) return 0;
        if (removed) return left;
        parked.set(opts.saverId, backlog);
        return 0;
      };
    } else {
      const client = this.openRedis(manager);
      const keys = saverKeys(manager.settings.namespace, opts.saverId);
      let writer: BatchWriter;
      try {
        writer = new BatchWriter({
          ...common,
          backlog: new RedisStreamBacklog(client, keys.backlog, this.settings.backlogCapacity),
          deadLetters: new RedisDeadLetters(client, keys.deadLetters, DEAD_LETTERS_KEPT),
        });
      } catch (err) {
        client.disconnect();
        throw err;
      }
      this.writer = writer;
      this.backlogKind = "redis";
      this.closeStore = async () => {
        // The writer's last flush moves rows through the backlog: with Redis away that would wait for
        // ioredis to give its commands up, so the connection is dropped first (closeRedisAfter).
        await closeRedisAfter(client, () => writer.close());
        // Rows left in Redis wait for the saver's next run, even after its node was removed (see the help).
        return 0;
      };
    }
    // With a manager, each registry point is saved as its own save settings say (the help, "Registry points").
    this.perPoint =
      manager === undefined
        ? undefined
        : new PointSaveSettings(
            {
              listPoints: () => manager.ready().then(() => manager.registry.listPoints()),
              getPoint: (key) => manager.registry.getPoint(key),
              onChange: (listener) => manager.registry.onChange(listener),
            },
            (err) => opts.onNotice({ code: "registry-unreadable", reason: errorMessage(err) }),
          );
    this.off = this.writer.subscribe((e) => {
      if (e.type === "deadLetters") opts.onDeadLetters(e.letters);
      else if (e.type === "failure") this.look();
    });
    this.timer = this.clock.setTimer(() => this.tick(), LOOK_EVERY_MS);
    if (this.settings.partitions.unit !== "none") this.maintain();
    if (this.rollupTable !== undefined) void this.rollUp();
  }

  /**
   * One roll-up run (rollup.ts), then the next one scheduled: a minute on, or at once while a catch-up
   * has more to do. On the maintenance chain, so it never runs beside this saver's partition work.
   */
  rollUp(): Promise<void> {
    const rollup = this.rollupTable;
    if (this.closing || rollup === undefined) return this.maintaining;
    const history = validateTableNames(this.settings.tables ?? {}).history;
    this.maintaining = this.maintaining.then(async () => {
      if (this.closing) return;
      let more = false;
      try {
        const report = await rollUp(this.opts.share.pool, history, rollup, this.clock.now());
        more = report.kind === "done" && report.more;
      } catch (err) {
        const e = classifyMysqlError(err);
        const cause = outageCause({ kind: e.kind, code: e.code ?? null });
        // Tables not made yet (the writer makes them at its first step), MySQL away (the writer's outage
        // to tell): tried at the next run without a word.
        if (!this.closing && cause === "statement" && e.code !== "ER_NO_SUCH_TABLE")
          this.opts.onNotice({ code: "rollup-failed", table: rollup, reason: errorMessage(err) });
      }
      if (this.closing) return;
      this.rollupTimer = this.rearm(this.rollupTimer, more ? ROLLUP_SOON_MS : ROLLUP_EVERY_MS, () =>
        this.rollUp(),
      );
    });
    return this.maintaining;
  }

  /**
   * One partition maintenance run over the node's tables (partitions.ts), then the next one scheduled.
   * Runs beside the writer on a connection of the shared pool; a failure is told and tried next time.
   */
  maintain(): Promise<void> {
    if (this.closing) return this.maintaining;
    const tables = validateTableNames(this.settings.tables ?? {});
    const names = this.settings.customSql === undefined ? [tables.history, tables.alarms] : [tables.alarms];
    if (this.rollupTable !== undefined) names.push(this.rollupTable);
    this.maintaining = this.maintaining.then(async () => {
      let soon = false;
      for (const table of names) {
        if (this.closing) return;
        try {
          const report = await maintainTable(
            this.opts.share.pool,
            table,
            this.settings.partitions,
            this.clock.now(),
          );
          if (report.kind === "skipped" && report.why === "missing") soon = true;
          else if (report.kind === "skipped" && !this.told.has(table)) {
            this.told.add(table);
            this.opts.onNotice({ code: "partitions", report });
          } else if (
            report.kind === "migrated" ||
            (report.kind === "done" && report.added.length + report.dropped.length > 0)
          )
            this.opts.onNotice({ code: "partitions", report });
        } catch (err) {
          soon = true;
          // MySQL away or refusing us is the writer's outage to tell (once, with its cause), not ours.
          const e = classifyMysqlError(err);
          const cause = outageCause({ kind: e.kind, code: e.code ?? null });
          if (!this.closing && cause === "statement" && this.status().kind !== "waiting")
            this.opts.onNotice({ code: "partitions-failed", table, reason: errorMessage(err) });
        }
      }
      if (this.closing) return;
      this.maintenanceTimer = this.rearm(
        this.maintenanceTimer,
        soon ? MAINTAIN_SOON_MS : MAINTAIN_EVERY_MS,
        () => this.maintain(),
      );
    });
    return this.maintaining;
  }

  /** The next run of a periodic task in `ms`, its former timer cleared. */
  private rearm(old: TimerHandle | undefined, ms: number, run: () => Promise<void>): TimerHandle {
    if (old !== undefined) this.clock.clearTimer(old);
    return this.clock.setTimer(() => void run(), ms);
  }

  /**
   * Take samples in: batched, or queued in the backlog while MySQL is away. Not waiting for the
   * registry's list: with Redis away at start that would hold every row back where MySQL could take
   * them; until the list is read, every sample is saved.
   */
  writePoints(points: readonly DataPoint[]): Promise<WriteOutcome> {
    return this.writer.write(this.perPoint ? this.perPoint.filter(points) : points);
  }

  /** Alarm rows are always saved, whatever the registry says of their points. */
  writeAlarms(alarms: readonly AlarmTransition[]): Promise<WriteOutcome> {
    return this.writer.writeAlarms(alarms);
  }

  stats(): WriterStats {
    return this.writer.stats();
  }

  status(): SaveStatus {
    const s = this.writer.stats();
    if (s.state === "closed") return { kind: "closed" };
    if (s.state === "retrying") return { kind: "waiting", ...waitCause(s.lastError), backlog: s.backlog };
    const counts = {
      rowsPerSecond: s.rowsPerSecond,
      backlog: s.backlog,
      deadLetters: s.deadLetters,
      dropped: s.dropped,
    };
    return s.state === "queued" && s.backlog > 0 ? { kind: "draining", counts } : { kind: "flowing", counts };
  }

  /**
   * Close the writer (rows still waiting stay in the backlog), then the backlog's Redis; the pool share
   * and the manager are the caller's. Resolves to the rows lost: those of an in-memory backlog when the
   * node was removed.
   */
  close(removed: boolean): Promise<number> {
    this.closing = true;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    if (this.maintenanceTimer !== undefined) this.clock.clearTimer(this.maintenanceTimer);
    this.maintenanceTimer = undefined;
    if (this.rollupTimer !== undefined) this.clock.clearTimer(this.rollupTimer);
    this.rollupTimer = undefined;
    this.off();
    this.perPoint?.close();
    // A run under way is not waited for: on a server that never answers it would hold the close; it
    // fails once the caller releases the pool share, and says nothing once closing.
    return this.closeStore(removed);
  }

  private tick(): void {
    this.timer = this.clock.setTimer(() => this.tick(), LOOK_EVERY_MS);
    this.look();
  }

  /** Say when rows start or stop waiting, and why; then let the node show the status. */
  private look(): void {
    const st = this.status();
    const cause = st.kind === "waiting" ? st.cause : undefined;
    if (st.kind === "waiting" && cause !== this.waiting)
      this.opts.onNotice({ code: "outage", cause: st.cause, reason: st.reason, backlog: st.backlog });
    else if (cause === undefined && this.waiting !== undefined) this.opts.onNotice({ code: "back" });
    this.waiting = cause;
    this.opts.onStatus();
  }

  private openRedis(manager: Manager): Redis {
    // Through the manager, so its AUTH, TLS and Sentinel options reach the backlog's connection too.
    // Named so an operator (and the leak test) can tell the saver's connection in CLIENT LIST.
    const client = manager.openRedis(`datacoll-save:${this.opts.saverId.replace(/[^\w.:-]/g, "_")}`, {
      maxRetriesPerRequest: 2,
    });
    // Reported through the writer's own failures (an append or read that fails); this only keeps the
    // connection's error events from being unhandled, and names them once per outage.
    let down = false;
    client.on("error", (err: unknown) => {
      if (!down) this.opts.onNotice({ code: "redis-failed", reason: errorMessage(err) });
      down = true;
    });
    client.on("ready", () => (down = false));
    return client;
  }
}
