/**
 * The config dialog's "test connection" button: POST /datacoll/mysql/test with the form's fields, answered
 * with `{ ok, message }` in plain words. For a node already deployed, a password (or TLS key) the dialog
 * does not send — the editor never sees stored credentials — is taken from the stored credentials.
 * Registered once per admin app (see live-view.ts for why).
 */
import type { NodeAPI } from "node-red";
import type { Request, Response } from "express";
import { DataCollError, errorMessage } from "../../src/core/errors";
import { parseMysqlSettings, testConnection } from "../../src/core/history/mysql-settings";
import type { MysqlCredentials } from "../datacoll-mysql/api";

const registeredOn = new WeakSet<object>();

// What the editor puts in a password field that holds a stored, unchanged credential.
const UNCHANGED = "__PWRD__";

function given(v: unknown): v is string {
  return typeof v === "string" && v !== "" && v !== UNCHANGED;
}

export function registerMysqlTest(RED: NodeAPI): void {
  if (registeredOn.has(RED.httpAdmin)) return;
  registeredOn.add(RED.httpAdmin);
  const write = RED.auth.needsPermission("datacoll-mysql.write");
  RED.httpAdmin.post("/datacoll/mysql/test", write, (req: Request, res: Response) => {
    const body = (typeof req.body === "object" && req.body !== null ? req.body : {}) as Record<
      string,
      unknown
    >;
    const stored =
      typeof body.id === "string" && body.id !== ""
        ? ((RED.nodes.getCredentials(body.id) as MysqlCredentials | undefined) ?? {})
        : {};
    let settings;
    try {
      settings = parseMysqlSettings({
        ...body,
        password: given(body.password) ? body.password : stored.password,
        key: given(body.key) ? body.key : stored.key,
      });
    } catch (err) {
      const field = err instanceof DataCollError ? err.field : undefined;
      return void res.status(400).json({ ok: false, field, message: errorMessage(err) });
    }
    testConnection(settings).then(
      (answer) => res.json(answer),
      (err: unknown) => res.status(500).json({ ok: false, message: errorMessage(err) }),
    );
  });
}
