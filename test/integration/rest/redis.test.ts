/** The REST handlers over the Redis store: the same answers as over the embedded store. */
import assert from "node:assert/strict";
import { api, seed, type Api } from "../../unit/rest/helpers";
import { until } from "../../support/net";
import { REDIS_URL, uniqueNamespace } from "../../support/services";
import { Redis } from "ioredis";
import { deleteNamespace, openRedisStore } from "../store/redis-admin";
import { sparePort, startRedis, stopRedis } from "../store/redis-server";
import { EARLIER_ALARM } from "../../support/earlier-alarm";

describe("REST handlers on the Redis store", function () {
  let a: Api;
  let namespace = "";

  beforeEach(async function () {
    namespace = uniqueNamespace("rest");
    a = api(undefined, undefined, await openRedisStore({ namespace, instanceId: "rest-test" }));
    await seed(a);
  });

  afterEach(async function () {
    await a.close();
    await deleteNamespace(namespace);
  });

  it("serves the older paths, renames and cascading deletes", async function () {
    assert.deepEqual((await a.call("GET", "/v1/terms/t1/items")).body, ["energy", "power"]);
    assert.deepEqual([(await a.call("GET", "/v1/devices/nope")).body], ["device_id not found!"]);
    const r = await a.call("PUT", "/v1/terms/t1", { id: "t7" });
    assert.equal(r.status, 200, String(r.body));
    assert.deepEqual((await a.call("GET", "/v1/terms/t7/items")).body, ["energy", "power"]);
    assert.equal((await a.call("DELETE", "/v1/devices/plc1")).status, 200);
    assert.deepEqual((await a.call("GET", "/v1/terms")).body, ["c1"]);
  });

  it("writes a failing batch not at all and answers latest values", async function () {
    const bad = await a.call("POST", "/v2/terms/t1/items", [
      { itemId: "power", address: "HR40100" },
      { itemId: "energy", address: "HR40200" },
    ]);
    assert.equal(bad.status, 409);
    await a.call("POST", "/v2/items", [{ id: "volt" }]);
    const clash = await a.call("POST", "/v2/terms/t1/items", [{ itemId: "volt", address: "HR40001" }]);
    assert.equal(clash.status, 409);
    assert.equal(await a.store.registry.getPoint("plc1:t1:volt"), undefined);
    await a.call("POST", "/v1/devices/plc1/terms/t1/items/power/datas", { value: 7 });
    const latest = (await a.call("GET", "/v1/latest?pattern=plc1")).body as { key: string; value: number }[];
    assert.deepEqual(
      latest.map((p) => [p.key, p.value]),
      [["plc1:t1:power", 7]],
    );
  });

  it("answers alarms an earlier version stored with text severity in typed JSON, and acks them", async function () {
    const admin = new Redis(REDIS_URL);
    try {
      const earlier = EARLIER_ALARM;
      await admin.hset(`${namespace}alarm:plc1:t1:power`, "high", JSON.stringify(earlier));
      await admin.sadd(`${namespace}alarms`, "plc1:t1:power");
      const [listed] = (await a.call("GET", "/v1/alarms")).body as Record<string, unknown>[];
      assert.deepEqual(listed, { ...earlier, severity: 500 });
      const ack = (await a.call("POST", "/v1/alarms/plc1:t1:power/high/ack")).body as Record<string, unknown>;
      assert.deepEqual([ack.acked, ack.severity], [true, 500]);
      // Written back typed: the next reader needs no conversion.
      const stored = JSON.parse(String(await admin.hget(`${namespace}alarm:plc1:t1:power`, "high"))) as {
        severity: unknown;
      };
      assert.equal(stored.severity, 500);
    } finally {
      await admin.quit();
    }
  });

  it("imports CSV all or nothing", async function () {
    const csv = "kind,id,deviceId,address\nterm,t5,plc1,5\nterm,t6,plc1,300\n";
    const r = await a.call("POST", "/v2/import", csv, { contentType: "text/csv" });
    assert.equal(r.status, 400);
    assert.equal(await a.store.registry.getTerm("t5"), undefined);
  });
});

describe("REST handlers while Redis is down", function () {
  this.timeout(30_000);

  it("answer 503 (try again), not 500, and serve again once Redis is back", async function () {
    const port = await sparePort();
    let redis = await startRedis(port);
    const reasons: string[] = [];
    const a = api(
      undefined,
      undefined,
      // A short reconnect backoff, so each request gives up after its retries within a second or so.
      await openRedisStore({
        url: `redis://127.0.0.1:${port}`,
        namespace: "down:",
        instanceId: "rest-down",
        reconnect: { baseMs: 50, maxMs: 200 },
      }),
      (reason) => reasons.push(reason),
    );
    try {
      await seed(a);
      assert.equal((await a.call("GET", "/v1/devices")).status, 200);
      await stopRedis(redis);
      for (const path of ["/v1/devices", "/v2/devices", "/v1/latest?pattern=plc1", "/v1/alarms"]) {
        const r = await a.call("GET", path);
        assert.equal(r.status, 503, `${path}: ${JSON.stringify(r.body)}`);
        // Plain words naming the server, in the API's shape (the older paths answer plain text);
        // The reason goes to the log only (for ioredis giving up, in words of ours, not its option name).
        const said = `Redis at 127.0.0.1:${port} is unreachable, try again later`;
        if (typeof r.body === "string") assert.equal(r.body, said, path);
        else assert.deepEqual(r.body, { error: "unavailable", message: said }, path);
      }
      assert.equal(reasons.length, 4, "one reason for the log per request answered 503");
      assert.ok(
        reasons.every((reason) => /Redis did not answer|Connection is closed|ECONNREFUSED/.test(reason)),
        reasons.join("\n"),
      );
      redis = await startRedis(port);
      await until(
        async () => (await a.call("GET", "/v1/devices")).status === 200,
        10_000,
        "GET /v1/devices answering 200 once Redis is back",
      );
    } finally {
      await a.close();
      await stopRedis(redis);
    }
  });
});
