/**
 * The API's answer when a request under its base path fails before `datacoll-api` sees it, or reaches no
 * `http in` node at all. Left to Express, those requests get its default error page — HTML with a stack
 * trace and install paths, and the whole trace in the log — or an HTML 404:
 *
 * - a malformed or over-limit body parsed in front of the flows: with the editor at `/` (Node-RED's
 *   default httpAdminRoot) every request passes the admin app's JSON and form parsers before it reaches
 *   RED.httpNode, and their errors skip RED.httpNode entirely;
 * - a path that is not valid URL encoding: Express fails decoding the `http in` route's parameter;
 * - a method no `http in` node takes (PATCH), or a path under the base no node routes.
 *
 * So the node adds, for its base path, an error handler after RED.httpNode's routes (errors raised in it)
 * and one on the app RED.httpNode is mounted in (errors raised in front of it), and a last handler that
 * answers what no route took. Routes of `http in` nodes deployed later are appended after ours, so a
 * first layer moves ours back to the end on each request. Answers come from the core router, in the
 * path's own shape (plain text on the older system's paths, JSON elsewhere); a client's error is not
 * logged, anything else once, in one line.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { NodeAPI } from "node-red";
import { errorMessage } from "../../src/core/errors";
import { tooLarge } from "../../src/core/rest/body";
import { failure, knowsPath, unrouted } from "../../src/core/rest/router";
import type { RestResponse } from "../../src/core/rest/types";
import { isApp, mountPrefix, placeFirst, stackOf, type Layer, type MountedApp } from "./body-capture";

interface Request extends IncomingMessage {
  originalUrl?: string;
}

type Next = (err?: unknown) => void;
type Handler = (req: Request, res: ServerResponse, next: Next) => void;
type ErrorHandler = (err: unknown, req: Request, res: ServerResponse, next: Next) => void;

/** The path of a request below the API's base, or undefined when it is not under it. */
function below(req: Request, prefix: string): string | undefined {
  const url = req.originalUrl ?? req.url ?? "";
  const path = url.split("?", 1)[0];
  if (prefix === "") return path === "" ? "/" : path;
  if (path === prefix) return "/";
  return path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : undefined;
}

function send(res: ServerResponse, r: RestResponse): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = typeof r.body === "string" ? r.body : JSON.stringify(r.body);
  res.statusCode = r.status;
  for (const [k, v] of Object.entries(r.headers)) res.setHeader(k, v);
  res.setHeader("content-length", Buffer.byteLength(body));
  res.end(body);
}

/**
 * Install the guard for the API at `base` (as datacoll-api normalises it: "" or "/api"); `warn` logs one
 * line. Returns the function that takes every layer out again.
 */
export function installHttpGuard(
  RED: NodeAPI,
  base: string,
  maxBodyBytes: number,
  warn: (message: string) => void,
): () => void {
  const app = RED.httpNode as unknown as MountedApp;
  const prefix = mountPrefix(app) + base;
  /**
   * The path below the base when the API answers for it: any path under a base of its own; at the root
   * (base "") only the API's own paths, so static files and other flows' URLs stay theirs.
   */
  const mine = (req: Request): string | undefined => {
    const path = below(req, prefix);
    return path !== undefined && (base !== "" || knowsPath(path)) ? path : undefined;
  };

  const answer = (err: unknown, req: Request, res: ServerResponse, next: Next): void => {
    const path = mine(req);
    if (path === undefined) return next(err);
    let r = failure(err, path);
    // A parser in front has a limit of its own (the editor's 5 MB); the client needs to know the API's.
    if (r.status === 413) r = failure(tooLarge(maxBodyBytes), path);
    if (r.status >= 500) warn(`${req.method ?? "?"} ${prefix}${path}: ${errorMessage(err)}`);
    send(res, r);
  };
  const onError: ErrorHandler = (err, req, res, next) => answer(err, req, res, next);
  const onUnrouted: Handler = (req, res, next) => {
    // CORS preflights and HEAD are Express's and the http in node's to answer.
    if (req.method === "OPTIONS" || req.method === "HEAD") return next();
    const path = mine(req);
    if (path === undefined) return next();
    send(res, unrouted(req.method ?? "", path));
  };
  const ours = new Set<unknown>([onError, onUnrouted]);
  /** Keep our two layers after every route, however many `http in` nodes were added since. */
  const keepLast: Handler = (_req, _res, next) => {
    const stack = stackOf(app);
    if (stack) {
      let lastOther = stack.length - 1;
      while (lastOther >= 0 && ours.has(stack[lastOther].handle)) lastOther--;
      const firstOurs = stack.findIndex((l) => ours.has(l.handle));
      if (firstOurs >= 0 && firstOurs < lastOther) {
        const moved: Layer[] = [];
        for (let i = stack.length - 1; i >= 0; i--)
          if (ours.has(stack[i].handle)) moved.unshift(...stack.splice(i, 1));
        stack.push(...moved);
      }
    }
    next();
  };

  app.use(onUnrouted);
  app.use(onError);
  const unplaceFirst = placeFirst(app, keepLast);
  // Errors raised in front of RED.httpNode (the admin app's body parsers) reach only its parent app.
  const parent = isApp(app.parent) ? app.parent : undefined;
  const onParentError: ErrorHandler = (err, req, res, next) => answer(err, req, res, next);
  parent?.use(onParentError);

  return () => {
    unplaceFirst();
    for (const [a, handlers] of [
      [app, ours],
      [parent, new Set<unknown>([onParentError])],
    ] as const) {
      const stack = a ? stackOf(a) : undefined;
      if (!stack) continue;
      for (let i = stack.length - 1; i >= 0; i--) if (handlers.has(stack[i].handle)) stack.splice(i, 1);
    }
  };
}
