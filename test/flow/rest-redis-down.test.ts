/**
 * The REST API while its manager's Redis is down (#21): it answers 503 in the API's shape with plain
 * words naming the server, and the client library's own text (ioredis's advice on an option) goes to the
 * log, once per outage. Redis is a redis-server of the test's own, killed and started again.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { managers } from "../../src/core/manager";
import { HttpServer, apiFlow, httpNodes } from "../integration/rest/http-flow";
import { sparePort, startRedis, stopRedis } from "../integration/store/redis-server";
import { until } from "../support/net";
import { helper, nodeModule, useNodeRed } from "../support/node-red";

const modules = [nodeModule("datacoll-manager"), nodeModule("datacoll-api"), httpNodes];

/** How often the API node logged that the store is unreachable (the test runtime logs message keys). */
const unreachableLogged = (): number =>
  (helper.log().args as { msg?: unknown }[][])
    .flat()
    .filter((e) => e.msg === "datacoll-api.errors.storeUnreachable").length;

describe("datacoll-api while the manager's Redis is down", function () {
  this.timeout(60_000);
  useNodeRed();
  const http = new HttpServer();
  let redis: ChildProcess | undefined;
  before(async function () {
    await http.start();
  });
  after(async function () {
    await http.stop();
  });
  afterEach(async function () {
    if (redis) await stopRedis(redis);
    redis = undefined;
  });

  it("answers 503 naming the server, and logs ioredis's reason once per outage", async function () {
    const port = await sparePort();
    redis = await startRedis(port);
    await helper.load(
      modules,
      apiFlow({ manager: { store: "redis", redisUrl: `redis://127.0.0.1:${port}`, namespace: "down:" } }),
    );
    const manager = managers.get("m1");
    assert.ok(manager, "the manager was made");
    await until(() => manager.state.kind === "connected", 10_000, "the manager connected");
    assert.equal((await http.request("GET", "/api/v2/devices")).status, 200);

    const outage = async (): Promise<void> => {
      if (redis) await stopRedis(redis);
      redis = undefined;
      // Both at once: ioredis gives up the commands of one outage together after its retries (a request
      // sent later waits through the next, longer, reconnect delays).
      const paths = ["/api/v2/devices", "/api/v1/latest"];
      const replies = await Promise.all(paths.map((path) => http.request("GET", path)));
      for (const [i, r] of replies.entries()) {
        const path = paths[i];
        assert.equal(r.status, 503, `${path}: ${r.text}`);
        assert.deepEqual(r.json(), {
          error: "unavailable",
          message: `Redis at 127.0.0.1:${port} is unreachable, try again later`,
        });
      }
    };
    await outage();
    assert.equal(unreachableLogged(), 1, "logged once for two refused requests");

    redis = await startRedis(port);
    await until(() => manager.state.kind === "connected", 20_000, "the manager connected again");
    assert.equal((await http.request("GET", "/api/v2/devices")).status, 200);
    await outage();
    assert.equal(unreachableLogged(), 2, "logged again for the second outage");
  });
});
