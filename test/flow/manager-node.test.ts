import assert from "node:assert/strict";
import { nodeModule, helper, useNodeRed } from "../support/node-red";

const manager = nodeModule("datacoll-manager");

describe("datacoll-manager node", function () {
  useNodeRed();

  it("loads with its settings and keeps the password as a credential", async function () {
    const flow = [
      {
        id: "m1",
        type: "datacoll-manager",
        store: "redis",
        redisUrl: "redis://127.0.0.1:6379",
        namespace: "p1:",
      },
    ];
    await helper.load(manager, flow, { m1: { password: "pw" } });
    const node = helper.getNode("m1") as unknown as {
      settings: { store: string; namespace: string; redisPassword: string };
    };
    assert.equal(node.settings.store, "redis");
    assert.equal(node.settings.namespace, "p1:");
    assert.equal(node.settings.redisPassword, "pw");
  });

  it("reports invalid settings instead of throwing", async function () {
    await helper.load(manager, [{ id: "m2", type: "datacoll-manager", store: "embedded", namespace: "bad" }]);
    const node = helper.getNode("m2") as unknown as { settings: unknown; settingsError: string };
    assert.equal(node.settings, undefined);
    assert.match(node.settingsError, /namespace/);
  });
});
