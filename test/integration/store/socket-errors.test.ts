/**
 * A connection's socket failing more than once must not become an uncaught exception (it would end the
 * Node-RED process): ioredis listens for socket errors with `once`. A TLS socket fails twice when the
 * server's certificate is refused (the local check, then the server's alert); here the second error is
 * emitted on a real connection's socket directly, so the test does not depend on winning that race.
 */
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import { RedisStore } from "../../../src/core/store/redis-store";
import { REDIS_URL, uniqueNamespace } from "../../support/services";

function socketOf(redis: Redis): NodeJS.EventEmitter {
  return (redis as unknown as { stream: NodeJS.EventEmitter }).stream;
}

describe("Redis connections and their socket's errors", function () {
  it("a socket that fails twice reports the first error and throws nothing", async function () {
    const store = new RedisStore({ url: REDIS_URL, namespace: uniqueNamespace(), instanceId: "t" });
    const redis = store.connect("socket-errors");
    const errors: string[] = [];
    redis.on("error", (err: Error) => errors.push(err.message));
    try {
      await store.ready();
      await redis.ping();
      const socket = socketOf(redis);
      assert.doesNotThrow(() => {
        socket.emit("error", new Error("self-signed certificate in certificate chain"));
        socket.emit("error", new Error("tlsv1 alert decode error"));
      });
      assert.deepEqual(errors, ["self-signed certificate in certificate chain"], "the first one is reported");
      assert.equal(await redis.ping(), "PONG", "and the connection goes on working");
    } finally {
      redis.disconnect();
      await store.close();
    }
  });
});
