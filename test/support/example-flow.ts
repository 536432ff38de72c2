/**
 * An example flow as a user imports it, loaded into the test runtime: every node type it uses gets its
 * module (so an example that gains a node needs no change to the tests that load it), debug nodes become
 * the helper's collectors, and its MySQL config node points at a database of the test's own, so nothing
 * an example saves lands in the shared `test` database it names for users.
 */
import fs from "node:fs";
import path from "node:path";
import type { NodeAPI } from "node-red";
import { commentNode, httpNodes } from "../integration/rest/http-flow";
import { helper, nodeModule } from "./node-red";
import { MYSQL_URL } from "./services";

export interface ExampleNode {
  readonly id: string;
  readonly type: string;
  readonly [k: string]: unknown;
}

const mysqlUrl = new URL(MYSQL_URL);

export function readExample(file: string): ExampleNode[] {
  return JSON.parse(
    fs.readFileSync(path.resolve(__dirname, "../../examples", file), "utf8"),
  ) as ExampleNode[];
}

function modulesFor(flow: readonly ExampleNode[]): ((RED: NodeAPI) => void)[] {
  const types = new Set(flow.map((n) => n.type));
  const ours = [...types].filter((t) => t.startsWith("datacoll-"));
  // The REST subflow module holds a datacoll-api node and http in/out nodes of its own.
  if (types.has("datacoll-rest")) ours.push("datacoll-api");
  const modules = [...new Set(ours)].map(nodeModule);
  if (types.has("http in") || types.has("datacoll-rest")) modules.push(httpNodes);
  if (types.has("comment")) modules.push(commentNode);
  return modules;
}

/** Load `flow` (an example, maybe changed by the test); its MySQL config nodes use `database`. */
export async function loadExample(flow: readonly ExampleNode[], database: string): Promise<void> {
  const credentials: Record<string, object> = {};
  const loaded = flow.map((n) => {
    if (n.type === "debug") return { ...n, type: "helper" };
    if (n.type !== "datacoll-mysql") return n;
    credentials[n.id] = { password: decodeURIComponent(mysqlUrl.password) };
    return {
      ...n,
      host: mysqlUrl.hostname,
      port: mysqlUrl.port || "3306",
      user: decodeURIComponent(mysqlUrl.username || "root"),
      database,
    };
  });
  await helper.load(modulesFor(flow), loaded, credentials);
}
