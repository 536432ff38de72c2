/** Test helpers for the Redis store: open one on the shared test Redis, and remove a namespace's keys. */
import { Redis } from "ioredis";
import { RedisStore, type RedisStoreOptions } from "../../../src/core/store/redis-store";
import { REDIS_URL } from "../../support/services";

export async function openRedisStore(
  opts: Omit<RedisStoreOptions, "url"> & { url?: string },
): Promise<RedisStore> {
  const store = new RedisStore({ url: REDIS_URL, ...opts });
  await store.ready();
  return store;
}

/** Delete every key under a prefix. */
export async function deleteNamespace(prefix: string, url = REDIS_URL): Promise<void> {
  const admin = new Redis(url);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await admin.del(...keys);
    } while (cursor !== "0");
  } finally {
    await admin.quit();
  }
}
