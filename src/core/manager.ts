/**
 * The DeviceManager core: one Manager per manager config node, owning the store (Redis or embedded), the
 * event bus and the registry. Every node that references the config node shares it through the pool
 * below, so one config node means exactly one set of Redis connections however many nodes use it.
 */
import type { Redis, RedisOptions } from "ioredis";
import { DataCollError } from "./errors";
import { redisConnectOptions, type ManagerSettings } from "./manager-config";
import type { DataPoint, PointKey } from "./model/datapoint";
import type { ProtocolRules } from "./model/protocol-rules";
import { EventBus, type PointsListener, type Subscription } from "./bus/event-bus";
import { EventIds } from "./bus/envelope";
import { MemoryDatabase, MemoryStore } from "./store/memory-store";
import { RedisStore, type ReconnectPolicy } from "./store/redis-store";
import { OutageBuffer, type OutageStats } from "./store/outage-buffer";
import type { PointsEnvelope } from "./bus/envelope";
import { systemClock } from "../transport/connection";
import type { Clock } from "../protocols/clock";
import type { Registry } from "./store/registry";
import type { RestActions } from "./rest/types";
import type { Store, StoreBounds, StoreState, Unsubscribe } from "./store/store";

/** What the editor does not set: passed through to the store by code that creates managers. */
export interface ManagerOptions {
  readonly rules?: ProtocolRules;
  readonly bounds?: Partial<StoreBounds>;
  /** ioredis options as they are: TLS, db, Sentinel (`sentinels` + `name`), timeouts. */
  readonly redisOptions?: RedisOptions;
  readonly reconnect?: Partial<ReconnectPolicy>;
  /** For the embedded store: share a database between managers (tests, several managers in one process). */
  readonly memoryDatabase?: MemoryDatabase;
  /**
   * For the embedded store: keep the registry and alarm state in this directory (the Node-RED user
   * directory), so they survive deploys, restarts and crashes. Without it they live in memory only.
   */
  readonly storeDir?: string;
  readonly now?: () => number;
  /** The outage buffer's timers (tests drive them); the system clock otherwise. */
  readonly clock?: Clock;
  /** A bus listener threw, or another instance sent something malformed. */
  readonly onError?: (err: Error) => void;
  /**
   * The outage buffer dropped its oldest samples for room (`points` now, `total` since the start), or
   * the store took writes again after an outage (`written` late, `dropped` in it). The manager node logs
   * both; without a listener they go to process warnings, so a loss is never silent.
   */
  readonly onOutage?: (event: OutageEvent) => void;
}

export type OutageEvent =
  | { readonly kind: "dropped"; readonly points: number; readonly total: number }
  | { readonly kind: "recovered"; readonly written: number; readonly dropped: number };

export type ManagerState = StoreState;

/**
 * Whoever owns alarm state machines (a `datacoll-check` node's checker) registers here, so an operator's
 * acknowledge or shelve from the REST API or the live view reaches it whichever node raised the alarm.
 */
export interface AlarmHandler {
  /** True when this handler had the alarm and acknowledged it. */
  acknowledge(key: PointKey, condition: string | undefined, by: string): Promise<boolean>;
  shelve(key: PointKey, condition: string, until: number, by: string): Promise<boolean>;
}

export class Manager {
  readonly settings: ManagerSettings;
  readonly store: Store;
  readonly bus: EventBus;
  /**
   * What the running system does on request (REST device_call/device_ctrl, alarm actions): set by the
   * registry runtime when it starts; undefined without one, and the API answers 503.
   */
  restActions: RestActions | undefined;
  private readonly alarmHandlers = new Set<AlarmHandler>();
  private readonly offRemote: Unsubscribe;
  private closed: Promise<void> | undefined;
  /** Samples made while Redis is away wait here (undefined: the embedded store, or a size of 0). */
  private readonly buffer: OutageBuffer | undefined;
  private readonly offWake: Unsubscribe | undefined;
  /** What the buffer could not write before close, for a manager made in this one's place. */
  private leftovers: PointsEnvelope[] = [];

  constructor(settings: ManagerSettings, opts: ManagerOptions = {}) {
    this.settings = settings;
    // One id source for the bus and the store: an event made here is known as ours when Redis echoes it.
    const ids = new EventIds();
    const onError = opts.onError ?? ((err: Error) => process.emitWarning(err.message));
    this.bus = new EventBus({
      instanceId: settings.instanceId,
      ids,
      now: opts.now,
      onListenerError: (err, pattern) =>
        onError(new DataCollError("listener", `a listener for "${pattern}" failed: ${String(err)}`)),
    });
    const common = {
      namespace: settings.namespace,
      instanceId: settings.instanceId,
      // The dialog's history length unless the code that made the manager says otherwise (tests).
      bounds: {
        ...(settings.historyLength === undefined ? {} : { history: settings.historyLength }),
        ...opts.bounds,
      },
      rules: opts.rules,
      ids,
    };
    this.store =
      settings.store === "redis"
        ? new RedisStore({
            ...common,
            url: settings.redisUrl,
            // AUTH and TLS from the settings; what code passes (Sentinel, timeouts, its own TLS) on top.
            redisOptions: { ...redisConnectOptions(settings), ...opts.redisOptions },
            reconnect: opts.reconnect,
          })
        : new MemoryStore({ ...common, database: opts.memoryDatabase, dir: opts.storeDir });
    this.offRemote = this.store.onRemotePoints((env) => this.bus.receive(env));
    const capacity = settings.outageBuffer ?? "auto";
    const store = this.store;
    if (store instanceof RedisStore && capacity !== 0) {
      const onOutage =
        opts.onOutage ??
        ((e: OutageEvent) => {
          if (e.kind !== "recovered" || e.dropped > 0) process.emitWarning(outageText(e));
        });
      this.buffer = new OutageBuffer({
        write: (env) => store.ingest(env),
        capacity,
        clock: opts.clock ?? systemClock,
        onDrop: (points, total) => onOutage({ kind: "dropped", points, total }),
        onRecovered: (written, dropped) => onOutage({ kind: "recovered", written, dropped }),
      });
      const buffer = this.buffer;
      this.offWake = store.onState((s) => {
        if (s.kind === "connected") buffer.wake();
      });
    }
  }

  /** The outage buffer's fill and losses; undefined when there is none (embedded store, size 0). */
  outage(): OutageStats | undefined {
    return this.buffer?.stats();
  }

  /**
   * Samples a closed manager could not write (see ManagerPool): written by this one ahead of its own,
   * since they are older.
   */
  adopt(envs: readonly PointsEnvelope[]): void {
    if (this.buffer) this.buffer.adopt(envs);
    else if (this.store instanceof RedisStore) {
      const store = this.store;
      // No buffer here (size 0): written once, as this manager's own samples would be.
      for (const env of envs) void store.ingest(env).catch(() => undefined);
    }
  }

  /** What the outage buffer still held when this manager closed. */
  takeLeftovers(): PointsEnvelope[] {
    const left = this.leftovers;
    this.leftovers = [];
    return left;
  }

  /**
   * A Redis connection of its own for a user of this manager (a saver's backlog, the leases), made with
   * the very options the store's connections use — URL, AUTH, TLS, Sentinel — so whatever reaches the
   * store reaches it. The caller closes it. Throws for the embedded store.
   */
  openRedis(connectionName: string, override: RedisOptions = {}): Redis {
    if (!(this.store instanceof RedisStore)) {
      throw new DataCollError("no-redis", "this manager keeps its state in memory, not in Redis");
    }
    return this.store.connect(connectionName, override);
  }

  get registry(): Registry {
    return this.store.registry;
  }

  get state(): ManagerState {
    return this.store.state;
  }

  /** Connection state changes (connecting, connected, reconnecting, error, closed) for node status. */
  onState(listener: (state: ManagerState) => void): Unsubscribe {
    return this.store.onState(listener);
  }

  /** Resolves when the store is connected (at once for the embedded store). */
  async ready(): Promise<void> {
    if (this.store instanceof RedisStore) await this.store.ready();
  }

  /** Points matching a pattern (`device:term:item`, see bus/pattern.ts), from here and other instances. */
  subscribe(pattern: string, listener: PointsListener): Subscription {
    return this.bus.subscribe(pattern, listener);
  }

  /**
   * A batch of samples made here: delivered to local subscribers at once, then stored (latest, history,
   * events stream) and sent to the other instances. With Redis, batches reach the store in the order
   * they were published, and while it is unreachable they wait in the outage buffer: the promise then
   * resolves once the batch is queued, and the batch is written when Redis is back. Without a buffer it
   * rejects when the store cannot take it; local subscribers have it already.
   */
  async publish(points: readonly DataPoint[]): Promise<void> {
    if (this.closed) throw new DataCollError("closed", "the manager is closed");
    if (points.length === 0) return;
    const env = this.bus.publish(points);
    if (this.buffer) await this.buffer.submit(env);
    else await this.store.ingest(env);
  }

  /** Register an alarm owner; call the returned function when it closes. */
  addAlarmHandler(handler: AlarmHandler): Unsubscribe {
    this.alarmHandlers.add(handler);
    return () => {
      this.alarmHandlers.delete(handler);
    };
  }

  /** Acknowledge an alarm wherever it is held; false when no alarm owner here has it. */
  async acknowledgeAlarm(key: PointKey, condition: string | undefined, by: string): Promise<boolean> {
    const results = await Promise.all([...this.alarmHandlers].map((h) => h.acknowledge(key, condition, by)));
    return results.some(Boolean);
  }

  /** Shelve an alarm until `until` (epoch ms) wherever it is held; false when no owner here has it. */
  async shelveAlarm(key: PointKey, condition: string, until: number, by: string): Promise<boolean> {
    const results = await Promise.all(
      [...this.alarmHandlers].map((h) => h.shelve(key, condition, until, by)),
    );
    return results.some(Boolean);
  }

  /**
   * For the manager config node's close: when the store is Redis and its connection is down, close now
   * instead of with the last node that shares the manager. The store's queued commands then fail at
   * once, rather than waiting for a reconnect (or for ioredis to give them up, up to four reconnect
   * delays of 10 s later), and so do the last writes of the nodes closing with it: Node-RED closes the
   * users of a config node together with it, so none of them needs the manager any more. Connected, the
   * manager closes with its last user as before. Returns the close when it started one.
   */
  closeIfUnreachable(): Promise<void> | undefined {
    if (!(this.store instanceof RedisStore) || this.store.reachable) return undefined;
    return this.close();
  }

  /** Whether close() has been called. */
  get isClosed(): boolean {
    return this.closed !== undefined;
  }

  /** Close the store's connections and drop every subscription; safe to call more than once. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.offRemote();
      this.offWake?.();
      this.bus.clear();
      // The buffer stops first; closing the store settles the write it may be waiting on.
      const left = this.buffer?.close();
      await this.store.close();
      this.leftovers = (await left) ?? [];
    })();
    return this.closed;
  }
}

/** A share of a pooled manager; release it once when the node that took it closes. */
export interface ManagerHandle {
  readonly manager: Manager;
  release(): Promise<void>;
}

interface PoolEntry {
  readonly manager: Manager;
  readonly fingerprint: string;
  refs: number;
}

/**
 * Managers keyed by config-node id, reference counted. The config node and each node using it acquire a
 * handle; the manager closes when the last handle is released. If a config node comes back with other
 * settings while old handles are still out (a redeploy in progress), the old manager is detached — it
 * closes with its last handle — and a new one is made.
 */
export class ManagerPool {
  private readonly entries = new Map<string, PoolEntry>();

  constructor(
    private readonly make: (settings: ManagerSettings, opts?: ManagerOptions) => Manager = (s, o) =>
      new Manager(s, o),
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * Samples a manager closed during a Redis outage could not write (a redeploy while Redis restarts): the
   * manager that takes its place under the same config node writes them. Kept until one comes, replaced
   * by a later close's; gone with the process.
   */
  private readonly orphans = new Map<string, PointsEnvelope[]>();

  private handOver(id: string, closed: Manager): void {
    const left = closed.takeLeftovers();
    if (left.length === 0) return;
    const successor = this.entries.get(id)?.manager;
    if (successor && successor !== closed && !successor.isClosed) successor.adopt(left);
    else this.orphans.set(id, [...(this.orphans.get(id) ?? []), ...left]);
  }

  get(id: string): Manager | undefined {
    return this.entries.get(id)?.manager;
  }

  /** Every running manager by config-node id (for the live view's manager list). */
  list(): [string, Manager][] {
    return [...this.entries].map(([id, e]) => [id, e.manager]);
  }

  /** Share the manager of config node `id`, making it from `settings` when there is none (or they changed). */
  acquire(id: string, settings?: ManagerSettings, opts?: ManagerOptions): ManagerHandle {
    let entry = this.entries.get(id);
    const fingerprint = settings === undefined ? undefined : JSON.stringify(settings);
    // A manager closed early (closeIfUnreachable) is left to its last handles, like a detached one.
    if (
      entry &&
      ((fingerprint !== undefined && entry.fingerprint !== fingerprint) || entry.manager.isClosed)
    ) {
      this.entries.delete(id);
      entry = undefined;
    }
    if (!entry) {
      if (settings === undefined || fingerprint === undefined) {
        throw new DataCollError("not-found", `manager ${id} is not running`, "manager");
      }
      entry = { manager: this.make(settings, opts), fingerprint, refs: 0 };
      this.entries.set(id, entry);
      const orphans = this.orphans.get(id);
      this.orphans.delete(id);
      if (orphans) entry.manager.adopt(orphans);
    }
    const e = entry;
    e.refs++;
    let released = false;
    return {
      manager: e.manager,
      release: async () => {
        if (released) return;
        released = true;
        if (--e.refs > 0) return;
        if (this.entries.get(id) === e) this.entries.delete(id);
        await e.manager.close();
        this.handOver(id, e.manager);
      },
    };
  }
}

/** The process-wide pool the manager config node uses. */
export const managers = new ManagerPool();

/** One line for the log about the outage buffer. */
export function outageText(e: OutageEvent): string {
  switch (e.kind) {
    case "dropped":
      return `datacoll: the outage buffer is full: dropped the ${e.points} oldest samples waiting for Redis (${e.total} since start)`;
    case "recovered":
      return `datacoll: Redis is back: wrote ${e.written} samples kept during the outage in order, ${e.dropped} dropped for room`;
  }
}
