/**
 * The check node's second output wired straight into the save node: the transitions the real checker
 * makes (raise, acknowledge, clear) become alarm rows, and the points of its first output history rows.
 */
import assert from "node:assert/strict";
import type { RowDataPacket } from "mysql2/promise";
import { helper, nodeModule, useNodeRed } from "../support/node-red";
import { until } from "../support/net";
import { createTestDatabase, rowsOnceCreated, type TestDatabase } from "../support-history/mysql";
import { errorsOf, modules, mysqlCredentials, mysqlNode, TAB } from "../integration/save-node/flow";

describe("check node -> save node", function () {
  useNodeRed();
  let db: TestDatabase;
  before(async function () {
    db = await createTestDatabase("dc_save_alarms");
  });
  after(async function () {
    await db.drop();
  });

  it("saves the checker's alarm transitions as alarm rows and its points as history rows", async function () {
    await helper.load(
      [...modules, nodeModule("datacoll-check")],
      [
        TAB,
        mysqlNode("db", db.name),
        { id: "c", type: "datacoll-check", z: "tab", high: "90", wires: [["s"], ["s"]] },
        { id: "s", type: "datacoll-save", z: "tab", mysql: "db", maxDelay: "10", wires: [[], []] },
      ],
      mysqlCredentials("db"),
    );
    const errors = errorsOf("s");
    const c = helper.getNode("c");
    const t = Date.now();
    c.receive({ topic: "b1:boiler:temp", payload: 80, point: { key: "b1:boiler:temp", value: 80, ts: t } });
    c.receive({
      topic: "b1:boiler:temp",
      payload: 95,
      point: { key: "b1:boiler:temp", value: 95, ts: t + 1 },
    });
    c.receive({ topic: "ack", payload: { key: "b1:boiler:temp", by: "op1" } });
    c.receive({
      topic: "b1:boiler:temp",
      payload: 70,
      point: { key: "b1:boiler:temp", value: 70, ts: t + 2 },
    });
    const alarms = (): Promise<RowDataPacket[]> =>
      rowsOnceCreated(
        db.admin,
        "SELECT `condition`, state, previous, active, severity, value, ack_by FROM dc_alarms ORDER BY FIELD(state, 'raised', 'acked', 'normal')",
      );
    await until(async () => (await alarms()).length === 3, 5000, "three alarm rows");
    assert.deepEqual(
      (await alarms()).map((r) => [r.condition, r.previous, r.state, r.active, r.ack_by]),
      [
        ["high", "normal", "raised", 1, null],
        ["high", "raised", "acked", 1, "op1"],
        ["high", "acked", "normal", 0, null],
      ],
    );
    const [h] = await db.admin.query<RowDataPacket[]>("SELECT value FROM dc_history ORDER BY ts");
    assert.deepEqual(
      h.map((r) => r.value),
      [80, 95, 70],
    );
    assert.deepEqual(errors, []);
  });
});
