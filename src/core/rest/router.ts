/**
 * `handle(request, ctx)`: match the route table, read the body, run the handler, and shape the answer —
 * plain text on the older system's paths, `{error, field?, message}` JSON everywhere else.
 */
import { DataCollError, errorMessage } from "../errors";
import { readBody } from "./body";
import { DETAIL_HEADER, RestError, badRequest, headerText, isStoreUnreachable, toRestError } from "./errors";
import { legacyError } from "./legacy";
import type { Route } from "./route";
import { ROUTES } from "./routes";
import type { RestContext, RestRequest, RestResponse } from "./types";

interface Compiled {
  readonly route: Route;
  /** Literal segments, or null where a parameter stands. */
  readonly segments: readonly (string | null)[];
  readonly names: readonly string[];
}

function compile(route: Route): Compiled {
  const parts = route.path === "/" ? [] : route.path.slice(1).split("/");
  const names: string[] = [];
  const segments = parts.map((p) => {
    const m = /^\{(\w+)\}$/.exec(p);
    if (!m) return p;
    names.push(m[1]);
    return null;
  });
  return { route, segments, names };
}

export class Router {
  private readonly compiled: readonly Compiled[];

  constructor(readonly routes: readonly Route[] = ROUTES) {
    this.compiled = routes.map(compile);
  }

  private split(path: string): string[] {
    const trimmed = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
    if (trimmed === "/" || trimmed === "") return [];
    return trimmed
      .replace(/^\//, "")
      .split("/")
      .map((s) => {
        try {
          return decodeURIComponent(s);
        } catch {
          throw badRequest(`the path segment ${JSON.stringify(s.slice(0, 40))} is not valid URL encoding`);
        }
      });
  }

  /**
   * Whether a path (below the base) belongs to the older system's API and so answers errors in plain
   * text: by its route when it has one, whatever the method; otherwise by its `/v1/` prefix. Decided on
   * the raw path, so a path that is not even valid URL encoding still gets the right shape.
   */
  isLegacyPath(path: string): boolean {
    const route = this.routeOfPath(path);
    return route ? route.legacy : /^\/v1(\/|$)/.test(path);
  }

  /** Whether some route (of any method) has this path's shape. */
  knowsPath(path: string): boolean {
    return this.routeOfPath(path) !== undefined;
  }

  /** The first route whose path has this raw path's shape, whatever its method. */
  private routeOfPath(path: string): Route | undefined {
    const trimmed = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
    const segs = trimmed === "/" || trimmed === "" ? [] : trimmed.replace(/^\//, "").split("/");
    return this.compiled.find(
      (c) =>
        c.segments.length === segs.length &&
        c.segments.every((want, i) => (want === null ? segs[i] !== "" : want === segs[i])),
    )?.route;
  }

  /**
   * The answer to a request that failed outside a route handler — in a body parser or URL decoder in
   * front of the API, or with no handler for its method — in the shape of the path it was for.
   */
  failure(err: unknown, path: string): RestResponse {
    return errorResponse(err, undefined, this.isLegacyPath(path));
  }

  /**
   * The answer to a request under the API's base that no `http in` node took: what the route table says
   * of it (404 for an unknown path, 405 with Allow for a method the path does not take, 400 for a path
   * that is not valid URL encoding) — or, when the API does take it, that the flow routes no such method.
   */
  unrouted(method: string, path: string): RestResponse {
    try {
      this.match(method, path);
    } catch (err) {
      return this.failure(err, path);
    }
    return this.failure(
      new RestError(
        405,
        "method-not-allowed",
        `no http in node of this flow passes ${method} requests for this path to the API`,
      ),
      path,
    );
  }

  /** The route for a method and path, with its parameters; a RestError 404/405 when there is none. */
  match(method: string, path: string): { route: Route; params: Record<string, string> } {
    const segs = this.split(path);
    const allowed: string[] = [];
    for (const c of this.compiled) {
      if (c.segments.length !== segs.length) continue;
      const values: string[] = [];
      let ok = true;
      for (let i = 0; i < segs.length && ok; i++) {
        const want = c.segments[i];
        if (want === null) {
          if (segs[i] === "") ok = false;
          else values.push(segs[i]);
        } else ok = want === segs[i];
      }
      if (!ok) continue;
      if (c.route.method !== method.toUpperCase()) {
        allowed.push(c.route.method);
        continue;
      }
      const params: Record<string, string> = {};
      c.names.forEach((n, i) => (params[n] = values[i]));
      return { route: c.route, params };
    }
    if (allowed.length > 0) {
      throw new RestError(405, "method-not-allowed", `${method} is not allowed here`, undefined, {
        allow: allowed,
      });
    }
    throw new RestError(404, "not-found", `there is no API path ${JSON.stringify(path.slice(0, 200))}`);
  }

  async handle(request: RestRequest, ctx: RestContext): Promise<RestResponse> {
    let route: Route | undefined;
    try {
      const m = this.match(request.method, request.path);
      route = m.route;
      const body = readBody(request.body, request.headers["content-type"], ctx.maxBodyBytes);
      if (body === undefined && route.body?.required) throw badRequest("a request body is required");
      const reply = await route.handler({
        params: m.params,
        query: request.query,
        body,
        headers: request.headers,
        ctx,
      });
      const status = reply.status ?? 200;
      if (reply.text) return { status, headers: TEXT, body: String(reply.body) };
      const headers = reply.etag === undefined ? JSON_TYPE : { ...JSON_TYPE, etag: reply.etag };
      return reply.encoded
        ? { status, headers, body: reply.body, encoded: true }
        : { status, headers, body: reply.body };
    } catch (err) {
      if (isStoreUnreachable(err)) ctx.onStoreUnreachable?.(errorMessage(err));
      return errorResponse(err, route, route?.legacy ?? this.isLegacyPath(request.path), ctx.store.location);
    }
  }
}

const TEXT = { "content-type": "text/plain; charset=utf-8" } as const;
const JSON_TYPE = { "content-type": "application/json; charset=utf-8" } as const;

function errorResponse(
  err: unknown,
  route: Route | undefined,
  legacy: boolean,
  storeLocation?: string,
): RestResponse {
  const e =
    route?.legacy && route.kind !== undefined && err instanceof DataCollError
      ? legacyError(err, route.kind)
      : toRestError(err, storeLocation);
  const headers: Record<string, string> = legacy ? { ...TEXT } : { ...JSON_TYPE };
  const allow = e.details?.allow;
  if (Array.isArray(allow)) headers.allow = allow.join(", ");
  if (legacy) {
    if (e.detail !== undefined) headers[DETAIL_HEADER] = headerText(e.detail);
    return { status: e.status, headers, body: e.message };
  }
  const body: Record<string, unknown> = { error: e.code };
  if (e.field !== undefined) body.field = e.field;
  body.message = e.message;
  return { status: e.status, headers, body: allow === undefined ? { ...body, ...e.details } : body };
}

let shared: Router | undefined;

function standard(): Router {
  shared ??= new Router();
  return shared;
}

/** Answer one request with the standard route table. */
export function handle(request: RestRequest, ctx: RestContext): Promise<RestResponse> {
  return standard().handle(request, ctx);
}

/** Answer a request that failed before reaching the standard route table (see Router.failure). */
export function failure(err: unknown, path: string): RestResponse {
  return standard().failure(err, path);
}

/** Whether the standard route table has a path of this shape (see Router.knowsPath). */
export function knowsPath(path: string): boolean {
  return standard().knowsPath(path);
}

/** Answer a request no `http in` node took (see Router.unrouted). */
export function unrouted(method: string, path: string): RestResponse {
  return standard().unrouted(method, path);
}
