import assert from "node:assert/strict";
import type { NodeMessage } from "node-red";
import { helper, nodeModule, useNodeRed } from "../support/node-red";
import { until } from "../support/net";
import { REDIS_URL, uniqueNamespace } from "../support/services";
import { deleteNamespace } from "../integration/store/redis-admin";
import type { ManagerConfigNode } from "../../nodes/datacoll-manager/api";
import { Manager } from "../../src/core/manager";
import type { DataPoint, Quality } from "../../src/core/model/datapoint";

const nodes = [nodeModule("datacoll-manager"), nodeModule("datacoll-data")];

function dp(key: string, value: number, quality: Quality = {}): DataPoint {
  const [deviceId, termId, itemId] = key.split(":");
  return { key, deviceId, termId, itemId, value, ts: Date.now(), quality, cause: "poll" };
}

/** The statuses node `id` has shown, oldest first (the helper spies on every node's status). */
function statusesOf(id: string): { fill: string; text: string }[] {
  const node = helper.getNode(id);
  const spy = node.status as unknown as { getCalls(): { thisValue: unknown; args: unknown[] }[] };
  return spy
    .getCalls()
    .filter((c) => c.thisValue === node)
    .map((c) => c.args[0] as { fill: string; text: string });
}

type Msg = NodeMessage & { point?: DataPoint };

interface Rig {
  manager: Manager;
  msgs: Msg[];
  /** Keys and values of what came out, batch by batch (a point message is a batch of one). */
  seen(): string[][];
}

async function rig(
  settings: Record<string, unknown>,
  managerDef: Record<string, unknown> = {},
): Promise<Rig> {
  await helper.load(nodes, [
    { id: "m1", type: "datacoll-manager", store: "embedded", namespace: "dat:", ...managerDef },
    { id: "d1", type: "datacoll-data", manager: "m1", wires: [["out"]], ...settings },
    { id: "out", type: "helper" },
  ]);
  const manager = (helper.getNode("m1") as unknown as ManagerConfigNode).manager;
  assert.ok(manager);
  const msgs: Msg[] = [];
  helper.getNode("out").on("input", (m: Msg) => msgs.push(m));
  return {
    manager,
    msgs,
    seen: () =>
      msgs.map((m) =>
        Array.isArray(m.payload)
          ? (m.payload as DataPoint[]).map((p) => `${p.key}=${String(p.value)}`)
          : [`${String(m.topic)}=${String(m.payload)}`],
      ),
  };
}

describe("datacoll-data node", function () {
  useNodeRed();

  it("passes on the points matching its pattern, as batches", async function () {
    const r = await rig({ pattern: "plc1:*:power" });
    await r.manager.publish([dp("plc1:m1:power", 1), dp("plc1:m1:energy", 2), dp("plc1:m2:power", 3)]);
    await r.manager.publish([dp("plc2:m1:power", 4)]);
    await r.manager.publish([dp("plc1:m3:power", 5)]);
    await until(() => r.msgs.length === 2, 2000, "two batches");
    assert.deepEqual(r.seen(), [["plc1:m1:power=1", "plc1:m2:power=3"], ["plc1:m3:power=5"]]);
    assert.equal(r.msgs[0].topic, "plc1");
  });

  it("sends one message per point when asked, with topic and point", async function () {
    const r = await rig({ pattern: "plc1:m1", output: "point" });
    await r.manager.publish([dp("plc1:m1:a", 1), dp("plc1:m1:b", 2), dp("plc1:m2:a", 3)]);
    await until(() => r.msgs.length === 2, 2000, "two messages");
    assert.deepEqual(r.seen(), [["plc1:m1:a=1"], ["plc1:m1:b=2"]]);
    assert.equal(r.msgs[1].point?.key, "plc1:m1:b");
  });

  it("only on change leaves out samples whose value and quality did not change", async function () {
    const r = await rig({ pattern: "#", onlyChange: true });
    await r.manager.publish([dp("d:t:a", 1), dp("d:t:b", 1)]);
    await r.manager.publish([dp("d:t:a", 1), dp("d:t:b", 2)]);
    await r.manager.publish([dp("d:t:a", 1), dp("d:t:b", 2)]);
    await r.manager.publish([dp("d:t:a", 1, { invalid: true })]);
    await r.manager.publish([dp("d:t:z", 9)]);
    await until(() => r.msgs.length === 4, 2000, "four batches");
    assert.deepEqual(r.seen(), [["d:t:a=1", "d:t:b=1"], ["d:t:b=2"], ["d:t:a=1"], ["d:t:z=9"]]);
    assert.deepEqual((r.msgs[2].payload as DataPoint[])[0].quality, { invalid: true });
  });

  it("limits batches per second: the excess waits and goes in one batch, newest sample per point", async function () {
    const r = await rig({ pattern: "#", maxRate: "2" });
    for (let i = 1; i <= 5; i++) await r.manager.publish([dp("d:t:a", i), dp(`d:t:x${i}`, i)]);
    await until(() => r.msgs.length === 3, 3000, "the batch that waited");
    // That it went when the limit allowed it, not before, is held on an injected clock in
    // data-pace.test.ts ("lets a burst of perSecond batches through, then one merged batch per token");
    // here, that the node merged the three that waited into one batch.
    assert.deepEqual(r.seen(), [
      ["d:t:a=1", "d:t:x1=1"],
      ["d:t:a=2", "d:t:x2=2"],
      ["d:t:a=5", "d:t:x3=3", "d:t:x4=4", "d:t:x5=5"],
    ]);
  });

  it("limits messages per second in point mode, oldest waiting point first", async function () {
    const r = await rig({ pattern: "#", output: "point", maxRate: "20" });
    const points = Array.from({ length: 25 }, (_, i) => dp(`d:t:p${i}`, i));
    await r.manager.publish(points);
    await until(() => r.msgs.length === 25, 2000, "every point");
    // 20 go at once (the burst), the other 5 one per 50 ms: the pacing is held on an injected clock in
    // data-pace.test.ts ("in point mode sends one point per token, oldest waiting first"); here, the order.
    assert.deepEqual(
      r.seen().map((s) => s[0]),
      points.map((p) => `${p.key}=${String(p.value)}`),
    );
  });

  it("reports a bad pattern instead of starting", async function () {
    await helper.load(nodes, [
      { id: "m1", type: "datacoll-manager", store: "embedded", namespace: "dat:" },
      { id: "d1", type: "datacoll-data", manager: "m1", pattern: "a:#:b" },
    ]);
    const statuses = statusesOf("d1");
    assert.ok(
      statuses.some((s) => s.fill === "red" && /pattern "a:#:b": '#' may only/.test(s.text)),
      JSON.stringify(statuses),
    );
  });

  it("receives points published by another instance on the same Redis namespace", async function () {
    const namespace = uniqueNamespace();
    const other = new Manager({
      store: "redis",
      redisUrl: REDIS_URL,
      redisPassword: undefined,
      namespace,
      instanceId: "other-instance",
    });
    try {
      const r = await rig({ pattern: "far:*:*" }, { store: "redis", redisUrl: REDIS_URL, namespace });
      await Promise.all([r.manager.ready(), other.ready()]);
      // Subscribing to the channel completes on its own time: publish until one arrives.
      let n = 0;
      await until(
        async () => {
          await other.publish([dp("far:t:v", ++n), dp("near:t:v", n)]);
          return r.msgs.length > 0;
        },
        5000,
        "a point from the other instance",
      );
      const [first] = r.msgs[0].payload as DataPoint[];
      assert.equal(first.key, "far:t:v");
      assert.deepEqual(
        r.msgs.flatMap((m) => (m.payload as DataPoint[]).map((p) => p.key)).filter((k) => k !== "far:t:v"),
        [],
      );
      await until(() => statusesOf("d1").at(-1)?.fill === "green", 3000, "a green status");
    } finally {
      await other.close();
      await helper.unload();
      await deleteNamespace(namespace);
    }
  });
});
