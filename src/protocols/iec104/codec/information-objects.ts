/**
 * Information objects: the IOA (3 octets, little-endian, fixed for 104) and the information element of each
 * supported type (IEC 60870-5-101 §7.3; element layouts and sizes in docs/protocols/iec104.md §2 and §4).
 *
 * One `kind` per element shape; types that differ only by a CP56Time2a tag share a kind and carry `time`.
 */
import { CP56_SIZE, decodeCp56, encodeCp56, type Cp56Time2a } from "./cp56time";
import {
  GOOD,
  qdsFromQuality,
  qualityFromQds,
  qualityFromSiq,
  siqFromQuality,
  type Quality,
} from "./quality";
import { TypeId } from "./type-ids";

/** DPI / DCS / RCS: 0 intermediate (not permitted in commands), 1 OFF / lower, 2 ON / higher, 3 indeterminate. */
export type TwoBitState = 0 | 1 | 2 | 3;

interface Base {
  readonly ioa: number;
}
interface Monitored extends Base {
  readonly quality: Quality;
  /** Present exactly on the CP56Time2a types (30..37). */
  readonly time?: Cp56Time2a;
}
interface Command extends Base {
  /** S/E: true selects (select-before-operate, step 1), false executes. */
  readonly select: boolean;
  /** Present exactly on the CP56Time2a types (58..64). */
  readonly time?: Cp56Time2a;
}

export interface SinglePoint extends Monitored {
  readonly kind: "single";
  readonly value: boolean;
}
export interface DoublePoint extends Monitored {
  readonly kind: "double";
  readonly value: TwoBitState;
}
export interface StepPosition extends Monitored {
  readonly kind: "step";
  /** -64..63 */
  readonly value: number;
  /** The equipment is moving between positions. */
  readonly transient: boolean;
}
export interface Bitstring extends Monitored {
  readonly kind: "bitstring";
  /** 32 bits as an unsigned integer. */
  readonly value: number;
}
export interface Normalized extends Monitored {
  readonly kind: "normalized";
  /** raw / 32768, so -1 .. 1 − 2^-15. Type 21 carries no quality and decodes as good. */
  readonly value: number;
}
export interface Scaled extends Monitored {
  readonly kind: "scaled";
  /** int16 */
  readonly value: number;
}
export interface ShortFloat extends Monitored {
  readonly kind: "float";
  readonly value: number;
}
export interface IntegratedTotals extends Monitored {
  readonly kind: "totals";
  /** int32 counter reading. Quality carries IV only. */
  readonly value: number;
  /** 0..31 */
  readonly sequence: number;
  /** CY: the counter overflowed in the period. */
  readonly carry: boolean;
  /** CA: the counter was adjusted in the period. */
  readonly adjusted: boolean;
}
export interface EndOfInit extends Base {
  readonly kind: "end-of-init";
  /** COI bits 0-6: 0 local power on, 1 local manual reset, 2 remote reset. */
  readonly cause: number;
  /** COI bit 7: initialised after a change of local parameters. */
  readonly afterParameterChange: boolean;
}
export interface SingleCommand extends Command {
  readonly kind: "single-command";
  readonly value: boolean;
  /** QU 0..31: 0 no additional definition, 1 short pulse, 2 long pulse, 3 persistent. */
  readonly qualifier: number;
}
export interface DoubleCommand extends Command {
  readonly kind: "double-command";
  /** 1 OFF, 2 ON. */
  readonly value: TwoBitState;
  readonly qualifier: number;
}
export interface StepCommand extends Command {
  readonly kind: "step-command";
  /** 1 next step lower, 2 next step higher. */
  readonly value: TwoBitState;
  readonly qualifier: number;
}
export interface SetpointNormalized extends Command {
  readonly kind: "setpoint-normalized";
  readonly value: number;
  /** QL 0..127 */
  readonly qualifier: number;
}
export interface SetpointScaled extends Command {
  readonly kind: "setpoint-scaled";
  readonly value: number;
  readonly qualifier: number;
}
export interface SetpointFloat extends Command {
  readonly kind: "setpoint-float";
  readonly value: number;
  readonly qualifier: number;
}
/** Bitstring commands have no S/E bit; `select` is always false. */
export interface BitstringCommand extends Command {
  readonly kind: "bitstring-command";
  readonly value: number;
}
export interface Interrogation extends Base {
  readonly kind: "interrogation";
  /** QOI: 20 station, 21..36 groups 1..16. */
  readonly qoi: number;
}
export interface CounterInterrogation extends Base {
  readonly kind: "counter-interrogation";
  /** RQT: 1..4 group, 5 general. */
  readonly request: number;
  /** FRZ: 0 read, 1 freeze without reset, 2 freeze with reset, 3 reset. */
  readonly freeze: number;
}
export interface ReadCommand extends Base {
  readonly kind: "read";
}
export interface ClockSync extends Base {
  readonly kind: "clock-sync";
  readonly time: Cp56Time2a;
}
export interface TestCommand extends Base {
  readonly kind: "test";
  /** FBP, the fixed test pattern 0x55AA. */
  readonly pattern: number;
}
export interface ResetProcess extends Base {
  readonly kind: "reset-process";
  /** QRP: 1 general reset, 2 reset pending time-tagged events. */
  readonly qrp: number;
}
export interface TestCommandWithTime extends Base {
  readonly kind: "test-time";
  /** TSC, a 16-bit test sequence counter. */
  readonly counter: number;
  readonly time: Cp56Time2a;
}

export type MonitorObject =
  SinglePoint | DoublePoint | StepPosition | Bitstring | Normalized | Scaled | ShortFloat | IntegratedTotals;
export type CommandObject =
  | SingleCommand
  | DoubleCommand
  | StepCommand
  | SetpointNormalized
  | SetpointScaled
  | SetpointFloat
  | BitstringCommand;
export type SystemObject =
  | EndOfInit
  | Interrogation
  | CounterInterrogation
  | ReadCommand
  | ClockSync
  | TestCommand
  | ResetProcess
  | TestCommandWithTime;
export type InformationObject = MonitorObject | CommandObject | SystemObject;
export type ObjectKind = InformationObject["kind"];

/** What each supported type carries: its element kind, element size without IOA, and its time tag. */
export interface TypeDescriptor {
  readonly kind: ObjectKind;
  /** Element octets after the IOA, time tag included. */
  readonly size: number;
  readonly timed: boolean;
  /** Command and system types carry one object per ASDU (docs/protocols/iec104.md §2). */
  readonly single: boolean;
}

function d(kind: ObjectKind, size: number, timed = false): TypeDescriptor {
  return { kind, size: timed ? size + CP56_SIZE : size, timed, single: false };
}
function one(kind: ObjectKind, size: number, timed = false): TypeDescriptor {
  return { ...d(kind, size, timed), single: true };
}

const T = TypeId;
const DESCRIPTORS: ReadonlyMap<number, TypeDescriptor> = new Map([
  [T.M_SP_NA_1, d("single", 1)],
  [T.M_DP_NA_1, d("double", 1)],
  [T.M_ST_NA_1, d("step", 2)],
  [T.M_BO_NA_1, d("bitstring", 5)],
  [T.M_ME_NA_1, d("normalized", 3)],
  [T.M_ME_NB_1, d("scaled", 3)],
  [T.M_ME_NC_1, d("float", 5)],
  [T.M_IT_NA_1, d("totals", 5)],
  [T.M_ME_ND_1, d("normalized", 2)],
  [T.M_SP_TB_1, d("single", 1, true)],
  [T.M_DP_TB_1, d("double", 1, true)],
  [T.M_ST_TB_1, d("step", 2, true)],
  [T.M_BO_TB_1, d("bitstring", 5, true)],
  [T.M_ME_TD_1, d("normalized", 3, true)],
  [T.M_ME_TE_1, d("scaled", 3, true)],
  [T.M_ME_TF_1, d("float", 5, true)],
  [T.M_IT_TB_1, d("totals", 5, true)],
  [T.C_SC_NA_1, one("single-command", 1)],
  [T.C_DC_NA_1, one("double-command", 1)],
  [T.C_RC_NA_1, one("step-command", 1)],
  [T.C_SE_NA_1, one("setpoint-normalized", 3)],
  [T.C_SE_NB_1, one("setpoint-scaled", 3)],
  [T.C_SE_NC_1, one("setpoint-float", 5)],
  [T.C_BO_NA_1, one("bitstring-command", 4)],
  [T.C_SC_TA_1, one("single-command", 1, true)],
  [T.C_DC_TA_1, one("double-command", 1, true)],
  [T.C_RC_TA_1, one("step-command", 1, true)],
  [T.C_SE_TA_1, one("setpoint-normalized", 3, true)],
  [T.C_SE_TB_1, one("setpoint-scaled", 3, true)],
  [T.C_SE_TC_1, one("setpoint-float", 5, true)],
  [T.C_BO_TA_1, one("bitstring-command", 4, true)],
  [T.M_EI_NA_1, one("end-of-init", 1)],
  [T.C_IC_NA_1, one("interrogation", 1)],
  [T.C_CI_NA_1, one("counter-interrogation", 1)],
  [T.C_RD_NA_1, one("read", 0)],
  [T.C_CS_NA_1, one("clock-sync", CP56_SIZE)],
  [T.C_TS_NA_1, one("test", 2)],
  [T.C_RP_NA_1, one("reset-process", 1)],
  [T.C_TS_TA_1, one("test-time", 2 + CP56_SIZE)],
]);

/** The descriptor of a type id, or undefined for a type this stack does not handle. */
export function describeType(typeId: number): TypeDescriptor | undefined {
  return DESCRIPTORS.get(typeId);
}

const NORMALIZED_SCALE = 32768;

/** Normalized value NVA: int16 / 32768 (IEC 60870-5-101 §7.2.6.6). */
function normalizedToRaw(value: number): number {
  if (!(value >= -1 && value <= 1)) throw new RangeError(`normalized value ${value} is outside -1..1`);
  // +1 itself is not representable; it is sent as the largest value, 32767/32768.
  return Math.min(Math.round(value * NORMALIZED_SCALE), NORMALIZED_SCALE - 1);
}

function checkInt(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max)
    throw new RangeError(`${name} ${v} is outside ${min}..${max}`);
  return v;
}

function timeOf(obj: InformationObject, typeId: number): Cp56Time2a {
  const time = "time" in obj ? obj.time : undefined;
  if (time === undefined) throw new RangeError(`type ${typeId} needs a CP56Time2a time tag`);
  return time;
}

/**
 * Read the element of type `typeId` (descriptor `desc`) at `off`, which the caller has checked fits.
 */
export function decodeElement(
  typeId: number,
  desc: TypeDescriptor,
  ioa: number,
  buf: Buffer,
  off: number,
): InformationObject {
  const obj = decodePlain(typeId, desc, ioa, buf, off);
  // Time-tagged types are the rarer case; only they pay for the copy that adds the tag.
  if (!desc.timed) return obj;
  // Only monitor and command types are timed (the descriptor table), and both carry `time`.
  return { ...obj, time: decodeCp56(buf, off + desc.size - CP56_SIZE) } as MonitorObject | CommandObject;
}

/** Checks each literal against its interface; the identity call costs nothing once inlined. */
function typed<O extends InformationObject>(o: O): O {
  return o;
}

function decodePlain(
  typeId: number,
  desc: TypeDescriptor,
  ioa: number,
  buf: Buffer,
  off: number,
): InformationObject {
  switch (desc.kind) {
    case "single": {
      const siq = buf[off];
      return typed<SinglePoint>({
        kind: "single",
        ioa,
        value: (siq & 0x01) !== 0,
        quality: qualityFromSiq(siq),
      });
    }
    case "double": {
      const diq = buf[off];
      return typed<DoublePoint>({
        kind: "double",
        ioa,
        value: (diq & 0x03) as TwoBitState,
        quality: qualityFromSiq(diq),
      });
    }
    case "step": {
      const vti = buf[off];
      // VTI: bits0-6 a 7-bit two's-complement value, bit7 transient.
      return typed<StepPosition>({
        kind: "step",
        ioa,
        value: ((vti & 0x7f) << 25) >> 25,
        transient: (vti & 0x80) !== 0,
        quality: qualityFromQds(buf[off + 1]),
      });
    }
    case "bitstring":
      return typed<Bitstring>({
        kind: "bitstring",
        ioa,
        value: buf.readUInt32LE(off),
        quality: qualityFromQds(buf[off + 4]),
      });
    case "normalized": {
      const value = buf.readInt16LE(off) / NORMALIZED_SCALE;
      const quality = typeId === TypeId.M_ME_ND_1 ? GOOD : qualityFromQds(buf[off + 2]);
      return typed<Normalized>({ kind: "normalized", ioa, value, quality });
    }
    case "scaled":
      return typed<Scaled>({
        kind: "scaled",
        ioa,
        value: buf.readInt16LE(off),
        quality: qualityFromQds(buf[off + 2]),
      });
    case "float":
      return typed<ShortFloat>({
        kind: "float",
        ioa,
        value: buf.readFloatLE(off),
        quality: qualityFromQds(buf[off + 4]),
      });
    case "totals": {
      // BCR: int32 + octet with bits0-4 sequence, 0x20 CY, 0x40 CA, 0x80 IV (docs/protocols/iec104.md §4).
      const flags = buf[off + 4];
      return typed<IntegratedTotals>({
        kind: "totals",
        ioa,
        value: buf.readInt32LE(off),
        sequence: flags & 0x1f,
        carry: (flags & 0x20) !== 0,
        adjusted: (flags & 0x40) !== 0,
        quality: qualityFromQds(flags & 0x80),
      });
    }
    case "end-of-init":
      return {
        kind: "end-of-init",
        ioa,
        cause: buf[off] & 0x7f,
        afterParameterChange: (buf[off] & 0x80) !== 0,
      };
    case "single-command": {
      // SCO: bit0 SCS, bits2-6 QU, bit7 S/E (docs/protocols/iec104.md §4).
      const sco = buf[off];
      return typed<SingleCommand>({
        kind: "single-command",
        ioa,
        value: (sco & 0x01) !== 0,
        qualifier: (sco >> 2) & 0x1f,
        select: (sco & 0x80) !== 0,
      });
    }
    case "double-command":
    case "step-command": {
      const dco = buf[off];
      const o = {
        ioa,
        value: (dco & 0x03) as TwoBitState,
        qualifier: (dco >> 2) & 0x1f,
        select: (dco & 0x80) !== 0,
      };
      return desc.kind === "double-command"
        ? typed<DoubleCommand>({ kind: "double-command", ...o })
        : typed<StepCommand>({ kind: "step-command", ...o });
    }
    case "setpoint-normalized":
    case "setpoint-scaled": {
      const raw = buf.readInt16LE(off);
      const qos = buf[off + 2];
      const o = { ioa, qualifier: qos & 0x7f, select: (qos & 0x80) !== 0 };
      return desc.kind === "setpoint-normalized"
        ? typed<SetpointNormalized>({ kind: "setpoint-normalized", value: raw / NORMALIZED_SCALE, ...o })
        : typed<SetpointScaled>({ kind: "setpoint-scaled", value: raw, ...o });
    }
    case "setpoint-float": {
      const qos = buf[off + 4];
      return typed<SetpointFloat>({
        kind: "setpoint-float",
        ioa,
        value: buf.readFloatLE(off),
        qualifier: qos & 0x7f,
        select: (qos & 0x80) !== 0,
      });
    }
    case "bitstring-command":
      return typed<BitstringCommand>({
        kind: "bitstring-command",
        ioa,
        value: buf.readUInt32LE(off),
        select: false,
      });
    case "interrogation":
      return { kind: "interrogation", ioa, qoi: buf[off] };
    case "counter-interrogation":
      // QCC: bits0-5 RQT, bits6-7 FRZ.
      return { kind: "counter-interrogation", ioa, request: buf[off] & 0x3f, freeze: buf[off] >> 6 };
    case "read":
      return { kind: "read", ioa };
    case "clock-sync":
      return { kind: "clock-sync", ioa, time: decodeCp56(buf, off) };
    case "test":
      return { kind: "test", ioa, pattern: buf.readUInt16LE(off) };
    case "reset-process":
      return { kind: "reset-process", ioa, qrp: buf[off] };
    case "test-time":
      return { kind: "test-time", ioa, counter: buf.readUInt16LE(off), time: decodeCp56(buf, off + 2) };
  }
}

/** Write the element of `obj` (already checked to be of `desc.kind`) at `off`. */
export function encodeElement(
  typeId: number,
  desc: TypeDescriptor,
  obj: InformationObject,
  buf: Buffer,
  off: number,
): void {
  switch (obj.kind) {
    case "single":
      buf[off] = (obj.value ? 1 : 0) | siqFromQuality(obj.quality);
      break;
    case "double":
      buf[off] = checkInt("double point state", obj.value, 0, 3) | siqFromQuality(obj.quality);
      break;
    case "step":
      buf[off] = (checkInt("step position", obj.value, -64, 63) & 0x7f) | (obj.transient ? 0x80 : 0);
      buf[off + 1] = qdsFromQuality(obj.quality);
      break;
    case "bitstring":
      buf.writeUInt32LE(checkInt("bitstring", obj.value, 0, 0xffffffff), off);
      buf[off + 4] = qdsFromQuality(obj.quality);
      break;
    case "normalized":
      buf.writeInt16LE(normalizedToRaw(obj.value), off);
      if (typeId !== TypeId.M_ME_ND_1) buf[off + 2] = qdsFromQuality(obj.quality);
      break;
    case "scaled":
      buf.writeInt16LE(checkInt("scaled value", obj.value, -32768, 32767), off);
      buf[off + 2] = qdsFromQuality(obj.quality);
      break;
    case "float":
      buf.writeFloatLE(obj.value, off);
      buf[off + 4] = qdsFromQuality(obj.quality);
      break;
    case "totals":
      buf.writeInt32LE(checkInt("counter reading", obj.value, -0x80000000, 0x7fffffff), off);
      buf[off + 4] =
        checkInt("counter sequence", obj.sequence, 0, 31) |
        (obj.carry ? 0x20 : 0) |
        (obj.adjusted ? 0x40 : 0) |
        (obj.quality.invalid ? 0x80 : 0);
      break;
    case "end-of-init":
      buf[off] = checkInt("COI", obj.cause, 0, 127) | (obj.afterParameterChange ? 0x80 : 0);
      break;
    case "single-command":
      buf[off] = (obj.value ? 1 : 0) | (checkInt("QU", obj.qualifier, 0, 31) << 2) | (obj.select ? 0x80 : 0);
      break;
    case "double-command":
    case "step-command":
      buf[off] =
        checkInt("command state", obj.value, 0, 3) |
        (checkInt("QU", obj.qualifier, 0, 31) << 2) |
        (obj.select ? 0x80 : 0);
      break;
    case "setpoint-normalized":
    case "setpoint-scaled":
      buf.writeInt16LE(
        obj.kind === "setpoint-normalized"
          ? normalizedToRaw(obj.value)
          : checkInt("scaled setpoint", obj.value, -32768, 32767),
        off,
      );
      buf[off + 2] = checkInt("QL", obj.qualifier, 0, 127) | (obj.select ? 0x80 : 0);
      break;
    case "setpoint-float":
      buf.writeFloatLE(obj.value, off);
      buf[off + 4] = checkInt("QL", obj.qualifier, 0, 127) | (obj.select ? 0x80 : 0);
      break;
    case "bitstring-command":
      buf.writeUInt32LE(checkInt("bitstring", obj.value, 0, 0xffffffff), off);
      break;
    case "interrogation":
      buf[off] = checkInt("QOI", obj.qoi, 0, 255);
      break;
    case "counter-interrogation":
      buf[off] = checkInt("RQT", obj.request, 0, 63) | (checkInt("FRZ", obj.freeze, 0, 3) << 6);
      break;
    case "read":
      break;
    case "clock-sync":
      encodeCp56(obj.time, buf, off);
      break;
    case "test":
      buf.writeUInt16LE(checkInt("test pattern", obj.pattern, 0, 0xffff), off);
      break;
    case "reset-process":
      buf[off] = checkInt("QRP", obj.qrp, 0, 255);
      break;
    case "test-time":
      buf.writeUInt16LE(checkInt("test counter", obj.counter, 0, 0xffff), off);
      encodeCp56(obj.time, buf, off + 2);
      break;
  }
  if (desc.timed) encodeCp56(timeOf(obj, typeId), buf, off + desc.size - CP56_SIZE);
}

// Type 21 (normalized without quality) is only received, never chosen: quality always travels when we send.
const BY_KIND: ReadonlyMap<ObjectKind, readonly [number | undefined, number | undefined]> = (() => {
  const m = new Map<ObjectKind, [number | undefined, number | undefined]>();
  for (const [id, desc] of DESCRIPTORS) {
    if (id === TypeId.M_ME_ND_1) continue;
    const pair = m.get(desc.kind) ?? [undefined, undefined];
    pair[desc.timed ? 1 : 0] = id;
    m.set(desc.kind, pair);
  }
  return m;
})();

/** The type that carries `kind`, with or without a CP56Time2a tag; undefined when no such type exists. */
export function typeIdFor(kind: ObjectKind, timed: boolean): number | undefined {
  return BY_KIND.get(kind)?.[timed ? 1 : 0];
}
