/**
 * The embedded store: everything in this process's memory, for a flow on a bare machine (one instance).
 * It keeps the same keys as Redis in a small keyspace of its own and behaves the same way — the contract
 * suite runs against both. Several MemoryStores on one MemoryDatabase and namespace see each other like
 * instances on one Redis, which is how the contract tests "two instances" without Redis.
 *
 * Given a directory, the registry and alarm state are also kept on disk (journal.ts), one file per
 * namespace, and every write is on the disk before it is acknowledged. Stores of one process opened on
 * the same file share one database, as instances share one Redis: a Full deploy may open the new config
 * node's store before or after the old one closes, and both orders see one registry. The file is closed
 * (and its lock given back) when the last of them closes.
 */
import { DataCollError, errorMessage } from "../errors";
import type { DataPoint, PointKey } from "../model/datapoint";
import type { ProtocolRules } from "../model/protocol-rules";
import {
  EventIds,
  RecentIds,
  decodeChanges,
  decodePoints,
  envelopeIdHint,
  envelopeJson,
  pointJson,
  type EnvelopeHead,
  type PointsEnvelope,
} from "../bus/envelope";
import { CappedLog } from "./capped-log";
import { Journal, applyOp, type JournalState } from "./journal";
import { CHANNEL, K, isVolatileKey } from "./keys";
import { LARGE_PLAN_OPS, Registry, type RegistryBackend, type RegistryOp } from "./registry";
import { stagePlan } from "./staged-apply";
import { Slicer } from "../slicer";
import {
  checkAlarm,
  checkCount,
  checkFrame,
  checkStatus,
  readAlarm,
  readFrame,
  readPoint,
  readStatus,
} from "./records";
import {
  DEFAULT_BOUNDS,
  type AlarmState,
  type DeviceStatus,
  type EventRecord,
  type FrameRecord,
  type Store,
  type StoreBounds,
  type StoreState,
  type Unsubscribe,
} from "./store";

interface Group {
  lastSeq: number;
  readonly pending: Map<number, string>;
}

/**
 * An entry of the events stream: the head of a batch and its points' JSON, which the history holds too.
 * The envelope's text is built when a reader asks for it, so a batch's JSON is not kept twice (its
 * points in the history, the whole in the stream) and a batch nobody reads is never put together.
 */
interface EventEntry {
  readonly head: EnvelopeHead;
  readonly jsons: readonly string[];
}

function eventText(e: EventEntry): string {
  return envelopeJson(e.head, e.jsons);
}

/** One namespace's data. */
class Keyspace {
  rev = 0;
  readonly hashes = new Map<string, Map<string, string>>();
  readonly sets = new Map<string, Set<string>>();
  readonly logs = new Map<string, CappedLog<string>>();
  /** The events stream (K.events): no registry write deletes it, so it is kept apart from `logs`. */
  readonly events = new CappedLog<EventEntry>();
  /**
   * The history log of each point key, found without building and hashing `hist:<key>` for every
   * sample; dropped whole when a log is deleted (a registry write), and found again from `logs`.
   */
  private readonly historyLogs = new Map<string, CappedLog<string>>();
  readonly groups = new Map<string, Group>();
  /** Blocked readers of the events stream, woken by every append. */
  readonly eventWaiters = new Set<() => void>();

  hash(key: string, create: true): Map<string, string>;
  hash(key: string, create?: false): Map<string, string> | undefined;
  hash(key: string, create = false): Map<string, string> | undefined {
    let h = this.hashes.get(key);
    if (!h && create) this.hashes.set(key, (h = new Map()));
    return h;
  }

  log(key: string): CappedLog<string> {
    let l = this.logs.get(key);
    if (!l) this.logs.set(key, (l = new CappedLog()));
    return l;
  }

  historyLog(pointKey: PointKey): CappedLog<string> {
    let l = this.historyLogs.get(pointKey);
    if (!l) this.historyLogs.set(pointKey, (l = this.log(K.history(pointKey))));
    return l;
  }

  apply(op: RegistryOp): void {
    applyOp(this.hashes, this.sets, op);
    if (op.op === "del" && this.logs.delete(op.key)) this.historyLogs.clear();
  }

  /** On the disk, when the keyspace is durable (see commit). */
  journal: Journal | undefined;

  /**
   * Load what a journal replayed: the durable keys as they were. A keyspace kept from an earlier opening
   * of the file (see `resting`) keeps its in-memory keys; its durable ones are the file's.
   */
  load(state: JournalState, journal: Journal): void {
    for (const k of [...this.hashes.keys()]) if (!isVolatileKey(k)) this.hashes.delete(k);
    for (const k of [...this.sets.keys()]) if (!isVolatileKey(k)) this.sets.delete(k);
    this.rev = state.rev;
    for (const [k, h] of state.hashes) this.hashes.set(k, new Map(h));
    for (const [k, m] of state.sets) this.sets.set(k, new Set(m));
    this.journal = journal;
  }

  /**
   * Apply a batch of writes as one: first on the disk (when durable), then here. A write the disk refuses
   * throws and changes nothing, so memory never holds what a restart would lose.
   */
  commit(ops: readonly RegistryOp[], bumpRev: boolean, staged?: () => void): void {
    const j = this.journal;
    if (j) {
      const durable = ops.filter((op) => !isVolatileKey(op.key));
      if (durable.length > 0) j.append(durable, bumpRev ? this.rev + 1 : undefined);
    }
    // A large plan was prepared on copies (staged-apply.ts): swapping them in applies the same writes.
    if (staged) staged();
    else for (const op of ops) this.apply(op);
    if (bumpRev) this.rev++;
    this.compactIfDue();
  }

  /** Alarm writes waiting for the next group flush: each computes its writes when its turn comes. */
  private grouped: { plan: () => RegistryOp[]; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private flushing: NodeJS.Immediate | undefined;

  /**
   * Apply writes that may come in storms — a comm loss raises a stale alarm on every point of a plant at
   * once — with one disk flush for all of them: they are gathered until the event loop turns, then
   * planned in order (each seeing the ones before it), applied, appended as one batch and flushed; each
   * promise resolves once its write is on the disk. If the disk refuses, every write of the group is
   * undone in memory and rejected. Without a journal the writes are applied at once.
   */
  commitGrouped(plan: () => RegistryOp[]): Promise<void> {
    if (!this.journal) {
      for (const op of plan()) this.apply(op);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      this.grouped.push({ plan, resolve, reject });
      this.flushing ??= setImmediate(() => this.flushGrouped());
    });
  }

  /** Write out the gathered group now (also before the file closes). */
  flushGrouped(): void {
    if (this.flushing) clearImmediate(this.flushing);
    this.flushing = undefined;
    const group = this.grouped.splice(0);
    if (group.length === 0) return;
    const undo: (() => void)[] = [];
    const ops: RegistryOp[] = [];
    try {
      for (const g of group) {
        for (const op of g.plan()) {
          undo.push(this.undoOf(op));
          this.apply(op);
          ops.push(op);
        }
      }
      const durable = ops.filter((op) => !isVolatileKey(op.key));
      if (durable.length > 0) this.journal?.append(durable);
    } catch (err) {
      for (let i = undo.length - 1; i >= 0; i--) undo[i]();
      for (const g of group) g.reject(err);
      return;
    }
    for (const g of group) g.resolve();
    this.compactIfDue();
  }

  /** What puts a key back as it was before `op`. */
  private undoOf(op: RegistryOp): () => void {
    switch (op.op) {
      case "hset":
      case "hdel": {
        const was = this.hashes.get(op.key)?.get(op.field);
        return () =>
          this.apply(
            was === undefined
              ? { op: "hdel", key: op.key, field: op.field }
              : { op: "hset", key: op.key, field: op.field, value: was },
          );
      }
      case "sadd":
      case "srem": {
        const had = this.sets.get(op.key)?.has(op.member) === true;
        return () => this.apply({ op: had ? "sadd" : "srem", key: op.key, member: op.member });
      }
      case "del": {
        const [h, s, l] = [this.hashes.get(op.key), this.sets.get(op.key), this.logs.get(op.key)];
        return () => {
          if (h) this.hashes.set(op.key, h);
          if (s) this.sets.set(op.key, s);
          if (l) this.logs.set(op.key, l);
          this.historyLogs.clear();
        };
      }
    }
  }

  private compactIfDue(): void {
    const j = this.journal;
    if (!j?.wantsCompaction) return;
    try {
      j.compact(this.durableState());
    } catch {
      // The writes are on the disk already; a compaction that failed is tried again after the next one.
    }
  }

  private durableState(): JournalState {
    const keep = <V>(m: Map<string, V>): Map<string, V> => new Map([...m].filter(([k]) => !isVolatileKey(k)));
    return { rev: this.rev, hashes: keep(this.hashes), sets: keep(this.sets) };
  }
}

/** What several memory stores share, as instances share one Redis: namespaces and pub/sub channels. */
export class MemoryDatabase {
  private readonly spaces = new Map<string, Keyspace>();
  private readonly channels = new Map<string, Set<(message: string) => void>>();

  space(namespace: string): Keyspace {
    let s = this.spaces.get(namespace);
    if (!s) this.spaces.set(namespace, (s = new Keyspace()));
    return s;
  }

  /**
   * Delivered after the current task, as a Redis message arrives later than the write. `except` is the
   * publisher's own subscription, which would drop its own message: the text is made only when another
   * subscriber (another store on this database) will read it.
   */
  publish(channel: string, message: string | (() => string), except?: (message: string) => void): void {
    const subs = this.channels.get(channel);
    if (!subs) return;
    let text = typeof message === "string" ? message : undefined;
    for (const fn of subs) {
      if (fn === except) continue;
      text ??= typeof message === "string" ? message : message();
      const t = text;
      queueMicrotask(() => fn(t));
    }
  }

  subscribe(channel: string, fn: (message: string) => void): Unsubscribe {
    let subs = this.channels.get(channel);
    if (!subs) this.channels.set(channel, (subs = new Set()));
    subs.add(fn);
    return () => {
      subs.delete(fn);
    };
  }
}

/** A journal file open in this process, and the stores using it. */
interface OpenFile {
  readonly database: MemoryDatabase;
  readonly journal: Journal;
  refs: number;
}

const openFiles = new Map<string, OpenFile>();

/**
 * The databases of journal files that no store has open any more, with what they keep in memory only
 * (latest values, history, frame logs, device status, the events stream and the savers' place in it),
 * for the next store that opens the same file in this process. A Full deploy closes every store and then
 * opens new ones: without this, each deploy would lose the history and the samples a saver had not yet
 * written. Dropped by dropRestingDatabases (the manager node calls it once the flows have started), so
 * a file that is no longer used does not keep its samples in memory.
 */
const resting = new Map<string, MemoryDatabase>();

/** Forget what closed embedded stores kept in memory for a successor that did not come. */
export function dropRestingDatabases(): void {
  resting.clear();
}

/** The database of a namespace's file in `dir`, opened (and replayed) by its first user in this process. */
function acquireFile(
  dir: string,
  namespace: string,
  compactMinBytes: number | undefined,
): { database: MemoryDatabase; release(): void } {
  const file = Journal.pathFor(dir, namespace);
  let entry = openFiles.get(file);
  if (!entry) {
    const { journal, state } = Journal.open(dir, namespace, compactMinBytes);
    const database = resting.get(file) ?? new MemoryDatabase();
    resting.delete(file);
    database.space(namespace).load(state, journal);
    entry = { database, journal, refs: 0 };
    openFiles.set(file, entry);
  }
  const e = entry;
  e.refs++;
  let released = false;
  return {
    database: e.database,
    release() {
      if (released) return;
      released = true;
      if (--e.refs > 0) return;
      openFiles.delete(file);
      e.database.space(namespace).flushGrouped();
      e.journal.close();
      resting.set(file, e.database);
    },
  };
}

export interface MemoryStoreOptions {
  readonly namespace: string;
  readonly instanceId: string;
  /** Share one database between stores to make them see each other; default: a database of its own. */
  readonly database?: MemoryDatabase;
  /**
   * Keep the registry and alarm state on disk in this directory (`datacoll-<namespace>.journal`); the
   * database is then the one of that file (`database` is not used). Default: memory only.
   */
  readonly dir?: string;
  /** With `dir`: compact the file once the writes since its snapshot pass this size (default 64 MB). */
  readonly compactAfterBytes?: number;
  readonly bounds?: Partial<StoreBounds>;
  readonly rules?: ProtocolRules;
  readonly ids?: EventIds;
}

function eventId(seq: number): string {
  return `0-${seq}`;
}

function eventSeq(id: string): number | undefined {
  const m = /^0-(\d+)$/.exec(id);
  return m ? Number(m[1]) : undefined;
}

function eventRecord(id: string, entry: EventEntry): EventRecord {
  const d = decodePoints(eventText(entry));
  return d.ok ? { id, ok: true, envelope: d.envelope } : { id, ok: false, reason: d.reason };
}

export class MemoryStore implements Store {
  readonly kind = "memory";
  readonly location = "the embedded store";
  readonly namespace: string;
  readonly instanceId: string;
  readonly bounds: StoreBounds;
  readonly registry: Registry;
  private readonly ks: Keyspace;
  private readonly db: MemoryDatabase;
  private readonly ids: EventIds;
  private readonly recent = new RecentIds();
  private readonly unsubscribes: Unsubscribe[] = [];
  private remoteListeners: readonly ((env: PointsEnvelope) => void)[] = [];
  private readonly stateListeners = new Set<(s: StoreState) => void>();
  private readonly blocked = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  private current: StoreState = { kind: "connected" };
  /** Why the file could not be opened: every operation refuses with it. */
  private readonly failure: DataCollError | undefined;
  private readonly releaseFile: (() => void) | undefined;

  constructor(opts: MemoryStoreOptions) {
    this.namespace = opts.namespace;
    this.instanceId = opts.instanceId;
    this.bounds = { ...DEFAULT_BOUNDS, ...opts.bounds };
    let db = opts.database;
    if (opts.dir !== undefined) {
      try {
        const file = acquireFile(opts.dir, opts.namespace, opts.compactAfterBytes);
        db = file.database;
        this.releaseFile = file.release;
      } catch (err) {
        this.failure =
          err instanceof DataCollError
            ? err
            : new DataCollError("store-io", `the embedded store cannot open its file: ${errorMessage(err)}`);
        this.current = { kind: "error", message: this.failure.message };
        db = undefined;
      }
    }
    this.db = db ?? new MemoryDatabase();
    this.ks = this.db.space(opts.namespace);
    this.ids = opts.ids ?? new EventIds();
    this.registry = new Registry(this.backend(), {
      instanceId: opts.instanceId,
      rules: opts.rules,
      ids: this.ids,
    });
    this.unsubscribes.push(
      this.db.subscribe(this.namespace + CHANNEL.points, this.onOwnChannel),
      this.db.subscribe(this.namespace + CHANNEL.changes, (msg) => {
        const d = decodeChanges(msg);
        if (d.ok) this.registry.receive(d.envelope);
      }),
    );
  }

  get state(): StoreState {
    return this.current;
  }

  onState(listener: (state: StoreState) => void): Unsubscribe {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** The journal file when this store keeps its registry on disk. */
  get file(): string | undefined {
    return this.ks.journal?.file;
  }

  private open(): void {
    if (this.current.kind === "closed") throw new DataCollError("closed", "the store is closed");
    if (this.failure) throw this.failure;
  }

  private backend(): RegistryBackend {
    const ks = this.ks;
    const guard = <T>(fn: () => T): Promise<T> => {
      this.open();
      return Promise.resolve(fn());
    };
    return {
      rev: () => guard(() => ks.rev),
      hget: (key, field) => guard(() => ks.hash(key)?.get(field)),
      hmget: (key, fields) => guard(() => fields.map((f) => ks.hash(key)?.get(f))),
      hgetall: (key) => guard(() => new Map(ks.hash(key) ?? [])),
      smembers: (key) => guard(() => [...(ks.sets.get(key) ?? [])]),
      apply: async (rev, ops, message) => {
        // A large plan is written on copies in slices, then swapped in (staged-apply.ts).
        const commit =
          ops.length >= LARGE_PLAN_OPS && rev === ks.rev ? await stagePlan(ks, ops, new Slicer()) : undefined;
        return guard(() => {
          if (rev !== ks.rev) return false;
          ks.commit(ops, true, commit);
          this.db.publish(this.namespace + CHANNEL.changes, message);
          return true;
        });
      },
    };
  }

  /** This store's subscription to the points channel; its own batches are not delivered to it. */
  private readonly onOwnChannel = (msg: string): void => this.onPointsMessage(msg);

  private onPointsMessage(msg: string): void {
    const hint = envelopeIdHint(msg);
    if (hint !== undefined && this.ids.isOwn(hint)) return;
    const d = decodePoints(msg);
    if (!d.ok || this.ids.isOwn(d.envelope.id) || this.recent.seen(d.envelope.id)) return;
    for (const l of this.remoteListeners) l(d.envelope);
  }

  async ingest(env: PointsEnvelope): Promise<void> {
    this.open();
    if (env.points.length === 0) return;
    // An envelope made elsewhere and relayed through this store must not come back as remote.
    if (!this.ids.isOwn(env.id)) this.recent.seen(env.id);
    const points = env.points;
    const jsons: string[] = new Array<string>(points.length);
    const latest = this.ks.hash(K.latest, true);
    const historyBound = this.bounds.history;
    // Every point's JSON first: a point that cannot be written leaves nothing half stored.
    for (let i = 0; i < points.length; i++) jsons[i] = pointJson(points[i]);
    for (let i = 0; i < points.length; i++) {
      const key = points[i].key;
      latest.set(key, jsons[i]);
      this.ks.historyLog(key).push(jsons[i], historyBound);
    }
    // The head alone, not the envelope: the stream keeps the points' JSON, not the DataPoint objects.
    const entry: EventEntry = { head: { v: env.v, instance: env.instance, id: env.id, ts: env.ts }, jsons };
    this.ks.events.push(entry, this.bounds.events);
    for (const wake of this.ks.eventWaiters) wake();
    this.db.publish(this.namespace + CHANNEL.points, () => eventText(entry), this.onOwnChannel);
  }

  onRemotePoints(listener: (env: PointsEnvelope) => void): Unsubscribe {
    this.remoteListeners = [...this.remoteListeners, listener];
    return () => {
      this.remoteListeners = this.remoteListeners.filter((l) => l !== listener);
    };
  }

  async latest(key: PointKey): Promise<DataPoint | undefined> {
    this.open();
    const v = this.ks.hash(K.latest)?.get(key);
    return v === undefined ? undefined : readPoint(v);
  }

  async latestMany(keys: readonly PointKey[]): Promise<(DataPoint | undefined)[]> {
    this.open();
    const h = this.ks.hash(K.latest);
    return keys.map((k) => {
      const v = h?.get(k);
      return v === undefined ? undefined : readPoint(v);
    });
  }

  async history(key: PointKey, count: number): Promise<DataPoint[]> {
    this.open();
    checkCount(count);
    return (this.ks.logs.get(K.history(key))?.newest(count) ?? []).map(readPoint);
  }

  async historyLength(key: PointKey): Promise<number> {
    this.open();
    return this.ks.logs.get(K.history(key))?.length ?? 0;
  }

  async appendFrames(deviceId: string, frames: readonly FrameRecord[]): Promise<void> {
    this.open();
    frames.forEach(checkFrame);
    const log = this.ks.log(K.frames(deviceId));
    for (const f of frames) log.push(JSON.stringify(f), this.bounds.frames);
  }

  async frames(deviceId: string, count: number): Promise<FrameRecord[]> {
    this.open();
    checkCount(count);
    return (this.ks.logs.get(K.frames(deviceId))?.newest(count) ?? []).map(readFrame);
  }

  async framesLength(deviceId: string): Promise<number> {
    this.open();
    return this.ks.logs.get(K.frames(deviceId))?.length ?? 0;
  }

  async putAlarm(alarm: AlarmState): Promise<void> {
    this.open();
    checkAlarm(alarm);
    await this.ks.commitGrouped(() => [
      { op: "hset", key: K.alarm(alarm.key), field: alarm.condition, value: JSON.stringify(alarm) },
      { op: "sadd", key: K.alarms, member: alarm.key },
    ]);
  }

  async deleteAlarm(key: PointKey, condition: string): Promise<void> {
    this.open();
    // Planned when its turn in the group comes, so it sees a put of the same alarm made just before.
    await this.ks.commitGrouped(() => {
      const h = this.ks.hash(K.alarm(key));
      const ops: RegistryOp[] = [];
      if (h?.has(condition)) ops.push({ op: "hdel", key: K.alarm(key), field: condition });
      const emptied = h === undefined || (h.size === 1 && h.has(condition));
      if (emptied && this.ks.sets.get(K.alarms)?.has(key))
        ops.push({ op: "srem", key: K.alarms, member: key });
      return ops;
    });
  }

  async alarms(key?: PointKey): Promise<AlarmState[]> {
    this.open();
    const keys = key === undefined ? [...(this.ks.sets.get(K.alarms) ?? [])] : [key];
    return keys.flatMap((k) => [...(this.ks.hash(K.alarm(k))?.values() ?? [])].map(readAlarm));
  }

  async setDeviceStatus(deviceId: string, status: DeviceStatus): Promise<void> {
    this.open();
    checkStatus(deviceId, status);
    this.ks.hash(K.status, true).set(deviceId, JSON.stringify(status));
  }

  async deviceStatus(deviceId: string): Promise<DeviceStatus | undefined> {
    this.open();
    const v = this.ks.hash(K.status)?.get(deviceId);
    return v === undefined ? undefined : readStatus(v);
  }

  async allDeviceStatus(): Promise<Map<string, DeviceStatus>> {
    this.open();
    return new Map([...(this.ks.hash(K.status) ?? [])].map(([id, v]) => [id, readStatus(v)]));
  }

  async ensureEventGroup(group: string, from: "start" | "end"): Promise<void> {
    this.open();
    if (this.ks.groups.has(group)) return;
    const log = this.ks.events;
    this.ks.groups.set(group, { lastSeq: from === "end" ? log.lastSeq : 0, pending: new Map() });
  }

  private group(name: string): Group {
    const g = this.ks.groups.get(name);
    if (!g)
      throw new DataCollError(
        "not-found",
        `event group ${name} does not exist (ensureEventGroup first)`,
        "group",
      );
    return g;
  }

  async readEvents(group: string, consumer: string, count: number, blockMs: number): Promise<EventRecord[]> {
    this.open();
    checkCount(count);
    const g = this.group(group);
    const log = this.ks.events;
    const take = (): EventRecord[] => {
      const entries = log.after(g.lastSeq, count);
      for (const e of entries) g.pending.set(e.seq, consumer);
      if (entries.length > 0) g.lastSeq = entries[entries.length - 1].seq;
      return entries.map((e) => eventRecord(eventId(e.seq), e.value));
    };
    const now = take();
    if (now.length > 0 || blockMs <= 0) return now;
    return new Promise<EventRecord[]>((resolve) => {
      const finish = (records: EventRecord[]): void => {
        clearTimeout(waiter.timer);
        this.ks.eventWaiters.delete(wake);
        this.blocked.delete(waiter);
        resolve(records);
      };
      const wake = (): void => {
        if (this.current.kind === "closed") return finish([]);
        const got = take();
        if (got.length > 0) finish(got);
      };
      const waiter = { timer: setTimeout(() => finish([]), blockMs), wake: () => finish([]) };
      this.ks.eventWaiters.add(wake);
      this.blocked.add(waiter);
    });
  }

  async readPendingEvents(group: string, consumer: string, count: number): Promise<EventRecord[]> {
    this.open();
    checkCount(count);
    const g = this.group(group);
    const log = this.ks.events;
    const out: EventRecord[] = [];
    for (const [seq, owner] of [...g.pending].sort((a, b) => a[0] - b[0])) {
      if (out.length >= count) break;
      if (owner !== consumer) continue;
      const e = log.get(seq);
      // Like Redis, an entry trimmed away while pending is reported without its content.
      out.push(
        e
          ? eventRecord(eventId(seq), e.value)
          : { id: eventId(seq), ok: false, reason: "trimmed from the stream" },
      );
    }
    return out;
  }

  async ackEvents(group: string, ids: readonly string[]): Promise<number> {
    this.open();
    const g = this.group(group);
    let n = 0;
    for (const id of ids) {
      const seq = eventSeq(id);
      if (seq !== undefined && g.pending.delete(seq)) n++;
    }
    return n;
  }

  async eventsLength(): Promise<number> {
    this.open();
    return this.ks.events.length;
  }

  async close(): Promise<void> {
    if (this.current.kind === "closed") return;
    this.current = { kind: "closed" };
    this.releaseFile?.();
    for (const u of this.unsubscribes) u();
    for (const b of [...this.blocked]) b.wake();
    this.remoteListeners = [];
    for (const l of this.stateListeners) l(this.current);
    this.stateListeners.clear();
  }
}
