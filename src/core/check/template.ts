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

export function renderMessage(template: string, fields: Readonly<Record<string, unknown>>): string {
  return template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => {
    const v = fields[name];
    return v === undefined || v === null ? whole : String(v);
  });
}
