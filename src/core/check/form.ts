/**
 * A check node's editor form as checker settings: the form keeps every field as text (blank meaning
 * "not set", delays in seconds, one severity for every condition), the checker wants CheckSettings and a
 * scope. Here, not in the node, so the mapping is tested without Node-RED and read in one place.
 */
import { compilePattern, type PointMatcher } from "../bus/pattern";
import { CONDITIONS, parseCheckSettings, type CheckSettings } from "./settings";

/** The form's fields as the editor saves them. */
export interface CheckForm {
  /** "registry": every point of the manager's registry; "pattern" (and flows saved before it): `scope`. */
  readonly scopeMode?: string;
  readonly scope?: string;
  readonly lowLow?: string;
  readonly low?: string;
  readonly high?: string;
  readonly highHigh?: string;
  readonly hysteresis?: string;
  readonly ratePerSecond?: string;
  readonly staleSeconds?: string;
  readonly quality?: boolean;
  readonly verify?: string;
  readonly onDelay?: string;
  readonly offDelay?: string;
  readonly severity?: string;
  readonly message?: string;
}

/** Which points a check node checks: the manager's registry (followed as it changes) or a pattern. */
export type CheckScope =
  { readonly kind: "registry" } | { readonly kind: "pattern"; readonly matcher: PointMatcher };

export interface ParsedCheckForm {
  readonly defaults: CheckSettings;
  readonly scope: CheckScope;
}

export const blank = (v: unknown): boolean => v === undefined || v === null || String(v).trim() === "";
const milliseconds = (seconds: unknown): number | undefined =>
  blank(seconds) ? undefined : Number(seconds) * 1000;

/** The form's defaults and scope; throws a DataCollError naming the field at fault. */
export function parseCheckForm(form: CheckForm): ParsedCheckForm {
  const severity = blank(form.severity)
    ? undefined
    : Object.fromEntries(CONDITIONS.map((c) => [c, Number(form.severity)]));
  const defaults = parseCheckSettings({
    lowLow: form.lowLow,
    low: form.low,
    high: form.high,
    highHigh: form.highHigh,
    hysteresis: form.hysteresis,
    ratePerSecond: form.ratePerSecond,
    staleSeconds: form.staleSeconds,
    quality: form.quality === true ? true : undefined,
    verify: blank(form.verify) ? undefined : form.verify,
    onDelayMs: milliseconds(form.onDelay),
    offDelayMs: milliseconds(form.offDelay),
    severity,
    message: blank(form.message) ? undefined : form.message,
  });
  const scope: CheckScope =
    form.scopeMode === "registry"
      ? { kind: "registry" }
      : { kind: "pattern", matcher: compilePattern(form.scope ?? "") };
  return { defaults, scope };
}
