/**
 * examples/07-full-pipeline.json — the demo `npm start` opens — as users import it: simulator → poll →
 * the embedded manager → every point (data node) → check → formula → save into MySQL (a database of the
 * test's own). Debug nodes become the helper's collectors; the REST subflow module is covered by the REST
 * tests and left out here (test/flow/registry-pipeline.test.ts drives the demo through it).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { managers } from "../../src/core/manager";
import { commentNode } from "../integration/rest/http-flow";
import { createTestDatabase, type TestDatabase } from "../support-history/mysql";
import { until } from "../support/net";
import { helper, nodeModule, useNodeRed } from "../support/node-red";

interface FlowNode {
  id: string;
  type: string;
  name?: string;
  database?: string;
  [k: string]: unknown;
}

const modules = [
  "datacoll-manager",
  "datacoll-modbus",
  "datacoll-modbus-server",
  "datacoll-poll",
  "datacoll-check",
  "datacoll-formula",
  "datacoll-data",
  "datacoll-mysql",
  "datacoll-save",
].map(nodeModule);

describe("example 07: the full pipeline", function () {
  this.timeout(60_000);
  let db: TestDatabase | undefined;
  afterEach(async function () {
    await db?.drop();
    db = undefined;
  });
  useNodeRed();

  it("polls the simulator, checks, calculates and saves, with every sample in the manager", async function () {
    const database = await createTestDatabase("dc_demo");
    db = database;
    const flow = JSON.parse(
      fs.readFileSync(path.resolve(__dirname, "../../examples/07-full-pipeline.json"), "utf8"),
    ) as FlowNode[];
    assert.ok(flow.some((n) => n.type === "comment" && typeof n.info === "string" && n.info.length > 100));
    const loaded = flow
      .filter((n) => n.type !== "datacoll-rest")
      .map((n) => ({
        ...n,
        ...(n.type === "debug" ? { type: "helper" } : {}),
        ...(n.type === "datacoll-mysql" ? { database: database.name } : {}),
      }));
    await helper.load([...modules, commentNode], loaded, {});
    const manager = managers.get(flow.find((n) => n.type === "datacoll-manager")?.id ?? "");
    assert.ok(manager, "the demo's manager runs");
    await until(
      async () => typeof (await manager.store.latest("demo:meter1:voltage"))?.value === "number",
      10_000,
      "poll → manager",
    );
    await until(
      async () => typeof (await manager.store.latest("calc:meter1:kw"))?.value === "number",
      10_000,
      "formula → manager",
    );
    const volts = (await manager.store.latest("demo:meter1:voltage"))?.value as number;
    assert.ok(volts >= 218 && volts <= 242, `voltage ${volts} within the simulator's sine`);
    await until(
      async () => {
        const [rows] = await database.admin.query("SELECT COUNT(DISTINCT point_key) AS n FROM dc_history");
        return Number((rows as { n: number }[])[0]?.n) >= 4;
      },
      15_000,
      "rows of the poll and the formula in MySQL",
    );
  });
});
