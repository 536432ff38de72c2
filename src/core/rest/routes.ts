/** The route table: every path of the API, in the order the OpenAPI document lists them. */
import { dataRoutes } from "./data-routes";
import { historyRoutes } from "./history-routes";
import { importRoutes } from "./import";
import { openApiDocument } from "./openapi";
import { registryRoutes } from "./registry-routes";
import type { Route } from "./route";
import { TEXT } from "./schemas";

export const API_VERSION = "1.0.0";

const API: readonly Route[] = [...dataRoutes(), ...historyRoutes(), ...registryRoutes(), ...importRoutes()];

const OPENAPI: Route = {
  method: "GET",
  path: "/openapi.json",
  legacy: false,
  tag: "api",
  summary: "This document",
  ok: { schema: { type: "object" }, description: "the OpenAPI 3 document" },
  errors: [],
  handler: async (c) => ({ body: openApiDocument(ROUTES, c.ctx.basePath, API_VERSION) }),
};

const METHOD_ORDER = ["GET", "POST", "PUT", "DELETE"] as const;

/**
 * The older system's `GET /`: a text index of every path — a title line, a blank line, then
 * `method: GET      URL: http://host/api/v1/devices` for each route, sorted within each method, the
 * methods in the order GET, POST, PUT, DELETE. Its title is kept word for word, since monitoring scripts
 * written for the older system look for it.
 */
const INDEX: Route = {
  method: "GET",
  path: "/",
  legacy: true,
  tag: "api",
  summary: "The older system's text index of every path",
  ok: { schema: TEXT, description: "the index", text: true },
  errors: [],
  handler: async (c) => {
    const host = c.headers.host ?? "localhost";
    const lines = METHOD_ORDER.flatMap((method) =>
      ROUTES.filter((r) => r.method === method)
        .map((r) => `method: ${method.padEnd(8)} URL: http://${host}${c.ctx.basePath}${r.path}`)
        .sort(),
    );
    return { body: ["PyDataColl is running, available API:", "", ...lines].join("\n"), text: true };
  },
};

export const ROUTES: readonly Route[] = [INDEX, ...API, OPENAPI];
