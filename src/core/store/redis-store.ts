/**
 * The Redis store: shared state of every instance on one namespace (docs/architecture.md §6, the layout in
 * docs/redis-keys.md). Three connections: commands, a subscriber (pub/sub needs a connection of its own)
 * and, made on first use, one for blocking reads of the events stream, so a saver waiting for events
 * never holds up ingest. Writes touching several keys go in one MULTI/EXEC or one Lua script.
 */
import crypto from "node:crypto";
import { Redis, type RedisOptions } from "ioredis";
import { GuardedConnector } from "./guarded-connector";
import { closeRedis, dropRedis } from "./redis-close";
import { Slicer } from "../slicer";
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
  type PointsEnvelope,
} from "../bus/envelope";
import { CHANNEL, K, registryOnly } from "./keys";
import { LARGE_PLAN_OPS, Registry, type RegistryBackend, type RegistryOp } from "./registry";
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

export interface ReconnectPolicy {
  /** First delay; each further attempt doubles it, with jitter. Default 100 ms. */
  readonly baseMs: number;
  /** The longest delay between attempts. Default 10 s. */
  readonly maxMs: number;
}

export interface RedisStoreOptions {
  readonly namespace: string;
  readonly instanceId: string;
  /** `redis://[user:pass@]host:port/db` or `rediss://` for TLS. Ignored with Sentinel. */
  readonly url?: string;
  readonly password?: string;
  /**
   * Passed to ioredis as they are: `tls`, `db`, `sentinels` + `name`, timeouts, … Not Redis Cluster: the
   * store refuses a Cluster node (docs/scale-out.md, "Outgrowing one Redis").
   */
  readonly redisOptions?: RedisOptions;
  readonly bounds?: Partial<StoreBounds>;
  readonly rules?: ProtocolRules;
  readonly ids?: EventIds;
  readonly reconnect?: Partial<ReconnectPolicy>;
  /**
   * How many reconnections a command waits through before it fails. Small by default, so a caller learns
   * of an outage in seconds instead of piling up commands in memory.
   */
  readonly maxRetriesPerRequest?: number;
}

/**
 * Where the options point, as `Redis at host:port` (ioredis's defaults filled in): host and port only, so
 * a password in the URL or the options never reaches a message.
 */
export function locationOf(opts: Pick<RedisStoreOptions, "url" | "redisOptions">): string {
  const o = opts.redisOptions ?? {};
  if (o.sentinels) return `Redis (Sentinel master "${o.name ?? "mymaster"}")`;
  if (o.path) return `Redis at ${o.path}`;
  if (opts.url !== undefined && o.host === undefined && o.port === undefined)
    return `Redis at ${hostPort(opts.url)}`;
  return `Redis at ${o.host ?? "127.0.0.1"}:${o.port ?? 6379}`;
}

/** `host:port` of a `redis://` URL or a bare `host:port`, without what else it holds. */
function hostPort(text: string): string {
  try {
    const u = new URL(/^\w+:\/\//.test(text) ? text : `redis://${text}`);
    return `${u.hostname || "127.0.0.1"}:${u.port || "6379"}`;
  } catch {
    return "an address that is not a valid URL"; // the connection itself reports why
  }
}

/** Delay before reconnect attempt `attempt` (1-based): doubling from `baseMs`, capped, with ±25% jitter. */
export function reconnectDelay(
  attempt: number,
  policy: ReconnectPolicy,
  random: () => number = Math.random,
): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.max(1, Math.round(exp * (0.75 + random() * 0.5)));
}

// Applies a registry plan if the revision is unchanged (KEYS[1]). ARGV: expected rev, key prefix, changes
// channel, changes message, stage prefix, trash prefix, the number of staged keys and their names (each
// replaces its live key, which goes to the trash: two renames, whatever its size), then runs of writes,
// each as op name, key and its arguments as one JSON array (see runsByKey): a command of a million
// arguments costs both sides far more to encode and read than a few long strings. A run goes to Redis in
// commands of at most CHUNK arguments, as Lua's unpack has a limit.
const APPLY_LUA = `
local rev = tonumber(redis.call('GET', KEYS[1]) or '0')
if rev ~= tonumber(ARGV[1]) then return -1 end
local p = ARGV[2]
local n = tonumber(ARGV[7])
for i = 8, 7 + n do
  local live = p .. ARGV[i]
  local staged = p .. ARGV[5] .. ARGV[i]
  if redis.call('EXISTS', live) == 1 then redis.call('RENAME', live, p .. ARGV[6] .. ARGV[i]) end
  if redis.call('EXISTS', staged) == 1 then
    redis.call('RENAME', staged, live)
    redis.call('PERSIST', live)
  end
end
local CMD = { hset = 'HSET', hdel = 'HDEL', sadd = 'SADD', srem = 'SREM' }
local CHUNK = 4000
for i = 8 + n, #ARGV, 3 do
  local op = ARGV[i]
  local key = p .. ARGV[i+1]
  if op == 'del' then redis.call('DEL', key)
  elseif CMD[op] then
    local a = cjson.decode(ARGV[i+2])
    for s = 1, #a, CHUNK do
      redis.call(CMD[op], key, unpack(a, s, math.min(s + CHUNK - 1, #a)))
    end
  else return redis.error_reply('unknown registry op ' .. op) end
end
local next = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', p .. ARGV[3], ARGV[4])
return next
`;

/** Neighbouring writes of one kind to one key, as one command's arguments. */
interface Run {
  readonly op: RegistryOp["op"];
  readonly args: string[];
}

const RUN_COMMAND = { hset: "HSET", hdel: "HDEL", sadd: "SADD", srem: "SREM" } as const;

/**
 * A plan's writes by key, each key's in their order, neighbouring writes of one kind merged (an import
 * writes 100,000 fields of one hash: a few HSETs of thousands of fields, not 100,000 calls). Writes to
 * different keys do not depend on each other's order.
 */
async function runsByKey(ops: readonly RegistryOp[], slicer: Slicer): Promise<Map<string, Run[]>> {
  const byKey = new Map<string, Run[]>();
  for (const op of ops) {
    let runs = byKey.get(op.key);
    if (!runs) byKey.set(op.key, (runs = []));
    let last = runs.at(-1);
    if (!last || last.op !== op.op || op.op === "del") runs.push((last = { op: op.op, args: [] }));
    switch (op.op) {
      case "hset":
        last.args.push(op.field, op.value);
        break;
      case "hdel":
        last.args.push(op.field);
        break;
      case "sadd":
      case "srem":
        last.args.push(op.member);
        break;
      case "del":
        break;
    }
    await slicer.tick();
  }
  return byKey;
}

/** Stage keys a crashed writer leaves behind expire. */
const STAGE_TTL_MS = 3_600_000;
/** Stage keys written at once, and arguments per staging command. */
const STAGE_CONCURRENCY = 8;
const STAGE_CHUNK = 4000;

/**
 * A subscriber that was away reads what it missed from the events stream, from this long before it lost
 * its connection (stream ids are the server's clock; this covers a skew between the two clocks and
 * messages in flight), in pages of `CATCH_UP_PAGE` entries, at most `CATCH_UP_PAGES` of them.
 */
const CATCH_UP_MARGIN_MS = 5000;
/** The subscriber's reconnect backoff is capped lower than the store's. */
const SUBSCRIBER_MAX_DELAY_MS = 1000;
/**
 * With Sentinel every reconnect attempt first asks the sentinels where the master is, and while a failover
 * is under way they still name the dead one for a few seconds. A doubling backoff then reaches seconds
 * between attempts and finds the new master seconds after they name it (measured: store back about 6 s
 * after the kill, sentinels done at 3.3 s). Attempts at most this far apart find it within this much.
 */
export const SENTINEL_MAX_DELAY_MS = 250;
const CATCH_UP_PAGE = 1000;
const CATCH_UP_PAGES = 100;

// One batch of samples in one step, server-side: a command per sample would make the client, not Redis,
// the limit. ARGV: history key prefix, trim ("~" or "="), history bound, events key, events bound, points
// channel, envelope, then point key + sample JSON pairs; KEYS[1] is the latest-value hash.
const INGEST_LUA = `
local hp, trim, hb = ARGV[1], ARGV[2], ARGV[3]
local fields = {}
for i = 8, #ARGV, 2 do
  redis.call('XADD', hp .. ARGV[i], 'MAXLEN', trim, hb, '*', 'p', ARGV[i + 1])
  fields[#fields + 1] = ARGV[i]
  fields[#fields + 1] = ARGV[i + 1]
  -- unpack() is limited by the Lua stack: write the latest values in slices.
  if #fields >= 1000 then
    redis.call('HSET', KEYS[1], unpack(fields))
    fields = {}
  end
end
if #fields > 0 then redis.call('HSET', KEYS[1], unpack(fields)) end
redis.call('XADD', ARGV[4], 'MAXLEN', trim, ARGV[5], '*', 'e', ARGV[7])
redis.call('PUBLISH', ARGV[6], ARGV[7])
return 1
`;

// Many entries into one capped stream. KEYS[1] the stream; ARGV: trim, bound, field, values.
const XADD_MANY_LUA = `
for i = 4, #ARGV do
  redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], ARGV[2], '*', ARGV[3], ARGV[i])
end
return 1
`;

// Removes one alarm condition and drops the point from the alarm index when it has none left.
const DELETE_ALARM_LUA = `
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end
return 1
`;

function asString(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (Buffer.isBuffer(v)) return v.toString("utf8");
  return undefined;
}

function asStrings(v: unknown): (string | undefined)[] {
  return Array.isArray(v) ? v.map(asString) : [];
}

/** Field/value pairs of a flat reply (HGETALL, stream entry fields) as a map. */
function pairs(v: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (!Array.isArray(v)) return out;
  for (let i = 0; i + 1 < v.length; i += 2) {
    const f = asString(v[i]);
    const val = asString(v[i + 1]);
    if (f !== undefined && val !== undefined) out.set(f, val);
  }
  return out;
}

/** Stream entries `[[id, [field, value, ...] | null], ...]`. */
function streamEntries(v: unknown): { id: string; fields: Map<string, string> | undefined }[] {
  if (!Array.isArray(v)) return [];
  const out: { id: string; fields: Map<string, string> | undefined }[] = [];
  for (const e of v) {
    if (!Array.isArray(e)) continue;
    const id = asString(e[0]);
    if (id !== undefined) out.push({ id, fields: e[1] === null ? undefined : pairs(e[1]) });
  }
  return out;
}

function toInt(v: unknown): number {
  const n = typeof v === "number" ? v : Number(asString(v));
  return Number.isFinite(n) ? n : 0;
}

/** Check every reply of a MULTI/EXEC; the first error becomes the caller's error. */
function execResults(results: [error: Error | null, result: unknown][] | null): unknown[] {
  if (results === null) throw new DataCollError("aborted", "a Redis transaction was aborted");
  return results.map(([err, res]) => {
    if (err) throw err;
    return res;
  });
}

export class RedisStore implements Store {
  readonly kind = "redis";
  readonly location: string;
  readonly namespace: string;
  readonly instanceId: string;
  readonly bounds: StoreBounds;
  readonly registry: Registry;
  /** Every key and channel name starts with this: the namespace. */
  readonly prefix: string;
  private readonly client: Redis;
  private readonly sub: Redis;
  private blocking: Redis | undefined;
  private readonly ids: EventIds;
  private readonly recent = new RecentIds();
  private remoteListeners: readonly ((env: PointsEnvelope) => void)[] = [];
  /** Set while the subscriber is away or catching up: where in the events stream to read from (ms). */
  private gapFrom: number | undefined;
  /** Bumped each time the subscriber loses its connection, so a catch-up overtaken by one is redone. */
  private gaps = 0;
  /** Points messages that arrived while a catch-up read the stream, delivered after it in order. */
  private held: string[] | undefined;
  /** The next try of a catch-up whose read of the stream failed while the subscriber stayed up. */
  private catchUpRetry: NodeJS.Timeout | undefined;
  private readonly stateListeners = new Set<(s: StoreState) => void>();
  private current: StoreState = { kind: "connecting" };
  private closing = false;
  private readonly subscribed: Promise<void>;
  private readonly trim: string;
  private readonly shas = new Map<string, string>();
  private readonly makeClient: (override?: RedisOptions) => Redis;
  private readonly policy: ReconnectPolicy;

  constructor(opts: RedisStoreOptions) {
    this.namespace = opts.namespace;
    this.instanceId = opts.instanceId;
    this.location = locationOf(opts);
    this.bounds = { ...DEFAULT_BOUNDS, ...opts.bounds };
    this.trim = this.bounds.trim === "exact" ? "=" : "~";
    this.prefix = opts.namespace;
    this.ids = opts.ids ?? new EventIds();
    const sentinel = opts.redisOptions?.sentinels !== undefined;
    const policy: ReconnectPolicy = {
      baseMs: 100,
      maxMs: sentinel ? SENTINEL_MAX_DELAY_MS : 10_000,
      ...opts.reconnect,
    };
    this.policy = policy;
    const common: RedisOptions = {
      maxRetriesPerRequest: opts.maxRetriesPerRequest ?? 3,
      // A server loading its data after a restart answers LOADING; ioredis then waits for the server's
      // loading estimate (at least 1 s, up to 10 s) before it looks again. Half a second is enough.
      maxLoadingRetryTime: 500,
      retryStrategy: (attempt: number) => {
        const delayMs = reconnectDelay(attempt, policy);
        if (!this.closing) this.setState({ kind: "reconnecting", attempt, delayMs });
        return delayMs;
      },
      ...(opts.password !== undefined ? { password: opts.password } : {}),
      // Sentinel: ask the sentinels again soon when none answers (ioredis gives up after the first round
      // by default). Not ioredis's failoverDetector: its connections to the sentinels outlive a QUIT and
      // keep the process alive; a killed master drops the connections anyway, and they then ask the
      // sentinels every SENTINEL_MAX_DELAY_MS at most.
      ...(sentinel
        ? {
            sentinelRetryStrategy: () => SENTINEL_MAX_DELAY_MS,
            // A master the sentinels demoted while it lived answers writes READONLY: find the new one.
            reconnectOnError: (err: Error) => (err.message.startsWith("READONLY") ? 2 : false),
          }
        : {}),
      ...opts.redisOptions,
    };
    this.makeClient = (override: RedisOptions = {}) => {
      const options = { ...common, ...override };
      // Sentinel has its own connector; one given in the options is left alone.
      const guarded: RedisOptions =
        options.sentinels || options.Connector ? options : { ...options, Connector: GuardedConnector };
      return opts.redisOptions?.sentinels || opts.url === undefined
        ? new Redis(guarded)
        : new Redis(opts.url, guarded);
    };
    this.client = this.makeClient();
    // The SUBSCRIBE must wait for Redis however long it is away at start-up: ioredis only subscribes
    // again after a reconnect to channels whose first SUBSCRIBE succeeded.
    // It reconnects at least every second: what it misses meanwhile is read back from the events stream,
    // but the nodes hear other instances late until it is back.
    this.sub = this.makeClient({
      maxRetriesPerRequest: null,
      retryStrategy: (attempt: number) =>
        reconnectDelay(attempt, { ...policy, maxMs: Math.min(policy.maxMs, SUBSCRIBER_MAX_DELAY_MS) }),
    });
    this.client.on("ready", () => void this.checkServer());
    this.client.on("error", (err: unknown) => {
      if (!this.closing) this.setState({ kind: "error", message: errorMessage(err) });
    });
    // The subscriber reconnects by itself and ioredis subscribes again; its errors are the same outage
    // the command connection reports, so they are only kept from becoming unhandled.
    this.sub.on("error", () => undefined);
    this.sub.on("message", (channel: string, message: string) => this.onMessage(channel, message));
    // Pub/sub delivers at most once: what was published while the subscriber was away (a Redis restart,
    // then its reconnect backoff) is read back from the events stream once it is subscribed again.
    this.sub.on("close", () => {
      if (this.closing) return;
      this.gaps++;
      this.gapFrom = Math.min(this.gapFrom ?? Infinity, Date.now() - CATCH_UP_MARGIN_MS);
    });
    this.sub.on("ready", () => void this.catchUp());
    this.subscribed = this.sub.subscribe(this.prefix + CHANNEL.points, this.prefix + CHANNEL.changes).then(
      () => undefined,
      (err: unknown) => {
        if (!this.closing)
          this.setState({ kind: "error", message: `subscribe failed: ${errorMessage(err)}` });
      },
    );
    this.registry = new Registry(this.backend(), {
      instanceId: opts.instanceId,
      rules: opts.rules,
      ids: this.ids,
    });
  }

  /**
   * Another connection with this store's options (URL, AUTH, TLS, Sentinel), for a user that needs its
   * own: it reconnects on the same backoff but does not speak for the store's state. The caller closes it.
   */
  connect(connectionName: string, override: RedisOptions = {}): Redis {
    return this.makeClient({
      connectionName,
      retryStrategy: (attempt: number) => reconnectDelay(attempt, this.policy),
      ...override,
    });
  }

  /**
   * Connected, unless the server is a Redis Cluster node (a URL naming one of a Cluster's nodes): the
   * registry's atomic steps, the leases and the events stream need one server, and on a Cluster they would
   * fail key by key with MOVED and CROSSSLOT. Said once, plainly, as the store's state instead.
   */
  private async checkServer(): Promise<void> {
    let info: string;
    try {
      info = await this.client.info("cluster");
    } catch {
      return; // the connection's own error and close events say what happened
    }
    if (this.closing) return;
    if (/^cluster_enabled:1\b/m.test(info)) {
      this.setState({
        kind: "error",
        message: `${this.location} is a Redis Cluster node; DataColl needs one Redis server or Sentinel (docs/scale-out.md)`,
      });
    } else this.setState({ kind: "connected" });
  }

  get state(): StoreState {
    return this.current;
  }

  onState(listener: (state: StoreState) => void): Unsubscribe {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  private setState(s: StoreState): void {
    this.current = s;
    for (const l of this.stateListeners) l(s);
  }

  /**
   * Resolves once the command connection is ready and the subscriptions are in place, so nothing another
   * instance publishes from then on is missed (rejects when the store closes first).
   */
  async ready(): Promise<void> {
    await this.subscribed;
    if (this.current.kind === "connected") return;
    await new Promise<void>((resolve, reject) => {
      const off = this.onState((s) => {
        if (s.kind === "connected") {
          off();
          resolve();
        } else if (s.kind === "closed") {
          off();
          reject(new DataCollError("closed", "the store was closed before it connected"));
        }
      });
    });
  }

  /**
   * Resolves once every pub/sub message published before the call has been handled: a PING on the
   * subscriber connection is answered after the messages queued ahead of it.
   */
  async settle(): Promise<void> {
    await this.sub.ping();
  }

  private key(k: string): string {
    return this.prefix + k;
  }

  private onMessage(channel: string, message: string): void {
    if (channel === this.prefix + CHANNEL.changes) {
      const d = decodeChanges(message);
      if (d.ok) this.registry.receive(d.envelope);
      else process.emitWarning(`datacoll: dropped a malformed registry change on ${channel}: ${d.reason}`);
      return;
    }
    if (this.held !== undefined) this.held.push(message);
    else this.deliver(message, channel);
  }

  /** A points envelope from the channel or the events stream, to the listeners unless seen before. */
  private deliver(message: string, from: string): void {
    // Our own batches come back on the channel; their id is near the start of the text we wrote, so they
    // are dropped without parsing a large message.
    const hint = envelopeIdHint(message);
    if (hint !== undefined && this.ids.isOwn(hint)) return;
    const d = decodePoints(message);
    if (!d.ok) {
      process.emitWarning(`datacoll: dropped a malformed points event on ${from}: ${d.reason}`);
      return;
    }
    if (this.ids.isOwn(d.envelope.id) || this.recent.seen(d.envelope.id)) return;
    for (const l of this.remoteListeners) l(d.envelope);
  }

  /**
   * The subscriber is back: read the events stream from shortly before it went away and deliver what it
   * missed (ids already seen are dropped), then the messages that arrived meanwhile, so listeners get
   * every other instance's batch once and in order. If Redis goes away again first, the next reconnect
   * reads from the same point.
   */
  private async catchUp(): Promise<void> {
    const from = this.gapFrom;
    if (from === undefined || this.closing || this.held !== undefined) return;
    const gap = this.gaps;
    let failed = false;
    this.held = [];
    const stream = this.key(K.events);
    try {
      // Answered after the SUBSCRIBE that ioredis sent again on reconnecting: from here on nothing
      // published is missed, so the stream read below closes the gap.
      await this.sub.ping();
      let start = `${Math.max(0, Math.floor(from))}-0`;
      for (let page = 0; page < CATCH_UP_PAGES && !this.closing; page++) {
        const entries = streamEntries(
          await this.client.call("XRANGE", stream, start, "+", "COUNT", CATCH_UP_PAGE),
        );
        for (const { id, fields } of entries) {
          start = `(${id}`;
          const text = fields?.get("e");
          if (text !== undefined) this.deliver(text, stream);
        }
        if (entries.length < CATCH_UP_PAGE) break;
        if (page === CATCH_UP_PAGES - 1)
          process.emitWarning(
            `datacoll: delivered ${CATCH_UP_PAGES * CATCH_UP_PAGE} missed events after a reconnect; the rest of what was missed is not delivered`,
          );
      }
      if (gap === this.gaps) this.gapFrom = undefined;
    } catch {
      // Redis went away again (the next "ready" reads from the same point), or only the command
      // connection is still reconnecting (tried again in a second).
      failed = true;
    } finally {
      const held = this.held;
      this.held = undefined;
      for (const m of held) this.deliver(m, this.key(CHANNEL.points));
      // A "ready" that came while this ran was passed over: this one goes again.
      if (this.gapFrom !== undefined && !this.closing && this.sub.status === "ready") {
        if (!failed) void this.catchUp();
        else if (this.catchUpRetry === undefined)
          this.catchUpRetry = setTimeout(() => {
            this.catchUpRetry = undefined;
            void this.catchUp();
          }, 1000);
      }
    }
  }

  /** EVALSHA with the script loaded on first use (and again after a server restart lost it). */
  private async script(
    lua: string,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    let sha = this.shas.get(lua);
    if (sha === undefined) {
      sha = String(await this.client.call("SCRIPT", "LOAD", lua));
      this.shas.set(lua, sha);
    }
    try {
      // One array, not spread arguments: a large registry write has more arguments than a call may take.
      return await this.client.call("EVALSHA", [sha, keys.length, ...keys, ...args]);
    } catch (err) {
      if (!/NOSCRIPT/.test(errorMessage(err))) throw err;
      return this.client.call("EVAL", [lua, keys.length, ...keys, ...args]);
    }
  }

  private backend(): RegistryBackend {
    return {
      rev: async () => toInt(await this.client.call("GET", this.key(K.rev))),
      hget: async (key, field) => asString(await this.client.call("HGET", this.key(key), field)) ?? undefined,
      hmget: async (key, fields) =>
        fields.length === 0 ? [] : asStrings(await this.client.call("HMGET", this.key(key), ...fields)),
      hgetall: async (key) => pairs(await this.client.call("HGETALL", this.key(key))),
      smembers: async (key) =>
        asStrings(await this.client.call("SMEMBERS", this.key(key))).filter(
          (s): s is string => s !== undefined,
        ),
      apply: (rev, ops, message) => this.applyPlan(rev, ops, message),
    };
  }

  /** A registry plan, applied by APPLY_LUA if the revision is still `rev`; a large one staged first. */
  private async applyPlan(rev: number, ops: readonly RegistryOp[], message: string): Promise<boolean> {
    const slicer = new Slicer();
    const byKey = await runsByKey(ops, slicer);
    const large = ops.length >= LARGE_PLAN_OPS;
    const id = large ? crypto.randomBytes(8).toString("hex") : "";
    const stagePrefix = `stage:${id}:`;
    const trashPrefix = `trash:${id}:`;
    const staged: string[] = [];
    try {
      if (large) {
        if (toInt(await this.client.call("GET", this.key(K.rev))) !== rev) return false;
        await this.stage(byKey, stagePrefix, staged, slicer);
      }
      const args = [String(rev), this.prefix, CHANNEL.changes, message, stagePrefix, trashPrefix];
      args.push(String(staged.length));
      for (const k of staged) args.push(k);
      for (const [key, runs] of byKey) {
        if (large && registryOnly(key)) continue;
        for (const r of runs) args.push(r.op, key, JSON.stringify(r.args));
        await slicer.tick();
      }
      return toInt(await this.script(APPLY_LUA, [this.key(K.rev)], args)) >= 0;
    } finally {
      // What was swapped in left the old keys in the trash; what was refused left its stage keys.
      // Both expire anyway if this fails. UNLINK frees large values off Redis's main thread.
      const leftovers = staged.flatMap((k) => [this.key(stagePrefix + k), this.key(trashPrefix + k)]);
      for (let i = 0; i < leftovers.length; i += 1000)
        // Redis away: the keys expire on their own (above); the write's own outcome is what the caller hears.
        await this.client.call("UNLINK", leftovers.slice(i, i + 1000)).catch(() => undefined);
    }
  }

  /**
   * Write a large plan's registry keys ahead under stage keys (a copy of each live key with the plan's
   * writes on it), in commands small enough to leave Redis free for everyone else: the atomic step then
   * only swaps them in. Applied in one script, a 100,000-point import held Redis for 0.5-1 s. `staged`
   * collects every key begun, so that the caller removes them whatever happens.
   */
  private async stage(
    byKey: ReadonlyMap<string, readonly Run[]>,
    stagePrefix: string,
    staged: string[],
    slicer: Slicer,
  ): Promise<void> {
    const queue = [...byKey].filter(([key]) => registryOnly(key));
    const worker = async (): Promise<void> => {
      for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
        const [key, runs] = next;
        staged.push(key);
        const target = this.key(stagePrefix + key);
        const first = runs[0].op;
        if (first !== "del") await this.copyKey(this.key(key), target, first === "hset" || first === "hdel");
        for (const r of runs) {
          if (r.op === "del") await this.client.call("DEL", target);
          else
            for (let i = 0; i < r.args.length; i += STAGE_CHUNK)
              await this.client.call(RUN_COMMAND[r.op], [target, ...r.args.slice(i, i + STAGE_CHUNK)]);
          await this.client.call("PEXPIRE", target, STAGE_TTL_MS);
          await slicer.tick();
        }
      }
    };
    await Promise.all(Array.from({ length: STAGE_CONCURRENCY }, worker));
  }

  /** Copy a hash or set a part at a time (HSCAN/SSCAN), so a large one never holds Redis for long. */
  private async copyKey(from: string, to: string, hash: boolean): Promise<void> {
    let cursor = "0";
    do {
      const reply = await this.client.call(hash ? "HSCAN" : "SSCAN", from, cursor, "COUNT", STAGE_CHUNK / 2);
      if (!Array.isArray(reply) || reply.length !== 2) throw new Error(`unexpected scan reply from ${from}`);
      cursor = String(reply[0]);
      const items = asStrings(reply[1]).filter((x): x is string => x !== undefined);
      if (items.length > 0) {
        await this.client.call(hash ? "HSET" : "SADD", [to, ...items]);
        await this.client.call("PEXPIRE", to, STAGE_TTL_MS);
      }
    } while (cursor !== "0");
  }

  async ingest(env: PointsEnvelope): Promise<void> {
    if (env.points.length === 0) return;
    if (!this.ids.isOwn(env.id)) this.recent.seen(env.id);
    const jsons = env.points.map(pointJson);
    const args: (string | number)[] = [
      this.key(K.history("")),
      this.trim,
      this.bounds.history,
      this.key(K.events),
      this.bounds.events,
      this.key(CHANNEL.points),
      envelopeJson(env, jsons),
    ];
    env.points.forEach((p, i) => args.push(p.key, jsons[i]));
    await this.script(INGEST_LUA, [this.key(K.latest)], args);
  }

  caughtUp(): boolean {
    // A catch-up under way holds a gap (gapFrom is cleared only as it ends).
    return !this.closing && this.sub.status === "ready" && this.gapFrom === undefined;
  }

  onRemotePoints(listener: (env: PointsEnvelope) => void): Unsubscribe {
    this.remoteListeners = [...this.remoteListeners, listener];
    return () => {
      this.remoteListeners = this.remoteListeners.filter((l) => l !== listener);
    };
  }

  async latest(key: PointKey): Promise<DataPoint | undefined> {
    const v = asString(await this.client.call("HGET", this.key(K.latest), key));
    return v === undefined ? undefined : readPoint(v);
  }

  async latestMany(keys: readonly PointKey[]): Promise<(DataPoint | undefined)[]> {
    if (keys.length === 0) return [];
    const vs = asStrings(await this.client.call("HMGET", this.key(K.latest), ...keys));
    return vs.map((v) => (v === undefined ? undefined : readPoint(v)));
  }

  private async newest(key: string, field: string, count: number): Promise<string[]> {
    checkCount(count);
    if (count === 0) return [];
    const entries = streamEntries(
      await this.client.call("XREVRANGE", this.key(key), "+", "-", "COUNT", count),
    );
    return entries.map((e) => e.fields?.get(field)).filter((v): v is string => v !== undefined);
  }

  async history(key: PointKey, count: number): Promise<DataPoint[]> {
    return (await this.newest(K.history(key), "p", count)).map(readPoint);
  }

  async historyLength(key: PointKey): Promise<number> {
    return toInt(await this.client.call("XLEN", this.key(K.history(key))));
  }

  async appendFrames(deviceId: string, frames: readonly FrameRecord[]): Promise<void> {
    frames.forEach(checkFrame);
    if (frames.length === 0) return;
    const args = [this.trim, this.bounds.frames, "f", ...frames.map((f) => JSON.stringify(f))];
    await this.script(XADD_MANY_LUA, [this.key(K.frames(deviceId))], args);
  }

  async frames(deviceId: string, count: number): Promise<FrameRecord[]> {
    return (await this.newest(K.frames(deviceId), "f", count)).map(readFrame);
  }

  async framesLength(deviceId: string): Promise<number> {
    return toInt(await this.client.call("XLEN", this.key(K.frames(deviceId))));
  }

  async putAlarm(alarm: AlarmState): Promise<void> {
    checkAlarm(alarm);
    const m = this.client.multi();
    m.call("HSET", this.key(K.alarm(alarm.key)), alarm.condition, JSON.stringify(alarm));
    m.call("SADD", this.key(K.alarms), alarm.key);
    execResults(await m.exec());
  }

  async deleteAlarm(key: PointKey, condition: string): Promise<void> {
    await this.script(DELETE_ALARM_LUA, [this.key(K.alarm(key)), this.key(K.alarms)], [condition, key]);
  }

  async alarms(key?: PointKey): Promise<AlarmState[]> {
    const keys =
      key === undefined
        ? asStrings(await this.client.call("SMEMBERS", this.key(K.alarms))).filter(
            (k): k is string => k !== undefined,
          )
        : [key];
    if (keys.length === 0) return [];
    const p = this.client.pipeline();
    for (const k of keys) p.call("HGETALL", this.key(K.alarm(k)));
    return execResults(await p.exec()).flatMap((r) => [...pairs(r).values()].map(readAlarm));
  }

  async setDeviceStatus(deviceId: string, status: DeviceStatus): Promise<void> {
    checkStatus(deviceId, status);
    await this.client.call("HSET", this.key(K.status), deviceId, JSON.stringify(status));
  }

  async deviceStatus(deviceId: string): Promise<DeviceStatus | undefined> {
    const v = asString(await this.client.call("HGET", this.key(K.status), deviceId));
    return v === undefined ? undefined : readStatus(v);
  }

  async allDeviceStatus(): Promise<Map<string, DeviceStatus>> {
    const all = pairs(await this.client.call("HGETALL", this.key(K.status)));
    return new Map([...all].map(([id, v]) => [id, readStatus(v)]));
  }

  async ensureEventGroup(group: string, from: "start" | "end"): Promise<void> {
    try {
      await this.client.call(
        "XGROUP",
        "CREATE",
        this.key(K.events),
        group,
        from === "end" ? "$" : "0",
        "MKSTREAM",
      );
    } catch (err) {
      // The group being there already is what the caller wanted.
      if (!/BUSYGROUP/.test(errorMessage(err))) throw err;
    }
  }

  private records(reply: unknown): EventRecord[] {
    // XREADGROUP answers null when nothing came, else [[stream, entries]] over RESP2 and, as a RESP3
    // map flattened by ioredis, [stream, entries].
    if (!Array.isArray(reply) || reply.length === 0) return [];
    const entries: unknown = Array.isArray(reply[0]) ? (reply[0] as unknown[])[1] : reply[1];
    return streamEntries(entries).map(({ id, fields }) => {
      const e = fields?.get("e");
      if (e === undefined) return { id, ok: false, reason: "trimmed from the stream" };
      const d = decodePoints(e);
      return d.ok ? { id, ok: true, envelope: d.envelope } : { id, ok: false, reason: d.reason };
    });
  }

  private missingGroup(err: unknown, group: string): unknown {
    return /NOGROUP/.test(errorMessage(err))
      ? new DataCollError(
          "not-found",
          `event group ${group} does not exist (ensureEventGroup first)`,
          "group",
        )
      : err;
  }

  async readEvents(group: string, consumer: string, count: number, blockMs: number): Promise<EventRecord[]> {
    checkCount(count);
    const key = this.key(K.events);
    const args: (string | number)[] = ["GROUP", group, consumer, "COUNT", count];
    try {
      if (blockMs <= 0)
        return this.records(await this.client.call("XREADGROUP", ...args, "STREAMS", key, ">"));
      if (this.closing) return [];
      this.blocking ??= this.makeBlocking();
      return this.records(
        await this.blocking.call("XREADGROUP", ...args, "BLOCK", blockMs, "STREAMS", key, ">"),
      );
    } catch (err) {
      if (this.closing) return [];
      throw this.missingGroup(err, group);
    }
  }

  private makeBlocking(): Redis {
    const c = this.makeClient();
    // Its outages are the command connection's outages, reported there.
    c.on("error", () => undefined);
    return c;
  }

  async readPendingEvents(group: string, consumer: string, count: number): Promise<EventRecord[]> {
    checkCount(count);
    try {
      return this.records(
        await this.client.call(
          "XREADGROUP",
          "GROUP",
          group,
          consumer,
          "COUNT",
          count,
          "STREAMS",
          this.key(K.events),
          "0",
        ),
      );
    } catch (err) {
      throw this.missingGroup(err, group);
    }
  }

  async ackEvents(group: string, ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return toInt(await this.client.call("XACK", this.key(K.events), group, ...ids));
  }

  async eventsLength(): Promise<number> {
    return toInt(await this.client.call("XLEN", this.key(K.events)));
  }

  /** Whether the command connection is up now (ioredis's own status), for a close deciding not to wait. */
  get reachable(): boolean {
    return !this.closing && this.client.status === "ready";
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.remoteListeners = [];
    if (this.catchUpRetry !== undefined) clearTimeout(this.catchUpRetry);
    this.catchUpRetry = undefined;
    // A blocked XREADGROUP would hold a QUIT back until its timeout: that connection is just dropped.
    if (this.blocking) dropRedis(this.blocking);
    await Promise.all([closeRedis(this.client), closeRedis(this.sub)]);
    this.setState({ kind: "closed" });
    this.stateListeners.clear();
  }
}
