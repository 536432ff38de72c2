/**
 * IEC 104 commands from engineering values: which command type, which value on the wire (single and
 * double commands from booleans or words, step commands from "higher"/"lower", setpoints unscaled), and
 * one command carried out through a master with its confirmation — or an error naming the station's
 * cause (negative confirmation with its COT, timeout, lost link).
 */
import { DataCollError } from "../errors";
import type { Scaling } from "../model/scaling";
import { typeIdFor, typeIdName, type CommandObject } from "../../protocols/iec104/codec";
import type { Iec104Master, RequestStep } from "./master";
import type { CommandKind } from "./address";

export type { CommandKind };
export const COMMAND_KINDS: readonly CommandKind[] = [
  "single-command",
  "double-command",
  "step-command",
  "setpoint-normalized",
  "setpoint-scaled",
  "setpoint-float",
];

export function isCommandKind(raw: unknown): raw is CommandKind {
  return typeof raw === "string" && (COMMAND_KINDS as readonly string[]).includes(raw);
}

const ON = new Set<unknown>([true, 1, "1", "on", "ON", "true", "close", "higher", 2, "2"]);
const OFF = new Set<unknown>([false, 0, "0", "off", "OFF", "false", "open", "lower"]);

function onOff(value: unknown, what: string): boolean {
  if (ON.has(value)) return true;
  if (OFF.has(value)) return false;
  throw new DataCollError(
    "invalid",
    `${what} needs true/false (on/off), not ${JSON.stringify(value)}`,
    "payload",
  );
}

/** The command object for an engineering value; `qualifier` is QU (commands) or QL (setpoints). */
export function commandObject(
  kind: CommandKind,
  ioa: number,
  value: unknown,
  opts: { readonly qualifier?: number; readonly scaling?: Scaling } = {},
): CommandObject {
  if (!Number.isInteger(ioa) || ioa < 1 || ioa > 0xffffff) {
    throw new DataCollError("invalid", `ioa ${ioa} must be a whole number from 1 to 16777215`, "ioa");
  }
  const qualifier = opts.qualifier ?? 0;
  switch (kind) {
    case "single-command":
      return { kind, ioa, value: onOff(value, "a single command"), qualifier, select: false };
    case "double-command":
      // DCS 1 OFF, 2 ON; 1 and 2 given as numbers are taken as the wire values themselves.
      return {
        kind,
        ioa,
        value: value === 1 ? 1 : value === 2 ? 2 : onOff(value, "a double command") ? 2 : 1,
        qualifier,
        select: false,
      };
    case "step-command": {
      const v = value === 1 ? 1 : value === 2 ? 2 : onOff(value, "a step command (higher/lower)") ? 2 : 1;
      return { kind, ioa, value: v, qualifier, select: false };
    }
    case "setpoint-normalized":
    case "setpoint-scaled":
    case "setpoint-float": {
      const n =
        typeof value === "number"
          ? value
          : typeof value === "string" && value.trim() !== ""
            ? Number(value)
            : NaN;
      if (!Number.isFinite(n)) {
        throw new DataCollError(
          "invalid",
          `a setpoint needs a number, not ${JSON.stringify(value)}`,
          "payload",
        );
      }
      const s = opts.scaling ?? { coefficient: 1, base: 0 };
      const raw = (n - s.base) / s.coefficient;
      const wire = kind === "setpoint-scaled" ? Math.round(raw) : raw;
      if (kind === "setpoint-scaled" && (wire < -32768 || wire > 32767)) {
        throw new DataCollError("invalid", `scaled setpoint ${wire} is outside -32768..32767`, "payload");
      }
      if (kind === "setpoint-normalized" && !(wire >= -1 && wire <= 1)) {
        throw new DataCollError("invalid", `normalized setpoint ${wire} is outside -1..1`, "payload");
      }
      return { kind, ioa, value: wire, qualifier, select: false };
    }
  }
}

export interface CommandConfirmation {
  readonly ok: true;
  readonly commonAddress: number;
  readonly ioa: number;
  readonly type: string;
  readonly value: CommandObject["value"];
  readonly selectBeforeOperate: boolean;
  readonly withTime: boolean;
  /** The outcomes in order: e.g. selected, confirmed, terminated. */
  readonly steps: readonly RequestStep["outcome"][];
  readonly ms: number;
}

/** Send one command and wait for its confirmation; rejects with the cause when the station refuses. */
export async function sendCommand(
  master: Iec104Master,
  command: CommandObject,
  opts: { readonly commonAddress: number; readonly withTime: boolean; readonly selectBeforeOperate: boolean },
  now: () => number = Date.now,
): Promise<CommandConfirmation> {
  const started = now();
  const done = await master.request({
    kind: "command",
    command,
    withTime: opts.withTime,
    selectBeforeOperate: opts.selectBeforeOperate,
    commonAddress: opts.commonAddress,
  });
  return {
    ok: true,
    commonAddress: opts.commonAddress,
    ioa: command.ioa,
    type: typeIdName(typeIdFor(command.kind, opts.withTime) ?? 0),
    value: command.value,
    selectBeforeOperate: opts.selectBeforeOperate,
    withTime: opts.withTime,
    steps: done.steps.map((s) => s.outcome),
    ms: now() - started,
  };
}
