/**
 * The one way options are checked below the core: every session, the link parameters and the transport
 * describe their options as a list of these checks, so a value out of range reads the same everywhere —
 * "<what> <value> must be …", with the field it belongs to — whether it came from the editor, a flow or
 * the REST API. The core checks raw JSON records with its own reader (src/core/model/fields.ts), which
 * throws on the first bad field; these checks return problems, so an editor can list them all.
 *
 * A value that is `undefined` passes: the option was not given and its default applies.
 */

/** One option that cannot be used: the field (a path such as `link.t2Ms`) and a sentence saying why. */
export interface OptionProblem<F extends string = string> {
  readonly field: F;
  readonly message: string;
}

export type OptionCheck<F extends string = string> = OptionProblem<F> | undefined;

function problem<F extends string>(field: F, message: string): OptionProblem<F> {
  return { field, message };
}

/** What 0 means for an option where 0 switches something off, added to its message. */
function zeroNote(zeroMeans: string | undefined): string {
  return zeroMeans === undefined ? "" : ` (0: ${zeroMeans})`;
}

/** A whole number from `min` to `max` (no upper bound when `max` is left out). */
export function wholeNumber<F extends string>(
  field: F,
  what: string,
  v: number | undefined,
  min: number,
  max?: number,
  zeroMeans?: string,
): OptionCheck<F> {
  if (v === undefined || (Number.isInteger(v) && v >= min && (max === undefined || v <= max)))
    return undefined;
  const range = max === undefined ? `of at least ${min}` : `from ${min} to ${max}`;
  return problem(field, `${what} ${v} must be a whole number ${range}${zeroNote(zeroMeans)}`);
}

/** A whole number of milliseconds from `min` to `max` (a protocol timer the standard counts in ms or s). */
export function wholeDuration<F extends string>(
  field: F,
  what: string,
  ms: number | undefined,
  min: number,
  max: number,
): OptionCheck<F> {
  if (ms === undefined || (Number.isInteger(ms) && ms >= min && ms <= max)) return undefined;
  return problem(field, `${what} ${ms} ms must be a whole number of ms from ${min} to ${max}`);
}

/** A time in milliseconds of at least `min` ms. */
export function duration<F extends string>(
  field: F,
  what: string,
  ms: number | undefined,
  min: number,
  zeroMeans?: string,
): OptionCheck<F> {
  if (ms === undefined || (Number.isFinite(ms) && ms >= min)) return undefined;
  return problem(field, `${what} ${ms} ms must be at least ${min} ms${zeroNote(zeroMeans)}`);
}

/** A time in milliseconds longer than zero (fractions allowed). */
export function positiveDuration<F extends string>(
  field: F,
  what: string,
  ms: number | undefined,
): OptionCheck<F> {
  if (ms === undefined || (Number.isFinite(ms) && ms > 0)) return undefined;
  return problem(field, `${what} ${ms} ms must be more than 0 ms`);
}

/** A number from `min` to `max`, fractions allowed. */
export function between<F extends string>(
  field: F,
  what: string,
  v: number | undefined,
  min: number,
  max: number,
): OptionCheck<F> {
  if (v === undefined || (v >= min && v <= max)) return undefined;
  return problem(field, `${what} ${v} must be between ${min} and ${max}`);
}

/** One of a fixed set of values (a mode, an order). */
export function oneOf<F extends string, T>(
  field: F,
  what: string,
  v: T | undefined,
  allowed: readonly T[],
): OptionCheck<F> {
  if (v === undefined || allowed.includes(v)) return undefined;
  return problem(field, `${what} ${JSON.stringify(v)} must be one of ${allowed.join(", ")}`);
}

/** true or false, not a string or number that merely looks like one. */
export function flag<F extends string>(field: F, what: string, v: unknown): OptionCheck<F> {
  if (v === undefined || typeof v === "boolean") return undefined;
  return problem(field, `${what} must be true or false, not ${JSON.stringify(v)}`);
}

/** A rule between options (t2 shorter than t1, a maximum not below its minimum), in its own words. */
export function rule<F extends string>(field: F, holds: boolean, message: string): OptionCheck<F> {
  return holds ? undefined : problem(field, message);
}

/** Every problem among the checks, in order; empty when all options are usable. */
export function problems<F extends string>(...checks: readonly OptionCheck<F>[]): OptionProblem<F>[] {
  return checks.filter((c): c is OptionProblem<F> => c !== undefined);
}

/** The first problem among the checks, or undefined when all options are usable. */
export function firstProblem<F extends string>(...checks: readonly OptionCheck<F>[]): OptionCheck<F> {
  return checks.find((c) => c !== undefined);
}

/** Throw the first problem as a RangeError: options are checked where the object is made. */
export function refuseProblems(found: readonly OptionProblem[]): void {
  if (found.length > 0) throw new RangeError(`${found[0].field}: ${found[0].message}`);
}
