/** The route table: every path of the API, in the order the OpenAPI document lists them. */
import { dataRoutes } from "./data-routes";
import { importRoutes } from "./import";
import { openApiDocument } from "./openapi";
import { registryRoutes } from "./registry-routes";
import type { Route } from "./route";

export const API_VERSION = "1.0.0";

const API: readonly Route[] = [...dataRoutes(), ...registryRoutes(), ...importRoutes()];

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

export const ROUTES: readonly Route[] = [...API, OPENAPI];
