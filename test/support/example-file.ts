/**
 * An example flow file as a test reads it, and the same flow with its MySQL config nodes on a database of
 * the test's own (the server of MYSQL_URL), so nothing an example saves lands in the shared `test`
 * database it names for users. Pure data: used by flow tests and by tests that run a real Node-RED.
 */
import fs from "node:fs";
import path from "node:path";
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

/** `flow` with every datacoll-mysql node pointing at `database` on the test server. */
export function onDatabase(flow: readonly ExampleNode[], database: string): ExampleNode[] {
  return flow.map((n) =>
    n.type === "datacoll-mysql"
      ? {
          ...n,
          host: mysqlUrl.hostname,
          port: mysqlUrl.port || "3306",
          user: decodeURIComponent(mysqlUrl.username || "root"),
          database,
        }
      : n,
  );
}

/** The credentials of the flow's MySQL nodes: the password of MYSQL_URL. */
export function mysqlCredentials(flow: readonly ExampleNode[]): Record<string, { password: string }> {
  const password = decodeURIComponent(mysqlUrl.password);
  return Object.fromEntries(flow.filter((n) => n.type === "datacoll-mysql").map((n) => [n.id, { password }]));
}
