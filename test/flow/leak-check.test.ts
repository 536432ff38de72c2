/**
 * The leak check must be able to fail: a node that leaves a timer or a socket behind after its flow is
 * unloaded is caught. These tests load such nodes on purpose and clean up after asserting.
 */
import assert from "node:assert/strict";
import net from "node:net";
import type { Node, NodeAPI, NodeDef } from "node-red";
import { expectNoLeaks, LeakError, snapshotResources } from "../support/leaks";
import { until } from "../support/net";
import { helper } from "../support/node-red";

const leaked: { timer?: NodeJS.Timeout; socket?: net.Socket; server?: net.Server } = {};

function leakyNodes(RED: NodeAPI): void {
  RED.nodes.registerType("leaky-timer", function (this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    leaked.timer = setInterval(() => undefined, 1000); // never cleared on close: the bug under test
  });
  RED.nodes.registerType("leaky-socket", function (this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    leaked.server = net.createServer().listen(0, "127.0.0.1", () => {
      const address = leaked.server?.address();
      if (address && typeof address === "object") leaked.socket = net.connect(address.port, "127.0.0.1");
    });
  });
}

describe("leak check", function () {
  before(function (done) {
    helper.startServer(done);
  });
  after(function (done) {
    helper.stopServer(done);
  });
  afterEach(function () {
    if (leaked.timer) clearInterval(leaked.timer);
    leaked.socket?.destroy();
    leaked.server?.close();
    leaked.timer = leaked.socket = leaked.server = undefined;
  });

  it("fails when a node leaves a timer running after unload", async function () {
    const baseline = snapshotResources();
    await helper.load(leakyNodes, [{ id: "n1", type: "leaky-timer" }]);
    await helper.unload();
    await assert.rejects(expectNoLeaks(baseline, 300), (err: unknown) => {
      assert.ok(err instanceof LeakError);
      assert.ok(
        err.extra.some((e) => e.startsWith("Timeout")),
        err.message,
      );
      return true;
    });
  });

  it("fails when a node leaves a socket open after unload", async function () {
    const baseline = snapshotResources();
    await helper.load(leakyNodes, [{ id: "n2", type: "leaky-socket" }]);
    await until(() => leaked.socket?.readyState === "open", 5000, "the leaky socket connected");
    await helper.unload();
    await assert.rejects(expectNoLeaks(baseline, 300), (err: unknown) => {
      assert.ok(err instanceof LeakError);
      assert.ok(
        err.extra.some((e) => e.startsWith("TCP")),
        err.message,
      );
      return true;
    });
  });

  it("passes once the leaked resources are released", async function () {
    const baseline = snapshotResources();
    await helper.load(leakyNodes, [{ id: "n3", type: "leaky-timer" }]);
    await helper.unload();
    if (leaked.timer) clearInterval(leaked.timer);
    await expectNoLeaks(baseline, 1000);
  });
});
