/**
 * The config dialogs' "test connection" buttons: POST /datacoll/<kind>/test with the form's fields,
 * answered with `{ ok, message }` in plain words. What every such route shares lives here:
 * - registered once per admin app (see live-view.ts for why), whatever the number of register calls;
 * - behind the editor's own login: `RED.auth.needsPermission("datacoll-<kind>.write")`, so with adminAuth
 *   set only a user who may change flows (scope "*" or "write") can make the runtime open connections;
 *   a read-only or anonymous caller gets 401;
 * - the form validated first: 400 with `{ ok: false, field, message }` naming the field at fault;
 * - a test that throws after all answers 500 with its message (tests are written never to throw).
 */
import type { NodeAPI } from "node-red";
import type { Request, Response } from "express";
import { DataCollError, errorMessage } from "../../src/core/errors";
import type { LinkTestAnswer } from "../../src/core/link-test";

export type FormBody = Readonly<Record<string, unknown>>;

export interface TestRoute<T> {
  /** The route is /datacoll/<kind>/test, the permission datacoll-<kind>.write (the node type's name). */
  readonly kind: string;
  /** Validate the form; throw a DataCollError naming the field for a bad value. */
  parse(body: FormBody): T;
  test(target: T): Promise<LinkTestAnswer>;
}

const registered = new WeakMap<object, Set<string>>();

export function testRoutePath(kind: string): string {
  return `/datacoll/${kind}/test`;
}

export function registerTestRoute<T>(RED: NodeAPI, route: TestRoute<T>): void {
  const path = testRoutePath(route.kind);
  const done = registered.get(RED.httpAdmin) ?? new Set<string>();
  registered.set(RED.httpAdmin, done);
  if (done.has(path)) return;
  done.add(path);
  const write = RED.auth.needsPermission(`datacoll-${route.kind}.write`);
  RED.httpAdmin.post(path, write, (req: Request, res: Response) => {
    const body: FormBody = typeof req.body === "object" && req.body !== null ? (req.body as FormBody) : {};
    let target: T;
    try {
      target = route.parse(body);
    } catch (err) {
      const field = err instanceof DataCollError ? err.field : undefined;
      return void res.status(400).json({ ok: false, field, message: errorMessage(err) });
    }
    route.test(target).then(
      (answer) => res.json(answer),
      (err: unknown) => res.status(500).json({ ok: false, message: errorMessage(err) }),
    );
  });
}
