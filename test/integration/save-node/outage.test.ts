/**
 * The outage at node level, through a full redeploy: a steady 5,000 points/s for 20 s into a save node
 * whose manager uses Redis; MySQL is cut off through a TCP proxy for ~8 s in the middle, and the flow is
 * redeployed once during the cut (the old node closes, leaving its backlog in Redis, and a new one in the
 * same runtime takes it over). Every row must arrive exactly once and, per point, in the order it was
 * sent; no message may fail. The full-scale acceptance (60 s, a 20 s cut, a real Node-RED process
 * stopped and started in the cut) is process-outage.test.ts.
 */
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import type { RowDataPacket } from "mysql2/promise";
import { saverKeys } from "../../../src/core/history/backlog";
import { historyTableDdl } from "../../../src/core/history/schema";
import type { DataPoint } from "../../../src/core/model/datapoint";
import { helper, useNodeRed } from "../../support/node-red";
import { until } from "../../support/net";
import { REDIS_URL, uniqueNamespace } from "../../support/services";
import { createTestDatabase, serverPort, type TestDatabase } from "../../support-history/mysql";
import { deleteNamespace } from "../store/redis-admin";
import { TcpProxy } from "../history/tcp-proxy";
import { completions, errorsOf, modules, redeploy, mysqlCredentials, mysqlNode, saveFlow, TAB } from "./flow";

const POINTS = 50;
const RATE = 5000; // rows per second, over all points
const RUN_MS = 20_000;
const CUT_AT_MS = 6_000;
const CUT_MS = 8_000;
const REDEPLOY_AT_MS = 9_000;
const T0 = Date.UTC(2026, 0, 1);

/** Row i of the stream: point i % POINTS, its n-th sample with value n, 10 ms apart in source time. */
function row(i: number): DataPoint {
  const p = i % POINTS;
  const n = Math.floor(i / POINTS);
  return {
    key: `plant:t${p % 5}:i${p}`,
    deviceId: "plant",
    termId: `t${p % 5}`,
    itemId: `i${p}`,
    value: n,
    ts: T0 + n * 10,
    quality: {},
    cause: "poll",
  };
}

/** The feeder's pacing (RATE rows a second, on the clock): a sending clock, not a wait for a result. */
const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 10));

describe("datacoll-save through a MySQL outage and a redeploy (node-level acceptance)", function () {
  this.timeout(90_000);
  useNodeRed();
  let db: TestDatabase;
  let namespace: string;

  before(async function () {
    db = await createTestDatabase("dc_save_outage");
    namespace = uniqueNamespace("save");
  });
  after(async function () {
    await db.drop();
    await deleteNamespace(namespace);
  });

  it("5,000 points/s for 20 s, MySQL cut for 8 s with a redeploy in the cut: every row once, in order per point", async function () {
    // The history table as the node would make it, plus an arrival counter to check the order per point.
    await db.admin.query(historyTableDdl("h"));
    await db.admin.query("ALTER TABLE h ADD COLUMN seq BIGINT NOT NULL AUTO_INCREMENT UNIQUE");
    // Started and stopped inside the test: the leak check after it counts the proxy's server too.
    const proxy = new TcpProxy(serverPort());
    const port = await proxy.start();
    const flow = [
      TAB,
      {
        id: "m",
        type: "datacoll-manager",
        store: "redis",
        redisUrl: REDIS_URL,
        namespace,
        runDevices: false,
      },
      mysqlNode("db", db.name, { port: String(port), poolSize: "4", connectTimeout: "1000" }),
      ...saveFlow("s", "db", {
        manager: "m",
        historyTable: "h",
        batchSize: "1000",
        maxDelay: "50",
        backlogSize: "1000000",
      }),
    ];
    await helper.load(modules, flow, mysqlCredentials("db"));
    let errors = errorsOf("s");
    let done = completions("s");
    let doneBefore = { ok: 0, failed: 0 };
    const failures: string[] = [];
    const redis = new Redis(REDIS_URL);
    const backlogKey = saverKeys(namespace, "s").backlog;
    let peakBacklog = 0;
    let messages = 0;
    const start = Date.now();
    let sent = 0;
    let cut = false;
    let restored = false;
    let redeployed = false;
    try {
      while (sent < (RATE * RUN_MS) / 1000) {
        const elapsed = Date.now() - start;
        if (!cut && elapsed >= CUT_AT_MS) {
          proxy.cut();
          cut = true;
        }
        if (cut && !redeployed && elapsed >= REDEPLOY_AT_MS) {
          // A restart: the old node closes (its rows stay in the Redis backlog), a new one takes over.
          peakBacklog = Math.max(peakBacklog, await redis.xlen(backlogKey));
          failures.push(...errors);
          await redeploy(flow, "full");
          errors = errorsOf("s");
          doneBefore = done;
          done = completions("s");
          redeployed = true;
        }
        if (cut && !restored && elapsed >= CUT_AT_MS + CUT_MS) {
          peakBacklog = Math.max(peakBacklog, await redis.xlen(backlogKey));
          proxy.restore();
          restored = true;
        }
        const due = Math.min((RATE * RUN_MS) / 1000, Math.floor((elapsed * RATE) / 1000));
        const node = helper.getNode("s");
        while (sent < due) {
          const n = Math.min(500, due - sent);
          const payload = Array.from({ length: n }, (_, k) => row(sent + k));
          node.receive({ topic: "plant", payload });
          messages++;
          sent += n;
        }
        await tick();
      }
      const restoredAt = start + CUT_AT_MS + CUT_MS;
      const count = async (): Promise<number> => {
        const [r] = await db.admin.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM h");
        return Number(r[0].n);
      };
      await until(async () => (await count()) === sent, 30_000, `all ${sent} rows in MySQL`);
      const drainedMs = Date.now() - restoredAt;
      failures.push(...errors);
      assert.deepEqual(failures, [], "no message failed");
      // done() per message, from the old instance (before the redeploy) and the new one.
      assert.deepEqual(
        { ok: doneBefore.ok + done.ok, failed: doneBefore.failed + done.failed },
        { ok: messages, failed: 0 },
      );
      assert.equal(await count(), sent);
      // Exactly once: each point has samples 0..n-1, each once (the primary key forbids a second).
      const [perPoint] = await db.admin.query<RowDataPacket[]>(
        "SELECT point_key, COUNT(*) AS n, MIN(value) AS lo, MAX(value) AS hi, COUNT(DISTINCT value) AS d FROM h GROUP BY point_key",
      );
      assert.equal(perPoint.length, POINTS);
      const each = sent / POINTS;
      for (const p of perPoint)
        assert.deepEqual([p.n, p.lo, p.hi, p.d].map(Number), [each, 0, each - 1, each]);
      // In order: per point, arrival order (seq) is sample order.
      const [disorder] = await db.admin.query<RowDataPacket[]>(
        "SELECT COUNT(*) AS n FROM (SELECT value, LAG(value) OVER (PARTITION BY point_key ORDER BY seq) AS prev FROM h) x WHERE prev IS NOT NULL AND value <= prev",
      );
      assert.equal(Number(disorder[0].n), 0, "rows of a point arrived out of order");
      assert.ok(peakBacklog > 0, "rows waited in the Redis backlog during the cut");
      assert.equal(await redis.xlen(backlogKey), 0, "the backlog drained");
      console.log(
        `      ${sent} rows, ${proxy.refused} connection attempts refused during the cut, ` +
          `Redis backlog ${peakBacklog} rows at its largest seen, all rows in MySQL ${drainedMs} ms after restore`,
      );
    } finally {
      await redis.quit();
      await proxy.stop();
    }
  });
});
