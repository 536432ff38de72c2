/**
 * An example flow as a user imports it, loaded into the test runtime: every node type it uses gets its
 * module (ours, and Node-RED's comment, inject and switch nodes, so an example that gains a node needs no
 * change to the tests that load it), debug nodes become the helper's collectors, and its MySQL config node
 * points at a database of the test's own.
 */
import assert from "node:assert/strict";
import type { NodeAPI } from "node-red";
import { commentNode, httpNodes, injectNode, switchNode } from "../integration/rest/http-flow";
import { createTestDatabase, type TestDatabase } from "../support-history/mysql";
import { mysqlCredentials, onDatabase, type ExampleNode } from "./example-file";
import { helper, nodeModule } from "./node-red";

export { readExample, type ExampleNode } from "./example-file";

function modulesFor(flow: readonly ExampleNode[]): ((RED: NodeAPI) => void)[] {
  const types = new Set(flow.map((n) => n.type));
  const ours = [...types].filter((t) => t.startsWith("datacoll-"));
  // The REST subflow module holds a datacoll-api node and http in/out nodes of its own.
  if (types.has("datacoll-rest")) ours.push("datacoll-api");
  const modules = [...new Set(ours)].map(nodeModule);
  if (types.has("http in") || types.has("datacoll-rest")) modules.push(httpNodes);
  if (types.has("comment")) modules.push(commentNode);
  if (types.has("inject")) modules.push(injectNode);
  if (types.has("switch")) modules.push(switchNode);
  return modules;
}

/** Load `flow` (an example, maybe changed by the test); its MySQL config nodes use `database`. */
export async function loadExample(flow: readonly ExampleNode[], database: string): Promise<void> {
  const loaded = onDatabase(flow, database).map((n) => (n.type === "debug" ? { ...n, type: "helper" } : n));
  await helper.load(modulesFor(flow), loaded, mysqlCredentials(flow));
}

/**
 * For a describe block whose tests load an example: a database of the block's own for the example's
 * MySQL nodes (made before its tests, dropped after), and `load(flow)` to load the example onto it.
 */
export function useExampleDatabase(prefix: string): { load(flow: readonly ExampleNode[]): Promise<void> } {
  let db: TestDatabase | undefined;
  before(async () => {
    db = await createTestDatabase(prefix);
  });
  after(async () => {
    await db?.drop();
  });
  return {
    load: (flow) => {
      assert.ok(db, "the example's database was not created");
      return loadExample(flow, db.name);
    },
  };
}
