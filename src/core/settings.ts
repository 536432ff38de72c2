/**
 * Reading one setting of a config node or a registry record: the editor saves text cells ("502", "",
 * "true"), the registry JSON values, and both mean the same. Empty means the default. A value that does
 * not fit throws a DataCollError naming the field, in the wording every option check uses
 * (src/protocols/options.ts), so an engineer sees one kind of sentence whichever node or layer refused it.
 */
import { oneOf, wholeNumber, type OptionCheck } from "../protocols/options";
import { DataCollError } from "./errors";

function isEmpty(raw: unknown): boolean {
  return raw === undefined || raw === null || raw === "";
}

function refuse(check: OptionCheck): void {
  if (check !== undefined) throw new DataCollError("invalid", check.message, check.field);
}

/** Text, trimmed; empty (or only spaces) means `fallback`. */
export function textSetting(raw: unknown, field: string, fallback: string): string {
  if (isEmpty(raw)) return fallback;
  if (typeof raw !== "string") throw new DataCollError("invalid", `${field} must be text`, field);
  return raw.trim() === "" ? fallback : raw.trim();
}

/** Optional text, trimmed; empty means not given. */
export function optionalTextSetting(raw: unknown, field: string): string | undefined {
  const v = textSetting(raw, field, "");
  return v === "" ? undefined : v;
}

/** A whole number from `min` to `max`, as a number or a text cell. */
export function wholeSetting(
  raw: unknown,
  field: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (isEmpty(raw)) return fallback;
  const n = typeof raw === "string" ? Number(raw.trim()) : raw;
  if (typeof n !== "number" || Number.isNaN(n)) {
    throw new DataCollError(
      "invalid",
      `${field} ${JSON.stringify(raw)} must be a whole number from ${min} to ${max}`,
      field,
    );
  }
  refuse(wholeNumber(field, field, n, min, max));
  return n;
}

/** Any finite number, as a number or a text cell; the caller's own checks bound it. */
export function numberSetting(raw: unknown, field: string, fallback: number): number {
  if (isEmpty(raw)) return fallback;
  const n = typeof raw === "string" ? Number(raw.trim()) : raw;
  if (typeof n !== "number" || !Number.isFinite(n)) {
    throw new DataCollError("invalid", `${field} must be a number, not ${JSON.stringify(raw)}`, field);
  }
  return n;
}

/** true or false, as a boolean or the text the editor saves. */
export function flagSetting(raw: unknown, field: string, fallback: boolean): boolean {
  if (isEmpty(raw)) return fallback;
  if (raw === true || raw === "true") return true;
  if (raw === false || raw === "false") return false;
  throw new DataCollError("invalid", `${field} must be true or false, not ${JSON.stringify(raw)}`, field);
}

/** One of a fixed set of values. */
export function choiceSetting<T extends string>(
  raw: unknown,
  field: string,
  fallback: T,
  allowed: readonly T[],
): T {
  if (isEmpty(raw)) return fallback;
  refuse(oneOf(field, field, raw, allowed as readonly unknown[]));
  return raw as T;
}
