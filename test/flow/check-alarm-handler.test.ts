/** An operator's acknowledge through the manager (REST, live view) reaches the check node holding the alarm. */
import assert from "node:assert/strict";
import { managers } from "../../src/core/manager";
import { until } from "../support/net";
import { helper, nodeModule, useNodeRed } from "../support/node-red";

const nodes = ["datacoll-manager", "datacoll-check"].map(nodeModule);

describe("datacoll-check as the manager's alarm handler", function () {
  useNodeRed();

  it("acknowledges a raised alarm asked for through the manager, and answers false for an unknown one", async function () {
    await helper.load(nodes, [
      { id: "m", type: "datacoll-manager", store: "embedded", namespace: "cah:" },
      { id: "c", type: "datacoll-check", manager: "m", high: "90", wires: [[], ["t"]] },
      { id: "t", type: "helper" },
    ]);
    const transitions: string[] = [];
    helper
      .getNode("t")
      .on("input", (msg: { alarm: { condition: string; state: string; by?: string } }) =>
        transitions.push(`${msg.alarm.condition}:${msg.alarm.state}:${msg.alarm.by ?? ""}`),
      );
    helper.getNode("c").receive({ topic: "d:t:v", payload: 95 });
    await until(() => transitions.length === 1, 3000, "the raise");
    const manager = managers.get("m");
    assert.ok(manager);
    assert.equal(await manager.acknowledgeAlarm("d:t:v", "high", "operator"), true);
    await until(() => transitions.length === 2, 3000, "the acknowledge");
    assert.deepEqual(transitions, ["high:raised:", "high:acked:operator"]);
    assert.equal(await manager.acknowledgeAlarm("x:y:z", "high", "operator"), false);
  });
});
