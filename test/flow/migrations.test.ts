/**
 * Flows saved by an earlier release open and run in this one (issue #24, flow migrations). The fixture
 * test/fixtures/flows/0.1.0-modbus-poll.json is examples/01-modbus-poll.json as release 0.1.0 saved it,
 * without settings versions, kept byte for byte; examples may move on, the fixture may not. The second
 * suite proves the hook every node registers through (nodes/lib/register.ts) upgrades the settings a
 * constructor receives, with a made-up node type so it does not depend on today's migrations. Between them,
 * test/fixtures/flows/0.1.0-iec104-poll.json (examples/02-iec104-poll.json as 0.1.0 saved it) proves the
 * IEC 104 outstation saved before its idle timeout (issue #21) still deploys and serves.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { Node, NodeAPI, NodeDef } from "node-red";
import { isGood, type DataPoint } from "../../src/core/model/datapoint";
import { registerNodeType } from "../../nodes/lib/register";
import type { MigrationTable, NodeConfig } from "../../nodes/lib/migrations/types";
import { loadExample, type ExampleNode } from "../support/example-flow";
import { freePort, until } from "../support/net";
import { helper, useNodeRed } from "../support/node-red";

function savedFlow(file: string): ExampleNode[] {
  return JSON.parse(
    fs.readFileSync(path.resolve(__dirname, "../fixtures/flows", file), "utf8"),
  ) as ExampleNode[];
}

/** Every log line the runtime wrote during the test, as text. */
const logText = (): string => JSON.stringify(helper.log().args);

describe("a flow saved by release 0.1.0", function () {
  useNodeRed();

  it("is the flow as 0.1.0 saved it: no node carries a settings version", function () {
    const flow = savedFlow("0.1.0-modbus-poll.json");
    assert.ok(flow.some((n) => n.type === "datacoll-modbus"));
    assert.deepEqual(
      flow.filter((n) => "version" in n || "transport" in n).map((n) => n.id),
      [],
    );
  });

  it("opens and polls the built-in simulator as it did", async function () {
    // Only the port moves, to a free one, so parallel runs do not meet on 5020; the migrations never touch it.
    const port = String(await freePort());
    // The inject buttons go too: they only start reads by hand, and this test reads on its own.
    // The file has no tab, as the editor exports a selection; importing puts its drawn nodes on one.
    const flow: ExampleNode[] = [
      { id: "f1", type: "tab" },
      ...savedFlow("0.1.0-modbus-poll.json")
        .filter((n) => n.type !== "inject")
        .map((n) =>
          n.type === "datacoll-modbus-server" || n.type === "datacoll-modbus" ? { ...n, port } : n,
        )
        .map((n) => ("x" in n ? { ...n, z: "f1" } : n)),
    ];
    await loadExample(flow, "unused_no_mysql_node");
    const pollId = flow.find((n) => n.type === "datacoll-poll")?.id;
    const debug = flow.find((n) => n.type === "debug" && n.name === "DataPoints")?.id;
    assert.ok(pollId && debug);
    const batches: DataPoint[][] = [];
    helper.getNode(debug).on("input", (msg: { payload: DataPoint[] }) => void batches.push(msg.payload));
    await until(() => batches.length > 0, 5000, "the first poll of the saved flow");
    const byItem = new Map(batches[0].map((p) => [p.itemId, p]));
    assert.deepEqual([...byItem.keys()].sort(), ["breaker", "current", "energy", "voltage"]);
    for (const p of byItem.values()) assert.ok(isGood(p.quality), `${p.itemId}: ${JSON.stringify(p)}`);
    // The simulator's generators as the flow saved them: a sine of 215-245 V, a ramp of 0-500 scaled by 0.1.
    const voltage = Number(byItem.get("voltage")?.value);
    const current = Number(byItem.get("current")?.value);
    assert.ok(voltage >= 215 && voltage <= 245, `voltage ${voltage}`);
    assert.ok(current >= 0 && current <= 50, `current ${current}`);
    assert.doesNotMatch(logText(), /settings version/);
  });
});

describe("an IEC 104 flow saved by release 0.1.0", function () {
  useNodeRed();

  it("is the flow as 0.1.0 saved it: the outstation has no settings version and no idle timeout", function () {
    const server = savedFlow("0.1.0-iec104-poll.json").find((n) => n.type === "datacoll-iec104-server");
    assert.ok(server);
    assert.equal("version" in server, false);
    assert.equal("idleTimeout" in server, false);
  });

  it("opens, and its outstation (given the idle timeout's default) answers the interrogation", async function () {
    const port = String(await freePort());
    const flow: ExampleNode[] = [
      { id: "f2", type: "tab" },
      ...savedFlow("0.1.0-iec104-poll.json")
        .filter((n) => n.type !== "inject")
        .map((n) =>
          n.type === "datacoll-iec104-server" || n.type === "datacoll-iec104" ? { ...n, port } : n,
        )
        .map((n) => ("x" in n ? { ...n, z: "f2" } : n)),
    ];
    await loadExample(flow, "unused_no_mysql_node");
    const debug = flow.find((n) => n.type === "debug" && n.name === "DataPoints")?.id;
    assert.ok(debug);
    const points: DataPoint[] = [];
    helper.getNode(debug).on("input", (msg: { payload: DataPoint[] }) => void points.push(...msg.payload));
    await until(() => new Set(points.map((p) => p.itemId)).size >= 4, 5000, "the interrogation answer");
    for (const p of points) assert.ok(isGood(p.quality), `${p.itemId}: ${JSON.stringify(p)}`);
    // A refused idle timeout would have failed the outstation's settings; the migration's 30 s is taken.
    assert.doesNotMatch(logText(), /datacoll-iec104-server\.errors\.config|settings version/);
  });
});

describe("registering through nodes/lib/register.ts", function () {
  useNodeRed();

  const table: MigrationTable = {
    "test-migrated": [
      { version: 1, summary: "adds mode", up: (c) => ({ ...c, mode: "auto" }) },
      { version: 2, summary: "renames speed to rate", up: ({ speed, ...c }) => ({ ...c, rate: speed }) },
    ],
  };
  const seen = new Map<string, NodeConfig>();
  const testNode = (RED: NodeAPI): void =>
    registerNodeType(
      RED,
      "test-migrated",
      function (this: Node, def: NodeDef) {
        RED.nodes.createNode(this, def);
        // Throws unless the upgraded settings kept the flow Node-RED hides in them.
        this.status({ text: "created" });
        seen.set(def.id, def as unknown as NodeConfig);
      },
      {},
      table,
    );

  it("gives each constructor its settings upgraded to the current version, and warns of a newer one", async function () {
    seen.clear();
    await helper.load(testNode, [
      { id: "old", type: "test-migrated", speed: 5 },
      { id: "mid", type: "test-migrated", version: 1, mode: "manual", speed: 7 },
      { id: "now", type: "test-migrated", version: 2, mode: "manual", rate: 9 },
      { id: "next", type: "test-migrated", version: 3, gear: "high" },
    ]);
    // The settings alone, without what Node-RED adds to every node (id, type, z, wires, users).
    const ownOf = new Set(["id", "type", "z", "wires", "_users"]);
    const settings = (id: string): Record<string, unknown> =>
      Object.fromEntries(Object.entries(seen.get(id) ?? {}).filter(([k]) => !ownOf.has(k)));
    assert.deepEqual(settings("old"), { mode: "auto", rate: 5, version: 2 });
    assert.deepEqual(settings("mid"), { mode: "manual", rate: 7, version: 2 });
    assert.deepEqual(settings("now"), { mode: "manual", rate: 9, version: 2 });
    assert.deepEqual(settings("next"), { gear: "high", version: 3 });
    assert.match(logText(), /test-migrated next: settings version 3 is not one this release knows/);
    assert.doesNotMatch(logText(), /test-migrated (old|mid|now):/);
  });
});
