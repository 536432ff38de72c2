import assert from "node:assert/strict";
import type { EventEmitter } from "node:events";
import type { NodeAPI, NodeMessage } from "node-red";
import { helper, nodeModule, useNodeRed } from "../support/node-red";
import { until } from "../support/net";
import { REDIS_URL, uniqueNamespace } from "../support/services";
import { deleteNamespace } from "../integration/store/redis-admin";
import { sparePort, startRedis, stopRedis } from "../integration/store/redis-server";
import type { ManagerConfigNode } from "../../nodes/datacoll-manager/api";
import type { Manager } from "../../src/core/manager";

const check = nodeModule("datacoll-check");
const catchNode = (RED: NodeAPI): void => void RED;
const manager = nodeModule("datacoll-manager");

interface Transition {
  key: string;
  condition: string;
  state: string;
  previous: string;
  severity: number;
  text: string;
  by?: string;
}
interface Alarm {
  active: boolean;
  unacked: boolean;
  severity: number;
  alarms: { condition: string; state: string }[];
}
type Msg = NodeMessage & { alarm?: unknown; point?: { alarm?: Alarm } };

interface Rig {
  node: ReturnType<typeof helper.getNode>;
  points: Msg[];
  transitions: Transition[];
  errors: string[];
  /** Send a value for `key` and wait until the node has answered it. */
  value(key: string, value: unknown, extra?: Record<string, unknown>): Promise<Msg>;
  /** Send a command and wait for the transition (or error) it makes. */
  command(topic: string, payload: unknown): Promise<void>;
  /** The transitions as `condition:state` since the last call. */
  take(): string[];
}

function managerOf(id: string): Manager {
  const m = (helper.getNode(id) as unknown as ManagerConfigNode).manager;
  assert.ok(m, `manager ${id} runs`);
  return m;
}

let serial = 0;

/**
 * A check node wired to collectors. Each call makes a node id of its own unless given one: without a
 * manager the node keeps its alarm state per id across redeploys, which is the point of one test and
 * would leak between the others.
 */
async function rig(
  settings: Record<string, unknown>,
  extraNodes: object[] = [],
  mods = [check],
  id = `c${++serial}`,
): Promise<Rig> {
  const flow = [
    { id, type: "datacoll-check", wires: [["o1"], ["o2"]], ...settings },
    { id: "o1", type: "helper" },
    { id: "o2", type: "helper" },
    { id: "k", type: "catch", scope: [id], wires: [["e"]] },
    { id: "e", type: "helper" },
    ...extraNodes,
  ];
  await helper.load([...mods, catchNode], flow);
  const node = helper.getNode(id);
  const points: Msg[] = [];
  const transitions: Transition[] = [];
  const errors: string[] = [];
  let seen = 0;
  // What the node sends, taken from its send calls: both outputs of one input arrive together.
  (node as unknown as EventEmitter).on("call:send", (call: { args: unknown[] }) => {
    const [one, two] = call.args[0] as [Msg | null, Msg[] | null];
    if (one) points.push(one);
    for (const m of two ?? []) transitions.push(m.alarm as Transition);
  });
  helper.getNode("e").on("input", (m: unknown) => {
    errors.push((m as { error: { message: string } }).error.message);
  });
  const answered = (): number => points.length + errors.length;
  return {
    node,
    points,
    transitions,
    errors,
    async value(key, value, extra = {}) {
      const before = answered();
      node.receive({ topic: key, payload: value, ...extra });
      await until(() => answered() > before, 2000, `an answer for ${key}=${String(value)}`);
      return points[points.length - 1];
    },
    async command(topic, payload) {
      const before = transitions.length + errors.length;
      node.receive({ topic, payload });
      await until(() => transitions.length + errors.length > before, 2000, `${topic} answered`);
    },
    take() {
      const out = transitions.slice(seen).map((t) => `${t.condition}:${t.state}`);
      seen = transitions.length;
      return out;
    },
  };
}

/**
 * Load a check node with `settings` that must keep it from starting: its status is red with `reason`
 * and a value sent to it comes out nowhere. Returns the node.
 */
async function notStarted(
  settings: Record<string, unknown>,
  reason: RegExp,
): Promise<ReturnType<typeof helper.getNode>> {
  await helper.load(check, [
    { id: "c1", type: "datacoll-check", ...settings, wires: [["o1"]] },
    { id: "o1", type: "helper" },
  ]);
  const n = helper.getNode("c1");
  const statuses = (n.status as unknown as { args: unknown[][] }).args.map(
    (a) => a[0] as { fill: string; text: string },
  );
  assert.ok(
    statuses.some((st) => st.fill === "red" && reason.test(st.text)),
    JSON.stringify(statuses),
  );
  let sent = 0;
  helper.getNode("o1").on("input", () => sent++);
  n.receive({ topic: "d:t:v", payload: 1 });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(sent, 0, "a node that did not start sends nothing");
  return n;
}

describe("datacoll-check node", function () {
  useNodeRed();

  it("raises and clears high and low limits with hysteresis, on output 2 only when the state changes", async function () {
    const r = await rig({ low: "10", high: "90", hysteresis: "2", lowLow: "", highHigh: "" });
    await r.value("d:t:v", 50);
    assert.deepEqual(r.take(), []);
    await r.value("d:t:v", 91);
    assert.deepEqual(r.take(), ["high:raised"]);
    await r.value("d:t:v", 95);
    await r.value("d:t:v", 89);
    assert.deepEqual(r.take(), [], "still within hysteresis: no transition");
    await r.value("d:t:v", 88);
    assert.deepEqual(r.take(), ["high:cleared-unacked"]);
    await r.value("d:t:v", 9);
    assert.deepEqual(r.take(), ["low:raised"]);
    const t = r.transitions[r.transitions.length - 1];
    assert.equal(t.key, "d:t:v");
    assert.equal(t.severity, 500);
    assert.equal(t.text, "d:t:v low: 9 below 10");
    await r.value("d:t:v", 12);
    assert.deepEqual(r.take(), ["low:cleared-unacked"]);
  });

  it("annotates every point of a batch and keeps the batch one message", async function () {
    const r = await rig({ high: "90", highHigh: "100", message: "{key} {condition} at {value}" });
    const batch = [
      { key: "d:t:a", value: 1 },
      { key: "d:t:b", value: 95 },
      { key: "d:t:c", value: 101 },
    ];
    r.node.receive({ topic: "d:t", payload: batch });
    await until(() => r.points.length === 1, 2000, "the batch out");
    const out = r.points[0].payload as { key: string; value: number; alarm: Alarm }[];
    assert.equal(out.length, 3);
    assert.deepEqual(
      out.map((p) => [p.key, p.alarm.active, p.alarm.severity]),
      [
        ["d:t:a", false, 0],
        ["d:t:b", true, 500],
        ["d:t:c", true, 800],
      ],
    );
    assert.deepEqual(r.take(), ["high:raised", "high:raised", "highHigh:raised"]);
    assert.equal(r.transitions[2].text, "d:t:c highHigh at 101");
  });

  it("raises low-low and high-high with their own severity, and a node severity overrides them", async function () {
    const r = await rig({ lowLow: "0", highHigh: "100", severity: "900" });
    await r.value("d:t:v", -1);
    await r.value("d:t:v", 101);
    assert.deepEqual(r.take(), ["lowLow:raised", "lowLow:cleared-unacked", "highHigh:raised"]);
    assert.ok(r.transitions.every((t) => t.severity === 900));
  });

  it("raises rate of change between sample time stamps", async function () {
    const r = await rig({ ratePerSecond: "5" });
    const ts = 1_763_700_000_000;
    await r.value("d:t:v", 0, { point: { key: "d:t:v", value: 0, ts } });
    await r.value("d:t:v", 4, { point: { key: "d:t:v", value: 4, ts: ts + 1000 } });
    assert.deepEqual(r.take(), []);
    await r.value("d:t:v", 14, { point: { key: "d:t:v", value: 14, ts: ts + 2000 } });
    assert.deepEqual(r.take(), ["rate:raised"]);
  });

  it("raises stale on its timer when no sample arrives, and clears on the next one", async function () {
    const r = await rig({ staleSeconds: "0.05" });
    await r.value("d:t:v", 1);
    await until(() => r.transitions.length > 0, 2000, "the stale alarm");
    assert.deepEqual(r.take(), ["stale:raised"]);
    await r.value("d:t:v", 2);
    assert.deepEqual(r.take(), ["stale:cleared-unacked"]);
  });

  it("raises on bad quality and holds the limits while the value is unusable", async function () {
    const r = await rig({ quality: true, high: "10" });
    await r.value("d:t:v", 50, { point: { key: "d:t:v", value: 50, quality: { invalid: true } } });
    assert.deepEqual(r.take(), ["quality:raised"]);
    await r.value("d:t:v", 5);
    assert.deepEqual(r.take(), ["quality:cleared-unacked"]);
  });

  it("raises when the rule is false, with the old limit names in scope", async function () {
    const r = await rig({ low: "10", verify: "value >= down_limit and value <= 900" });
    await r.value("d:t:v", 901);
    assert.deepEqual(r.take(), ["verify:raised"]);
    await r.value("d:t:v", 500);
    assert.deepEqual(r.take(), ["verify:cleared-unacked"]);
  });

  it("waits the on delay before it raises (completed by the node's timer)", async function () {
    const r = await rig({ high: "10", onDelay: "0.05" });
    await r.value("d:t:v", 11);
    assert.deepEqual(r.take(), [], "not before the delay");
    await until(() => r.transitions.length > 0, 2000, "the delayed alarm");
    assert.deepEqual(r.take(), ["high:raised"]);
  });

  it("waits the off delay before it clears, and its status counts the alarms", async function () {
    const r = await rig({ high: "10", offDelay: "0.3" });
    await r.value("d:t:v", 11);
    assert.deepEqual(r.take(), ["high:raised"]);
    const spy = r.node.status as unknown as { getCalls(): { thisValue: unknown; args: unknown[] }[] };
    const shown = (): { fill: string; text: string } | undefined =>
      spy
        .getCalls()
        .filter((c) => c.thisValue === r.node)
        .map((c) => c.args[0] as { fill: string; text: string })
        .at(-1);
    // The test runtime has no locales: the words show as their keys, the counts as they are.
    assert.equal(shown()?.text.startsWith("1 datacoll-check.status.active ·"), true, "counted at once");
    assert.equal(shown()?.fill, "red", "red while unacknowledged");
    await r.value("d:t:v", 5);
    assert.deepEqual(r.take(), [], "not cleared before the delay");
    await until(() => r.transitions.length === 2, 2000, "the delayed clear");
    assert.deepEqual(r.take(), ["high:cleared-unacked"]);
    // Cleared but not acknowledged: no alarm present, one waiting for an operator, and it says so.
    await until(
      () =>
        shown()?.text.startsWith(
          "0 datacoll-check.status.active · 1 datacoll-check.status.toAcknowledge ·",
        ) === true,
      3000,
      "no alarm present, one to acknowledge",
    );
    assert.equal(shown()?.fill, "yellow", "not red once cleared");
  });

  it("acknowledges and shelves by message", async function () {
    const r = await rig({ high: "10" });
    await r.value("d:t:v", 11);
    await r.value("d:t:w", 12);
    assert.deepEqual(r.take(), ["high:raised", "high:raised"]);
    await r.command("ack", { key: "d:t:v", condition: "high", by: "ann" });
    assert.deepEqual(r.take(), ["high:acked"]);
    assert.equal(r.transitions[2].by, "ann");
    const p = await r.value("d:t:v", 11);
    assert.equal(p.point?.alarm?.unacked, false);
    assert.equal(p.point?.alarm?.active, true);
    await r.command("shelve", { key: "d:t:w", condition: "high", until: Date.now() + 60_000 });
    assert.deepEqual(r.take(), ["high:shelved"]);
    await r.command("unshelve", { key: "d:t:w", condition: "high" });
    assert.deepEqual(r.take(), ["high:raised"]);
    await r.command("ack", {});
    assert.deepEqual(r.take(), ["high:acked"], "ack without a key: every unacknowledged alarm");
  });

  it("returns a shelved alarm when its time runs out", async function () {
    const r = await rig({ high: "10" });
    await r.value("d:t:v", 11);
    await r.command("shelve", {
      key: "d:t:v",
      condition: "high",
      until: new Date(Date.now() + 50).toISOString(),
    });
    assert.deepEqual(r.take(), ["high:raised", "high:shelved"]);
    await until(() => r.transitions.length === 3, 2000, "the end of shelving");
    assert.deepEqual(r.take(), ["high:raised"]);
  });

  it("checks only the points in its scope; the others pass through unannotated", async function () {
    const r = await rig({ scope: "d:t1", high: "10" });
    r.node.receive({
      payload: [
        { key: "d:t1:a", value: 11 },
        { key: "d:t2:a", value: 11 },
      ],
    });
    await until(() => r.points.length === 1, 2000, "the batch out");
    const out = r.points[0].payload as { key: string; alarm?: Alarm }[];
    assert.deepEqual(
      out.map((p) => [p.key, p.alarm?.active]),
      [
        ["d:t1:a", true],
        ["d:t2:a", undefined],
      ],
    );
    assert.deepEqual(r.take(), ["high:raised"]);
  });

  it("sends bad messages and bad commands to Catch, checking nothing of them", async function () {
    const r = await rig({ high: "10" });
    r.node.receive({
      payload: [
        { key: "d:t:a", value: 50 },
        { key: "nokey", value: 1 },
      ],
    });
    await until(() => r.errors.length === 1, 2000, "the error");
    assert.match(r.errors[0], /msg\.payload\[1\]\.key/);
    r.node.receive({ topic: "shelve", payload: { key: "d:t:a", condition: "high" } });
    await until(() => r.errors.length === 2, 2000, "the second error");
    assert.match(r.errors[1], /until/);
    r.node.receive({ topic: "ack", payload: { key: "d:t:zz", condition: "high" } });
    await until(() => r.errors.length === 3, 2000, "the third error");
    assert.match(r.errors[2], /no high alarm is watched on d:t:zz/);
    assert.deepEqual(r.take(), [], "the good point of the bad batch was not checked");
  });

  it("reports invalid settings in its status and log instead of starting", async function () {
    const n = await notStarted({ low: "10", high: "5" }, /high \(5\) must not be below low/);
    const errors = (n.error as unknown as { args: unknown[][] }).args.map((a) => String(a[0]));
    assert.ok(
      errors.some((e) => e.includes("datacoll-check.errors.config")),
      JSON.stringify(errors),
    );
  });

  it("without a manager keeps alarm state in memory across a redeploy of the same node", async function () {
    let r = await rig({ high: "10" }, [], [check], "kept");
    await r.value("d:t:v", 11);
    assert.deepEqual(r.take(), ["high:raised"]);
    await helper.unload();
    r = await rig({ high: "10" }, [], [check], "kept");
    const p = await r.value("d:t:v", 12);
    assert.deepEqual(r.take(), [], "not raised a second time");
    assert.equal(p.point?.alarm?.unacked, true);
    await r.command("ack", { key: "d:t:v" });
    assert.deepEqual(r.take(), ["high:acked"]);
  });

  it("takes a registry point's own limits, applied without a redeploy", async function () {
    const r = await rig(
      { manager: "m1", high: "100" },
      [{ id: "m1", type: "datacoll-manager", store: "embedded", namespace: "chk:" }],
      [manager, check],
    );
    const reg = managerOf("m1").registry;
    await reg.putDevice({ id: "d", protocol: "virtual" });
    await reg.putTerm({ id: "t", deviceId: "d" });
    await reg.putItem({ id: "v" });
    await reg.putPoint({
      deviceId: "d",
      termId: "t",
      itemId: "v",
      limits: { high: 50 },
      hysteresis: 5,
    });
    await until(
      async () => {
        await r.value("d:t:v", 60);
        return r.transitions.length > 0;
      },
      2000,
      "the registry's limit in force",
    );
    assert.deepEqual(r.take(), ["high:raised"]);
    await r.value("d:t:v", 46);
    assert.deepEqual(r.take(), [], "the registry's hysteresis of 5");
    await r.value("d:t:v", 45);
    assert.deepEqual(r.take(), ["high:cleared-unacked"]);
  });

  it("with the registry as its points, checks every registry point and nothing else, following the registry", async function () {
    const r = await rig(
      { manager: "m1", scopeMode: "registry", scope: "d:t:never", high: "100" },
      [{ id: "m1", type: "datacoll-manager", store: "embedded", namespace: "chkreg:" }],
      [manager, check],
    );
    const m = managerOf("m1");
    const reg = m.registry;
    await reg.putDevice({ id: "d", protocol: "virtual" });
    await reg.putTerm({ id: "t", deviceId: "d" });
    for (const i of ["v", "w"]) await reg.putItem({ id: i });
    await reg.putPoint({ deviceId: "d", termId: "t", itemId: "v", limits: { high: 50 } });
    await until(
      async () => {
        await r.value("d:t:v", 60);
        return r.transitions.length > 0;
      },
      2000,
      "a point created in the registry is checked with its own limit",
    );
    assert.deepEqual(r.take(), ["high:raised"]);
    const outside = await r.value("x:y:z", 1000);
    assert.equal(outside.alarm, undefined, "a point the registry does not hold passes unchecked");
    await r.value("d:t:never", 1000);
    assert.deepEqual(r.take(), [], "the pattern is not used");
    await reg.putPoint({ deviceId: "d", termId: "t", itemId: "w" });
    await until(
      async () => {
        await r.value("d:t:w", 150);
        return r.transitions.length > 1;
      },
      2000,
      "a registry point without limits takes the node's",
    );
    assert.deepEqual(r.take(), ["high:raised"]);
    await reg.deletePoint("d:t:v");
    await until(
      async () => !(await m.store.alarms("d:t:v")).some((a) => a.active),
      2000,
      "a deleted point's alarm is stored as gone",
    );
    await r.value("d:t:v", 1000);
    assert.deepEqual(r.take(), [], "a deleted point is no longer checked");
  });

  it("with the registry as its points but no manager, says so in its status and checks nothing", async function () {
    // The test runtime has no locales: the message shows as its key.
    await notStarted({ scopeMode: "registry", high: "1" }, /registryNeedsManager/);
  });

  it("keeps alarm state in Redis across a redeploy: no second raise, nothing lost", async function () {
    const namespace = uniqueNamespace();
    const flow = [
      { id: "m1", type: "datacoll-manager", store: "redis", redisUrl: REDIS_URL, namespace },
      { id: "c1", type: "datacoll-check", manager: "m1", high: "10", wires: [["o1"], ["o2"]] },
      { id: "o1", type: "helper" },
      { id: "o2", type: "helper" },
    ];
    try {
      await helper.load([manager, check], flow);
      const transitions: Transition[] = [];
      helper.getNode("o2").on("input", (m: Msg) => transitions.push(m.alarm as Transition));
      helper.getNode("c1").receive({ topic: "d:t:v", payload: 11 });
      helper.getNode("c1").receive({ topic: "d:t:w", payload: 11 });
      await until(() => transitions.length === 2, 5000, "two alarms");
      helper.getNode("c1").receive({ topic: "ack", payload: { key: "d:t:w" } });
      await until(() => transitions.length === 3, 5000, "the ack");
      const m = managerOf("m1");
      await until(
        async () => (await m.store.alarms()).some((a) => a.key === "d:t:w" && a.acked),
        5000,
        "the alarm state in Redis",
      );
      await helper.unload();

      await helper.load([manager, check], flow);
      transitions.length = 0;
      const points: Msg[] = [];
      helper.getNode("o2").on("input", (msg: Msg) => transitions.push(msg.alarm as Transition));
      helper.getNode("o1").on("input", (msg: Msg) => points.push(msg));
      helper.getNode("c1").receive({ topic: "d:t:v", payload: 12 });
      helper.getNode("c1").receive({ topic: "d:t:w", payload: 12 });
      await until(() => points.length === 2, 5000, "the points after the redeploy");
      assert.deepEqual(transitions, [], "an alarm still present is not raised again");
      assert.deepEqual(
        points.map((p) => p.point?.alarm?.alarms.map((a) => a.state)),
        [["raised"], ["acked"]],
      );
      helper.getNode("c1").receive({ topic: "d:t:v", payload: 1 });
      await until(() => transitions.length === 1, 5000, "the clear");
      assert.deepEqual(
        transitions.map((t: Transition) => `${t.condition}:${t.state}`),
        ["high:cleared-unacked"],
      );
    } finally {
      await deleteNamespace(namespace);
    }
  });

  it("keeps checking while Redis is away and writes the alarm state once it is back", async function () {
    this.timeout(30_000);
    const port = await sparePort();
    let server = await startRedis(port);
    try {
      const r = await rig(
        { manager: "m1", high: "10" },
        [
          {
            id: "m1",
            type: "datacoll-manager",
            store: "redis",
            redisUrl: `redis://127.0.0.1:${port}`,
            namespace: "out:",
          },
        ],
        [manager, check],
      );
      const m = managerOf("m1");
      await m.ready();
      const spy = r.node.status as unknown as { getCalls(): { thisValue: unknown; args: unknown[] }[] };
      const shown = (): { fill: string; shape: string; text: string } | undefined =>
        spy
          .getCalls()
          .filter((c) => c.thisValue === r.node)
          .map((c) => c.args[0] as { fill: string; shape: string; text: string })
          .at(-1);
      // The active checker (its lease taken) keeps that role while Redis is away.
      await until(() => shown()?.fill === "green", 5000, "the node active");
      await r.value("d:t:v", 5);
      await stopRedis(server);
      await r.value("d:t:v", 11);
      assert.deepEqual(r.take(), ["high:raised"], "checked and sent while Redis is away");
      await until(
        () => shown()?.text.startsWith("datacoll-check.errors.store") === true,
        20_000,
        "the failed write shown",
      );
      assert.equal(shown()?.fill, "red");
      server = await startRedis(port);
      await until(
        async () => m.state.kind === "connected" && (await m.store.alarms()).some((a) => a.key === "d:t:v"),
        20_000,
        "the alarm written after the outage",
      );
      await until(
        () => shown()?.fill === "red" && shown()?.shape === "dot",
        5000,
        "the status back to the alarms",
      );
    } finally {
      await stopRedis(server);
    }
  });
});
