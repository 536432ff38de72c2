/**
 * SQL injection on the paths the other tests leave: table names (which cannot be parameters, so they must
 * pass a strict identifier rule) set on a save node, and custom SQL fed values that look like placeholders
 * or quoting. The rows/values paths — history and alarm rows with hostile ids, item names and values, and
 * custom SQL with injection attempts — are in test/integration/history/writer.test.ts and
 * test/flow/save-node.test.ts.
 */
import assert from "node:assert/strict";
import type { RowDataPacket } from "mysql2/promise";
import { helper, useNodeRed } from "../../support/node-red";
import { until } from "../../support/net";
import { createTestDatabase, type TestDatabase } from "../../support-history/mysql";
import {
  collect,
  errorsOf,
  modules,
  mysqlCredentials,
  mysqlNode,
  saveFlow,
  statusesOf,
  TAB,
} from "../save-node/flow";

describe("security: SQL paths of the save node", function () {
  this.timeout(60_000);
  useNodeRed();
  let db: TestDatabase;

  before(async function () {
    db = await createTestDatabase("dc_sec");
    await db.admin.query("CREATE TABLE sentinel (id INT PRIMARY KEY)");
    await db.admin.query("INSERT INTO sentinel VALUES (1)");
  });
  after(async function () {
    await db?.drop();
  });

  async function rows(sql: string): Promise<RowDataPacket[]> {
    const [r] = await db.admin.query<RowDataPacket[]>(sql);
    return r;
  }
  const tables = async (): Promise<string[]> =>
    (await rows("SHOW TABLES")).map((r) => String(Object.values(r)[0]));

  const HOSTILE_NAMES: readonly (readonly [string, string])[] = [
    ["historyTable", "h; DROP TABLE sentinel"],
    ["historyTable", "h`; DROP TABLE sentinel; --"],
    ["historyTable", "sentinel` (x INT); --"],
    ["historyTable", "information_schema.tables"],
    ["historyTable", "h h"],
    ["historyTable", "h\u0000"],
    ["historyTable", "hïstory"],
    ["historyTable", "1h"],
    ["historyTable", "h".repeat(65)],
    ["alarmsTable", "a' OR '1'='1"],
    ["alarmsTable", "a/**/UNION/**/SELECT"],
  ];

  for (const [field, name] of HOSTILE_NAMES) {
    it(`refuses ${field} ${JSON.stringify(name.slice(0, 40))} with the field named, running no SQL`, async function () {
      const before = await tables();
      await helper.load(
        modules,
        [TAB, mysqlNode("db", db.name), ...saveFlow("s", "db", { [field]: name })],
        mysqlCredentials("db"),
      );
      const statuses = statusesOf("s");
      const errors = errorsOf("s");
      // The refusal happens while the node is built; its status and error come right after.
      helper.getNode("s").receive({ topic: "d:t:i", payload: 1 });
      await until(() => errors.length > 0, 20_000, "the node's error");
      assert.ok(
        errors.some((e) => e.includes(`${field} must be 1-64 letters`)),
        JSON.stringify({ errors, statuses }),
      );
      assert.deepEqual(await tables(), before, "a table was created or dropped");
      assert.equal((await rows("SELECT COUNT(*) AS n FROM sentinel"))[0].n, 1);
    });
  }

  it("stores values shaped like placeholders and quoting verbatim through custom SQL", async function () {
    await db.admin.query(
      "CREATE TABLE my_vals (k VARCHAR(400) NOT NULL, vt VARCHAR(255) NULL, at DATETIME(3) NOT NULL, PRIMARY KEY (k, at)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    );
    const customSql = "INSERT INTO my_vals (k, vt, at) VALUES (:key, :valueText, :ts)";
    await helper.load(
      modules,
      [TAB, mysqlNode("db", db.name), ...saveFlow("s", "db", { customSql })],
      mysqlCredentials("db"),
    );
    const out = collect("s-out");
    const values = [":value", "?", ":key, :ts", "\\", "'\\''", "\u0000x", "😀𝄞", "0x27", "CHAR(39)"];
    const t0 = Date.UTC(2026, 10, 21, 12, 0, 0, 0);
    helper.getNode("s").receive({
      payload: values.map((v, i) => ({
        key: `d:t:i${i}`,
        deviceId: "d",
        termId: "t",
        itemId: `i${i}`,
        value: v,
        ts: t0 + i,
        quality: {},
        cause: "poll",
      })),
    });
    await until(() => out.length === 1, 20_000, "accepted");
    await until(
      async () => Number((await rows("SELECT COUNT(*) AS n FROM my_vals"))[0].n) === values.length,
      20_000,
      "the rows",
    );
    const got = await rows("SELECT vt FROM my_vals ORDER BY at");
    assert.deepEqual(
      got.map((r) => r.vt),
      values,
    );
  });

  it("refuses custom SQL with a placeholder it does not know, even inside a comment", async function () {
    await helper.load(
      modules,
      [
        TAB,
        mysqlNode("db", db.name),
        ...saveFlow("s", "db", { customSql: "INSERT INTO my_vals (k) VALUES (:key) -- :evil" }),
      ],
      mysqlCredentials("db"),
    );
    const errors = errorsOf("s");
    helper.getNode("s").receive({ topic: "d:t:i", payload: 1 });
    await until(() => errors.length > 0, 20_000, "the node's error");
    assert.match(errors.join("\n"), /unknown placeholder\(s\) :evil/);
  });
});
