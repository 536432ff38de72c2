import assert from "node:assert/strict";
import type { NodeAPI, NodeMessage } from "node-red";
import { helper, nodeModule, useNodeRed } from "../support/node-red";
import { until } from "../support/net";
import type { ManagerConfigNode } from "../../nodes/datacoll-manager/api";
import type { Manager } from "../../src/core/manager";
import type { DataPoint } from "../../src/core/model/datapoint";

const formula = nodeModule("datacoll-formula");
const manager = nodeModule("datacoll-manager");
const catchNode = (RED: NodeAPI): void => void RED;

const T0 = 1_763_700_000_000;

function dp(key: string, value: number | null, ts: number): DataPoint {
  const [deviceId, termId, itemId] = key.split(":");
  return { key, deviceId, termId, itemId, value, ts, quality: {}, cause: "poll" };
}

/** The statuses node `id` has shown, oldest first (the helper spies on every node's status). */
function statusesOf(id: string): { fill: string; shape: string; text: string }[] {
  const node = helper.getNode(id);
  const spy = node.status as unknown as { getCalls(): { thisValue: unknown; args: unknown[] }[] };
  return spy
    .getCalls()
    .filter((c) => c.thisValue === node)
    .map((c) => c.args[0] as { fill: string; shape: string; text: string });
}

function managerOf(id: string): Manager {
  const m = (helper.getNode(id) as unknown as ManagerConfigNode).manager;
  assert.ok(m, `manager ${id} runs`);
  return m;
}

interface Rig {
  results: DataPoint[];
  msgs: NodeMessage[];
  errors: string[];
  send(msg: Record<string, unknown>): void;
}

async function rig(settings: Record<string, unknown>, extra: object[] = []): Promise<Rig> {
  await helper.load(
    [manager, formula, catchNode],
    [
      { id: "f1", type: "datacoll-formula", wires: [["out"]], ...settings },
      { id: "out", type: "helper" },
      { id: "k", type: "catch", scope: ["f1"], wires: [["e"]] },
      { id: "e", type: "helper" },
      ...extra,
    ],
  );
  const r: Rig = {
    results: [],
    msgs: [],
    errors: [],
    send: (msg) => helper.getNode("f1").receive(msg),
  };
  helper.getNode("out").on("input", (m: NodeMessage) => {
    r.msgs.push(m);
    if (Array.isArray(m.payload)) r.results.push(...(m.payload as DataPoint[]));
    else r.results.push((m as { point: DataPoint }).point);
  });
  helper.getNode("e").on("input", (m: unknown) => {
    r.errors.push((m as { error: { message: string } }).error.message);
  });
  return r;
}

describe("datacoll-formula node", function () {
  useNodeRed();

  it("evaluates when a parameter changes, once per batch, and feeds results on to other formulas", async function () {
    const r = await rig({
      formulas: [
        { id: "kw", expression: "p1 * p2 / 1000", params: "p1=m:t:v, p2=m:t:a", result: "calc:t:kw" },
        { id: "double", expression: "p1 * 2", params: "p1=calc:t:kw", result: "calc:t:kw2" },
      ],
    });
    r.send({ topic: "m:t", payload: [dp("m:t:v", 230, T0), dp("m:t:a", 10, T0)] });
    await until(() => r.msgs.length === 1, 2000, "the results");
    assert.deepEqual(
      r.results.map((p) => [p.key, p.value, p.cause, p.ts]),
      [
        ["calc:t:kw", 2.3, "formula", T0],
        ["calc:t:kw2", 4.6, "formula", T0],
      ],
    );
    r.send({ topic: "m:t:a", payload: 20 });
    await until(() => r.msgs.length === 2, 2000, "the results of a single point");
    assert.deepEqual(
      r.results.slice(2).map((p) => p.value),
      [4.6, 9.2],
    );
  });

  it("computes a window function end to end: a moving average over the last 3 samples", async function () {
    const r = await rig({
      output: "point",
      formulas: [{ id: "avg3", expression: "avg(p1, 3)", params: "p1=m:t:v", result: "calc:t:avg" }],
    });
    for (const [i, v] of [1, 2, 3, 10].entries()) {
      r.send({ topic: "m:t:v", point: dp("m:t:v", v, T0 + i * 1000), payload: v });
      await until(() => r.results.length === i + 1, 2000, `result ${i + 1}`);
    }
    assert.deepEqual(
      r.results.map((p) => p.value),
      [1, 1.5, 2, 5],
    );
    assert.equal(r.msgs[3].topic, "calc:t:avg");
  });

  it("reports a bad formula in plain words in its status and log, and runs the good ones", async function () {
    const r = await rig({
      formulas: [
        { id: "bad", expression: "p1 + p3", params: "p1=m:t:v", result: "calc:t:bad" },
        { id: "good", expression: "p1 + 1", params: "p1=m:t:v", result: "calc:t:good" },
      ],
    });
    const statuses = statusesOf("f1");
    assert.ok(
      statuses.some((s) => s.fill === "red" && /1 bad: bad: p3 is used but not bound/.test(s.text)),
      JSON.stringify(statuses),
    );
    const logged = (helper.getNode("f1").error as unknown as { args: unknown[][] }).args.map((a) =>
      String(a[0]),
    );
    assert.ok(logged.includes("datacoll-formula.errors.formula"), JSON.stringify(logged));
    r.send({ topic: "m:t:v", payload: 1 });
    await until(() => r.msgs.length === 1, 2000, "the good formula's result");
    assert.deepEqual(
      r.results.map((p) => [p.key, p.value]),
      [["calc:t:good", 2]],
    );
  });

  it("evaluates on its timer too", async function () {
    const r = await rig({
      interval: "0.03",
      formulas: [{ id: "c", expression: 'count(p1, "1h")', params: "p1=m:t:v", result: "calc:t:n" }],
    });
    r.send({ topic: "m:t:v", payload: 5 });
    await until(() => r.msgs.length >= 3, 2000, "results from the timer without new input");
    assert.ok(r.results.every((p) => p.value === 1));
  });

  it("sends a message that is not DataPoints to Catch", async function () {
    const r = await rig({
      formulas: [{ id: "c", expression: "p1", params: "p1=m:t:v", result: "calc:t:c" }],
    });
    r.send({ topic: "not-a-key", payload: 1 });
    await until(() => r.errors.length === 1, 2000, "the error");
    assert.match(r.errors[0], /msg\.topic = deviceId:termId:itemId/);
    assert.equal(r.msgs.length, 0);
  });

  it("with a manager: runs registry formulas, seeds windows from the store's history, and publishes results", async function () {
    const r = await rig({ manager: "m1", useRegistry: true, fromBus: true }, [
      { id: "m1", type: "datacoll-manager", store: "embedded", namespace: "frm:", runDevices: false },
    ]);
    const m = managerOf("m1");
    const reg = m.registry;
    await reg.putDevice({ id: "plc", protocol: "virtual" });
    await reg.putDevice({ id: "calc", protocol: "formula" });
    await reg.putTerm({ id: "m", deviceId: "plc" });
    await reg.putTerm({ id: "c", deviceId: "calc" });
    await reg.putItem({ id: "v" });
    await reg.putItem({ id: "avg" });
    await reg.putPoint({ deviceId: "plc", termId: "m", itemId: "v" });
    await reg.putPoint({ deviceId: "calc", termId: "c", itemId: "avg" });
    // History the store holds before the formula exists.
    const now = Date.now();
    await m.publish([dp("plc:m:v", 10, now - 3000)]);
    await m.publish([dp("plc:m:v", 20, now - 2000)]);
    await m.publish([dp("plc:m:v", 30, now - 1000)]);
    await reg.putFormula({
      id: "avg5",
      expression: "avg(p1, 5)",
      params: { p1: "plc:m:v" },
      result: "calc:c:avg",
    });
    await until(
      () => statusesOf("f1").at(-1)?.text.startsWith("1 formula ") === true,
      3000,
      "the formula taken",
    );
    await m.publish([dp("plc:m:v", 40, Date.now())]);
    await until(() => r.results.length > 0, 2000, "a result of the registry formula");
    const first = r.results[0];
    assert.equal(first.key, "calc:c:avg");
    assert.equal(first.value, 25, "avg of 10, 20, 30 from the store's history and the live 40");
    await until(async () => (await m.store.latest("calc:c:avg"))?.value === 25, 2000, "the result stored");
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(r.results.length, 1, "one sample, one result");
    await reg.deleteFormula("avg5");
    await until(
      () => statusesOf("f1").at(-1)?.text.startsWith("0 formulas") === true,
      3000,
      "the formula gone",
    );
  });

  it("takes parameters from the manager's bus and ignores its own results coming back", async function () {
    const r = await rig(
      {
        manager: "m1",
        fromBus: true,
        formulas: [
          { id: "a", expression: "p1 * 2", params: "p1=m:t:v", result: "calc:t:a" },
          { id: "b", expression: "p1 + 1", params: "p1=calc:t:a", result: "calc:t:b" },
        ],
      },
      [{ id: "m1", type: "datacoll-manager", store: "embedded", namespace: "frm2:", runDevices: false }],
    );
    const m = managerOf("m1");
    const heard: string[] = [];
    m.subscribe("calc", (points) => heard.push(...points.map((p) => `${p.key}=${String(p.value)}`)));
    await m.publish([dp("m:t:v", 5, Date.now())]);
    await until(() => r.msgs.length === 1, 2000, "the results");
    await until(() => heard.length === 2, 2000, "the results published to the manager");
    // The published results came back over the bus; b must not run again on its own a.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      r.results.map((p) => `${p.key}=${String(p.value)}`),
      ["calc:t:a=10", "calc:t:b=11"],
    );
    assert.deepEqual(heard, ["calc:t:a=10", "calc:t:b=11"]);
  });
});
