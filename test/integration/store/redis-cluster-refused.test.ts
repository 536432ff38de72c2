/**
 * Redis Cluster is not supported (docs/scale-out.md, "Outgrowing one Redis"): a store pointed by URL at a
 * server that is a Cluster node (a redis-server of the test's own, `--cluster-enabled yes`) does not
 * report itself connected but names the reason in its state.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { RedisStore } from "../../../src/core/store/redis-store";
import type { StoreState } from "../../../src/core/store/store";
import { until } from "../../support/net";
import { sparePort, startRedis, stopRedis } from "./redis-server";

describe("the Redis store on a Cluster node", function () {
  let redis: ChildProcess | undefined;
  let store: RedisStore | undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dc-cluster-"));

  after(async function () {
    await store?.close();
    if (redis) await stopRedis(redis);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("refuses it, saying why, instead of reporting itself connected", async function () {
    const port = await sparePort();
    redis = await startRedis(port, [
      "--cluster-enabled",
      "yes",
      "--cluster-config-file",
      path.join(dir, "nodes.conf"),
      "--dir",
      dir,
    ]);
    store = new RedisStore({ url: `redis://127.0.0.1:${port}`, namespace: "cl:", instanceId: "a" });
    const states: StoreState[] = [];
    store.onState((s) => states.push(s));
    await until(() => states.some((s) => s.kind === "error"), 10_000, "the store's error state");
    const error = states.find((s) => s.kind === "error");
    assert.ok(error && error.kind === "error");
    assert.match(error.message, /is a Redis Cluster node; DataColl needs one Redis server or Sentinel/);
    assert.ok(!states.some((s) => s.kind === "connected"), "never reported connected");
  });
});
