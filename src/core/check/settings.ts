/**
 * What the checker watches on a point: limits with hysteresis, rate of change, staleness, bad quality
 * and an expression rule, each with optional on/off delays, severities and message templates. A point's
 * own settings override the checker's defaults field by field.
 */
import { DataCollError } from "../errors";
import { compileSandboxed, type CompiledExpression } from "../formula/sandbox";

/** The conditions, in the order they are checked and reported. */
export const CONDITIONS = [
  "lowLow",
  "low",
  "high",
  "highHigh",
  "rate",
  "stale",
  "quality",
  "verify",
] as const;
export type ConditionName = (typeof CONDITIONS)[number];

export interface CheckSettings {
  readonly lowLow?: number;
  readonly low?: number;
  readonly high?: number;
  readonly highHigh?: number;
  /**
   * Deadband on the return to normal, in engineering units: a high alarm raised above `high` clears only
   * at or below `high - hysteresis`; a low alarm raised below `low` clears at or above `low + hysteresis`.
   */
  readonly hysteresis?: number;
  /** Alarm when the value changes faster than this many engineering units per second. */
  readonly ratePerSecond?: number;
  /** Alarm when no sample arrived for this many seconds. */
  readonly staleSeconds?: number;
  /** Alarm on bad quality (invalid, not topical, overflow or blocked; substituted is not bad). */
  readonly quality?: boolean;
  /**
   * An expression that is true while the value is acceptable (the old system's `do_verify`); the alarm is
   * raised while it is false. Sandboxed like formulas; see VERIFY_SYMBOLS for the names in scope.
   */
  readonly verify?: string;
  /** A condition must hold this long before it raises. */
  readonly onDelayMs?: number;
  /** A condition must be gone this long before it clears. */
  readonly offDelayMs?: number;
  /** Severity per condition, 1 (least) to 1000 (most), as in OPC UA. */
  readonly severity?: Readonly<Partial<Record<ConditionName, number>>>;
  /** Message template for every condition (the old system's `warn_msg`); see template.ts. */
  readonly message?: string;
  /** Message template per condition; wins over `message`. */
  readonly messages?: Readonly<Partial<Record<ConditionName, string>>>;
}

export const DEFAULT_SEVERITY: Readonly<Record<ConditionName, number>> = Object.freeze({
  lowLow: 800,
  low: 500,
  high: 500,
  highHigh: 800,
  rate: 400,
  stale: 600,
  quality: 600,
  verify: 500,
});

/**
 * Names an expression rule can read: the value (booleans as 0/1), the previous usable value (the value
 * itself on the first sample), the sample time, `good`, and the limits — `down_limit`/`up_limit` are the
 * old system's names for low/high.
 */
export const VERIFY_SYMBOLS: ReadonlySet<string> = new Set([
  "value",
  "prev",
  "ts",
  "good",
  "lowLow",
  "low",
  "high",
  "highHigh",
  "down_limit",
  "up_limit",
]);

/** Points share rules, so each distinct text is compiled once. */
const compiledRules = new Map<string, CompiledExpression>();
const MAX_CACHED_RULES = 1000;

/** Compile an expression rule once per distinct text; throws a DataCollError naming field `verify`. */
export function compileVerify(expression: string): CompiledExpression {
  const known = compiledRules.get(expression);
  if (known !== undefined) return known;
  const r = compileSandboxed(expression, { symbols: VERIFY_SYMBOLS });
  if (!r.ok) throw new DataCollError("invalid", `verify: ${r.problem.message}`, "verify");
  // Rules arrive through the REST API; start over rather than grow without bound.
  if (compiledRules.size >= MAX_CACHED_RULES) compiledRules.clear();
  compiledRules.set(expression, r.compiled);
  return r.compiled;
}

/** Settings merged over defaults: the point's own fields win. */
export function mergeSettings(defaults: CheckSettings, own: CheckSettings | undefined): CheckSettings {
  if (own === undefined) return defaults;
  const out: Record<string, unknown> = { ...defaults };
  // An own field given as undefined means "not set here", not "switch the default off".
  for (const [k, v] of Object.entries(own)) if (v !== undefined) out[k] = v;
  return {
    ...(out as CheckSettings),
    severity: { ...defaults.severity, ...own.severity },
    messages: { ...defaults.messages, ...own.messages },
  };
}

/** Which conditions the settings switch on, in check order. */
export function enabledConditions(s: CheckSettings): ConditionName[] {
  return CONDITIONS.filter((c) => {
    switch (c) {
      case "lowLow":
      case "low":
      case "high":
      case "highHigh":
        return s[c] !== undefined;
      case "rate":
        return s.ratePerSecond !== undefined;
      case "stale":
        return s.staleSeconds !== undefined;
      case "quality":
        return s.quality === true;
      case "verify":
        return s.verify !== undefined && s.verify.trim() !== "";
    }
  });
}

function bad(field: string, message: string): DataCollError {
  return new DataCollError("invalid", `${field} ${message}`, field);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function num(raw: Record<string, unknown>, field: string, min?: number, above?: boolean): number | undefined {
  const v = raw[field];
  if (v === undefined || v === null || v === "") return undefined;
  const n = typeof v === "string" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n)) throw bad(field, "must be a number");
  if (min !== undefined && (above ? n <= min : n < min)) {
    throw bad(field, above ? `must be above ${min}` : `must not be below ${min}`);
  }
  return n;
}

function perCondition<T>(
  raw: unknown,
  field: string,
  each: (v: unknown, f: string) => T,
): Partial<Record<ConditionName, T>> | undefined {
  if (raw === undefined) return undefined;
  if (!isRecord(raw)) throw bad(field, "must be an object keyed by condition");
  const out: Partial<Record<ConditionName, T>> = {};
  for (const [k, v] of Object.entries(raw)) {
    const c = CONDITIONS.find((n) => n === k);
    if (c === undefined) throw bad(`${field}.${k}`, `is not a condition (${CONDITIONS.join(", ")})`);
    out[c] = each(v, `${field}.${k}`);
  }
  return out;
}

function text(v: unknown, field: string, max: number): string {
  if (typeof v !== "string") throw bad(field, "must be text");
  if (v.length > max) throw bad(field, `must be at most ${max} characters`);
  return v;
}

/**
 * Check settings from configuration or the REST API. Accepts the old system's names `down_limit`,
 * `up_limit` and `warn_msg` for `low`, `high` and `message`. Throws a DataCollError naming the field.
 */
export function parseCheckSettings(raw: unknown): CheckSettings {
  if (raw === undefined || raw === null) return {};
  if (!isRecord(raw)) throw new DataCollError("invalid", "check settings must be an object", "check");
  const r: Record<string, unknown> = { ...raw };
  for (const [old, now] of [
    ["down_limit", "low"],
    ["up_limit", "high"],
    ["warn_msg", "message"],
  ] as const) {
    if (r[old] !== undefined) {
      if (r[now] !== undefined) throw bad(old, `and ${now} name the same setting; give one`);
      r[now] = r[old];
    }
  }
  const lowLow = num(r, "lowLow");
  const low = num(r, "low");
  const high = num(r, "high");
  const highHigh = num(r, "highHigh");
  const ordered = [
    ["lowLow", lowLow],
    ["low", low],
    ["high", high],
    ["highHigh", highHigh],
  ] as const;
  let previous: readonly [string, number] | undefined;
  for (const [name, v] of ordered) {
    if (v === undefined) continue;
    if (previous !== undefined && v < previous[1]) throw bad(name, `(${v}) must not be below ${previous[0]}`);
    previous = [name, v];
  }
  const severity = perCondition(r.severity, "severity", (v, f) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 1000) {
      throw bad(f, "must be a whole number from 1 to 1000");
    }
    return v;
  });
  const messages = perCondition(r.messages, "messages", (v, f) => text(v, f, 500));
  const verify = r.verify === undefined || r.verify === "" ? undefined : text(r.verify, "verify", 2000);
  if (verify !== undefined) compileVerify(verify);
  if (r.quality !== undefined && typeof r.quality !== "boolean")
    throw bad("quality", "must be true or false");
  const s: CheckSettings = {
    lowLow,
    low,
    high,
    highHigh,
    hysteresis: num(r, "hysteresis", 0),
    ratePerSecond: num(r, "ratePerSecond", 0, true),
    staleSeconds: num(r, "staleSeconds", 0, true),
    quality: r.quality as boolean | undefined,
    verify,
    onDelayMs: num(r, "onDelayMs", 0),
    offDelayMs: num(r, "offDelayMs", 0),
    severity,
    message: r.message === undefined ? undefined : text(r.message, "message", 500),
    messages,
  };
  // Absent fields are left out so a point's settings never override a default with undefined.
  return Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)) as CheckSettings;
}
