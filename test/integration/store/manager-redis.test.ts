import assert from "node:assert/strict";
import { Manager, ManagerPool } from "../../../src/core/manager";
import { parseManagerSettings } from "../../../src/core/manager-config";
import type { DataPoint } from "../../../src/core/model/datapoint";
import type { StoreState } from "../../../src/core/store/store";
import { RedisStore } from "../../../src/core/store/redis-store";
import { REDIS_URL, uniqueNamespace } from "../../support/services";
import { dp } from "./contract";
import { deleteNamespace } from "./redis-admin";
import { sparePort } from "./redis-server";
import { until } from "../../support/net";

describe("Managers sharing one Redis namespace", function () {
  let namespace: string;
  const managers: Manager[] = [];

  function open(instanceId: string): Manager {
    const m = new Manager(
      parseManagerSettings({ store: "redis", redisUrl: REDIS_URL, namespace, instanceId }),
    );
    managers.push(m);
    return m;
  }

  beforeEach(function () {
    namespace = uniqueNamespace();
  });

  afterEach(async function () {
    for (const m of managers.splice(0)) await m.close();
    await deleteNamespace(namespace);
  });

  it("reports connecting then connected", async function () {
    const m = open("a");
    const states: StoreState["kind"][] = [m.state.kind];
    m.onState((s) => states.push(s.kind));
    await m.ready();
    assert.deepEqual(states, ["connecting", "connected"]);
  });

  it("hands every batch to every instance exactly once, with no echo", async function () {
    const a = open("a");
    const b = open("b");
    await Promise.all([a.ready(), b.ready()]);
    const seenA: DataPoint[] = [];
    const seenB: DataPoint[] = [];
    a.subscribe("#", (pts) => seenA.push(...pts));
    const bGotTwo = new Promise<void>((resolve) =>
      b.subscribe("plc1", (pts) => {
        seenB.push(...pts);
        if (seenB.length >= 2) resolve();
      }),
    );
    await a.publish([dp("plc1:t1:ua", 1), dp("other:t:x", 9)]);
    await b.publish([dp("plc1:t1:ub", 2)]);
    await bGotTwo;
    for (const m of [a, b]) if (m.store instanceof RedisStore) await m.store.settle();
    assert.deepEqual(
      seenA.map((p) => p.value),
      [1, 9, 2],
      "a hears its own batch once (locally) and b's batch once (through Redis)",
    );
    assert.deepEqual(
      seenB.map((p) => p.value).sort(),
      [1, 2],
      "b hears a's batch through Redis and its own locally, in no fixed order",
    );
  });
});

describe("A manager whose Redis cannot be reached, at its config node's close", function () {
  it("closes at once (its users close with it), and the pool makes a new one for the next user", async function () {
    const port = await sparePort(); // nobody listens there
    const settings = parseManagerSettings({
      store: "redis",
      redisUrl: `redis://127.0.0.1:${port}`,
      namespace: "unreached:",
      instanceId: "a",
    });
    const pool = new ManagerPool();
    const user = pool.acquire("mgr", settings);
    const config = pool.acquire("mgr", settings);
    const m = config.manager;
    await until(() => m.state.kind === "reconnecting", 5000, "the manager waiting to reconnect");
    const queued = m.store.latest("d:t:i").then(
      () => "answered",
      (err: Error) => err.message,
    );
    await m.closeIfUnreachable();
    assert.equal(await queued, "Connection is closed.");
    assert.equal(m.state.kind, "closed");
    // A user still holding its share is not given the closed manager again, nor is anyone after it.
    const next = pool.acquire("mgr", settings);
    assert.notEqual(next.manager, m);
    await Promise.all([user.release(), config.release()]);
    assert.equal(pool.get("mgr"), next.manager, "the old shares' release leaves the new manager alone");
    await next.release();
  });

  it("is left to its users while Redis answers", async function () {
    const m = new Manager(
      parseManagerSettings({
        store: "redis",
        redisUrl: REDIS_URL,
        namespace: uniqueNamespace(),
        instanceId: "b",
      }),
    );
    try {
      await m.ready();
      assert.equal(m.closeIfUnreachable(), undefined);
      assert.equal(m.isClosed, false);
    } finally {
      await m.close();
    }
  });
});
