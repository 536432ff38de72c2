/**
 * The OpenAPI 3 document, generated from the route table (the one source of the API), served at
 * `GET /openapi.json` below the base path.
 */
import type { Route, Schema } from "./route";
import { SCHEMAS, ref } from "./schemas";
import { DETAIL_HEADER } from "./errors";

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: "the request is malformed or a field is invalid (the field is named)",
  404: "an id is unknown",
  405: "the method is not allowed on this path",
  409: "an id already exists",
  413: "the body is too large",
  502: "the device answered with an error or not at all",
  503: "the device runtime is not available",
};

/** The header beside an older fixed error text (errors.ts), as documented to clients. */
const DETAIL_HEADER_DOC = {
  description:
    "What the fixed older text leaves out, e.g. `point 1:10:1000 does not exist` beside " +
    "`term_item not found!`; characters beyond visible ASCII, and %, percent-encoded as UTF-8",
  schema: { type: "string" },
};

function errorContent(route: Route): Record<string, { schema: Schema }> {
  return route.legacy
    ? { "text/plain": { schema: { type: "string" } } }
    : { "application/json": { schema: ref("Error") } };
}

function operation(route: Route): Record<string, unknown> {
  const params = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
    name: m[1],
    in: "path",
    required: true,
    schema: { type: "string" },
  }));
  const query = (route.query ?? []).map((q) => ({
    name: q.name,
    in: "query",
    required: false,
    description: q.description,
    schema: q.schema,
  }));
  const responses: Record<string, unknown> = {
    "200": {
      description: route.ok.description,
      content: route.ok.text
        ? { "text/plain": { schema: route.ok.schema } }
        : { "application/json": { schema: route.ok.schema } },
    },
  };
  for (const status of [400, ...route.errors]) {
    responses[String(status)] = {
      description: STATUS_TEXT[status] ?? "error",
      content: errorContent(route),
      ...(route.legacy ? { headers: { [DETAIL_HEADER]: DETAIL_HEADER_DOC } } : {}),
    };
  }
  const op: Record<string, unknown> = {
    operationId: `${route.method.toLowerCase()}${route.path.replace(/[{}]/g, "").replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? "").toUpperCase())}`,
    summary: route.summary,
    tags: [route.tag],
    responses,
  };
  if (params.length + query.length > 0) op.parameters = [...params, ...query];
  if (route.body) {
    const type = route.body.contentType ?? "application/json";
    const content: Record<string, { schema: Schema }> = { [type]: { schema: route.body.schema } };
    if (route.legacy && type === "application/json")
      content["application/x-www-form-urlencoded"] = { schema: route.body.schema };
    op.requestBody = { required: route.body.required, content };
  }
  if (route.legacy) op["x-datacoll-legacy"] = true;
  return op;
}

export function openApiDocument(
  routes: readonly Route[],
  basePath: string,
  version: string,
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) (paths[r.path] ??= {})[r.method.toLowerCase()] = operation(r);
  return {
    openapi: "3.0.3",
    info: {
      title: "DataColl REST API",
      version,
      description:
        "Devices, terms, items, points and formulas of a DataColl plant, their data, alarms and status. " +
        "Paths marked x-datacoll-legacy keep the older system's behaviour: string-field records and " +
        "plain-text messages; all other paths answer errors as {error, field?, message}.",
    },
    servers: [{ url: basePath || "/" }],
    paths,
    components: { schemas: SCHEMAS },
  };
}
