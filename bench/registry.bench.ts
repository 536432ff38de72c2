/**
 * registry: a 100,000-row CSV import (`POST /api/v2/import`) into the Redis store, served over HTTP by the
 * REST router, with a client asking `GET /api/v1/devices` again and again meanwhile.
 *
 * - import_100k: rows/s of the import — checked, all or nothing, staged and swapped in — against the
 *   same rows written by a plain pipelined loop (HSET/SADD per record, index and address entry, 10,000
 *   commands per pipeline; no checks, not atomic), same run, same Redis.
 * - import_worst_wait: the longest any of those GETs waited while the import ran, over every repeat.
 *
 * Each repeat imports into a fresh namespace that is deleted afterwards.
 */
import crypto from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import { RedisStore } from "../src/core/store/redis-store";
import { K } from "../src/core/store/keys";
import { pointKey } from "../src/core/model/datapoint";
import { handle } from "../src/core/rest/router";
import { parseCsv } from "../src/core/csv";
import type { RestContext } from "../src/core/rest/types";
import { plantCsv } from "../test/support/plant-csv";
import { deleteNamespace } from "../test/integration/store/redis-admin";
import { worstWaitDuring } from "../test/support/worst-wait";
import { median } from "./lib/measure";
import type { Benchmark } from "./lib/types";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const ROWS = 100_000;
const REPEATS = 3;
const MAX_BODY = 8_000_000;
const PIPELINE = 10_000;

/** The REST router on a plain HTTP server: the bytes in, the answer out. */
function serve(ctx: RestContext): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://localhost");
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
      void handle(
        {
          method: req.method ?? "GET",
          path: url.pathname.replace(/^\/api/, ""),
          query: Object.fromEntries(url.searchParams),
          headers,
          body: chunks.length === 0 ? undefined : Buffer.concat(chunks).toString("utf8"),
        },
        ctx,
      ).then((r) => {
        const text = r.encoded || typeof r.body === "string" ? String(r.body) : JSON.stringify(r.body);
        res.writeHead(r.status, r.headers).end(text);
      });
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as AddressInfo).port })),
  );
}

function request(
  agent: http.Agent,
  port: number,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        agent,
        headers: body === undefined ? {} : { "content-type": "text/csv" },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** One import over HTTP with GETs going on; rows/s and the worst GET wait in ms. */
async function importOnce(
  csv: string,
  rows: number,
): Promise<{ rate: number; worstMs: number; asked: number }> {
  const namespace = `bench-reg-${crypto.randomBytes(4).toString("hex")}:`;
  const store = new RedisStore({ url: REDIS_URL, namespace, instanceId: "bench" });
  await store.ready();
  const { server, port } = await serve({ store, basePath: "/api", maxBodyBytes: MAX_BODY, now: Date.now });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
  try {
    const t0 = performance.now();
    const {
      result: r,
      worstMs,
      asked,
    } = await worstWaitDuring(
      async () => {
        const g = await request(agent, port, "GET", "/api/v1/devices");
        if (g.status !== 200) throw new Error(`GET /api/v1/devices: ${g.status} ${g.text}`);
      },
      request(agent, port, "POST", "/api/v2/import", csv),
    );
    const seconds = (performance.now() - t0) / 1000;
    if (r.status !== 200) throw new Error(`POST /api/v2/import: ${r.status} ${r.text.slice(0, 300)}`);
    const points = await store.registry.listPoints({ termId: "t0" });
    if (points.length === 0) throw new Error("the import stored no points");
    return { rate: rows / seconds, worstMs, asked };
  } finally {
    agent.destroy();
    await new Promise((resolve) => server.close(resolve));
    await store.close();
    await deleteNamespace(namespace, REDIS_URL);
  }
}

/** The baseline: the same rows as plain HSET/SADD commands, pipelined; rows/s. */
async function pipelinedOnce(csv: string): Promise<number> {
  const ns = `bench-reg-${crypto.randomBytes(4).toString("hex")}:`;
  const c = new Redis(REDIS_URL);
  try {
    const t0 = performance.now();
    const table = parseCsv(csv);
    const at = (name: string): number => table.header.indexOf(name);
    const [kind, id, deviceId, termId, itemId, address] = [
      "kind",
      "id",
      "deviceid",
      "termid",
      "itemid",
      "address",
    ].map(at);
    const termAddress = new Map<string, string>();
    let p = c.pipeline();
    let queued = 0;
    const flush = async (): Promise<void> => {
      await p.exec();
      p = c.pipeline();
      queued = 0;
    };
    for (const { cells } of table.rows) {
      const record = Object.fromEntries(
        table.header.map((h, i) => [h, cells[i]]).filter(([, v]) => v !== ""),
      );
      switch (cells[kind]) {
        case "device":
          p.hset(ns + K.devices, cells[id], JSON.stringify(record));
          queued += 1;
          break;
        case "item":
          p.hset(ns + K.items, cells[id], JSON.stringify(record));
          queued += 1;
          break;
        case "term":
          termAddress.set(cells[id], cells[address]);
          p.hset(ns + K.terms, cells[id], JSON.stringify(record));
          p.sadd(ns + K.deviceTerms(cells[deviceId]), cells[id]);
          queued += 2;
          break;
        case "point": {
          const key = pointKey(cells[deviceId], cells[termId], cells[itemId]);
          const addr = `modbus:${cells[deviceId]}:${termAddress.get(cells[termId])}:${cells[address]}`;
          p.hset(ns + K.points, key, JSON.stringify({ ...record, key }));
          p.sadd(ns + K.termPoints(cells[termId]), key);
          p.sadd(ns + K.itemPoints(cells[itemId]), key);
          p.hset(ns + K.address, addr, key);
          p.hset(ns + K.addressOf, key, addr);
          queued += 5;
          break;
        }
      }
      if (queued >= PIPELINE) await flush();
    }
    await flush();
    return table.rows.length / ((performance.now() - t0) / 1000);
  } finally {
    await c.quit();
    await deleteNamespace(ns, REDIS_URL);
  }
}

const bench: Benchmark = {
  name: "registry",
  async run() {
    const { csv, rows } = plantCsv(ROWS);
    if (rows !== ROWS) throw new Error(`the plant has ${rows} rows`);
    // Warm both paths (JIT, script load) outside the measured runs.
    const warm = plantCsv(ROWS / 10);
    await importOnce(warm.csv, warm.rows);
    await pipelinedOnce(warm.csv);
    const ours: number[] = [];
    const waits: number[] = [];
    const baseline: number[] = [];
    for (let r = 0; r < REPEATS; r++) {
      const o = await importOnce(csv, rows);
      ours.push(o.rate);
      waits.push(o.worstMs);
      baseline.push(await pipelinedOnce(csv));
    }
    const rate = median(ours);
    const base = median(baseline);
    return {
      import_100k: {
        value: rate,
        unit: "rows/s",
        baseline: `${Math.round(base).toLocaleString("en-US")} rows/s, a plain pipelined HSET/SADD loop`,
        ratio: rate / base,
        goal: "succeeds, all or nothing",
      },
      import_worst_wait: {
        value: Math.max(...waits),
        unit: "ms",
        goal: "<= 200 ms",
      },
    };
  },
};

export default bench;
