/**
 * examples/05-mysql-history.json as users import it: it deploys without an error when MySQL is not
 * there (the save node is red and buffers), and writes the simulator's points once its config node points
 * at a database. Debug nodes are swapped for the test helper's collectors.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { helper, nodeModule, useNodeRed } from "../support/node-red";
import { freePort, until } from "../support/net";
import { MYSQL_URL } from "../support/services";
import { commentNode } from "../integration/rest/http-flow";
import { createTestDatabase, rowsOnceCreated, type TestDatabase } from "../support-history/mysql";
import { errorsOf, statusesOf, type FlowNode } from "../integration/save-node/flow";

const modules = [
  "datacoll-modbus",
  "datacoll-modbus-server",
  "datacoll-poll",
  "datacoll-mysql",
  "datacoll-save",
].map(nodeModule);
const CONFIG = new Set(["datacoll-modbus", "datacoll-mysql"]);

const example = JSON.parse(
  fs.readFileSync(path.resolve(__dirname, "../../examples/05-mysql-history.json"), "utf8"),
) as FlowNode[];

function byType(type: string): FlowNode {
  const n = example.find((x) => x.type === type);
  assert.ok(n, `the example has a ${type} node`);
  return n;
}

/** Load the example with the MySQL config node changed by `mysql`. */
async function run(mysql: Record<string, unknown>): Promise<void> {
  const placed = example.map((n) => ({
    ...n,
    ...(CONFIG.has(n.type) ? {} : { z: "tab" }),
    ...(n.type === "debug" ? { type: "helper" } : {}),
    ...(n.type === "datacoll-mysql" ? mysql : {}),
  }));
  await helper.load([...modules, commentNode], [{ id: "tab", type: "tab" }, ...placed], {
    [byType("datacoll-mysql").id]: { password: decodeURIComponent(new URL(MYSQL_URL).password) },
  });
}

describe("example 05 (MySQL history)", function () {
  useNodeRed();
  let db: TestDatabase;
  before(async function () {
    db = await createTestDatabase("dc_ex05");
  });
  after(async function () {
    await db.drop();
  });

  it("says in a comment that it needs MySQL and how to set the config node; uses its own simulator port", function () {
    const comments = example.filter((n) => n.type === "comment");
    assert.equal(comments.length, 1);
    assert.match(String(comments[0].info), /MySQL or MariaDB/);
    assert.match(String(comments[0].info), /Test connection/);
    assert.notEqual(byType("datacoll-modbus-server").port, "5020");
    assert.equal(byType("datacoll-modbus").port, byType("datacoll-modbus-server").port);
    const ids = example.map((n) => n.id);
    assert.equal(new Set(ids).size, ids.length);
  });

  it("deploys with no error when MySQL is absent: the save node is red and buffers", async function () {
    await run({ port: String(await freePort()), connectTimeout: "500" });
    const save = byType("datacoll-save").id;
    const errors = errorsOf(save);
    const statuses = statusesOf(save);
    await until(
      () => statuses.some((s) => s.fill === "red" && /MySQL away .* backlog [1-9]/.test(s.text ?? "")),
      8000,
      "red status with points in the backlog",
    );
    assert.deepEqual(errors, []);
    // Errors logged while the flow started, too (node.error in a constructor is logged at level 20).
    const logged = helper
      .log()
      .args.map((a) => a[0] as { level?: number; msg?: unknown })
      .filter((e) => e.level !== undefined && e.level <= 20);
    assert.deepEqual(logged, []);
  });

  it("writes the simulator's points once the config node points at a database", async function () {
    // Rows of this run only: the earlier test's node (same id) parks its unwritten rows for this one.
    const since = new Date(Date.now()).toISOString().slice(0, 23).replace("T", " ");
    await run({ database: db.name });
    await until(
      async () => {
        const r = await rowsOnceCreated(
          db.admin,
          "SELECT COUNT(DISTINCT point_key) AS n FROM dc_history WHERE term_id = 'meter5' AND ts >= ?",
          [since],
        );
        return Number(r[0]?.n) === 3;
      },
      8000,
      "rows of all three items",
    );
  });
});
