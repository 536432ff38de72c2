import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { helper, nodeModule, useNodeRed } from "../support/node-red";
import { REDIS_URL, uniqueNamespace } from "../support/services";
import type { ManagerConfigNode } from "../../nodes/datacoll-manager/api";
import { deleteNamespace } from "../integration/store/redis-admin";
import { sparePort, startRedis, stopRedis } from "../integration/store/redis-server";
import { MASTER_NAME, startSentinelGroup, type SentinelGroup } from "../support/sentinel-group";

const manager = nodeModule("datacoll-manager");

function node(id: string): ManagerConfigNode {
  return helper.getNode(id) as unknown as ManagerConfigNode;
}

describe("datacoll-manager node", function () {
  useNodeRed();

  it("runs an embedded manager and closes it on redeploy", async function () {
    await helper.load(manager, [{ id: "m0", type: "datacoll-manager", store: "embedded", namespace: "e:" }]);
    const m = node("m0").manager;
    assert.ok(m);
    assert.equal(m.state.kind, "connected");
    const handle = node("m0").acquireManager();
    assert.equal(handle?.manager, m, "flow nodes share the config node's manager");
    await handle?.release();
    await helper.unload();
    assert.equal(m.state.kind, "closed");
  });

  it("connects to Redis under its namespace, and leaves nothing behind when unloaded", async function () {
    const namespace = uniqueNamespace();
    try {
      await helper.load(manager, [
        { id: "m1", type: "datacoll-manager", store: "redis", redisUrl: REDIS_URL, namespace },
      ]);
      const m = node("m1").manager;
      assert.ok(m);
      await m.ready();
      await m.registry.putItem({ id: "ua" });
      assert.ok(await m.registry.getItem("ua"));
      await helper.unload();
      assert.equal(m.state.kind, "closed");
    } finally {
      await deleteNamespace(namespace);
    }
  });

  it("reports invalid settings instead of throwing", async function () {
    await helper.load(manager, [{ id: "m2", type: "datacoll-manager", store: "embedded", namespace: "bad" }]);
    const n = node("m2");
    assert.equal(n.settings, undefined);
    assert.equal(n.manager, undefined);
    assert.equal(n.acquireManager(), undefined);
    assert.match(n.settingsError ?? "", /namespace/);
  });

  describe("with a password-protected Redis", function () {
    let server: ChildProcess | undefined;
    let url = "";

    before(async function () {
      const port = await sparePort();
      url = `redis://127.0.0.1:${port}`;
      server = await startRedis(port, ["--requirepass", "s3cret"]);
    });

    after(async function () {
      if (server) await stopRedis(server);
    });

    it("logs in with the password kept as a credential", async function () {
      const flow = [{ id: "m3", type: "datacoll-manager", store: "redis", redisUrl: url, namespace: "p1:" }];
      await helper.load(manager, flow, { m3: { password: "s3cret" } });
      const n = node("m3");
      assert.equal(n.settings?.redisPassword, "s3cret");
      assert.ok(n.manager);
      await n.manager.ready();
      await n.manager.registry.putItem({ id: "ua" });
      assert.ok(await n.manager.registry.getItem("ua"));
    });

    it("reports a wrong password as a store error and still unloads cleanly", async function () {
      const flow = [{ id: "m4", type: "datacoll-manager", store: "redis", redisUrl: url, namespace: "p1:" }];
      await helper.load(manager, flow, { m4: { password: "wrong" } });
      const m = node("m4").manager;
      assert.ok(m);
      const state =
        m.state.kind === "error"
          ? m.state
          : await new Promise((resolve) => {
              const off = m.onState((s) => {
                if (s.kind === "error") {
                  off();
                  resolve(s);
                }
              });
            });
      assert.match(JSON.stringify(state), /WRONGPASS|invalid username-password/i);
    });
  });

  describe("in Sentinel mode, with a password on the sentinels", function () {
    let group: SentinelGroup | undefined;

    before(async function () {
      this.timeout(60_000);
      group = await startSentinelGroup({ sentinelPassword: "sentinel-s3cret" });
    });

    after(async function () {
      await group?.stop();
    });

    it("finds the master through the sentinels with the password kept as a credential", async function () {
      const flow = [
        {
          id: "m5",
          type: "datacoll-manager",
          store: "redis",
          redisMode: "sentinel",
          sentinels: (group?.sentinelPorts ?? []).map((p) => `127.0.0.1:${p}`).join(", "),
          sentinelName: MASTER_NAME,
          namespace: "s1:",
        },
      ];
      await helper.load(manager, flow, { m5: { sentinelPassword: "sentinel-s3cret" } });
      const n = node("m5");
      assert.equal(n.settings?.redisSentinel?.password, "sentinel-s3cret");
      assert.ok(n.manager);
      assert.match(n.manager.store.location, new RegExp(`Sentinel master "${MASTER_NAME}"`));
      await n.manager.ready();
      await n.manager.registry.putItem({ id: "ua" });
      assert.ok(await n.manager.registry.getItem("ua"));
      const m = n.manager;
      await helper.unload();
      assert.equal(m.state.kind, "closed");
    });
  });
});
