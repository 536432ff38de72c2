/**
 * Two instances of the REST API on one namespace of one store, memory or Redis, as the registry race and
 * import tests use them: requests to either race inside one process and across instances, and the raw
 * keys are there for the invariant checker.
 */
import { api, type Api } from "../unit/rest/helpers";
import { MemoryDatabase, MemoryStore } from "../../src/core/store/memory-store";
import { deleteNamespace, openRedisStore } from "../integration/store/redis-admin";
import { uniqueNamespace } from "./services";
import { memoryRaw, redisRaw, type RawRegistry } from "./registry-invariants";

export const STORE_KINDS = ["memory", "Redis"] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

export interface TwoInstances {
  readonly a: Api;
  readonly b: Api;
  readonly raw: RawRegistry;
  readonly namespace: string;
  /** The memory store's database (undefined on Redis). */
  readonly database?: MemoryDatabase;
  close(): Promise<void>;
}

export async function openTwo(kind: StoreKind, prefix: string): Promise<TwoInstances> {
  if (kind === "memory") {
    const namespace = `${prefix}:`;
    const database = new MemoryDatabase();
    const a = api(undefined, undefined, new MemoryStore({ namespace, instanceId: "a", database }));
    const b = api(undefined, undefined, new MemoryStore({ namespace, instanceId: "b", database }));
    return {
      a,
      b,
      raw: memoryRaw(database, namespace),
      namespace,
      database,
      close: async () => {
        await a.close();
        await b.close();
      },
    };
  }
  const namespace = uniqueNamespace(prefix);
  const a = api(undefined, undefined, await openRedisStore({ namespace, instanceId: "a" }));
  const b = api(undefined, undefined, await openRedisStore({ namespace, instanceId: "b" }));
  const raw = redisRaw(namespace);
  return {
    a,
    b,
    raw,
    namespace,
    close: async () => {
      await a.close();
      await b.close();
      await raw.close();
      await deleteNamespace(namespace);
    },
  };
}
