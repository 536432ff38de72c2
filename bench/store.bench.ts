/**
 * store: DataPoint ingest into the Redis store — latest value, history stream and publish to other
 * instances — in batches with several batches in flight (ours), against one awaited command per
 * operation (baseline: HSET latest, XADD history, PUBLISH, each awaited, point by point), same run, same
 * Redis. Each repeat writes to a fresh namespace that is deleted afterwards.
 */
import crypto from "node:crypto";
import { Redis } from "ioredis";
import { RedisStore } from "../src/core/store/redis-store";
import { ENVELOPE_VERSION, EventIds, pointJson } from "../src/core/bus/envelope";
import type { DataPoint } from "../src/core/model/datapoint";
import type { Benchmark } from "./lib/types";
import { median } from "./lib/measure";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const KEYS = 1000;
const BATCH = 1000;
const IN_FLIGHT = 8;
const OURS_POINTS = 200_000;
const BASELINE_POINTS = 5_000;
const REPEATS = 5;

function samples(n: number): DataPoint[] {
  return Array.from({ length: n }, (_, i) => {
    const k = i % KEYS;
    return {
      key: `plc${k % 10}:t${k % 7}:i${k}`,
      deviceId: `plc${k % 10}`,
      termId: `t${k % 7}`,
      itemId: `i${k}`,
      value: i * 0.5,
      ts: 1_700_000_000_000 + i,
      quality: {},
      cause: "poll",
    };
  });
}

async function dropNamespace(admin: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await admin.del(...keys);
  } while (cursor !== "0");
}

/** Median points/s over the repeats; set-up (connections) and clean-up are outside the timed part. */
async function measure(
  admin: Redis,
  setup: (ns: string) => Promise<() => Promise<void>>,
  work: () => Promise<number>,
): Promise<number> {
  const rates: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const ns = `bench-${crypto.randomBytes(4).toString("hex")}:`;
    const teardown = await setup(ns);
    try {
      const t0 = process.hrtime.bigint();
      const n = await work();
      rates.push(n / (Number(process.hrtime.bigint() - t0) / 1e9));
    } finally {
      await teardown();
      await dropNamespace(admin, ns);
    }
  }
  return median(rates);
}

const bench: Benchmark = {
  name: "store",
  async run() {
    const admin = new Redis(REDIS_URL);
    const points = samples(OURS_POINTS);
    const ids = new EventIds();
    let store: RedisStore | undefined;
    let client: Redis | undefined;
    let ns = "";
    try {
      const ours = await measure(
        admin,
        async (namespace) => {
          const s = new RedisStore({ url: REDIS_URL, namespace, instanceId: "bench", ids });
          await s.ready();
          store = s;
          return () => s.close();
        },
        async () => {
          let inFlight: Promise<void>[] = [];
          for (let i = 0; i < points.length; i += BATCH) {
            const batch = points.slice(i, i + BATCH);
            const env = {
              v: ENVELOPE_VERSION,
              instance: "bench",
              id: ids.next(),
              ts: 0,
              points: batch,
            } as const;
            inFlight.push(store?.ingest(env) ?? Promise.reject(new Error("no store")));
            if (inFlight.length >= IN_FLIGHT) {
              await Promise.all(inFlight);
              inFlight = [];
            }
          }
          await Promise.all(inFlight);
          return points.length;
        },
      );
      const baseline = await measure(
        admin,
        async (namespace) => {
          const c = new Redis(REDIS_URL);
          client = c;
          ns = namespace;
          return async () => {
            await c.quit();
          };
        },
        async () => {
          const c = client;
          if (!c) throw new Error("no client");
          for (const p of points.slice(0, BASELINE_POINTS)) {
            const json = pointJson(p);
            await c.hset(`${ns}latest`, p.key, json);
            await c.xadd(`${ns}hist:${p.key}`, "MAXLEN", "~", 10_000, "*", "p", json);
            await c.publish(
              `${ns}points`,
              `{"v":1,"instance":"bench","id":"${ids.next()}","ts":0,"points":[${json}]}`,
            );
          }
          return BASELINE_POINTS;
        },
      );
      return {
        ingest_pipelined: {
          value: ours,
          unit: "points/s",
          baseline: `${Math.round(baseline).toLocaleString("en-US")} points/s, one awaited command per operation`,
          ratio: ours / baseline,
          goal: ">= 100,000 points/s, ratio >= 5",
        },
      };
    } finally {
      await admin.quit();
    }
  },
};

export default bench;
