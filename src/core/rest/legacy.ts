/**
 * The older system's conventions on its `/api/v1` paths: records kept as Redis hashes, so a record is an
 * object of string fields; ids in snake case (`device_id`); plain-text messages such as
 * `device_id not found!` and `device already exists!`. Our records are typed, so the v1 paths convert
 * on the way out and accept both spellings on the way in.
 */
import { DataCollError } from "../errors";
import { pointKey, pointKeyParts } from "../model/datapoint";
import { isPlainObject } from "../model/fields";
import { parseIec104Address } from "../iec104/address";
import { parsePointAddress } from "../modbus/point-address";
import { RestError, statusOf } from "./errors";

export type Kind = "device" | "term" | "item" | "formula" | "term_item";

/**
 * The older message for an unknown id of a kind. `detail` says which record, for the header beside the
 * fixed text (docs/rest-api.md, "Conventions").
 */
export function legacyNotFound(kind: Kind, detail?: string): RestError {
  return new RestError(
    404,
    "not-found",
    kind === "term_item" ? "term_item not found!" : `${kind}_id not found!`,
    undefined,
    undefined,
    detail,
  );
}

export function legacyExists(kind: Kind, detail?: string): RestError {
  return new RestError(409, "conflict", `${kind} already exists!`, undefined, undefined, detail);
}

/**
 * A time as the older system wrote it (Python's `datetime.isoformat()` of a naive UTC time):
 * `2015-12-01T08:50:15.000003`, always with microseconds and without a zone.
 */
export function olderTime(ts: number): string {
  const ms = Math.floor(ts);
  const date = new Date(ms);
  if (!Number.isFinite(ts) || Number.isNaN(date.getTime())) return String(ts);
  const micros = Math.min(999, Math.round((ts - ms) * 1000));
  // toISOString is UTC with milliseconds: 2015-12-01T08:50:15.000Z → …15.000 + the microseconds.
  return `${date.toISOString().slice(0, -1)}${String(micros).padStart(3, "0")}`;
}

/** Field names the model reports for a reference, and the kind they name. */
const REFERENCE_FIELDS: Readonly<Record<string, Kind>> = {
  deviceId: "device",
  termId: "term",
  itemId: "item",
  device_id: "device",
  term_id: "term",
  item_id: "item",
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
    return legacyNotFound(ref ?? kind, err.message);
  }
  if (status === 409 && err.field === "id") return legacyExists(kind, err.message);
  return new RestError(status, err.code, err.message, err.field);
}

/** A value as the older system's hash field held it. */
/**
 * A sample's value as the older system stored it: every value was `raw × coefficient + base_val` in
 * Python, a float, written with str() — `230.0`, `0.1`, `1e-05`, `1e+16` — and a switch's state came out
 * as 1.0 or 0.0. Text stays text.
 */
export function olderValue(v: unknown): string {
  if (typeof v === "boolean") return v ? "1.0" : "0.0";
  if (typeof v === "number") return pythonFloat(v);
  return asText(v);
}

/** Python's repr of a float: the shortest digits that round-trip, fixed from 1e-4 up to 1e16, else exponent. */
export function pythonFloat(n: number): string {
  if (Number.isNaN(n)) return "nan";
  if (!Number.isFinite(n)) return n > 0 ? "inf" : "-inf";
  if (n === 0) return Object.is(n, -0) ? "-0.0" : "0.0";
  // toExponential() with no argument gives the shortest digits that round-trip, as Python's repr does.
  const [mantissa, expText] = n.toExponential().split("e");
  const exp = Number(expText);
  const sign = mantissa.startsWith("-") ? "-" : "";
  const digits = mantissa.replace("-", "").replace(".", "");
  if (exp >= 16 || exp < -4) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  const whole = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
  const frac = digits.slice(exp + 1);
  return `${sign}${whole}.${frac === "" ? "0" : frac}`;
}

export function asText(v: unknown): string {
  if (typeof v === "string") return v;
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/**
 * The extra field that lists, comma-separated, the field names a client sent on a v1 path, in the
 * spelling it used. It holds names only, never values: each name is read back from the one stored field
 * it spells, so the two spellings cannot drift apart.
 */
export const V1_FIELDS = "v1Fields";

/** Names every kind's ids have in the older API. */
const SNAKE: Readonly<Record<string, string>> = {
  device_id: "deviceId",
  term_id: "termId",
  item_id: "itemId",
  poll_interval: "pollInterval",
};

/** The older name of a field the model names otherwise, per kind (older name → model name). */
const ALIASES: Readonly<Record<Kind, Readonly<Record<string, string>>>> = {
  device: { ip: "host" },
  term: {},
  item: {},
  term_item: { base_val: "base" },
  formula: { formula: "expression" },
};

/** Older check limits of a term item → the model's limit. */
const LIMIT_ALIASES: Readonly<Record<string, "low" | "high">> = { down_limit: "low", up_limit: "high" };

/** The point a formula writes to, as the older API named it: three fields. */
const RESULT_PARTS = ["device_id", "term_id", "item_id"] as const;

const PARAM = /^p[1-9][0-9]{0,2}$/;

/** Marks, among the spellings of a body, that the type part of an address came as `code_type`. */
const TYPE_PART = "address:type";

/** Fields that hold an object, which a form or the older client sends as JSON text. */
const OBJECT_FIELDS = new Set(["options", "limits", "save", "params"]);

function modelName(kind: Kind, name: string): string | undefined {
  return ALIASES[kind][name] ?? SNAKE[name];
}

/** `protocol_code` and `code_type` of a point address `code[:type]`. */
function splitAddress(address: unknown): { code: string; type: string | undefined } {
  const text = typeof address === "string" ? address : "";
  const at = text.indexOf(":");
  return at < 0 ? { code: text, type: undefined } : { code: text.slice(0, at), type: text.slice(at + 1) };
}

function sentFields(record: Readonly<Record<string, unknown>> | undefined): string[] | undefined {
  const v = record?.[V1_FIELDS];
  return typeof v === "string" ? v.split(",").filter((n) => n !== "") : undefined;
}

/** A v1 body read as the model's record, and which older name the client used for each model field. */
export interface LegacyBody {
  readonly raw: Record<string, unknown>;
  /** Model field → the name the client sent it as, to name that field in an error. */
  readonly spelled: ReadonlyMap<string, string>;
}

function text(v: unknown, field: string): string {
  if (typeof v === "string") return v.trim();
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  throw new RestError(400, "invalid", `${field} must be text or a number`, field);
}

/**
 * A v1 body as the model reads it. The older field names are another spelling of one model field each:
 * `ip` is `host`, `base_val` is `base`, `down_limit`/`up_limit` are `limits.low`/`limits.high`,
 * `protocol_code` and `code_type` are the two parts of a point's `address` (`code:type`), a formula's
 * `formula` is its `expression`, `p1`, `p2`, … its `params` and `device_id`/`term_id`/`item_id` its
 * `result`. Where a client gives both spellings the model's wins. Object fields sent as JSON text are
 * parsed, and `old` (the stored record, on a change) supplies the other half of a field given in part.
 * With `remember`, the record keeps the names the client sent (V1_FIELDS) so a v1 read answers with them.
 */
export function fromLegacy(
  body: unknown,
  kind: Kind,
  opts: { readonly old?: Readonly<Record<string, unknown>>; readonly remember?: boolean } = {},
): LegacyBody {
  if (!isPlainObject(body)) throw new RestError(400, "invalid", "the body must be an object of fields");
  const old = opts.old;
  const out: Record<string, unknown> = {};
  const spelled = new Map<string, string>();
  const given = (name: string): boolean => body[name] !== undefined && body[name] !== null;
  for (const [k, v] of Object.entries(body)) {
    if (k === V1_FIELDS) continue;
    if (kind === "term_item" && (k in LIMIT_ALIASES || k === "protocol_code" || k === "code_type")) continue;
    if (kind === "formula" && (PARAM.test(k) || (RESULT_PARTS as readonly string[]).includes(k))) continue;
    const alias = modelName(kind, k);
    // A record read back from GET and sent again may carry both spellings; the model's wins.
    if (alias !== undefined && given(alias)) continue;
    const name = alias ?? k;
    if (alias !== undefined) spelled.set(alias, k);
    if (OBJECT_FIELDS.has(name) && typeof v === "string" && /^\s*\{/.test(v)) {
      try {
        out[name] = JSON.parse(v) as unknown;
      } catch (err) {
        throw new RestError(400, "invalid", `${name} is not valid JSON (${String(err)})`, name);
      }
    } else out[name] = v;
  }
  if (kind === "term_item") termItemFields(body, old, out, spelled);
  if (kind === "formula") formulaFields(body, old, out);
  if (opts.remember) {
    const names = new Set(sentFields(old) ?? []);
    for (const k of Object.keys(body)) if (k !== V1_FIELDS && body[k] !== undefined) names.add(k);
    out[V1_FIELDS] = [...names].join(",");
  }
  return { raw: out, spelled };
}

function termItemFields(
  body: Readonly<Record<string, unknown>>,
  old: Readonly<Record<string, unknown>> | undefined,
  out: Record<string, unknown>,
  spelled: Map<string, string>,
): void {
  const limitsGiven = Object.keys(LIMIT_ALIASES).some((k) => body[k] !== undefined);
  if (limitsGiven && body.limits === undefined) {
    const base = isPlainObject(old?.limits) ? old.limits : {};
    const limits = new Map<string, unknown>(Object.entries(base));
    for (const [k, model] of Object.entries(LIMIT_ALIASES)) {
      const v = body[k];
      if (v === undefined) continue;
      spelled.set(`limits.${model}`, k);
      // Empty text clears a limit, as a form's empty field does.
      if (v === null || v === "") limits.delete(model);
      else limits.set(model, v);
    }
    out.limits = Object.fromEntries(limits);
  }
  // The older name of a point's address: what a 400 about a missing one says to an older client.
  if (body.address === undefined) spelled.set("address", "protocol_code");
  const code = body.protocol_code;
  const type = body.code_type;
  if ((code !== undefined || type !== undefined) && body.address === undefined) {
    const before = splitAddress(old?.address);
    // A client that never gave code_type reads the whole address as its protocol_code: a new one
    // replaces all of it.
    const sent = sentFields(old);
    const keptType = sent === undefined || sent.includes("code_type") ? before.type : undefined;
    const c = code === undefined || code === null ? before.code : text(code, "protocol_code");
    const t = type === undefined ? keptType : type === null ? "" : text(type, "code_type");
    if (c === "")
      throw new RestError(400, "invalid", "protocol_code is required with code_type", "protocol_code");
    out.address = t === undefined || t === "" ? c : `${c}:${t}`;
    spelled.set("address", code !== undefined ? "protocol_code" : "code_type");
    if (type !== undefined) spelled.set(TYPE_PART, "code_type");
  }
}

function formulaFields(
  body: Readonly<Record<string, unknown>>,
  old: Readonly<Record<string, unknown>> | undefined,
  out: Record<string, unknown>,
): void {
  const params = Object.entries(body).filter(([k]) => PARAM.test(k));
  if (params.length > 0 && body.params === undefined) {
    const base = isPlainObject(old?.params) ? old.params : {};
    out.params = { ...base, ...Object.fromEntries(params) };
  }
  if (RESULT_PARTS.some((k) => body[k] !== undefined) && body.result === undefined) {
    const before = typeof old?.result === "string" ? pointKeyParts(old.result) : [];
    const parts = RESULT_PARTS.map((k, i) => {
      const v = body[k] ?? before[i];
      if (v === undefined || v === null || v === "")
        throw new RestError(
          400,
          "invalid",
          `${k} is required: device_id, term_id and item_id name the point the result is written to`,
          k,
        );
      return text(v, k);
    });
    out.result = pointKey(parts[0], parts[1], parts[2]);
  }
  if (old !== undefined) return;
  // A new formula in the older spelling. One without parameters is a constant (`1+1`, as the older
  // system's own test data has): no p1, p2, … is no parameters, not a missing field. What it cannot do
  // without is named as the older client spells it.
  out.params ??= {};
  if (out.expression === undefined)
    throw new RestError(400, "invalid", "formula is required: the expression to compute", "formula");
  if (out.result === undefined)
    throw new RestError(
      400,
      "invalid",
      "device_id, term_id and item_id are required: they name the point the result is written to",
      "device_id",
    );
}

/** One field of a stored record under the name a client of the older API used for it. */
function legacyValue(
  record: Readonly<Record<string, unknown>>,
  kind: Kind,
  name: string,
  sent: readonly string[],
): unknown {
  if (kind === "term_item") {
    const limit = LIMIT_ALIASES[name];
    if (limit !== undefined) return isPlainObject(record.limits) ? record.limits[limit] : undefined;
    if (name === "protocol_code" || name === "code_type") {
      // Split only when the client gave the type apart; otherwise its protocol_code is the whole address.
      if (!sent.includes("code_type")) return name === "protocol_code" ? record.address : undefined;
      const { code, type } = splitAddress(record.address);
      return name === "protocol_code" ? code : type;
    }
  }
  if (kind === "formula") {
    if (PARAM.test(name)) return isPlainObject(record.params) ? record.params[name] : undefined;
    const part = (RESULT_PARTS as readonly string[]).indexOf(name);
    if (part >= 0) return typeof record.result === "string" ? pointKeyParts(record.result)[part] : undefined;
  }
  const model = modelName(kind, name);
  return model !== undefined ? record[model] : record[name];
}

const CAMEL_TO_SNAKE: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(SNAKE).map(([snake, camel]) => [camel, snake]),
);

/**
 * A record as the older API returned it: every field as text. A record written through v1 answers with
 * the fields its client sent, in the spelling it used (plus its ids); any other record with all its
 * fields, ids also under their snake-case names.
 */
export function legacyRecord(record: Readonly<Record<string, unknown>>, kind: Kind): Record<string, string> {
  const out: Record<string, string> = {};
  const sent = sentFields(record);
  if (sent === undefined) {
    for (const [k, v] of Object.entries(record)) {
      out[k] = asText(v);
      const snake = CAMEL_TO_SNAKE[k];
      if (snake !== undefined) out[snake] = out[k];
    }
    return out;
  }
  const ids = kind === "term_item" ? ["device_id", "term_id", "item_id"] : ["id"];
  for (const name of [...ids, ...sent]) {
    const v = legacyValue(record, kind, name, sent);
    if (v !== undefined && v !== null) out[name] = asText(v);
  }
  return out;
}

/** A model error about a field the client sent under its older name, told with that name. */
export function spelledError(err: DataCollError, spelled: ReadonlyMap<string, string>): DataCollError {
  const f = err.field;
  const as = f === undefined ? undefined : spelled.get(f);
  if (f === undefined || as === undefined) return err;
  const message = err.message.startsWith(`${f} `) ? `${as}${err.message.slice(f.length)}` : err.message;
  return new DataCollError(err.code, message, as);
}

/**
 * A term item's address given as `protocol_code` and `code_type`, checked by its device's protocol before
 * the registry sees it, so the 400 names the part at fault: the code (IOA, register) or the type.
 */
export function checkAddressParts(
  protocol: string,
  address: unknown,
  spelled: ReadonlyMap<string, string>,
): void {
  const as = spelled.get("address");
  if (as === undefined || typeof address !== "string") return;
  const parse =
    protocol === "iec104" ? parseIec104Address : protocol === "modbus-tcp" ? parsePointAddress : undefined;
  if (parse === undefined) return;
  try {
    parse(address);
  } catch (err) {
    if (!(err instanceof DataCollError)) throw err;
    const typeAtFault = err.field === "type" || err.field === "length";
    const field = typeAtFault && spelled.has(TYPE_PART) ? "code_type" : "protocol_code";
    throw new DataCollError("invalid", `${field} ${JSON.stringify(address)}: ${err.message}`, field);
  }
}

/** Whether a record uses any of the older field names of its kind (so fromLegacy has work to do). */
export function usesOlderNames(body: Readonly<Record<string, unknown>>, kind: Kind): boolean {
  return Object.keys(body).some(
    (k) =>
      modelName(kind, k) !== undefined ||
      (kind === "term_item" && (k in LIMIT_ALIASES || k === "protocol_code" || k === "code_type")) ||
      (kind === "formula" && PARAM.test(k)),
  );
}
