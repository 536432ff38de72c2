/**
 * Where a Redis store says it lives (`store.location`), as the REST API's 503 and the log name it: host
 * and port only, whatever the options hold, so a password never reaches a message (#21).
 */
import assert from "node:assert/strict";
import { locationOf } from "../../../../src/core/store/redis-store";

describe("the Redis store's location", function () {
  it("names host and port of the URL, without user, password or database", function () {
    assert.equal(locationOf({ url: "redis://op:s3cret@10.0.0.9:6390/2" }), "Redis at 10.0.0.9:6390");
    assert.equal(
      locationOf({ url: "rediss://:s3cret@redis.plant.local" }),
      "Redis at redis.plant.local:6379",
    );
    assert.equal(locationOf({ url: "redis://[::1]:7000" }), "Redis at [::1]:7000");
  });

  it("follows host and port given as options over the URL, as ioredis does, and never shows a password", function () {
    const where = locationOf({
      url: "redis://127.0.0.1:6379",
      redisOptions: { host: "10.1.1.1", port: 6400, password: "s3cret" },
    });
    assert.equal(where, "Redis at 10.1.1.1:6400");
    assert.equal(locationOf({ redisOptions: { path: "/run/redis.sock" } }), "Redis at /run/redis.sock");
    assert.equal(locationOf({}), "Redis at 127.0.0.1:6379");
  });

  it("names a Sentinel master", function () {
    const sentinel = locationOf({
      url: "redis://127.0.0.1:6379",
      redisOptions: { sentinels: [{ host: "s1", port: 26379 }], name: "plant", sentinelPassword: "s3cret" },
    });
    assert.equal(sentinel, 'Redis (Sentinel master "plant")');
  });
});
