/**
 * The older system's conventions on its `/api/v1` paths: records kept as Redis hashes, so a record is an
 * object of string fields; ids in snake case (`device_id`); plain-text messages such as
 * `device_id not found!` and `device already exists!`. Our records are typed, so the v1 paths convert
 * on the way out and accept both spellings on the way in.
 */
import { DataCollError } from "../errors";
import { isPlainObject } from "../model/fields";
import { RestError, statusOf } from "./errors";

export type Kind = "device" | "term" | "item" | "formula" | "term_item";

/** The older message for an unknown id of a kind. */
export function legacyNotFound(kind: Kind): RestError {
  return new RestError(
    404,
    "not-found",
    kind === "term_item" ? "term_item not found!" : `${kind}_id not found!`,
  );
}

export function legacyExists(kind: Kind): RestError {
  return new RestError(409, "conflict", `${kind} already exists!`);
}

/** Field names the model reports for a reference, and the kind they name. */
const REFERENCE_FIELDS: Readonly<Record<string, Kind>> = {
  deviceId: "device",
  termId: "term",
  itemId: "item",
};

/**
 * A model or registry error on a v1 path with the older message where the older system had one:
 * an unknown referenced id, or a duplicate id of the record itself.
 */
export function legacyError(err: DataCollError, kind: Kind): RestError {
  const status = statusOf(err);
  if (status === 404) {
    const f = err.field;
    // A formula names points (its params and result): an unknown one is an unknown term item.
    const ref =
      f === undefined
        ? undefined
        : f === "result" || f.startsWith("params.")
          ? "term_item"
          : REFERENCE_FIELDS[f];
    return legacyNotFound(ref ?? kind);
  }
  if (status === 409 && err.field === "id") return legacyExists(kind);
  return new RestError(status, err.code, err.message, err.field);
}

/** A value as the older system's hash field held it. */
function asText(v: unknown): string {
  if (typeof v === "string") return v;
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

const SNAKE: Readonly<Record<string, string>> = {
  deviceId: "device_id",
  termId: "term_id",
  itemId: "item_id",
  pollInterval: "poll_interval",
};

/** A record as the older API returned it: every field as text, ids also under their snake-case names. */
export function legacyRecord(record: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(record)) {
    out[k] = asText(v);
    const snake = SNAKE[k];
    if (snake !== undefined) out[snake] = out[k];
  }
  return out;
}

const CAMEL: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(SNAKE).map(([camel, snake]) => [snake, camel]),
);

/** Fields that hold an object, which a form or the older client sends as JSON text. */
const OBJECT_FIELDS = new Set(["options", "limits", "save", "params"]);

/**
 * A v1 body as the model reads it: snake-case ids renamed (unless both are given), object fields sent as
 * JSON text parsed, and empty text for a field meaning "not given" as in a form.
 */
export function fromLegacy(body: unknown): unknown {
  if (!isPlainObject(body)) return body;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    const camel = CAMEL[k];
    // A record read back from GET and sent again carries both spellings of each id; the model's wins.
    if (camel !== undefined && body[camel] !== undefined) continue;
    const name = camel ?? k;
    if (OBJECT_FIELDS.has(name) && typeof v === "string" && /^\s*\{/.test(v)) {
      try {
        out[name] = JSON.parse(v) as unknown;
      } catch (err) {
        throw new RestError(400, "invalid", `${name} is not valid JSON (${String(err)})`, name);
      }
    } else out[name] = v;
  }
  return out;
}
