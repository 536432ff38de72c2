/**
 * The check node with several instances on one Redis namespace: only the holder of the lease
 * `<ns>lease:check:<node id>` reports and writes alarms; a standby one passes points on, writes nothing,
 * forwards operators' commands to the active one over `<ns>alarm-commands`, and on taking over reports
 * the raise the store lacks. The "other instance" here is played by the test on the real Redis: it holds
 * the lease key and publishes on the channel.
 */
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import type { NodeMessage } from "node-red";
import { helper, nodeModule, useNodeRed } from "../support/node-red";
import { until } from "../support/net";
import { REDIS_URL, uniqueNamespace } from "../support/services";
import { deleteNamespace } from "../integration/store/redis-admin";
import type { ManagerConfigNode } from "../../nodes/datacoll-manager/api";

const check = nodeModule("datacoll-check");
const manager = nodeModule("datacoll-manager");

interface Transition {
  key: string;
  condition: string;
  state: string;
  ts: number;
  by?: string;
}
type Msg = NodeMessage & { alarm?: Transition; point?: { alarm?: { alarms: { state: string }[] } } };

/** This instance ("me", lease 1 s) with one check node c1 (high 10) and collectors of both outputs. */
async function loadInstance(ns: string): Promise<{ points: Msg[]; transitions: Transition[] }> {
  await helper.load(
    [manager, check],
    [
      {
        id: "m1",
        type: "datacoll-manager",
        store: "redis",
        redisUrl: REDIS_URL,
        namespace: ns,
        instanceId: "me",
        runDevices: false,
        leaseMs: 1000,
      },
      { id: "c1", type: "datacoll-check", manager: "m1", high: "10", wires: [["o1"], ["o2"]] },
      { id: "o1", type: "helper" },
      { id: "o2", type: "helper" },
    ],
  );
  const points: Msg[] = [];
  const transitions: Transition[] = [];
  helper.getNode("o1").on("input", (m: Msg) => points.push(m));
  helper.getNode("o2").on("input", (m: Msg) => transitions.push(m.alarm as Transition));
  return { points, transitions };
}

describe("datacoll-check node: one active checker across instances", function () {
  useNodeRed();
  this.timeout(20_000);

  it("stands by while another instance holds the lease, forwards commands, and takes over with the raise the store lacks", async function () {
    const ns = uniqueNamespace();
    const leaseKey = `${ns}lease:check:c1`;
    const redis = new Redis(REDIS_URL);
    const sub = new Redis(REDIS_URL);
    const heard: unknown[] = [];
    try {
      await redis.set(leaseKey, "other", "PX", 60_000);
      await sub.subscribe(`${ns}alarm-commands`);
      sub.on("message", (_c: string, text: string) => {
        if (text.startsWith("{") && text.includes('"from":"me"')) heard.push(JSON.parse(text));
      });
      const { points, transitions } = await loadInstance(ns);
      const node = helper.getNode("c1");
      const m = (helper.getNode("m1") as unknown as ManagerConfigNode).manager;
      assert.ok(m);
      const spy = node.status as unknown as { getCalls(): { thisValue: unknown; args: unknown[] }[] };
      const shown = (): { fill: string; text: string } | undefined =>
        spy
          .getCalls()
          .filter((c) => c.thisValue === node)
          .map((c) => c.args[0] as { fill: string; text: string })
          .at(-1);
      await until(
        () => shown()?.text.startsWith("datacoll-check.status.standby") === true,
        5000,
        "standby shown",
      );

      node.receive({ point: { key: "d:t:v", value: 11, ts: 1_700_000_000_000 } });
      await until(() => points.length === 1, 5000, "the point passed on");
      assert.deepEqual(
        points[0].point?.alarm?.alarms.map((a) => a.state),
        ["raised"],
        "annotated from its own copy",
      );

      // An operator acknowledging on this instance: handed to the active one, which writes the state.
      // Handled, whatever the store shows: were it "not held here", the REST API would write the alarm
      // itself, and that write could land after the active one's and bring back the alarm it ended.
      assert.equal(await m.acknowledgeAlarm("d:t:v", "high", "op"), true);
      await until(() => heard.length === 1, 5000, "the command on the channel");
      assert.deepEqual(heard[0], {
        node: "c1",
        from: "me",
        topic: "ack",
        payload: { key: "d:t:v", condition: "high", by: "op" },
      });
      // The command went through the node after the point did, and a transition would have left in the
      // same send as the point, a write in the same step: by now either would be seen.
      assert.equal(transitions.length, 0, "a standby checker reports no transition");
      assert.deepEqual(await m.store.alarms(), [], "and writes no alarm state");

      // The other instance goes away (its lease gone): this one takes over within a third of the lease.
      await redis.del(leaseKey);
      await until(() => transitions.length === 1, 5000, "the takeover's raise");
      assert.equal(await redis.get(leaseKey), "me");
      assert.deepEqual(
        [transitions[0].key, transitions[0].state, transitions[0].ts],
        ["d:t:v", "raised", 1_700_000_000_000],
        "the raise the store lacked, stamped with the sample that raised it",
      );
      await until(async () => (await m.store.alarms()).length === 1, 5000, "the alarm written");
      assert.equal(shown()?.fill, "red", "unacknowledged alarm shown");

      // Another instance takes the lease: this one stands by at its next renewal, and answers an ack
      // from the state the active one wrote (an unacknowledged raise).
      await redis.set(leaseKey, "other", "PX", 60_000);
      await until(
        () => shown()?.text.startsWith("datacoll-check.status.standby") === true,
        5000,
        "standby again",
      );
      assert.equal(await m.acknowledgeAlarm("d:t:v", undefined, "op"), true);
      await until(() => heard.length === 2, 5000, "the second command on the channel");
      await redis.del(leaseKey);
      await until(async () => (await redis.get(leaseKey)) === "me", 5000, "active again");
      // Red once the takeover has read the store and sent what it had to raise (before the status).
      await until(() => shown()?.fill === "red", 5000, "the takeover done");
      assert.equal(transitions.length, 1, "taking over an alarm the store holds raises nothing");

      // Another instance's operator acknowledges: the command reaches this, now active, checker.
      await redis.publish(
        `${ns}alarm-commands`,
        JSON.stringify({ node: "c1", from: "other", topic: "ack", payload: { key: "d:t:v", by: "op2" } }),
      );
      await until(() => transitions.length === 2, 5000, "the forwarded ack");
      assert.deepEqual([transitions[1].state, transitions[1].by], ["acked", "op2"]);
      // Its own commands are not taken again from the channel, nor are other nodes' or malformed ones.
      await redis.publish(`${ns}alarm-commands`, "not json");
      for (const hostile of [
        { node: "c1", from: "other", topic: "drop", payload: { key: "d:t:v" } },
        { node: "c1", from: "other", topic: "ack", payload: { key: "no:such:point" } },
        { node: "c1", from: "other", topic: "shelve", payload: { key: "d:t:v", until: "soon" } },
        { node: "c1", from: "other", topic: "ack", payload: null },
      ])
        await redis.publish(`${ns}alarm-commands`, JSON.stringify(hostile));
      await redis.publish(
        `${ns}alarm-commands`,
        JSON.stringify({ node: "c9", from: "other", topic: "ack", payload: { key: "d:t:v" } }),
      );
      node.receive({ point: { key: "d:t:v", value: 5, ts: 1_700_000_001_000 } });
      await until(() => transitions.length === 3, 5000, "the clear");
      assert.deepEqual(
        transitions.map((t) => t.state),
        ["raised", "acked", "normal"],
      );

      await helper.unload();
      assert.equal(await redis.get(leaseKey), null, "the lease handed back at close");
    } finally {
      sub.disconnect();
      redis.disconnect();
      await deleteNamespace(ns);
    }
  });

  it("reports an excursion that came and went while the other instance was dying", async function () {
    const ns = uniqueNamespace();
    const leaseKey = `${ns}lease:check:c1`;
    const redis = new Redis(REDIS_URL);
    try {
      await redis.set(leaseKey, "other", "PX", 60_000);
      const { points, transitions } = await loadInstance(ns);
      const node = helper.getNode("c1");
      // Let the node see the other instance holding the lease, then that instance dies: its key stays
      // until it expires, and meanwhile an alarm comes and goes that nobody reports. A standby lease
      // round asks the store whether it has caught up before looking at the key, and rounds run one
      // after another: the second ask after this point means a whole round has seen the key taken.
      const store = (helper.getNode("m1") as unknown as ManagerConfigNode).manager?.store;
      const caughtUp = store?.caughtUp?.bind(store);
      assert.ok(store && caughtUp);
      let asked = 0;
      store.caughtUp = () => (asked++, caughtUp());
      await until(() => asked >= 2, 5000, "a lease round that found the other instance holding it");
      const t0 = Date.now();
      node.receive({ point: { key: "d:t:v", value: 11, ts: t0 } });
      node.receive({ point: { key: "d:t:v", value: 5, ts: t0 + 100 } });
      await until(() => points.length === 2, 5000, "both points passed on");
      assert.equal(transitions.length, 0);
      await redis.pexpire(leaseKey, 200);
      await until(() => transitions.length === 2, 8000, "the excursion reported at the takeover");
      assert.deepEqual(
        transitions.map((t) => [t.state, t.ts]),
        [
          ["raised", t0],
          ["cleared-unacked", t0 + 100],
        ],
      );
      const m = (helper.getNode("m1") as unknown as ManagerConfigNode).manager;
      await until(
        async () => (await m?.store.alarms("d:t:v"))?.[0]?.acked === false,
        5000,
        "the unacknowledged clear written",
      );
    } finally {
      redis.disconnect();
      await deleteNamespace(ns);
    }
  });
});
