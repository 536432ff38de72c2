/**
 * Between Node-RED's HTTP message (what an `http in` node puts in `msg.req`) and the REST core's
 * request: the base path, the query and headers as plain text, and a 64-bit value's JSON form. Kept
 * apart from the node so that the node file is only its wiring.
 */
import type { NodeMessage } from "node-red";
import type { RestRequest } from "../../src/core/rest/types";
import type { CapturedRequest } from "./body-capture";

export interface HttpRequest extends CapturedRequest {
  path?: string;
  query?: Record<string, unknown>;
}

export interface ApiMessage extends NodeMessage {
  req?: HttpRequest;
  statusCode?: number;
  headers?: Record<string, string>;
}

/** `/api/`, `api` and `/api/*` (an `http in` URL) all mean `/api`; `/` means the root. */
export function normalizeBase(raw: string): string {
  const t = (raw ?? "")
    .trim()
    .replace(/\/?\*$/, "")
    .replace(/\/+$/, "");
  return t === "" ? "" : t.startsWith("/") ? t : `/${t}`;
}

/** A 64-bit register's raw value is a bigint, which JSON.stringify refuses: it travels as decimal text. */
export function bigintAsText(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

/** Express's parsed query, keeping only what a query string can say: text and lists of text. */
function queryOf(q: Record<string, unknown> | undefined): RestRequest["query"] {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(q ?? {})) {
    if (typeof v === "string") out[k] = v;
    else if (Array.isArray(v) && v.every((x) => typeof x === "string")) out[k] = v;
  }
  return out;
}

function headersOf(req: HttpRequest): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) out[k] = Array.isArray(v) ? v.join(", ") : v;
  return out;
}

/** The REST request `req` (method checked by the caller) makes, its path taken below the API's base path. */
export function restRequestOf(req: HttpRequest, method: string, base: string): RestRequest {
  const path = req.path ?? "/";
  return {
    method,
    path: base !== "" && path.startsWith(base) ? path.slice(base.length) || "/" : path,
    query: queryOf(req.query),
    headers: headersOf(req),
    body: req.body,
  };
}
