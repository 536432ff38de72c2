/**
 * The registry: devices, terms, items, points and formulas, their index sets, the reverse address map,
 * cascades and change notifications. The logic is written once over a small backend (a few reads and one
 * atomic "apply these writes if the registry revision is still N"), which the memory and Redis stores
 * provide. A write reads what it needs, plans every key it touches, and applies the plan only if no other
 * writer (in this process or another instance) changed the registry meanwhile; otherwise it reads again.
 *
 * Cascade rules (docs/redis-keys.md):
 * - deleting a device deletes its terms (and so their points), its status and its frame log;
 * - deleting a term deletes its points;
 * - deleting an item deletes the points that bind it;
 * - deleting a point deletes its latest value, history and alarm state, and every formula that reads it
 *   or writes it: a formula with a missing point could never compute, and keeping it would leave a
 *   dangling name behind. The change events list each deleted formula so nodes can tell the user.
 */
import { DataCollError } from "../errors";
import { deviceOfPointKey, type PointKey } from "../model/datapoint";
import { deviceRecord, parseDevice, type Device } from "../model/device";
import { termRecord, parseTerm, type Term } from "../model/term";
import { itemRecord, parseItem, type Item } from "../model/item";
import { pointRecord, parsePoint, type Point } from "../model/point";
import { formulaPoints, formulaRecord, parseFormula, type Formula } from "../model/formula";
import { addressKey, DEFAULT_PROTOCOL_RULES, type ProtocolRules } from "../model/protocol-rules";
import type { EntityKind, RegistryChange } from "../model/change";
import { ENVELOPE_VERSION, EventIds, RecentIds, changesJson, type ChangesEnvelope } from "../bus/envelope";
import { Slicer } from "../slicer";
import { K } from "./keys";

/** One write of a plan, on keys relative to the namespace. */
export type RegistryOp =
  | { readonly op: "hset"; readonly key: string; readonly field: string; readonly value: string }
  | { readonly op: "hdel"; readonly key: string; readonly field: string }
  | { readonly op: "sadd"; readonly key: string; readonly member: string }
  | { readonly op: "srem"; readonly key: string; readonly member: string }
  | { readonly op: "del"; readonly key: string };

export interface RegistryBackend {
  rev(): Promise<number>;
  hget(key: string, field: string): Promise<string | undefined>;
  hmget(key: string, fields: readonly string[]): Promise<(string | undefined)[]>;
  hgetall(key: string): Promise<Map<string, string>>;
  smembers(key: string): Promise<string[]>;
  /**
   * Apply the writes and publish `message` on the changes channel, atomically, if the revision is still
   * `rev`; false when another writer came first.
   */
  apply(rev: number, ops: readonly RegistryOp[], message: string): Promise<boolean>;
}

/**
 * A plan of this many writes is large (an import): a backend stages it — writes it ahead on copies of
 * the registry keys, a slice at a time, and swaps them in at the atomic step — rather than holding the
 * store (the event loop, or Redis) for the whole write.
 */
export const LARGE_PLAN_OPS = 10_000;

/** create: the id must be new (409); update: it must exist (404); upsert: either. */
export type WriteMode = "create" | "update" | "upsert";

export interface PointFilter {
  readonly deviceId?: string;
  readonly termId?: string;
  readonly itemId?: string;
}

/** One write of a batch: a record put (validated as the single put would) or an entity deleted. */
export type RegistryStep =
  | { readonly op: "put"; readonly kind: EntityKind; readonly raw: unknown; readonly mode?: WriteMode }
  | { readonly op: "delete"; readonly kind: EntityKind; readonly id: string };

/** A batch refused as a whole because of one step: which (its index in the batch) and why. */
export class BatchStepError extends Error {
  constructor(
    readonly index: number,
    readonly reason: unknown,
  ) {
    super(`step ${index} of the batch: ${reason instanceof Error ? reason.message : String(reason)}`);
    this.name = "BatchStepError";
  }
}

export type ChangeListener = (changes: readonly RegistryChange[], envelope: ChangesEnvelope) => void;

const MAX_ATTEMPTS = 50;
/** Fields per read when a batch reads ahead. */
const PREFETCH_CHUNK = 1000;
const PREFETCH_IN_FLIGHT = 2;
/** The hash holding each kind's records. */
const HASH_OF: Readonly<Record<EntityKind, string>> = {
  device: K.devices,
  term: K.terms,
  item: K.items,
  point: K.points,
  formula: K.formulas,
};
const MISS: unique symbol = Symbol("not read yet");

function notFound(what: string, id: string, field: string): DataCollError {
  return new DataCollError("not-found", `${what} ${id} does not exist`, field);
}

/** The reads a write plans from. */
type Reader = Pick<RegistryBackend, "hget" | "hmget" | "hgetall" | "smembers">;

/** What a plan has written to one hash or set so far: its reads see these over the stored state. */
interface HashOverlay {
  cleared: boolean;
  readonly fields: Map<string, string | undefined>;
}
interface SetOverlay {
  cleared: boolean;
  readonly members: Map<string, boolean>;
}

/**
 * What one write will do: keys touched, changes to announce. Cascades plan their parts in parallel (a
 * device with a thousand points would otherwise cost thousands of round trips one after another); the
 * writes do not depend on their order, and `first` keeps an entity reached twice from being planned twice.
 *
 * A plan is also what its write reads through: the stored state with the plan's own writes laid over it,
 * so the steps of a batch see what earlier steps planned (a term put after its device in the same batch
 * finds the device) and the whole batch is applied as one atomic write, or not at all.
 */
class Plan implements Reader {
  readonly ops: RegistryOp[] = [];
  readonly changes: RegistryChange[] = [];
  private readonly done = new Set<string>();
  private readonly hashes = new Map<string, HashOverlay>();
  private readonly sets = new Map<string, SetOverlay>();
  /**
   * Hash fields this attempt has read from the store, so that a field many steps read (the device of
   * 100,000 points) costs one round trip. Safe to keep for the attempt: if anything changes meanwhile,
   * the revision does and the attempt is planned again from scratch.
   */
  private readonly stored = new Map<string, Map<string, string | undefined>>();
  /** Records parsed from stored text, per hash, so a device read by every point is parsed once. */
  private readonly parsed = new Map<string, Map<string, unknown>>();

  constructor(
    readonly rev: number,
    private readonly backend: Reader,
  ) {}

  /** False when this entity was already handled by this plan (a cascade reaching it twice). */
  first(kind: EntityKind, id: string): boolean {
    const k = `${kind}\u0000${id}`;
    if (this.done.has(k)) return false;
    this.done.add(k);
    return true;
  }

  change(kind: EntityKind, id: string, op: RegistryChange["op"]): void {
    this.changes.push({ kind, id, op });
  }

  // ---- writes

  hset(key: string, field: string, value: string): void {
    this.ops.push({ op: "hset", key, field, value });
    this.hash(key).fields.set(field, value);
  }
  hdel(key: string, field: string): void {
    this.ops.push({ op: "hdel", key, field });
    this.hash(key).fields.set(field, undefined);
  }
  sadd(key: string, member: string): void {
    this.ops.push({ op: "sadd", key, member });
    this.set(key).members.set(member, true);
  }
  srem(key: string, member: string): void {
    this.ops.push({ op: "srem", key, member });
    this.set(key).members.set(member, false);
  }
  /** A key of either kind: both views of it start empty. */
  del(key: string): void {
    this.ops.push({ op: "del", key });
    this.hashes.set(key, { cleared: true, fields: new Map() });
    this.sets.set(key, { cleared: true, members: new Map() });
  }

  private hash(key: string): HashOverlay {
    let h = this.hashes.get(key);
    if (!h) this.hashes.set(key, (h = { cleared: false, fields: new Map() }));
    return h;
  }
  private set(key: string): SetOverlay {
    let m = this.sets.get(key);
    if (!m) this.sets.set(key, (m = { cleared: false, members: new Map() }));
    return m;
  }

  // ---- reads: the stored state, then this plan's writes over it

  private storedOf(key: string): Map<string, string | undefined> {
    let c = this.stored.get(key);
    if (!c) this.stored.set(key, (c = new Map()));
    return c;
  }

  /** Read these fields of a hash ahead, in a few large reads instead of one per step. */
  async prefetch(key: string, fields: Iterable<string>): Promise<void> {
    const c = this.storedOf(key);
    const missing = [...new Set(fields)].filter((f) => !c.has(f));
    let next = 0;
    // A few reads in flight, not all: on Redis, another request's command waits behind every read queued
    // on the connection before it.
    const worker = async (): Promise<void> => {
      for (let at = next; at < missing.length; at = next) {
        next += PREFETCH_CHUNK;
        const chunk = missing.slice(at, at + PREFETCH_CHUNK);
        const values = await this.backend.hmget(key, chunk);
        chunk.forEach((f, i) => c.set(f, values[i]));
      }
    };
    await Promise.all(Array.from({ length: PREFETCH_IN_FLIGHT }, worker));
  }

  /** A stored field already read by this attempt; `miss` when it was not. */
  peek(key: string, field: string): string | undefined | typeof MISS {
    const c = this.stored.get(key);
    return c?.has(field) ? c.get(field) : MISS;
  }

  /** `text` of hash `key` parsed, once per attempt. */
  parse<T>(key: string, text: string, parse: (raw: unknown) => T): T {
    let memo = this.parsed.get(key);
    if (!memo) this.parsed.set(key, (memo = new Map()));
    if (memo.has(text)) return memo.get(text) as T;
    const value = parse(JSON.parse(text));
    memo.set(text, value);
    return value;
  }

  private async storedField(key: string, field: string): Promise<string | undefined> {
    const c = this.storedOf(key);
    if (c.has(field)) return c.get(field);
    const v = await this.backend.hget(key, field);
    c.set(field, v);
    return v;
  }

  private async storedFields(key: string, fields: readonly string[]): Promise<(string | undefined)[]> {
    const c = this.storedOf(key);
    const missing = fields.filter((f) => !c.has(f));
    if (missing.length > 0) {
      const values = await this.backend.hmget(key, missing);
      missing.forEach((f, i) => c.set(f, values[i]));
    }
    return fields.map((f) => c.get(f));
  }

  async hget(key: string, field: string): Promise<string | undefined> {
    const stored = await this.storedField(key, field);
    const h = this.hashes.get(key);
    if (!h) return stored;
    return h.fields.has(field) ? h.fields.get(field) : h.cleared ? undefined : stored;
  }

  async hmget(key: string, fields: readonly string[]): Promise<(string | undefined)[]> {
    const stored = await this.storedFields(key, fields);
    const h = this.hashes.get(key);
    if (!h) return stored;
    return fields.map((f, i) => (h.fields.has(f) ? h.fields.get(f) : h.cleared ? undefined : stored[i]));
  }

  async hgetall(key: string): Promise<Map<string, string>> {
    const stored = await this.backend.hgetall(key);
    const h = this.hashes.get(key);
    if (!h) return stored;
    const out = h.cleared ? new Map<string, string>() : new Map(stored);
    for (const [f, v] of h.fields) {
      if (v === undefined) out.delete(f);
      else out.set(f, v);
    }
    return out;
  }

  async smembers(key: string): Promise<string[]> {
    const stored = await this.backend.smembers(key);
    const m = this.sets.get(key);
    if (!m) return stored;
    const out = new Set(m.cleared ? [] : stored);
    for (const [member, present] of m.members) {
      if (present) out.add(member);
      else out.delete(member);
    }
    return [...out];
  }
}

function parseAll<T>(values: readonly (string | undefined)[], parse: (raw: unknown) => T): T[] {
  const out: T[] = [];
  for (const v of values) if (v !== undefined) out.push(parse(JSON.parse(v)));
  return out;
}

export interface RegistryOptions {
  readonly instanceId: string;
  readonly rules?: ProtocolRules;
  readonly ids?: EventIds;
  readonly now?: () => number;
}

/** A batch step with its record read by the model: once per write, not once per attempt. */
type PreparedStep =
  | { readonly op: "delete"; readonly kind: EntityKind; readonly id: string }
  | { readonly op: "put"; readonly kind: "device"; readonly value: Device; readonly mode: WriteMode }
  | { readonly op: "put"; readonly kind: "term"; readonly value: Term; readonly mode: WriteMode }
  | { readonly op: "put"; readonly kind: "item"; readonly value: Item; readonly mode: WriteMode }
  | { readonly op: "put"; readonly kind: "point"; readonly value: Point; readonly mode: WriteMode }
  | { readonly op: "put"; readonly kind: "formula"; readonly value: Formula; readonly mode: WriteMode };

function prepareStep(step: RegistryStep): PreparedStep {
  if (step.op === "delete") return step;
  const mode = step.mode ?? "upsert";
  switch (step.kind) {
    case "device":
      return { op: "put", kind: "device", value: parseDevice(step.raw), mode };
    case "term":
      return { op: "put", kind: "term", value: parseTerm(step.raw), mode };
    case "item":
      return { op: "put", kind: "item", value: parseItem(step.raw), mode };
    case "point":
      return { op: "put", kind: "point", value: parsePoint(step.raw), mode };
    case "formula":
      return { op: "put", kind: "formula", value: parseFormula(step.raw), mode };
  }
}

/** A record of hash `key`, parsed; a plan parses each stored text once per attempt. */
async function readJson<T>(
  r: Reader,
  key: string,
  id: string,
  parse: (raw: unknown) => T,
): Promise<T | undefined> {
  const v = await r.hget(key, id);
  if (v === undefined) return undefined;
  return r instanceof Plan ? r.parse(key, v, parse) : parse(JSON.parse(v));
}

/**
 * The registry's reads over one reader: the store itself, or — inside `transact` — the plan of a write
 * being prepared, so that a read-modify-write reads what its atomic step is checked against (and what
 * the steps planned before it wrote).
 */
export class RegistryView {
  constructor(
    private readonly reader: Reader,
    readonly rules: ProtocolRules,
  ) {}

  /** Which of these ids of one kind (point keys for points) have a record. */
  async exists(kind: EntityKind, ids: readonly string[]): Promise<boolean[]> {
    const out: boolean[] = [];
    for (let i = 0; i < ids.length; i += PREFETCH_CHUNK) {
      const values = await this.reader.hmget(HASH_OF[kind], ids.slice(i, i + PREFETCH_CHUNK));
      for (const v of values) out.push(v !== undefined);
    }
    return out;
  }

  getDevice(id: string): Promise<Device | undefined> {
    return readJson(this.reader, K.devices, id, parseDevice);
  }

  async listDevices(): Promise<Device[]> {
    return parseAll([...(await this.reader.hgetall(K.devices)).values()], parseDevice);
  }

  getTerm(id: string): Promise<Term | undefined> {
    return readJson(this.reader, K.terms, id, parseTerm);
  }

  async listTerms(deviceId?: string): Promise<Term[]> {
    if (deviceId === undefined)
      return parseAll([...(await this.reader.hgetall(K.terms)).values()], parseTerm);
    const ids = await this.reader.smembers(K.deviceTerms(deviceId));
    return parseAll(await this.reader.hmget(K.terms, ids), parseTerm);
  }

  getItem(id: string): Promise<Item | undefined> {
    return readJson(this.reader, K.items, id, parseItem);
  }

  async listItems(): Promise<Item[]> {
    return parseAll([...(await this.reader.hgetall(K.items)).values()], parseItem);
  }

  getPoint(key: PointKey): Promise<Point | undefined> {
    return readJson(this.reader, K.points, key, parsePoint);
  }

  async listPoints(filter: PointFilter = {}): Promise<Point[]> {
    let keys: string[] | undefined;
    if (filter.termId !== undefined) keys = await this.reader.smembers(K.termPoints(filter.termId));
    else if (filter.itemId !== undefined) keys = await this.reader.smembers(K.itemPoints(filter.itemId));
    else if (filter.deviceId !== undefined) {
      const terms = await this.reader.smembers(K.deviceTerms(filter.deviceId));
      keys = (await Promise.all(terms.map((t) => this.reader.smembers(K.termPoints(t))))).flat();
    }
    const values =
      keys === undefined
        ? [...(await this.reader.hgetall(K.points)).values()]
        : await this.reader.hmget(K.points, keys);
    return parseAll(values, parsePoint).filter(
      (p) =>
        (filter.deviceId === undefined || p.deviceId === filter.deviceId) &&
        (filter.termId === undefined || p.termId === filter.termId) &&
        (filter.itemId === undefined || p.itemId === filter.itemId),
    );
  }

  /** The point a protocol address maps to (see protocol-rules.ts for the key form). */
  async pointByAddress(addressKey: string): Promise<PointKey | undefined> {
    return this.reader.hget(K.address, addressKey);
  }

  getFormula(id: string): Promise<Formula | undefined> {
    return readJson(this.reader, K.formulas, id, parseFormula);
  }

  async listFormulas(): Promise<Formula[]> {
    return parseAll([...(await this.reader.hgetall(K.formulas)).values()], parseFormula);
  }

  /** The formulas that read or write a point. */
  async formulasUsing(key: PointKey): Promise<Formula[]> {
    const ids = await this.reader.smembers(K.pointFormulas(key));
    return parseAll(await this.reader.hmget(K.formulas, ids), parseFormula);
  }
}

export class Registry extends RegistryView {
  private readonly ids: EventIds;
  private readonly recent = new RecentIds(1000);
  private listeners: readonly ChangeListener[] = [];
  private queue: Promise<void> = Promise.resolve();
  private readonly now: () => number;
  private readonly instanceId: string;

  constructor(
    private readonly backend: RegistryBackend,
    opts: RegistryOptions,
  ) {
    super(backend, opts.rules ?? DEFAULT_PROTOCOL_RULES);
    this.ids = opts.ids ?? new EventIds();
    this.now = opts.now ?? Date.now;
    this.instanceId = opts.instanceId;
  }

  // ---- change notifications

  /** Registry changes made here or by any other instance of the namespace. */
  onChange(listener: ChangeListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** A changes envelope from the channel: our own are already delivered, duplicates are dropped. */
  receive(env: ChangesEnvelope): void {
    if (this.ids.isOwn(env.id) || this.recent.seen(env.id)) return;
    this.emit(env);
  }

  private emit(env: ChangesEnvelope): void {
    for (const l of this.listeners) {
      try {
        l(env.changes, env);
      } catch (err) {
        process.emitWarning(`datacoll registry change listener threw: ${String(err)}`);
      }
    }
  }

  /**
   * Writes of this registry run one after another: racing each other they would only make each other
   * retry. Races with other instances are settled by the revision check.
   */
  private write(build: (plan: Plan) => Promise<void>): Promise<RegistryChange[]> {
    const run = this.queue.then(() => this.attempt(build));
    // The caller hears this write's failure through `run`; the queue only waits for its end.
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Read, plan and apply until no other writer interferes. */
  private async attempt(build: (plan: Plan) => Promise<void>): Promise<RegistryChange[]> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const plan = new Plan(await this.backend.rev(), this.backend);
      try {
        await build(plan);
      } catch (err) {
        // The reads of a plan are not one snapshot: another instance's write landing between two of them
        // can make a sound request look wrong (a rename finding its device's terms already taken by the
        // rename that won). A refusal counts only if the registry did not move under it.
        if ((await this.backend.rev()) !== plan.rev) continue;
        throw err;
      }
      // Likewise "nothing to write" is a decision read from the registry: sure only if it held still.
      if (plan.ops.length === 0) {
        if ((await this.backend.rev()) !== plan.rev) continue;
        return [];
      }
      const env: ChangesEnvelope = {
        v: ENVELOPE_VERSION,
        instance: this.instanceId,
        id: this.ids.next(),
        ts: this.now(),
        changes: plan.changes,
      };
      if (await this.backend.apply(plan.rev, plan.ops, changesJson(env))) {
        this.emit(env);
        return plan.changes;
      }
    }
    throw new DataCollError(
      "busy",
      `the registry changed ${MAX_ATTEMPTS} times while this write was prepared`,
    );
  }

  // ---- batches

  /**
   * Several writes as one: the steps are planned in order, each reading what the steps before it
   * planned (a term may follow its device), and the whole plan is applied atomically — every step or
   * none, whatever other writers do meanwhile. A step that fails rejects with a BatchStepError naming it,
   * and nothing is written.
   */
  batch(steps: readonly RegistryStep[]): Promise<RegistryChange[]> {
    return this.transact(() => Promise.resolve(steps));
  }

  /**
   * A read-modify-write as one atomic step: `build` reads the registry through `view` and returns the
   * steps to apply, which run as a batch. `build` runs again on every retry, so whatever it decides
   * (a rename's subtree, whether an id is free) is decided on the state the write is applied to. An
   * error thrown by `build` rejects the write as it is; an empty list of steps writes nothing.
   */
  transact(build: (view: RegistryView) => Promise<readonly RegistryStep[]>): Promise<RegistryChange[]> {
    return this.write(async (plan) => {
      const steps = await build(new RegistryView(plan, this.rules));
      await this.planSteps(plan, steps);
    });
  }

  /** Plan a batch in slices of the event loop, reading ahead what its puts will read. */
  private async planSteps(plan: Plan, steps: readonly RegistryStep[]): Promise<void> {
    const slicer = new Slicer();
    const prepared: PreparedStep[] = [];
    for (let i = 0; i < steps.length; i++) {
      try {
        prepared.push(prepareStep(steps[i]));
      } catch (err) {
        throw new BatchStepError(i, err);
      }
      await slicer.tick();
    }
    await this.readAhead(plan, prepared, slicer);
    for (let i = 0; i < prepared.length; i++) {
      try {
        await this.planStep(plan, prepared[i]);
      } catch (err) {
        throw new BatchStepError(i, err);
      }
      await slicer.tick();
    }
  }

  /**
   * Read in a few large reads what the puts of a batch will read one by one: on Redis, a round trip
   * per read would make a 100,000-row import take minutes. Only a cache: what it misses is read later.
   */
  private async readAhead(plan: Plan, steps: readonly PreparedStep[], slicer: Slicer): Promise<void> {
    const want = new Map<string, Set<string>>();
    const add = (key: string, field: string): void => {
      let f = want.get(key);
      if (!f) want.set(key, (f = new Set()));
      f.add(field);
    };
    const devices = new Map<string, Device>();
    const terms = new Map<string, Term>();
    for (const s of steps) {
      if (s.op === "put") {
        switch (s.kind) {
          case "device":
            add(K.devices, s.value.id);
            devices.set(s.value.id, s.value);
            break;
          case "term":
            add(K.devices, s.value.deviceId);
            add(K.terms, s.value.id);
            terms.set(s.value.id, s.value);
            break;
          case "item":
            add(K.items, s.value.id);
            break;
          case "point":
            add(K.devices, s.value.deviceId);
            add(K.terms, s.value.termId);
            add(K.items, s.value.itemId);
            add(K.points, s.value.key);
            add(K.addressOf, s.value.key);
            break;
          case "formula":
            add(K.formulas, s.value.id);
            break;
        }
      }
      await slicer.tick();
    }
    for (const [key, fields] of want) await plan.prefetch(key, fields);
    // The reverse-map entries the points will claim, from the devices and terms now at hand.
    const stored = <T>(key: string, id: string, parse: (raw: unknown) => T): T | undefined => {
      const text = plan.peek(key, id);
      return typeof text === "string" ? plan.parse(key, text, parse) : undefined;
    };
    const addresses: string[] = [];
    for (const s of steps) {
      if (s.op === "put" && s.kind === "point") {
        const device = devices.get(s.value.deviceId) ?? stored(K.devices, s.value.deviceId, parseDevice);
        const term = terms.get(s.value.termId) ?? stored(K.terms, s.value.termId, parseTerm);
        if (device && term) {
          try {
            const k = this.addressKeyFor(device, term, s.value.address);
            if (k !== undefined) addresses.push(k);
          } catch {
            // A bad address: the step's own planning reports it.
          }
        }
      }
      await slicer.tick();
    }
    await plan.prefetch(K.address, addresses);
  }

  private planStep(plan: Plan, step: PreparedStep): Promise<void> {
    if (step.op === "delete") {
      switch (step.kind) {
        case "device":
          return this.planDeleteDevice(plan, step.id);
        case "term":
          return this.planDeleteTerm(plan, step.id);
        case "item":
          return this.planDeleteItem(plan, step.id);
        case "point":
          return this.planDeletePoint(plan, step.id);
        case "formula":
          return this.planDeleteFormula(plan, step.id);
      }
    }
    switch (step.kind) {
      case "device":
        return this.planPutDevice(plan, step.value, step.mode);
      case "term":
        return this.planPutTerm(plan, step.value, step.mode);
      case "item":
        return this.planPutItem(plan, step.value, step.mode);
      case "point":
        return this.planPutPoint(plan, step.value, step.mode);
      case "formula":
        return this.planPutFormula(plan, step.value, step.mode);
    }
  }

  private checkMode(what: string, id: string, exists: boolean, mode: WriteMode): void {
    if (mode === "create" && exists)
      throw new DataCollError("conflict", `${what} ${id} already exists`, "id");
    if (mode === "update" && !exists) throw notFound(what, id, "id");
  }

  // ---- devices

  /** Validate and store a device; returns the changes made. */
  putDevice(raw: unknown, mode: WriteMode = "upsert"): Promise<RegistryChange[]> {
    const device = parseDevice(raw);
    return this.write((plan) => this.planPutDevice(plan, device, mode));
  }

  private async planPutDevice(plan: Plan, device: Device, mode: WriteMode): Promise<void> {
    const old = await readJson(plan, K.devices, device.id, parseDevice);
    this.checkMode("device", device.id, old !== undefined, mode);
    if (
      old &&
      old.protocol !== device.protocol &&
      (await plan.smembers(K.deviceTerms(device.id))).length > 0
    ) {
      throw new DataCollError(
        "invalid",
        `protocol cannot change from ${old.protocol} to ${device.protocol} while device ${device.id} has terms`,
        "protocol",
      );
    }
    plan.hset(K.devices, device.id, JSON.stringify(deviceRecord(device)));
    plan.change("device", device.id, old ? "update" : "create");
  }

  deleteDevice(id: string): Promise<RegistryChange[]> {
    return this.write((plan) => this.planDeleteDevice(plan, id));
  }

  private async planDeleteDevice(plan: Plan, id: string): Promise<void> {
    if ((await plan.hget(K.devices, id)) === undefined || !plan.first("device", id)) return;
    const terms = await plan.smembers(K.deviceTerms(id));
    await Promise.all(terms.map((termId) => this.planDeleteTerm(plan, termId)));
    plan.hdel(K.devices, id);
    plan.hdel(K.status, id);
    plan.del(K.frames(id));
    plan.change("device", id, "delete");
  }

  // ---- terms

  putTerm(raw: unknown, mode: WriteMode = "upsert"): Promise<RegistryChange[]> {
    const term = parseTerm(raw);
    return this.write((plan) => this.planPutTerm(plan, term, mode));
  }

  private async planPutTerm(plan: Plan, term: Term, mode: WriteMode): Promise<void> {
    const [device, old] = await Promise.all([
      readJson(plan, K.devices, term.deviceId, parseDevice),
      readJson(plan, K.terms, term.id, parseTerm),
    ]);
    this.checkMode("term", term.id, old !== undefined, mode);
    if (!device) throw notFound("device", term.deviceId, "deviceId");
    if (old && old.deviceId !== term.deviceId) {
      throw new DataCollError(
        "invalid",
        `term ${term.id} belongs to device ${old.deviceId}; its deviceId cannot change (its points are named by it)`,
        "deviceId",
      );
    }
    const rule = this.rules[device.protocol];
    const why = rule.termAddress(term.address);
    if (why) throw new DataCollError("invalid", `address ${why}`, "address");
    plan.hset(K.terms, term.id, JSON.stringify(termRecord(term)));
    plan.sadd(K.deviceTerms(term.deviceId), term.id);
    plan.change("term", term.id, old ? "update" : "create");
    if (old && old.address !== term.address) {
      // The unit id / common address is part of every point's reverse-map key: move them all.
      const keys = await plan.smembers(K.termPoints(term.id));
      const points = parseAll(await plan.hmget(K.points, keys), parsePoint);
      await Promise.all(points.map((p) => this.planAddress(plan, device, term, p)));
    }
  }

  deleteTerm(id: string): Promise<RegistryChange[]> {
    return this.write((plan) => this.planDeleteTerm(plan, id));
  }

  private async planDeleteTerm(plan: Plan, id: string): Promise<void> {
    const term = await readJson(plan, K.terms, id, parseTerm);
    if (!term || !plan.first("term", id)) return;
    const keys = await plan.smembers(K.termPoints(id));
    await Promise.all(keys.map((key) => this.planDeletePoint(plan, key)));
    plan.hdel(K.terms, id);
    plan.srem(K.deviceTerms(term.deviceId), id);
    plan.change("term", id, "delete");
  }

  // ---- items

  putItem(raw: unknown, mode: WriteMode = "upsert"): Promise<RegistryChange[]> {
    const item = parseItem(raw);
    return this.write((plan) => this.planPutItem(plan, item, mode));
  }

  private async planPutItem(plan: Plan, item: Item, mode: WriteMode): Promise<void> {
    const old = await plan.hget(K.items, item.id);
    this.checkMode("item", item.id, old !== undefined, mode);
    plan.hset(K.items, item.id, JSON.stringify(itemRecord(item)));
    plan.change("item", item.id, old ? "update" : "create");
  }

  deleteItem(id: string): Promise<RegistryChange[]> {
    return this.write((plan) => this.planDeleteItem(plan, id));
  }

  private async planDeleteItem(plan: Plan, id: string): Promise<void> {
    if ((await plan.hget(K.items, id)) === undefined || !plan.first("item", id)) return;
    const keys = await plan.smembers(K.itemPoints(id));
    await Promise.all(keys.map((key) => this.planDeletePoint(plan, key)));
    plan.hdel(K.items, id);
    plan.change("item", id, "delete");
  }

  // ---- points

  /** The reverse-map key of a point address on a term of a device, or undefined when it has none. */
  addressKeyFor(device: Device, term: Term, address: string): string | undefined {
    if (address === "") return undefined;
    const rule = this.rules[device.protocol];
    const check = rule.pointAddress(address);
    if (!check.ok) throw new DataCollError("invalid", `address ${check.reason}`, "address");
    return addressKey(rule, device.id, term.address, check.tail);
  }

  putPoint(raw: unknown, mode: WriteMode = "upsert"): Promise<RegistryChange[]> {
    const point = parsePoint(raw);
    return this.write((plan) => this.planPutPoint(plan, point, mode));
  }

  private async planPutPoint(plan: Plan, point: Point, mode: WriteMode): Promise<void> {
    const [device, term, item, old] = await Promise.all([
      readJson(plan, K.devices, point.deviceId, parseDevice),
      readJson(plan, K.terms, point.termId, parseTerm),
      plan.hget(K.items, point.itemId),
      plan.hget(K.points, point.key),
    ]);
    this.checkMode("point", point.key, old !== undefined, mode);
    if (!device) throw notFound("device", point.deviceId, "deviceId");
    if (!term) throw notFound("term", point.termId, "termId");
    if (term.deviceId !== point.deviceId) {
      throw new DataCollError(
        "invalid",
        `term ${term.id} belongs to device ${term.deviceId}, not ${point.deviceId}`,
        "termId",
      );
    }
    if (item === undefined) throw notFound("item", point.itemId, "itemId");
    if (point.address === "" && this.rules[device.protocol].addressRequired) {
      throw new DataCollError(
        "invalid",
        `address is required for a point on ${/^[aeiou]/i.test(device.protocol) ? "an" : "a"} ${device.protocol} device`,
        "address",
      );
    }
    await this.planAddress(plan, device, term, point);
    plan.hset(K.points, point.key, JSON.stringify(pointRecord(point)));
    plan.sadd(K.termPoints(point.termId), point.key);
    plan.sadd(K.itemPoints(point.itemId), point.key);
    plan.change("point", point.key, old ? "update" : "create");
  }

  /** Point the reverse map at `point`, refusing an address another point holds. */
  private async planAddress(plan: Plan, device: Device, term: Term, point: Point): Promise<void> {
    const wanted = this.addressKeyFor(device, term, point.address);
    const [held, holder] = await Promise.all([
      plan.hget(K.addressOf, point.key),
      wanted === undefined ? Promise.resolve(undefined) : plan.hget(K.address, wanted),
    ]);
    if (wanted !== undefined && holder !== undefined && holder !== point.key) {
      throw new DataCollError(
        "conflict",
        `address ${point.address} is already used by point ${holder}`,
        "address",
      );
    }
    if (held === wanted) return;
    if (held !== undefined) plan.hdel(K.address, held);
    if (wanted === undefined) plan.hdel(K.addressOf, point.key);
    else {
      plan.hset(K.address, wanted, point.key);
      plan.hset(K.addressOf, point.key, wanted);
    }
  }

  deletePoint(key: PointKey): Promise<RegistryChange[]> {
    return this.write((plan) => this.planDeletePoint(plan, key));
  }

  private async planDeletePoint(plan: Plan, key: PointKey): Promise<void> {
    const point = await readJson(plan, K.points, key, parsePoint);
    if (!point || !plan.first("point", key)) return;
    const [formulas, held] = await Promise.all([
      plan.smembers(K.pointFormulas(key)),
      plan.hget(K.addressOf, key),
    ]);
    await Promise.all(formulas.map((f) => this.planDeleteFormula(plan, f)));
    if (held !== undefined) {
      plan.hdel(K.address, held);
      plan.hdel(K.addressOf, key);
    }
    plan.hdel(K.points, key);
    plan.srem(K.termPoints(point.termId), key);
    plan.srem(K.itemPoints(point.itemId), key);
    plan.hdel(K.latest, key);
    plan.del(K.history(key));
    plan.del(K.alarm(key));
    plan.srem(K.alarms, key);
    plan.change("point", key, "delete");
  }

  // ---- formulas

  putFormula(raw: unknown, mode: WriteMode = "upsert"): Promise<RegistryChange[]> {
    const formula = parseFormula(raw);
    return this.write((plan) => this.planPutFormula(plan, formula, mode));
  }

  private async planPutFormula(plan: Plan, formula: Formula, mode: WriteMode): Promise<void> {
    const old = await readJson(plan, K.formulas, formula.id, parseFormula);
    this.checkMode("formula", formula.id, old !== undefined, mode);
    const fields = new Map<PointKey, string>(
      Object.entries(formula.params).map(([n, k]) => [k, `params.${n}`]),
    );
    fields.set(formula.result, "result");
    const keys = [...fields.keys()];
    const found = await plan.hmget(K.points, keys);
    keys.forEach((k, i) => {
      if (found[i] === undefined) throw notFound("point", k, fields.get(k) ?? "params");
    });
    const resultDevice = await readJson(plan, K.devices, deviceOfPointKey(formula.result), parseDevice);
    if (resultDevice && resultDevice.protocol !== "formula" && resultDevice.protocol !== "virtual") {
      throw new DataCollError(
        "invalid",
        `result ${formula.result} is on a ${resultDevice.protocol} device; a formula writes to a point of a formula or virtual device`,
        "result",
      );
    }
    const now = new Set(formulaPoints(formula));
    for (const k of old ? formulaPoints(old) : []) if (!now.has(k)) plan.srem(K.pointFormulas(k), formula.id);
    for (const k of now) plan.sadd(K.pointFormulas(k), formula.id);
    plan.hset(K.formulas, formula.id, JSON.stringify(formulaRecord(formula)));
    plan.change("formula", formula.id, old ? "update" : "create");
  }

  deleteFormula(id: string): Promise<RegistryChange[]> {
    return this.write((plan) => this.planDeleteFormula(plan, id));
  }

  private async planDeleteFormula(plan: Plan, id: string): Promise<void> {
    const f = await readJson(plan, K.formulas, id, parseFormula);
    if (!f || !plan.first("formula", id)) return;
    for (const k of formulaPoints(f)) plan.srem(K.pointFormulas(k), id);
    plan.hdel(K.formulas, id);
    plan.change("formula", id, "delete");
  }
}
