/**
 * A registry Point's check settings: its limits plus the check fields it carries among its extra fields
 * (which are flat scalars): `hysteresis`, `ratePerSecond`, `staleSeconds`, `quality`, `verify`,
 * `onDelayMs`, `offDelayMs`, `message`, `severity` (a number for every condition), and per condition
 * `severity.<condition>` and `message.<condition>`. The old system's `down_limit`, `up_limit`,
 * `warn_msg` and `do_verify` are read too; the model's `limits` win over the old limit names.
 */
import type { Point } from "../model/point";
import { CONDITIONS, parseCheckSettings, type CheckSettings } from "./settings";

const FLAT = [
  "hysteresis",
  "ratePerSecond",
  "staleSeconds",
  "quality",
  "verify",
  "onDelayMs",
  "offDelayMs",
  "message",
  "warn_msg",
  "down_limit",
  "up_limit",
] as const;
const LIMITS = ["lowLow", "low", "high", "highHigh"] as const;

/**
 * The settings the point itself gives; `undefined` when it gives none, so the checker's defaults apply
 * unchanged. Throws a DataCollError naming the field when they are invalid.
 */
export function checkSettingsOfPoint(point: Pick<Point, "limits" | "extra">): CheckSettings | undefined {
  const x = point.extra;
  const raw: Record<string, unknown> = {};
  for (const name of FLAT) if (x[name] !== undefined && x[name] !== null) raw[name] = x[name];
  if (raw.verify === undefined && typeof x.do_verify === "string") raw.verify = x.do_verify;
  for (const name of LIMITS) if (point.limits[name] !== undefined) raw[name] = point.limits[name];
  if (raw.low !== undefined) raw.down_limit = undefined;
  if (raw.high !== undefined) raw.up_limit = undefined;
  const severity: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  for (const c of CONDITIONS) {
    const s = x[`severity.${c}`] ?? (typeof x.severity === "number" ? x.severity : undefined);
    if (s !== undefined && s !== null) severity[c] = s;
    const m = x[`message.${c}`];
    if (m !== undefined && m !== null) messages[c] = m;
  }
  if (Object.keys(severity).length > 0) raw.severity = severity;
  if (Object.keys(messages).length > 0) raw.messages = messages;
  if (Object.values(raw).every((v) => v === undefined)) return undefined;
  const s = parseCheckSettings(raw);
  return Object.keys(s).length === 0 ? undefined : s;
}
