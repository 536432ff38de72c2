/**
 * A save node's writer and where its rows wait: the node's settings turned into BatchWriter options, and
 * the backlog and dead letters in Redis when the node's manager uses Redis (under the manager's namespace,
 * keyed by the node id, so a restarted Node-RED drains what the previous run left), in memory otherwise.
 * An in-memory backlog still holding rows when its node closes for a redeploy is parked under the node id
 * and taken over by the node's next instance, so a redeploy during an outage loses nothing either.
 */
import { DataCollError, errorMessage } from "../../src/core/errors";
import { MemoryBacklog, RedisStreamBacklog, saverKeys } from "../../src/core/history/backlog";
import {
  BatchWriter,
  type BatchWriterOptions,
  type OverflowPolicy,
} from "../../src/core/history/batch-writer";
import { MemoryDeadLetters, RedisDeadLetters } from "../../src/core/history/dead-letters";
import type { Manager } from "../../src/core/manager";
import { closeRedisAfter } from "../../src/core/store/redis-close";
import type { PoolShare } from "./mysql-pool";

export interface SaveDef {
  historyTable?: string;
  alarmsTable?: string;
  createTables?: boolean;
  batchSize?: string | number;
  maxDelay?: string | number;
  saveUnchanged?: boolean;
  deadband?: string | number;
  customSql?: string;
  overflow?: string;
  backlogSize?: string | number;
  durable?: boolean;
}

type Options = Omit<BatchWriterOptions, "mysql" | "backlog" | "deadLetters" | "concurrency">;

const POLICIES: readonly OverflowPolicy[] = ["drop-oldest", "drop-newest", "block"];
const DEAD_LETTERS_KEPT = 1000;
const blank = (v: unknown): boolean => v === undefined || v === null || String(v).trim() === "";
const num = (v: unknown): number | undefined => (blank(v) ? undefined : Number(v));

/** The node's settings as writer options; throws a DataCollError naming the field at fault. */
export function saveOptions(def: SaveDef): Options & { readonly backlogCapacity: number } {
  const overflow = blank(def.overflow) ? "drop-oldest" : def.overflow;
  if (!(POLICIES as readonly unknown[]).includes(overflow))
    throw new DataCollError("invalid", `overflow must be one of ${POLICIES.join(", ")}`, "overflow");
  const deadband = num(def.deadband) ?? 0;
  if (!Number.isFinite(deadband) || deadband < 0)
    throw new DataCollError("invalid", "deadband must be a number of 0 or more", "deadband");
  const backlogCapacity = num(def.backlogSize) ?? 100_000;
  if (!Number.isInteger(backlogCapacity) || backlogCapacity < 1 || backlogCapacity > 10_000_000)
    throw new DataCollError(
      "invalid",
      "backlogSize must be a whole number from 1 to 10000000",
      "backlogSize",
    );
  return {
    tables: {
      history: blank(def.historyTable) ? undefined : String(def.historyTable).trim(),
      alarms: blank(def.alarmsTable) ? undefined : String(def.alarmsTable).trim(),
    },
    createTables: def.createTables !== false,
    customSql: blank(def.customSql) ? undefined : def.customSql,
    batchSize: num(def.batchSize),
    maxDelayMs: num(def.maxDelay),
    saveUnchanged: def.saveUnchanged !== false,
    deadband,
    overflow: overflow as OverflowPolicy,
    backlogCapacity,
    durable: def.durable === true,
    // Inside Node-RED's 15 s close limit, so a black-holed server cannot hold a redeploy past it.
    queryTimeoutMs: 10_000,
    // A plant wants history back within seconds of MySQL returning, not after a 30 s backoff step.
    retryMaxMs: 5_000,
  };
}

export interface Saver {
  readonly writer: BatchWriter;
  readonly backlogKind: "redis" | "memory";
  /**
   * Close the writer (rows still waiting stay in the backlog), then Redis; the pool share is the caller's.
   * Resolves to the rows lost with it: those of an in-memory backlog when the node was removed.
   */
  close(removed: boolean): Promise<number>;
}

const parked = new Map<string, MemoryBacklog>();

/** Open a writer on a pool share; with a Redis manager the backlog and dead letters live in its Redis. */
export function openSaver(
  share: PoolShare,
  saverId: string,
  def: SaveDef,
  manager: Manager | undefined,
  onRedisError: (message: string) => void,
): Saver {
  const options = saveOptions(def);
  const common = { ...options, mysql: { pool: share.pool }, concurrency: share.settings.poolSize };
  if (manager === undefined || manager.settings.store !== "redis") {
    const old = parked.get(saverId);
    parked.delete(saverId);
    // A parked backlog is taken over as it is, even if the capacity setting changed meanwhile: its rows
    // matter more; the new capacity applies from the next deploy that finds it empty.
    const backlog = old ?? new MemoryBacklog(options.backlogCapacity);
    const writer = new BatchWriter({
      ...common,
      backlog,
      deadLetters: new MemoryDeadLetters(DEAD_LETTERS_KEPT),
    });
    return {
      writer,
      backlogKind: "memory",
      close: async (removed) => {
        await writer.close();
        const left = await backlog.size();
        if (left === 0) return 0;
        if (removed) return left;
        parked.set(saverId, backlog);
        return 0;
      },
    };
  }
  // Through the manager, so its AUTH, TLS and Sentinel options reach the backlog's connection too.
  // Named so an operator (and the leak test) can tell the saver's connection in CLIENT LIST.
  const client = manager.openRedis(`datacoll-save:${saverId.replace(/[^\w.:-]/g, "_")}`, {
    maxRetriesPerRequest: 2,
  });
  // Reported through the writer's own failures (an append or read that fails); this only keeps the
  // connection's error events from being unhandled, and names them once per outage.
  let down = false;
  client.on("error", (err: unknown) => {
    if (!down) onRedisError(errorMessage(err));
    down = true;
  });
  client.on("ready", () => (down = false));
  const keys = saverKeys(manager.settings.namespace, saverId);
  let writer: BatchWriter;
  try {
    writer = new BatchWriter({
      ...common,
      backlog: new RedisStreamBacklog(client, keys.backlog, options.backlogCapacity),
      deadLetters: new RedisDeadLetters(client, keys.deadLetters, DEAD_LETTERS_KEPT),
    });
  } catch (err) {
    client.disconnect();
    throw err;
  }
  return {
    writer,
    backlogKind: "redis",
    close: async () => {
      // The writer's last flush moves rows through the backlog: with Redis away that would wait for
      // ioredis to give its commands up, so the connection is dropped first (closeRedisAfter).
      await closeRedisAfter(client, () => writer.close());
      // Rows left in Redis wait for the node's next run, even after it was removed (see the help).
      return 0;
    },
  };
}
