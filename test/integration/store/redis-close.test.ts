/**
 * Closing Redis connections (src/core/store/redis-close.ts) against a redis-server of the test's own that
 * it kills: a connection waiting to reconnect ends at once and rejects what it holds, instead of keeping
 * its queued commands pending for good (ioredis's disconnect() alone does that); a connection that is up
 * still lets the replies on their way arrive.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { Redis } from "ioredis";
import { closeRedis, closeRedisAfter } from "../../../src/core/store/redis-close";
import { RedisStore } from "../../../src/core/store/redis-store";
import { until } from "../../support/net";
import { sparePort, startRedis, stopRedis } from "./redis-server";

/** How a command ended: its reply, or the message it was rejected with. */
const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    (v) => `answered ${String(v)}`,
    (err: Error) => err.message,
  );

describe("closing Redis connections", function () {
  let port: number;
  let server: ChildProcess | undefined;
  const clients: Redis[] = [];

  beforeEach(async function () {
    port = await sparePort();
    server = await startRedis(port);
  });

  afterEach(async function () {
    for (const c of clients.splice(0)) c.disconnect();
    if (server) await stopRedis(server);
    server = undefined;
  });

  /** A connection that retries every 10 s for as long as it takes, as the store's do in a long outage. */
  async function connection(): Promise<Redis> {
    const c = new Redis(port, "127.0.0.1", { maxRetriesPerRequest: 100, retryStrategy: () => 10_000 });
    c.on("error", () => undefined); // the refused reconnects are the situation under test
    clients.push(c);
    await until(() => c.status === "ready", 5000, "the connection");
    return c;
  }

  async function killServer(c: Redis, wait: Redis["status"] = "reconnecting"): Promise<void> {
    if (server) await stopRedis(server);
    server = undefined;
    await until(() => c.status === wait, 5000, `the connection's status "${wait}"`);
  }

  it("ends a connection waiting to reconnect and rejects its queued commands", async function () {
    const c = await connection();
    await killServer(c);
    const queued = outcome(c.get("k"));
    await closeRedis(c);
    assert.equal(await queued, "Connection is closed.");
    assert.equal(c.status, "end");
  });

  it("lets a connection that is up answer what was sent before the close", async function () {
    const c = await connection();
    await c.set("k", "v");
    const sent = outcome(c.get("k"));
    await closeRedis(c);
    assert.equal(await sent, "answered v");
    await until(() => c.status === "end", 5000, "the connection to end");
  });

  it("drops a connection that goes down while the owner's last work waits on it", async function () {
    const c = await connection();
    await closeRedisAfter(c, async () => {
      // A reply the work waits for when the server dies; the connection is dropped as soon as it
      // notices, so it never waits for a reconnect, and the command fails.
      const waiting = outcome(c.blpop("nothing", 0));
      const admin = await connection();
      await until(async () => String(await admin.client("LIST")).includes("cmd=blpop"), 5000, "BLPOP");
      await killServer(c, "end");
      assert.equal(await waiting, "Connection is closed.");
    });
    assert.equal(c.status, "end");
  });

  it("closes a store whose Redis is gone without waiting, failing its queued commands", async function () {
    const store = new RedisStore({
      url: `redis://127.0.0.1:${port}`,
      namespace: "close:",
      instanceId: "a",
      reconnect: { baseMs: 10_000, maxMs: 10_000 },
    });
    await store.ready();
    assert.equal(store.reachable, true);
    if (server) await stopRedis(server);
    server = undefined;
    await until(() => store.state.kind === "reconnecting", 5000, "the store waiting to reconnect");
    assert.equal(store.reachable, false);
    const queued = outcome(store.latest("d:t:i"));
    await store.close();
    assert.equal(await queued, "Connection is closed.");
    assert.equal(store.state.kind, "closed");
  });
});
