/**
 * The IEC 104 point address of the registry — `IOA` or `IOA:type` — read in one place, so the registry
 * refuses at write time exactly what the IEC 104 runtime would later refuse. The type is either the
 * monitor type the point's data arrives as (`M_ME_NC_1`, `13`, `36`, `float`), or the command type the
 * point is controlled with (`C_SE_NC_1`, `50`, `63`): the older system's `code_type` named either, a
 * measured value by its monitor type and a set point or switch by the command it takes.
 */
import { DataCollError } from "../errors";
import { TypeId, describeType, withoutTimeTag, type CommandObject } from "../../protocols/iec104/codec";

/** The commands a point can take (a bitstring command has no engineering value to send). */
export type CommandKind = Exclude<CommandObject["kind"], "bitstring-command">;

const KIND_TYPES: Readonly<Record<string, number>> = {
  single: TypeId.M_SP_NA_1,
  double: TypeId.M_DP_NA_1,
  step: TypeId.M_ST_NA_1,
  bitstring: TypeId.M_BO_NA_1,
  normalized: TypeId.M_ME_NA_1,
  scaled: TypeId.M_ME_NB_1,
  float: TypeId.M_ME_NC_1,
  totals: TypeId.M_IT_NA_1,
};

/** The largest IOA: three octets (IEC 60870-5-104 §9.2); 0 means "irrelevant" and names no point. */
export const MAX_IOA = 0xffffff;

/** A type id given as a number or a mnemonic (`13`, `M_ME_NC_1`, `c_se_nc_1`); undefined otherwise. */
function typeIdOf(text: string): number | undefined {
  if (/^\d{1,3}$/.test(text)) return Number(text);
  return (TypeId as Readonly<Record<string, number>>)[text.toUpperCase()];
}

/**
 * A monitor type as the engineer writes it — `M_ME_NC_1`, `13`, `36` (its time-tagged twin) or a kind
 * (`float`) — as the plain type id; undefined for empty text.
 */
export function parseMonitorType(raw: unknown): number | undefined {
  const text = raw === undefined || raw === null ? "" : String(raw).trim();
  if (text === "") return undefined;
  const id = typeIdOf(text) ?? KIND_TYPES[text.toLowerCase()];
  const plain = id === undefined ? undefined : withoutTimeTag(id);
  if (plain === undefined || !Object.values(KIND_TYPES).includes(plain)) {
    throw new DataCollError(
      "invalid",
      `type ${JSON.stringify(text)} is not a monitor type (e.g. M_ME_NC_1, 13, float)`,
      "type",
    );
  }
  return plain;
}

/** A command type id (45..51, 58..64) as the command kind it sends and whether it carries a time tag. */
export function commandTypeOf(
  typeId: number,
): { readonly kind: CommandKind; readonly withTime: boolean } | undefined {
  const d = describeType(typeId);
  if (d === undefined) return undefined;
  const kind = d.kind;
  if (kind === "bitstring-command" || !(kind.endsWith("-command") || kind.startsWith("setpoint-")))
    return undefined;
  return { kind: kind as CommandKind, withTime: d.timed };
}

export interface Iec104Address {
  readonly ioa: number;
  /** The monitor type (without time tag) the point's data must arrive as; undefined accepts any. */
  readonly typeId?: number;
  /** The command the point is controlled with, when the address names a command type. */
  readonly command?: { readonly kind: CommandKind; readonly withTime: boolean };
}

/** Parse `IOA` or `IOA:type`. Throws DataCollError naming `address` (the IOA) or `type`. */
export function parseIec104Address(text: string): Iec104Address {
  const [ioaText, typeText, extra] = text.trim().split(":");
  const ioa = Number(ioaText);
  if (extra !== undefined || !/^\d{1,8}$/.test(ioaText) || ioa < 1 || ioa > MAX_IOA) {
    throw new DataCollError(
      "invalid",
      `address ${JSON.stringify(text)} must be an IEC 104 IOA from 1 to ${MAX_IOA}, optionally :type (e.g. 1001:M_ME_NC_1)`,
      "address",
    );
  }
  if (typeText === undefined) return { ioa };
  const given = typeText.trim();
  const id = given === "" ? undefined : typeIdOf(given);
  const command = id === undefined ? undefined : commandTypeOf(id);
  if (command !== undefined) return { ioa, command };
  try {
    const typeId = given === "" ? undefined : parseMonitorType(given);
    if (typeId !== undefined) return { ioa, typeId };
    throw new RangeError("no type after ':'");
  } catch {
    throw new DataCollError(
      "invalid",
      `type ${JSON.stringify(given)} is neither a monitor type (e.g. M_ME_NC_1, 13, 36, float) nor a ` +
        `command type (e.g. C_SE_NC_1, 45, 50, 63)`,
      "type",
    );
  }
}
