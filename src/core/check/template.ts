/**
 * Alarm message templates, the successor of the old system's `warn_msg`: text with `{name}` placeholders.
 * Names: key, deviceId, termId, itemId, value, limit, condition, severity, and the limits lowLow, low,
 * high, highHigh (also as the old down_limit, up_limit). An unknown `{name}` is left as written so a typo
 * shows in the message instead of vanishing.
 */
import type { ConditionName } from "./settings";

export const DEFAULT_MESSAGES: Readonly<Record<ConditionName, string>> = Object.freeze({
  lowLow: "{key} low-low: {value} below {limit}",
  low: "{key} low: {value} below {limit}",
  high: "{key} high: {value} above {limit}",
  highHigh: "{key} high-high: {value} above {limit}",
  rate: "{key} changing faster than {limit}/s (value {value})",
  stale: "{key} no update for {limit} s",
  quality: "{key} bad quality",
  verify: "{key} check failed: {limit} (value {value})",
});

/**
 * A number as a message shows it: a fraction to 7 significant digits, what a 32-bit float holds (a
 * register's 238.2 arrives as 238.1999969482422), and 0.1 + 0.2 reads 0.3. Whole numbers as they are.
 */
export function messageNumber(v: number): string {
  if (Number.isInteger(v) || !Number.isFinite(v) || Math.abs(v) >= 1e7) return String(v);
  return String(Number(v.toPrecision(7)));
}

export function renderMessage(template: string, fields: Readonly<Record<string, unknown>>): string {
  return template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => {
    const v = fields[name];
    if (v === undefined || v === null) return whole;
    return typeof v === "number" ? messageNumber(v) : String(v);
  });
}
