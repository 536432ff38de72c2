/**
 * Redis goes away mid-run and comes back: the store reports it, reconnects with backoff, nothing crashes,
 * and reads, writes and pub/sub work again afterwards. The test runs its own redis-server on a spare
 * port, never the shared one.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { Redis } from "ioredis";
import { RedisStore } from "../../../src/core/store/redis-store";
import type { StoreState } from "../../../src/core/store/store";
import type { PointsEnvelope } from "../../../src/core/bus/envelope";
import { until } from "../../support/net";
import { dp, envelope } from "./contract";
import { sparePort, startRedis, stopRedis } from "./redis-server";

function nextState(store: RedisStore, kind: StoreState["kind"]): Promise<StoreState> {
  return new Promise((resolve) => {
    const off = store.onState((s) => {
      if (s.kind === kind) {
        off();
        resolve(s);
      }
    });
  });
}

/** Round trips until both stores' subscriber connections are subscribed again on the new server. */
async function resubscribed(url: string, channel: string, subscribers: number): Promise<void> {
  const admin = new Redis(url);
  try {
    for (let i = 0; i < 1000; i++) {
      const reply = (await admin.call("PUBSUB", "NUMSUB", channel)) as unknown[];
      if (Number(reply[1]) >= subscribers) return;
      await new Promise<void>((r) => setImmediate(r));
    }
    assert.fail(`${channel} did not get ${subscribers} subscribers back`);
  } finally {
    await admin.quit();
  }
}

describe("RedisStore across a Redis restart", function () {
  this.timeout(30_000);
  let port: number;
  let server: ChildProcess | undefined;
  const stores: RedisStore[] = [];

  before(async function () {
    port = await sparePort();
  });

  afterEach(async function () {
    for (const s of stores.splice(0)) await s.close();
    if (server) await stopRedis(server);
    server = undefined;
  });

  it("reconnects, keeps working and hears other instances again", async function () {
    const url = `redis://127.0.0.1:${port}`;
    server = await startRedis(port);
    const open = async (instanceId: string): Promise<RedisStore> => {
      const s = new RedisStore({ url, namespace: "rs:", instanceId, reconnect: { baseMs: 20, maxMs: 200 } });
      stores.push(s);
      await s.ready();
      return s;
    };
    const a = await open("a");
    const b = await open("b");
    await a.registry.putItem({ id: "ua" });
    await a.ingest(envelope([dp("d:t:a", 1)]));

    const reconnecting = nextState(a, "reconnecting");
    await stopRedis(server);
    const st = await reconnecting;
    assert.ok(st.kind === "reconnecting" && st.delayMs > 0 && st.delayMs <= 250, "backoff is capped");

    // Work asked for during the outage fails or waits; it never takes the process down.
    const during = a.latest("d:t:a").then(
      () => "done",
      (err: unknown) => (err instanceof Error ? "failed" : "odd"),
    );

    const connected = Promise.all([nextState(a, "connected"), nextState(b, "connected")]);
    server = await startRedis(port);
    await connected;
    assert.ok(["done", "failed"].includes(await during));
    await resubscribed(url, "rs:points", 2);
    await resubscribed(url, "rs:changes", 2);

    // The new server is empty (no persistence) and the scripts cache is gone: writes load them again.
    await a.registry.putDevice({ id: "plc1", protocol: "virtual" });
    assert.equal((await b.registry.getDevice("plc1"))?.protocol, "virtual");
    const heard = new Promise<PointsEnvelope>((resolve) => b.onRemotePoints(resolve));
    const changed = new Promise<string>((resolve) => b.registry.onChange((cs) => resolve(cs[0].id)));
    await a.ingest(envelope([dp("d:t:a", 2)]));
    await a.registry.putItem({ id: "ub" });
    assert.equal((await heard).points[0].value, 2);
    assert.equal(await changed, "ub");
    assert.equal((await b.latest("d:t:a"))?.value, 2);
  });

  it("delivers what another instance published while its subscriber was away, once each and in order", async function () {
    const url = `redis://127.0.0.1:${port}`;
    server = await startRedis(port);
    const a = new RedisStore({ url, namespace: "rs:", instanceId: "a" });
    // A slow reconnect, so the subscriber is away for a while (as after a Redis restart).
    const b = new RedisStore({
      url,
      namespace: "rs:",
      instanceId: "b",
      reconnect: { baseMs: 400, maxMs: 400 },
    });
    stores.push(a, b);
    await Promise.all([a.ready(), b.ready()]);
    const heard: unknown[] = [];
    b.onRemotePoints((env) => heard.push(...env.points.map((p) => p.value)));
    const heardAll = (n: number): Promise<number> =>
      until(() => heard.length >= n, 5000, `${n} values heard`);
    await a.ingest(envelope([dp("d:t:a", 0)]));
    await heardAll(1);
    const admin = new Redis(url);
    try {
      // Drops every subscriber connection; ioredis reconnects them on their backoff (400 ms here).
      assert.equal(b.caughtUp(), true, "subscribed and nothing missed");
      await admin.call("CLIENT", "KILL", "TYPE", "pubsub");
      await until(() => !b.caughtUp(), 5000, "the subscriber seen away");
      const caughtUp: boolean[] = [];
      for (let v = 1; v <= 20; v++) {
        await a.ingest(envelope([dp("d:t:a", v)]));
        caughtUp.push(b.caughtUp());
      }
      assert.ok(caughtUp.includes(false), "not caught up while its subscriber is away");
      await heardAll(21);
      await until(() => b.caughtUp(), 5000, "caught up again once what it missed was read back");
      // A value published now comes on the subscription after anything delivered twice would have.
      await a.ingest(envelope([dp("d:t:a", 21)]));
      await until(() => heard.includes(21), 5000, "the value published after the catch-up");
      assert.deepEqual(
        heard,
        Array.from({ length: 22 }, (_, i) => i),
      );
    } finally {
      await admin.quit();
    }
  });

  it("starts while Redis is not there yet and works once it comes", async function () {
    const url = `redis://127.0.0.1:${port}`;
    const late = new RedisStore({
      url,
      namespace: "rs:",
      instanceId: "late",
      reconnect: { baseMs: 20, maxMs: 100 },
    });
    stores.push(late);
    // Past the retries a command waits through (3 by default): a SUBSCRIBE that gave up would stay lost.
    await new Promise<void>((resolve) => {
      const off = late.onState((st) => {
        if (st.kind === "reconnecting" && st.attempt >= 6) {
          off();
          resolve();
        }
      });
    });
    const ready = late.ready();
    server = await startRedis(port);
    await ready;
    const other = new RedisStore({ url, namespace: "rs:", instanceId: "other" });
    stores.push(other);
    await other.ready();
    const heard = new Promise<PointsEnvelope>((resolve) => late.onRemotePoints(resolve));
    await other.ingest(envelope([dp("d:t:a", 5)]));
    assert.equal((await heard).points[0].value, 5, "the late store subscribed once Redis came");
  });
});
