/**
 * examples/03-check-and-alarm.json and examples/04-formula.json as users import them: each runs with
 * nothing but this package (the simulator, the embedded manager). Debug and inject nodes are swapped for
 * the test helper's collectors; everything else is loaded as written.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { helper, nodeModule, useNodeRed } from "../support/node-red";
import { until } from "../support/net";
import { commentNode } from "../integration/rest/http-flow";
import type { DataPoint } from "../../src/core/model/datapoint";

interface FlowNode {
  id: string;
  type: string;
  name?: string;
  info?: string;
  wires?: string[][];
}

const modules = [
  "datacoll-manager",
  "datacoll-modbus",
  "datacoll-modbus-server",
  "datacoll-poll",
  "datacoll-check",
  "datacoll-formula",
  "datacoll-data",
].map(nodeModule);

const CONFIG = new Set(["datacoll-manager", "datacoll-modbus"]);

function example(file: string): FlowNode[] {
  return JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../examples", file), "utf8")) as FlowNode[];
}

/** Load an example with its debug nodes as collectors; returns what each debug node (by name) got. */
async function run(flow: FlowNode[]): Promise<Map<string, unknown[]>> {
  // Import puts the flow nodes on the open tab; config nodes stay global.
  const placed = flow.map((n) => ({
    ...n,
    ...(CONFIG.has(n.type) ? {} : { z: "tab" }),
    ...(n.type === "debug" || n.type === "inject" ? { type: "helper" } : {}),
  }));
  await helper.load([...modules, commentNode], [{ id: "tab", type: "tab" }, ...placed]);
  const got = new Map<string, unknown[]>();
  for (const n of flow.filter((x) => x.type === "debug")) {
    const list: unknown[] = [];
    got.set(n.name ?? n.id, list);
    helper.getNode(n.id).on("input", (m: unknown) => list.push(m));
  }
  return got;
}

function byName(flow: FlowNode[], name: string): FlowNode {
  const n = flow.find((x) => x.name === name);
  assert.ok(n, `the example has a node named ${name}`);
  return n;
}

describe("examples 03 (check) and 04 (formula)", function () {
  useNodeRed();

  it("03: a comment explains it; points come out with their alarm state and ack reaches the check node", async function () {
    const flow = example("03-check-and-alarm.json");
    const comments = flow.filter((n) => n.type === "comment");
    assert.equal(comments.length, 1);
    assert.match(comments[0].info ?? "", /alarm/);
    const got = await run(flow);
    const points = got.get("points with alarm state") ?? [];
    await until(() => points.length > 0, 5000, "checked points from the simulator");
    const [p] = (points[0] as { payload: (DataPoint & { alarm: { alarms: unknown[] } })[] }).payload;
    assert.equal(p.key, "sim3:boiler:temp");
    assert.ok(Array.isArray(p.alarm.alarms));
    // The ack inject's message, as the inject node would send it.
    const ack = byName(flow, "ack all");
    const check = byName(flow, "boiler limits");
    assert.deepEqual(ack.wires, [[check.id]]);
  });

  it("04: a comment explains it; formula results come out and reach the data node through the manager", async function () {
    const flow = example("04-formula.json");
    assert.equal(flow.filter((n) => n.type === "comment").length, 1);
    const got = await run(flow);
    const results = got.get("formula results") ?? [];
    const heard = got.get("from the manager's bus") ?? [];
    await until(() => results.length > 0 && heard.length > 0, 5000, "results and the data node's messages");
    const keys = (results[0] as { payload: DataPoint[] }).payload.map((p) => p.key);
    assert.deepEqual(keys, ["calc:meter:kw", "calc:meter:kw_avg", "calc:meter:kwh"]);
    assert.match(String((heard[0] as { topic: string }).topic), /^calc:meter:/);
  });
});
