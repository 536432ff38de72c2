/**
 * One entry of the route table. The table is the one source of the API: the router matches requests
 * against it and the OpenAPI document is generated from it, so they cannot drift apart.
 */
import type { Kind } from "./legacy";
import type { Method, RestContext, RestRequest } from "./types";

/** An OpenAPI 3 schema object. */
export type Schema = Readonly<Record<string, unknown>>;

export interface QuerySpec {
  readonly name: string;
  readonly description: string;
  readonly schema: Schema;
}

export interface Call {
  /** Path parameters, decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: RestRequest["query"];
  /** The body read by its content type (see body.ts). */
  readonly body: unknown;
  /** Request headers, names in lower case. */
  readonly headers: RestRequest["headers"];
  readonly ctx: RestContext;
}

export interface Reply {
  /** 200 unless given. */
  readonly status?: number;
  readonly body: unknown;
  /** Answer as text/plain (the older system's "OK" and messages). */
  readonly text?: boolean;
  /** The body is JSON already, as text or as its UTF-8 bytes. */
  readonly encoded?: boolean;
  /** An entity tag naming the body, for conditional requests (`If-None-Match`). */
  readonly etag?: string;
}

export interface Route {
  readonly method: Method;
  /** Below the base path, with `{name}` parameters, e.g. `/v1/devices/{id}`. */
  readonly path: string;
  /** A path of the older system: its plain-text errors and messages, string-field records. */
  readonly legacy: boolean;
  /** What the path is about, for the older messages (`device_id not found!`). */
  readonly kind?: Kind;
  readonly tag: string;
  readonly summary: string;
  readonly body?: { readonly schema: Schema; readonly contentType?: string; readonly required: boolean };
  readonly query?: readonly QuerySpec[];
  readonly ok: { readonly schema: Schema; readonly description: string; readonly text?: boolean };
  /** Error statuses this route may answer, besides 400 for a malformed request. */
  readonly errors: readonly number[];
  handler(call: Call): Promise<Reply>;
}

/** The first value of a query parameter. */
export function queryText(query: RestRequest["query"], name: string): string | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  return typeof v === "string" ? v : v[0];
}
