/**
 * Reading a request body: bounded in size, parsed by its content type. JSON and form bodies become plain
 * objects (older clients post forms, as Python's `requests.post(url, data=...)` does); CSV and other text
 * stay text. Whatever a client sends, a bad body is a 400 or 413, never an error of ours.
 */
import { RestError, badRequest } from "./errors";

export type ContentKind = "json" | "form" | "text" | "none";

/** Keys that would reach an object's prototype chain if some code assigned them; no record needs them. */
const POISON = new Set(["__proto__", "constructor", "prototype"]);

export function contentKind(contentType: string | undefined): ContentKind {
  if (contentType === undefined || contentType.trim() === "") return "none";
  const type = contentType.split(";")[0].trim().toLowerCase();
  if (type === "application/json" || type.endsWith("+json")) return "json";
  if (type === "application/x-www-form-urlencoded") return "form";
  return "text";
}

function isCsv(contentType: string | undefined): boolean {
  return contentType?.split(";")[0].trim().toLowerCase() === "text/csv";
}

/** The refusal of a body over the API's limit (also for a parser in front that refused it first). */
export function tooLarge(max: number): RestError {
  return new RestError(413, "too-large", `the request body is larger than ${max} bytes`);
}

/** A number too large for a double (1e309 parses to Infinity): refused rather than stored as something else. */
function notFinite(key: string, value: number): RestError {
  return badRequest(`${key || "the body"} must be a finite number, not ${String(value)}`, key || undefined);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text, (key, value: unknown) => {
      if (POISON.has(key)) throw badRequest(`the body must not contain a field named ${key}`, key);
      if (typeof value === "number" && !Number.isFinite(value)) throw notFinite(key, value);
      return value;
    });
  } catch (err) {
    if (err instanceof RestError) throw err;
    throw badRequest(`the body is not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
}

function parseForm(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(text)) {
    if (POISON.has(k)) throw badRequest(`the body must not contain a field named ${k}`, k);
    out[k] = v;
  }
  return out;
}

/** Check a body a parser in front already produced: no poisoned keys, bounded size. */
function checkParsed(value: unknown, max: number): unknown {
  let text: string | undefined;
  try {
    // JSON text such as 1e309 is parsed to Infinity, which JSON.stringify would quietly turn into null:
    // a port of 1e309 would then be stored as the default port instead of being refused.
    text = JSON.stringify(value, (key, v: unknown) => {
      if (typeof v === "number" && !Number.isFinite(v)) throw notFinite(key, v);
      return v;
    });
  } catch (err) {
    if (err instanceof RestError) throw err;
    throw badRequest(`the body is not plain JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (text === undefined) return undefined;
  if (Buffer.byteLength(text) > max) throw tooLarge(max);
  return parseJson(text);
}

/** A whole body that is one JSON number. */
const JSON_NUMBER = /^\s*-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?\s*$/;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Bodies are read as UTF-8 (ASCII is a part of it); a body that says it is in another charset is refused. */
function checkCharset(contentType: string | undefined): void {
  const m = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? "");
  const charset = m?.[1].toLowerCase();
  if (charset !== undefined && !["utf-8", "utf8", "us-ascii"].includes(charset))
    throw new RestError(
      415,
      "unsupported",
      `the body cannot be read: unsupported charset "${charset}", send UTF-8`,
    );
}

/**
 * The body as a value: undefined when empty; JSON and forms parsed; other text as text. Text with no
 * content type, or as text/plain, is read as JSON when it looks like JSON, since curl users often forget
 * the header and the older system's clients sent JSON as plain text.
 */
export function readBody(body: unknown, contentType: string | undefined, max: number): unknown {
  if (body === undefined || body === null) return undefined;
  checkCharset(contentType);
  let text: string;
  if (Buffer.isBuffer(body) || body instanceof Uint8Array) {
    if (body.byteLength > max) throw tooLarge(max);
    try {
      text = utf8.decode(body);
    } catch {
      throw badRequest("the body is not UTF-8 text");
    }
  } else if (typeof body === "string") {
    if (Buffer.byteLength(body) > max) throw tooLarge(max);
    text = body;
  } else {
    const parsed = checkParsed(body, max);
    // body-parser answers an empty object for a request without a body.
    if (
      typeof parsed === "object" &&
      parsed !== null &&
      !Array.isArray(parsed) &&
      Object.keys(parsed).length === 0
    )
      return contentKind(contentType) === "json" ? parsed : undefined;
    return parsed;
  }
  if (text.trim() === "") return undefined;
  const kind = contentKind(contentType);
  if (kind === "json") return parseJson(text);
  // The older system ignored the content type and read JSON text: its clients post JSON as text/plain,
  // `curl -d` and Python's urllib label it a form, some HTTP libraries as octet-stream. A form or CSV
  // never starts so. A bare number is JSON too (a v2 delete's one id): as a form it would be a field
  // named by the number with no value, which no route takes.
  if (!isCsv(contentType) && (/^\s*[[{"]/.test(text) || JSON_NUMBER.test(text))) return parseJson(text);
  if (kind === "form") return parseForm(text);
  return text;
}
