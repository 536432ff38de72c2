/**
 * examples/02-iec104-poll.json as users import it: it runs with nothing but this package (the outstation
 * simulator on port 2405). Debug and inject nodes are swapped for the test helper's collectors.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { DataPoint } from "../../src/core/model/datapoint";
import { commentNode } from "../integration/rest/http-flow";
import { until } from "../support/net";
import { helper, nodeModule, useNodeRed } from "../support/node-red";

interface FlowNode {
  id: string;
  type: string;
  name?: string;
  info?: string;
  props?: { p: string; v?: string }[];
  payload?: string;
  payloadType?: string;
}

const modules = ["datacoll-iec104", "datacoll-iec104-server", "datacoll-poll", "datacoll-command"].map(
  nodeModule,
);
const flow = JSON.parse(
  fs.readFileSync(path.resolve(__dirname, "../../examples/02-iec104-poll.json"), "utf8"),
) as FlowNode[];

describe("example 02-iec104-poll", function () {
  useNodeRed();

  it("explains itself and streams DataPoints, counters and confirmations with nothing else installed", async function () {
    const comment = flow.find((n) => n.type === "comment");
    assert.ok(comment?.info && comment.info.length > 200, "a Comment node explains the flow");
    const placed = flow.map((n) => ({
      ...n,
      ...(n.type === "datacoll-iec104" ? {} : { z: "tab" }),
      ...(n.type === "debug" || n.type === "inject" ? { type: "helper" } : {}),
    }));
    await helper.load([...modules, commentNode], [{ id: "tab", type: "tab" }, ...placed]);
    const got = new Map<string, { topic?: string; payload: unknown }[]>();
    for (const n of flow.filter((x) => x.type === "debug")) {
      const list: { topic?: string; payload: unknown }[] = [];
      got.set(n.name ?? n.id, list);
      helper.getNode(n.id).on("input", (m: { topic?: string; payload: unknown }) => list.push(m));
    }
    const points = (): DataPoint[] => (got.get("DataPoints") ?? []).flatMap((m) => m.payload as DataPoint[]);
    await until(() => new Set(points().map((p) => p.itemId)).size >= 4, 5000, "the interrogation answer");
    assert.deepEqual(
      new Set(points().map((p) => p.key)),
      new Set(["rtu1:bay1:frequency", "rtu1:bay1:power", "rtu1:bay1:setpoint_fb", "rtu1:bay1:breaker"]),
    );
    // What the inject nodes would send, sent to the nodes they are wired to.
    const inject = (name: string, msg: Record<string, unknown>): void => {
      const n = flow.find((x) => x.name === name) as FlowNode & { wires: string[][] };
      helper.getNode(n.wires[0][0]).receive(msg);
    };
    inject("counters", { payload: Date.now(), request: "counter" });
    await until(() => points().some((p) => p.itemId === "energy"), 3000, "the counters");
    inject("setpoint 42.5", { payload: 42.5 });
    inject("switch on", { payload: true });
    await until(() => (got.get("confirmations") ?? []).length === 2, 3000, "both confirmations");
    await until(() => points().some((p) => p.itemId === "setpoint_fb" && p.value === 42.5), 3000, "feedback");
    const station = got.get("executed by the station") ?? [];
    assert.deepEqual(station.map((m) => m.topic).sort(), ["clock-sync", "command/5000", "command/6000"]);
  });
});
