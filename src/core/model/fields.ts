/**
 * Reading one registry record (a device, term, item, point or formula) from whatever a client sent:
 * each rule names the field at fault and the rule it broke, so the REST API can answer 400 with
 * `field` and the editor can highlight it. Fields the model does not know are kept as given (the older
 * REST API stored whatever a client sent, and integrators rely on it), as long as they are scalars.
 */
import { DataCollError } from "../errors";

/** A value kept as given in a field the model does not know. */
export type Scalar = string | number | boolean | null;
export type Extra = Readonly<Record<string, Scalar>>;

export const MAX_ID_LENGTH = 64;
const MAX_EXTRA_FIELDS = 64;
const MAX_EXTRA_TEXT = 4096;
const EXTRA_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
// Whitespace and control characters would make keys, topics and log lines ambiguous; ':' joins point keys.
const ID_FORBIDDEN = /[\s:\p{Cc}]/u;
const LONE_SURROGATE = /\p{Cs}/u;
const NOT_WELL_FORMED = "must be well-formed Unicode text (it holds a lone surrogate)";

export function invalid(field: string, message: string): DataCollError {
  return new DataCollError("invalid", `${field} ${message}`, field);
}

function shown(raw: unknown): string {
  if (typeof raw === "string") return JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);
  if (raw === undefined) return "nothing";
  if (typeof raw === "object") return raw === null ? "null" : Array.isArray(raw) ? "a list" : "an object";
  return String(raw);
}

/**
 * An id as the registry keeps it: text of 1–64 characters without ':' or whitespace. Whole numbers are
 * accepted and become text, since older clients sent numeric ids.
 */
export function normalizeId(raw: unknown, field: string): string {
  let id: string;
  if (typeof raw === "number" && Number.isSafeInteger(raw)) id = String(raw);
  else if (typeof raw === "string") id = raw;
  else throw invalid(field, `must be text or a whole number, not ${shown(raw)}`);
  if (id.length === 0) throw invalid(field, "must not be empty");
  if (id.length > MAX_ID_LENGTH) throw invalid(field, `must be at most ${MAX_ID_LENGTH} characters long`);
  if (ID_FORBIDDEN.test(id)) throw invalid(field, `${shown(id)} must not contain ':' or whitespace`);
  // A lone surrogate cannot be written as UTF-8: Redis and every log would hold U+FFFD instead, and the
  // record could no longer be found by its own id.
  if (LONE_SURROGATE.test(id)) throw invalid(field, NOT_WELL_FORMED);
  return id;
}

export function isPlainObject(raw: unknown): raw is Readonly<Record<string, unknown>> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return false;
  const proto: unknown = Object.getPrototypeOf(raw);
  return proto === Object.prototype || proto === null;
}

interface TextRule {
  readonly max: number;
  /** Value when the field is absent; without it the field is required. */
  readonly def?: string;
}

interface NumberRule {
  readonly def?: number;
  readonly min?: number;
  readonly max?: number;
  readonly integer?: boolean;
}

/**
 * One record being read. Each accessor marks its field as known; `extra()` returns the rest. `prefix`
 * makes nested fields read as `limits.low` in messages.
 */
export class RecordReader {
  private readonly known = new Set<string>();

  private constructor(
    private readonly raw: Readonly<Record<string, unknown>>,
    private readonly prefix: string,
  ) {}

  static of(raw: unknown, what: string, prefix = ""): RecordReader {
    if (!isPlainObject(raw)) throw invalid(prefix ? prefix.slice(0, -1) : what, "must be an object");
    return new RecordReader(raw, prefix);
  }

  private take(name: string): unknown {
    this.known.add(name);
    const v = this.raw[name];
    return v === null ? undefined : v;
  }

  field(name: string): string {
    return this.prefix + name;
  }

  has(name: string): boolean {
    const v = this.raw[name];
    return v !== undefined && v !== null;
  }

  id(name: string): string {
    return normalizeId(this.take(name), this.field(name));
  }

  text(name: string, rule: TextRule): string {
    const v = this.take(name);
    if (v === undefined) {
      if (rule.def !== undefined) return rule.def;
      throw invalid(this.field(name), "is required");
    }
    if (typeof v !== "string") throw invalid(this.field(name), `must be text, not ${shown(v)}`);
    if (v.length > rule.max) throw invalid(this.field(name), `must be at most ${rule.max} characters long`);
    if (LONE_SURROGATE.test(v)) throw invalid(this.field(name), NOT_WELL_FORMED);
    return v;
  }

  optionalNumber(name: string, rule: NumberRule): number | undefined {
    const v = this.take(name);
    if (v === undefined || v === "") return rule.def;
    // Older clients and CSV imports send numbers as text.
    const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
    const field = this.field(name);
    const what = rule.integer ? "a whole number" : "a number";
    if (typeof n !== "number" || !Number.isFinite(n))
      throw invalid(field, `must be ${what}, not ${shown(v)}`);
    if (rule.integer && !Number.isInteger(n)) throw invalid(field, `must be ${what}, not ${shown(v)}`);
    if (rule.min !== undefined && n < rule.min)
      throw invalid(field, `must be at least ${rule.min}, not ${n}`);
    if (rule.max !== undefined && n > rule.max) throw invalid(field, `must be at most ${rule.max}, not ${n}`);
    return n;
  }

  number(name: string, rule: NumberRule): number {
    const n = this.optionalNumber(name, rule);
    if (n === undefined) throw invalid(this.field(name), "is required");
    return n;
  }

  bool(name: string, def: boolean): boolean {
    const v = this.take(name);
    if (v === undefined) return def;
    if (v === true || v === 1 || v === "true" || v === "1") return true;
    if (v === false || v === 0 || v === "false" || v === "0") return false;
    throw invalid(this.field(name), `must be true or false, not ${shown(v)}`);
  }

  /** A nested record, read with its own reader; undefined when absent. */
  nested(name: string): RecordReader | undefined {
    const v = this.take(name);
    if (v === undefined) return undefined;
    return RecordReader.of(v, name, `${this.field(name)}.`);
  }

  /** A free-form JSON object (protocol options), bounded in size. */
  json(name: string, maxChars: number): Readonly<Record<string, unknown>> {
    const v = this.take(name);
    if (v === undefined) return {};
    if (!isPlainObject(v)) throw invalid(this.field(name), `must be an object, not ${shown(v)}`);
    let text: string;
    try {
      text = JSON.stringify(v);
    } catch (err) {
      throw invalid(
        this.field(name),
        `must be plain JSON (${err instanceof Error ? err.message : String(err)})`,
      );
    }
    if (text.length > maxChars)
      throw invalid(this.field(name), `must be at most ${maxChars} characters as JSON`);
    return JSON.parse(text) as Record<string, unknown>;
  }

  /** Fields no accessor asked for, kept as given; only scalars, so a record stays small and flat. */
  extra(): Extra {
    const out: Record<string, Scalar> = {};
    let count = 0;
    for (const [name, v] of Object.entries(this.raw)) {
      if (this.known.has(name) || v === undefined) continue;
      const field = this.field(name);
      if (!EXTRA_NAME.test(name)) {
        throw invalid(
          field,
          "is not a known field, and extra field names must be letters, digits, '_', '.' or '-'",
        );
      }
      if (++count > MAX_EXTRA_FIELDS)
        throw invalid(field, `is one extra field too many (at most ${MAX_EXTRA_FIELDS})`);
      if (typeof v === "string") {
        if (v.length > MAX_EXTRA_TEXT)
          throw invalid(field, `must be at most ${MAX_EXTRA_TEXT} characters long`);
        if (LONE_SURROGATE.test(v)) throw invalid(field, NOT_WELL_FORMED);
      } else if (!(v === null || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v)))) {
        throw invalid(field, "is not a known field, and extra fields must be text, numbers or true/false");
      }
      out[name] = v as Scalar;
    }
    return out;
  }
}
