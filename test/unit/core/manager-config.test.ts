import assert from "node:assert/strict";
import { DataCollError } from "../../../src/core/errors";
import { DEFAULT_NAMESPACE, parseManagerSettings } from "../../../src/core/manager-config";

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DataCollError, "expected a DataCollError");
    return err.field;
  }
  assert.fail("expected the settings to be rejected");
}

describe("manager settings", function () {
  it("defaults to the embedded store, namespace dc: and host+pid as instance id", function () {
    const s = parseManagerSettings({});
    assert.equal(s.store, "embedded");
    assert.equal(s.namespace, DEFAULT_NAMESPACE);
    assert.match(s.instanceId, new RegExp(`-${process.pid}$`));
  });

  it("keeps a Redis URL, password and namespace as given", function () {
    const s = parseManagerSettings({
      store: "redis",
      redisUrl: "rediss://cache.plant:6380/2",
      redisPassword: "s3cret",
      namespace: "plant-a:",
      instanceId: "node-red-1",
    });
    assert.deepEqual(s, {
      store: "redis",
      redisUrl: "rediss://cache.plant:6380/2",
      redisPassword: "s3cret",
      namespace: "plant-a:",
      instanceId: "node-red-1",
    });
  });

  it("names the field at fault", function () {
    assert.equal(
      fieldOf(() => parseManagerSettings({ store: "mongo" })),
      "store",
    );
    assert.equal(
      fieldOf(() => parseManagerSettings({ store: "redis", redisUrl: "http://x" })),
      "redisUrl",
    );
    assert.equal(
      fieldOf(() => parseManagerSettings({ namespace: "no-colon" })),
      "namespace",
    );
    assert.equal(
      fieldOf(() => parseManagerSettings({ namespace: 42 })),
      "namespace",
    );
  });
});
