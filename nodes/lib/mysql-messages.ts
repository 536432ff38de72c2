/**
 * What a save node takes in: DataPoints in either message shape (messages.ts), or alarm transitions as
 * the check node's second output sends them (`msg.alarm` = one AlarmTransition; an array of them in
 * `msg.payload` is taken too). A check node's first output also carries `msg.alarm`, but that is a
 * point's alarm picture (no `condition`), so those messages are saved as points.
 */
import type { AlarmTransition } from "../../src/core/check/checker";
import type { AlarmState } from "../../src/core/check/alarm-state";
import { CONDITIONS, type ConditionName } from "../../src/core/check/settings";
import { DataCollError } from "../../src/core/errors";
import { splitPointKey, type DataPoint } from "../../src/core/model/datapoint";
import { pointsFromMessage } from "./messages";

export type SaveInput =
  | { readonly kind: "points"; readonly points: DataPoint[] }
  | { readonly kind: "alarms"; readonly alarms: AlarmTransition[] };

const STATES: readonly AlarmState[] = ["normal", "raised", "acked", "cleared-unacked", "shelved"];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function looksLikeTransition(v: unknown): v is Record<string, unknown> {
  return isRecord(v) && typeof v.condition === "string" && "previous" in v;
}

function bad(where: string, field: string, what: string): DataCollError {
  return new DataCollError("bad-message", `${where}.${field} ${what}`, field);
}

/** Read one alarm transition; `where` names it in errors (e.g. "msg.alarm"). */
export function readTransition(raw: Record<string, unknown>, where: string): AlarmTransition {
  if (typeof raw.key !== "string" || !splitPointKey(raw.key))
    throw bad(where, "key", "must be deviceId:termId:itemId");
  if (!(CONDITIONS as readonly unknown[]).includes(raw.condition))
    throw bad(where, "condition", `must be one of ${CONDITIONS.join(", ")}`);
  for (const f of ["state", "previous"] as const)
    if (!(STATES as readonly unknown[]).includes(raw[f]))
      throw bad(where, f, `must be one of ${STATES.join(", ")}`);
  if (typeof raw.active !== "boolean") throw bad(where, "active", "must be true or false");
  if (typeof raw.severity !== "number" || !Number.isFinite(raw.severity))
    throw bad(where, "severity", "must be a number");
  if (typeof raw.text !== "string") throw bad(where, "text", "must be text");
  if (typeof raw.ts !== "number" || !Number.isFinite(raw.ts))
    throw bad(where, "ts", "must be epoch milliseconds");
  const v = raw.value;
  const valueOk = v === undefined || v === null || ["number", "boolean", "string"].includes(typeof v);
  if (!valueOk) throw bad(where, "value", "must be a number, boolean, text or null");
  if (raw.by !== undefined && typeof raw.by !== "string") throw bad(where, "by", "must be text");
  return {
    key: raw.key,
    condition: raw.condition as ConditionName,
    state: raw.state as AlarmState,
    previous: raw.previous as AlarmState,
    active: raw.active,
    severity: raw.severity,
    text: raw.text,
    ts: raw.ts,
    value: v as DataPoint["value"] | undefined,
    ...(typeof raw.by === "string" ? { by: raw.by } : {}),
  };
}

/** Points or alarm transitions from a message; throws a DataCollError naming what is wrong. */
export function readSaveInput(msg: Record<string, unknown>, now: number): SaveInput {
  if (looksLikeTransition(msg.alarm))
    return { kind: "alarms", alarms: [readTransition(msg.alarm, "msg.alarm")] };
  const payload = msg.payload;
  if (Array.isArray(payload) && payload.length > 0 && looksLikeTransition(payload[0])) {
    return {
      kind: "alarms",
      alarms: payload.map((t, i) => {
        if (!isRecord(t))
          throw new DataCollError("bad-message", `msg.payload[${i}] must be an alarm transition`, "payload");
        return readTransition(t, `msg.payload[${i}]`);
      }),
    };
  }
  return { kind: "points", points: pointsFromMessage(msg, now) };
}
