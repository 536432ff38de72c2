/**
 * Operator commands for the checker as they arrive from outside (a flow message, a dashboard button):
 * acknowledge, shelve and unshelve. Parsing only; the checker carries them out.
 */
import { DataCollError } from "../errors";
import { splitPointKey, type PointKey } from "../model/datapoint";
import type { AlarmTransition, Checker } from "./checker";
import { CONDITIONS, type ConditionName } from "./settings";

export type AlarmCommand =
  | {
      readonly kind: "ack";
      /** Undefined: every alarm waiting for an operator. */
      readonly key: PointKey | undefined;
      readonly condition: ConditionName | undefined;
      readonly by: string | undefined;
    }
  | {
      readonly kind: "shelve";
      readonly key: PointKey;
      readonly condition: ConditionName;
      readonly until: number;
      readonly by: string | undefined;
    }
  | {
      readonly kind: "unshelve";
      readonly key: PointKey;
      readonly condition: ConditionName;
      readonly by: string | undefined;
    };

export const COMMAND_NAMES: ReadonlySet<string> = new Set(["ack", "shelve", "unshelve"]);

function bad(field: string, message: string): DataCollError {
  return new DataCollError("bad-message", `${field} ${message}`, field);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function keyOf(v: unknown): PointKey {
  if (typeof v !== "string" || splitPointKey(v) === undefined)
    throw bad("payload.key", "must be a point key deviceId:termId:itemId");
  return v;
}

function conditionOf(v: unknown): ConditionName {
  const c = CONDITIONS.find((n) => n === v);
  if (c === undefined) throw bad("payload.condition", `must be one of ${CONDITIONS.join(", ")}`);
  return c;
}

function byOf(v: unknown): string | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string" || v.length > 200)
    throw bad("payload.by", "must be text of at most 200 characters");
  return v;
}

/** Epoch ms, or a date text such as ISO 8601. */
function timeOf(v: unknown): number {
  const t = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Date.parse(v) : NaN;
  if (!Number.isFinite(t)) throw bad("payload.until", "must be epoch milliseconds or a date text");
  return t;
}

/**
 * The command `name` (`ack`, `shelve`, `unshelve`, usually msg.topic) with its payload:
 * `{key?, condition?, by?}` for ack (no key: every unacknowledged alarm), `{key, condition, until, by?}`
 * for shelve, `{key, condition, by?}` for unshelve. Throws a DataCollError naming the field at fault.
 */
export function parseAlarmCommand(name: string, payload: unknown): AlarmCommand {
  const p = payload === undefined || payload === null || payload === "" ? {} : payload;
  if (!isRecord(p)) throw bad("payload", `of a ${name} command must be an object`);
  const by = byOf(p.by);
  switch (name) {
    case "ack":
      return {
        kind: "ack",
        key: p.key === undefined ? undefined : keyOf(p.key),
        condition: p.condition === undefined ? undefined : conditionOf(p.condition),
        by,
      };
    case "shelve":
      return {
        kind: "shelve",
        key: keyOf(p.key),
        condition: conditionOf(p.condition),
        until: timeOf(p.until),
        by,
      };
    case "unshelve":
      return { kind: "unshelve", key: keyOf(p.key), condition: conditionOf(p.condition), by };
    default:
      throw bad("topic", `"${name}" is not a command (ack, shelve, unshelve)`);
  }
}

/** Carry a command out; returns the transitions it made. Throws the checker's not-found for an unwatched alarm. */
export function runAlarmCommand(
  checker: Pick<Checker, "acknowledge" | "shelve" | "unshelve" | "activeAlarms">,
  c: AlarmCommand,
  now: number,
): readonly AlarmTransition[] {
  switch (c.kind) {
    case "shelve":
      return checker.shelve(c.key, c.condition, c.until, now, c.by);
    case "unshelve":
      return checker.unshelve(c.key, c.condition, now, c.by);
    case "ack": {
      if (c.key !== undefined) return checker.acknowledge(c.key, c.condition, now, c.by);
      const out: AlarmTransition[] = [];
      for (const a of checker.activeAlarms())
        for (const s of a.alarms) {
          const waiting = s.state === "raised" || s.state === "cleared-unacked";
          if (waiting && (c.condition === undefined || c.condition === s.condition))
            out.push(...checker.acknowledge(a.key, s.condition, now, c.by));
        }
      return out;
    }
  }
}
