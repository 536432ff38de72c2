/**
 * No leaks across redeploys: 100 full redeploys of a flow with a save node (its manager on Redis, so the
 * backlog connection is exercised too), each saving a point, leave no MySQL connection on the test's
 * database and no saver connection in Redis; at no time does a deploy hold more than its pool. Counted
 * per database and per client name, not by the server-wide Threads_connected, which every other client
 * of the shared servers moves.
 */
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import type { RowDataPacket } from "mysql2/promise";
import type mysql from "mysql2/promise";
import { helper, useNodeRed } from "../../support/node-red";
import { until } from "../../support/net";
import { REDIS_URL, uniqueNamespace } from "../../support/services";
import { adminConnection, createTestDatabase, type TestDatabase } from "../../support-history/mysql";
import { deleteNamespace } from "../store/redis-admin";
import { collect, errorsOf, modules, redeploy, mysqlCredentials, mysqlNode, saveFlow, TAB } from "./flow";

const REDEPLOYS = 100;
const POOL = 2;
// The save node's id names its Redis connection (`datacoll-save:<id>`), and CLIENT LIST shows every
// client of the shared Redis: an id of this run's own, so a save node "s" of a test file running beside
// this one (outage.test.ts has one) is not counted as ours.
const SAVE = uniqueNamespace("redeploy").slice(0, -1);

describe("datacoll-save over 100 redeploys", function () {
  this.timeout(60_000);
  useNodeRed();
  let db: TestDatabase;
  let watcher: mysql.Connection;
  let redis: Redis;
  let namespace: string;

  before(async function () {
    db = await createTestDatabase("dc_save_redeploy");
    watcher = await adminConnection();
    redis = new Redis(REDIS_URL);
    namespace = uniqueNamespace("save");
  });
  after(async function () {
    await redis.quit();
    await watcher.end();
    await db.drop();
    await deleteNamespace(namespace);
  });

  /** Server connections on this test's database, its own admin connection included. */
  async function ours(): Promise<number> {
    const [r] = await watcher.query<RowDataPacket[]>(
      "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ?",
      [db.name],
    );
    return Number(r[0].n);
  }
  async function saverClients(): Promise<number> {
    const list = String(await redis.call("CLIENT", "LIST"));
    return list.split("\n").filter((l) => l.includes(` name=datacoll-save:${SAVE} `)).length;
  }

  it("leaves no MySQL connection on its database and no Redis connection", async function () {
    const startOurs = await ours();
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
      mysqlNode("db", db.name, { poolSize: String(POOL) }),
      ...saveFlow(SAVE, "db", { manager: "m", historyTable: "h", maxDelay: "5" }),
    ];
    await helper.load(modules, flow, mysqlCredentials("db"));
    let most = 0;
    for (let i = 0; i < REDEPLOYS; i++) {
      if (i > 0) await redeploy(flow, "full");
      const out = collect(`${SAVE}-out`);
      const errors = errorsOf(SAVE);
      helper
        .getNode(SAVE)
        .receive({ topic: "r:d:p", payload: i, point: { key: "r:d:p", value: i, ts: 1e12 + i } });
      await until(() => out.length === 1 || errors.length > 0, 5000, `redeploy ${i}: the point accepted`);
      assert.deepEqual(errors, []);
      if (i === 0) assert.equal(await saverClients(), 1, "the saver's Redis connection is seen by name");
      if (i % 10 === 9) most = Math.max(most, (await ours()) - startOurs);
    }
    // An accepted point is durable in the saver's Redis backlog; the deploy after it drains that into
    // MySQL on its own time, so the rows are counted once they are all there (the last may be in flight).
    const rowsIn = async (): Promise<number> => {
      const [written] = await db.admin.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM h");
      return Number(written[0].n);
    };
    await until(async () => (await rowsIn()) >= REDEPLOYS - 1, 10_000, "a row for each deploy's point").catch(
      async (err: Error) => {
        throw new Error(`${err.message}: ${await rowsIn()} rows`);
      },
    );
    assert.ok(most <= POOL, `a deploy held ${most} connections; its pool has ${POOL}`);
    await helper.unload();
    await until(async () => (await ours()) === startOurs, 10_000, "our MySQL connections closed");
    await until(async () => (await saverClients()) === 0, 5000, "the saver's Redis connection closed");
    console.log(`      at most ${most} MySQL connections held by a deploy over ${REDEPLOYS} redeploys`);
  });
});
