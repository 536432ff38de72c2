/**
 * Errors as the API answers them. The older system's paths answer in plain text with its exact
 * messages (`device_id not found!`); every other path answers `{error, field?, message}` as JSON.
 */
import { DataCollError, errorMessage, type ErrorCode } from "../errors";

export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    /** More to say in the JSON body, e.g. a batch's per-row report. */
    readonly details?: Readonly<Record<string, unknown>>,
    /**
     * What a fixed older text leaves out (which point was not found), said beside it in a header, since
     * older clients compare the text itself.
     */
    readonly detail?: string,
  ) {
    super(message);
    this.name = "RestError";
  }
}

/**
 * The HTTP status of each error code. A table over the whole ErrorCode union, so that a new code cannot
 * reach the API without someone deciding its status.
 */
const STATUS_OF: Readonly<Record<ErrorCode, number>> = {
  invalid: 400,
  "bad-message": 400,
  "not-found": 404,
  conflict: 409,
  // Busy, or the embedded store's file is locked by another process, damaged or refused by the disk:
  // the service is unavailable (until an operator acts, and the message says what to do).
  busy: 503,
  "store-locked": 503,
  "store-corrupt": 503,
  "store-io": 503,
  "store-write": 503,
  // The rest are faults of the server or of a device behind it; routes that reach a device say more
  // (data-routes.ts answers 503/400/502 for them).
  unsupported: 500,
  "not-running": 500,
  closed: 500,
  "no-redis": 500,
  aborted: 500,
  corrupt: 500,
  listener: 500,
  "modbus-closed": 500,
  "modbus-config": 500,
  "modbus-internal": 500,
  "modbus-plan": 500,
  "modbus-point": 500,
  "modbus-value": 500,
  "modbus-read-only": 500,
  "modbus-timeout": 500,
  "modbus-exception": 500,
  "modbus-invalid-request": 500,
  "modbus-queue-full": 500,
  "modbus-queue-timeout": 500,
  "modbus-unit-backoff": 500,
  "modbus-malformed-reply": 500,
  "modbus-disconnected": 500,
  negative: 500,
  timeout: 500,
  cancelled: 500,
  rejected: 500,
};

/** The HTTP status of a model or store error, by its code. */
export function statusOf(err: DataCollError): number {
  return STATUS_OF[err.code];
}

/**
 * The header beside an older fixed text saying what it leaves out (e.g. `point 1:10:1000 does not
 * exist`), in lower case like the API's other headers (docs/rest-api.md calls it X-Datacoll-Detail).
 */
export const DETAIL_HEADER = "x-datacoll-detail";
/** A header carries a sentence, not a body: ids come from clients and may be long. */
const DETAIL_MAX = 300;

/**
 * Text fit for a header value: visible ASCII is safe everywhere, while Node refuses control characters
 * and anything beyond Latin-1 outright (the answer would fail). Other characters (ids in Chinese, say) and `%` itself are percent-encoded as UTF-8, so a client's
 * decodeURIComponent gives the text back and plain ASCII stays readable as it is.
 */
export function headerText(text: string): string {
  let out = "";
  for (const ch of text.slice(0, DETAIL_MAX)) {
    const code = ch.codePointAt(0) ?? 0;
    if (code >= 0x20 && code <= 0x7e && ch !== "%") out += ch;
    // A lone surrogate (half a character, or cut at the limit) has no UTF-8: the replacement character.
    else if (code >= 0xd800 && code <= 0xdfff) out += "%EF%BF%BD";
    else out += encodeURIComponent(ch);
  }
  return out;
}

export function badRequest(message: string, field?: string): RestError {
  return new RestError(400, "invalid", message, field);
}

export function notFound(message: string, field?: string): RestError {
  return new RestError(404, "not-found", message, field);
}

export function conflict(message: string, field?: string): RestError {
  return new RestError(409, "conflict", message, field);
}

/**
 * Whether `err` says the store's server cannot be reached (Redis down or restarting): ioredis gives up a
 * command after its retries (MaxRetriesPerRequestError) or finds the connection closed. That is the
 * service being unavailable for a moment, not a fault of the API.
 */
export function isStoreUnreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (
    err.name === "MaxRetriesPerRequestError" ||
    err.message === "Connection is closed." ||
    /\b(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT)\b/.test(err.message)
  );
}

/** A message of ours quotes a client's text only this far. */
const QUOTE_MAX = 200;

/**
 * An error raised in front of the API by the HTTP layer — Express's body parsers (which set `status` and
 * a `type` naming the problem) or its router decoding a path parameter (a URIError with status 400) —
 * as the client's fault it is, in words that name the problem and nothing of the server.
 */
function httpLayerError(err: unknown): RestError | undefined {
  if (!(err instanceof Error)) return undefined;
  const e = err as Error & { status?: unknown; statusCode?: unknown; type?: unknown; limit?: unknown };
  const status =
    typeof e.status === "number" ? e.status : typeof e.statusCode === "number" ? e.statusCode : undefined;
  if (status === undefined || status < 400 || status > 499) return undefined;
  const said = e.message.slice(0, QUOTE_MAX);
  switch (e.type) {
    case "entity.too.large":
      return new RestError(
        413,
        "too-large",
        typeof e.limit === "number"
          ? `the request body is larger than ${e.limit} bytes`
          : "the request body is too large",
      );
    case "entity.parse.failed":
      return badRequest(
        /JSON/.test(said) ? `the body is not valid JSON (${said})` : `the body cannot be read (${said})`,
      );
    case "charset.unsupported":
    case "encoding.unsupported":
      return new RestError(415, "unsupported", `the body cannot be read: ${said}`);
    case "request.aborted":
      return badRequest("the request was aborted before its body arrived");
    case "request.size.invalid":
      return badRequest("the body's length does not match its Content-Length");
  }
  if (err instanceof URIError) return badRequest("the path is not valid URL encoding");
  return new RestError(status, "invalid", "the request cannot be read");
}

/** Absolute file paths (POSIX or Windows) in a message: install paths are nobody's business outside. */
const FILE_PATH = /(?:[A-Za-z]:\\|\/)(?:[\w.@~+-]+[\\/])+[\w.@~+-]*/g;

/**
 * Any thrown value as a RestError: the store out of reach is 503 (try again), a request the HTTP layer
 * could not read is its 4xx, other errors nobody expected are 500 with their message (file paths left
 * out). Never a stack trace. `storeLocation` names the store in the 503 (`Redis at 127.0.0.1:6379`):
 * the client library's own text (ioredis's advice on its `maxRetriesPerRequest` option) means nothing
 * to a client of the API, so it goes to the log instead (see RestContext.onStoreUnreachable).
 */
export function toRestError(err: unknown, storeLocation = "the store"): RestError {
  if (err instanceof RestError) return err;
  if (err instanceof DataCollError) return new RestError(statusOf(err), err.code, err.message, err.field);
  if (isStoreUnreachable(err)) {
    return new RestError(503, "unavailable", `${storeLocation} is unreachable, try again later`);
  }
  const http = httpLayerError(err);
  if (http) return http;
  return new RestError(500, "internal", errorMessage(err).replace(FILE_PATH, "…"));
}
