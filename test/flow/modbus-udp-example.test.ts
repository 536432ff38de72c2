/**
 * examples/10-modbus-udp.json as users import it: with nothing but this package, the poll node reads its
 * term from the simulator over Modbus UDP, and the flex read answers a typed DataPoint. The leak check
 * after the test proves the UDP sockets of the device and the simulator are closed with the flow.
 */
import assert from "node:assert/strict";
import type { DataPoint } from "../../src/core/model/datapoint";
import { loadExample, readExample } from "../support/example-flow";
import { until } from "../support/net";
import { helper, useNodeRed } from "../support/node-red";

describe("example 10-modbus-udp", function () {
  useNodeRed();

  it("explains itself, polls over Modbus UDP and answers a typed flex read, with nothing else installed", async function () {
    const flow = readExample("10-modbus-udp.json");
    const comment = flow.find((n) => n.type === "comment") as { info?: string } | undefined;
    assert.ok(comment?.info && comment.info.length > 200, "a Comment node explains the flow");
    const named = (name: string): { id: string; wires?: string[][] } => {
      const n = flow.find((x) => (x as { name?: string }).name === name);
      assert.ok(n, `no node named ${name}`);
      return n as { id: string; wires?: string[][] };
    };
    // Inject nodes are the test's to play (it sends their messages itself); no MySQL node here, so
    // the database name is not used.
    await loadExample(
      flow.map((n) => (n.type === "inject" ? { ...n, type: "helper" } : n)),
      "unused",
    );
    const batches: DataPoint[][] = [];
    helper
      .getNode(named("DataPoints").id)
      .on("input", (m: { payload: DataPoint[] }) => batches.push(m.payload));
    const flex: { payload: DataPoint[]; values: number[] }[] = [];
    helper
      .getNode(named("typed flex answer").id)
      .on("input", (m: { payload: DataPoint[]; values: number[] }) => flex.push(m));
    // The sine on HR0 runs between 215 and 245: a batch with it there proves the read went through.
    const hr0 = (b: DataPoint[]): DataPoint | undefined =>
      b.find((p) => p.value !== 0 && typeof p.value === "number" && p.value >= 215 && p.value <= 245);
    await until(
      () => batches.some((b) => hr0(b) !== undefined),
      5000,
      "a polled batch with the sine's value",
    );
    assert.ok(
      batches.every((b) => b.every((p) => Object.keys(p.quality).length === 0)),
      "every point good",
    );
    // What the inject node would send, sent to the node it is wired to.
    const inject = named("flex read");
    helper
      .getNode(inject.wires?.[0][0] ?? "")
      .receive({ payload: { fc: 3, unit: 1, address: 0, quantity: 2, type: "float32" } });
    await until(() => flex.length === 1, 3000, "the flex read's answer");
    const [point] = flex[0].payload;
    assert.equal(point.itemId, "HR0");
    assert.equal(point.cause, "call");
    assert.ok(
      typeof point.value === "number" && point.value >= 215 && point.value <= 245,
      String(point.value),
    );
    assert.equal(flex[0].values.length, 2);
  });
});
