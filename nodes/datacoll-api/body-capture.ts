/**
 * Reading request bodies under the API's base path before Node-RED's `http in` parses them. `http in`
 * answers a body its JSON parser refuses (bad JSON, over `apiMaxLength`) with a bare 500; the API must
 * answer 400/413 and name what is wrong, so it takes the raw bytes first — up to its own limit — and
 * parses them itself. Node-RED captures raw bodies the same way for its "don't parse" option.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { NodeAPI } from "node-red";

/** What the capture leaves on the request for the API node. */
export interface CapturedRequest extends IncomingMessage {
  body?: unknown;
  /** The body was larger than the limit; only the first `limit` bytes were kept. */
  datacollBodyTooLarge?: boolean;
  _body?: boolean;
  skipRawBodyParser?: boolean;
}

type Middleware = (req: CapturedRequest, res: ServerResponse, next: (err?: unknown) => void) => void;

/** One entry of an Express router's stack, as far as we look at it. */
export interface Layer {
  readonly name?: string;
  readonly handle?: unknown;
}

function under(url: string | undefined, base: string): boolean {
  if (url === undefined) return false;
  const path = url.split("?", 1)[0];
  return base === "" || path === base || path.startsWith(`${base}/`);
}

function hasBody(req: IncomingMessage): boolean {
  const len = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (len !== undefined && len !== "0");
}

export function bodyCapture(base: string, limit: number): Middleware {
  return (req, _res, next) => {
    if (req._body || !hasBody(req) || !under(req.url, base)) return next();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else req.datacollBodyTooLarge = true;
    });
    req.on("end", () => {
      req.body = Buffer.concat(chunks);
      // Tell body-parser and http in's raw parser that the body is read.
      req._body = true;
      req.skipRawBodyParser = true;
      next();
    });
    req.on("error", next);
  };
}

/**
 * The router stack of an Express app (Node-RED's app for nodes, or the app it is mounted in): `_router`
 * in Express 4, `router` in Express 5; undefined if its shape is not what we know.
 */
export function stackOf(app: unknown): Layer[] | undefined {
  const a = app as { _router?: { stack?: unknown }; router?: { stack?: unknown } };
  const stack = a._router?.stack ?? a.router?.stack;
  return Array.isArray(stack) ? (stack as Layer[]) : undefined;
}

/**
 * Add `handler` to an app and move it in front of every route (after Express's own query and init
 * layers); returns the function that takes it out again.
 */
export function placeFirst(app: { use(fn: never): unknown }, handler: unknown): () => void {
  app.use(handler as never);
  const stack = stackOf(app);
  if (stack) {
    const at = stack.findIndex((l) => l.handle === handler);
    const [layer] = stack.splice(at, 1);
    const after = stack.reduce(
      (last, l, i) => (l.name === "query" || l.name === "expressInit" ? i + 1 : last),
      0,
    );
    stack.splice(after, 0, layer);
  }
  return () => {
    const s = stackOf(app);
    const at = s ? s.findIndex((l) => l.handle === handler) : -1;
    if (s && at >= 0) s.splice(at, 1);
  };
}

/** An Express app as far as we use it: where it is mounted, and in what. */
export interface MountedApp {
  readonly mountpath?: unknown;
  readonly parent?: unknown;
  use(fn: unknown): unknown;
}

/** Where RED.httpNode is mounted in its parent app ("/" or e.g. "/nodes"), as a prefix without the slash. */
export function mountPrefix(app: MountedApp): string {
  const m = typeof app.mountpath === "string" ? app.mountpath : "";
  return m.replace(/\/+$/, "");
}

export function isApp(v: unknown): v is MountedApp {
  return typeof v === "function" && typeof (v as { use?: unknown }).use === "function";
}

/**
 * Put the capture in front of every `http in` route; returns the function that takes it out again. With
 * the editor served at `/` (the default), the admin app's JSON and form parsers see every request before
 * RED.httpNode does, and a JSON body labelled as a form (`curl -d`) would arrive as one form key with an
 * empty value; so the capture also goes in front of everything in the app RED.httpNode is mounted in (for a
 * base path of its own).
 */
export function installBodyCapture(RED: NodeAPI, base: string, limit: number): () => void {
  const app = RED.httpNode as unknown as MountedApp;
  const undo = [placeFirst(app, bodyCapture(base, limit))];
  const prefix = mountPrefix(app) + base;
  // At the root of the server (no base, nodes at `/`) it would take the editor's own bodies too.
  if (isApp(app.parent) && prefix !== "") undo.push(placeFirst(app.parent, bodyCapture(prefix, limit)));
  return () => undo.forEach((f) => f());
}
