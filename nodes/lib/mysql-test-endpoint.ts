/**
 * The MySQL config dialog's "test connection" button (POST /datacoll/mysql/test; see test-route.ts). For
 * a node already deployed, a password (or TLS key) the dialog does not send — the editor never sees stored
 * credentials — is taken from the stored credentials.
 */
import type { NodeAPI } from "node-red";
import { parseMysqlSettings, testConnection } from "../../src/core/history/mysql-settings";
import type { MysqlCredentials } from "../datacoll-mysql/api";
import { registerTestRoute } from "./test-route";

// What the editor puts in a password field that holds a stored, unchanged credential.
const UNCHANGED = "__PWRD__";

function given(v: unknown): v is string {
  return typeof v === "string" && v !== "" && v !== UNCHANGED;
}

export function registerMysqlTest(RED: NodeAPI): void {
  registerTestRoute(RED, {
    kind: "mysql",
    parse: (body) => {
      const stored =
        typeof body.id === "string" && body.id !== ""
          ? ((RED.nodes.getCredentials(body.id) as MysqlCredentials | undefined) ?? {})
          : {};
      return parseMysqlSettings({
        ...body,
        password: given(body.password) ? body.password : stored.password,
        key: given(body.key) ? body.key : stored.key,
      });
    },
    test: testConnection,
  });
}
