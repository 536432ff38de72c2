/**
 * Point values to and from registers: decode a point's registers (or bit) to its raw value, scale it to
 * the engineering value (`value = raw * coefficient + base`, see model/scaling.ts), and the reverse for
 * writes. Byte/word orders and types are as documented in point-address.ts.
 *
 * 64-BIT INTEGERS. int64/uint64 are read exactly as bigint. Within ±(2^53 − 1) the raw value is a
 * number. Beyond it the raw value is the exact decimal STRING (JSON-safe, unlike bigint, so it survives
 * Redis and MySQL), and the engineering value is the nearest double: relative error at most 2^-53, so
 * e.g. 2^63 − 1 reads as 9223372036854775808.
 *
 * STRINGS are Latin-1 (one octet per character), read up to the first NUL; writes pad with NULs.
 */
import { DataCollError } from "../errors";
import { isBitTable, pointWidth, type ModbusPointAddress } from "./point-address";
import { IDENTITY_SCALING, type EngineeringValue, type Scaling } from "../model/scaling";

export type RawValue = boolean | number | string;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const FLOAT32_MAX = 3.4028234663852886e38;

function wordSwapped(p: ModbusPointAddress): boolean {
  return p.order === "CDAB" || p.order === "DCBA";
}

function byteSwapped(p: ModbusPointAddress): boolean {
  return p.order === "BADC" || p.order === "DCBA";
}

/**
 * Big-endian octets (ABCD…) → registers as sent on the wire: swap the octets of each word for a
 * byte-swapped order, reverse the words for a word-swapped one. `decodeRegistersAt` does the inverse.
 */
function bytesToRegisters(p: ModbusPointAddress, bytes: Buffer): number[] {
  const buf = Buffer.from(bytes);
  if (byteSwapped(p)) buf.swap16();
  const words: number[] = [];
  for (let i = 0; i < buf.length; i += 2) words.push(buf.readUInt16BE(i));
  return wordSwapped(p) ? words.reverse() : words;
}

function bigToRaw(v: bigint): number | string {
  return v >= -MAX_SAFE && v <= MAX_SAFE ? Number(v) : v.toString();
}

/**
 * Decode a point from the registers it occupies (exactly `pointWidth(p)` of them, starting at its
 * address). For coil and discrete-input points use `decodeBits`.
 */
export function decodeRegisters(p: ModbusPointAddress, regs: readonly number[]): RawValue {
  const width = pointWidth(p);
  if (isBitTable(p.table)) throw new RangeError(`${p.table} points are decoded from registers, not bits`);
  if (regs.length !== width) throw new RangeError(`point needs ${width} registers, got ${regs.length}`);
  return decodeRegistersAt(p, regs, 0);
}

// One scratch octet buffer for every decode: decoding is synchronous, so no two decodes share it at once.
// 250 octets hold the widest point (a string filling one 125-register read).
const scratch = Buffer.alloc(250);

/**
 * `decodeRegisters` for the point whose registers start at `regs[offset]`, without copying them out: a
 * poll decodes every point of every read, so a copy and a Buffer per point were most of its cost. The
 * caller has checked the table and that the registers are there.
 */
export function decodeRegistersAt(p: ModbusPointAddress, regs: readonly number[], offset: number): RawValue {
  const first = regs[offset] & 0xffff;
  if (p.type === "bool") return ((first >> (p.bit ?? 0)) & 1) === 1;
  // 16-bit types, the common case, straight from the register (no octets).
  if (p.type === "uint16" || p.type === "int16") {
    const w = byteSwapped(p) ? ((first & 0xff) << 8) | (first >> 8) : first;
    return p.type === "uint16" ? w : (w << 16) >> 16;
  }
  const width = pointWidth(p);
  const swapWords = wordSwapped(p);
  for (let i = 0; i < width; i++) {
    const w = regs[offset + (swapWords ? width - 1 - i : i)] & 0xffff;
    scratch[2 * i] = w >> 8;
    scratch[2 * i + 1] = w & 0xff;
  }
  const buf = scratch.subarray(0, 2 * width);
  if (byteSwapped(p)) buf.swap16();
  switch (p.type) {
    case "int32":
      return buf.readInt32BE(0);
    case "uint32":
      return buf.readUInt32BE(0);
    case "int64":
      return bigToRaw(buf.readBigInt64BE(0));
    case "uint64":
      return bigToRaw(buf.readBigUInt64BE(0));
    case "float32":
      return buf.readFloatBE(0);
    case "float64":
      return buf.readDoubleBE(0);
    case "string": {
      const text = buf.subarray(0, p.length).toString("latin1");
      const nul = text.indexOf("\0");
      return nul >= 0 ? text.slice(0, nul) : text;
    }
  }
}

/** Decode a coil or discrete-input point from the one bit it occupies. */
export function decodeBits(p: ModbusPointAddress, bits: readonly boolean[]): boolean {
  if (!isBitTable(p.table)) throw new RangeError(`${p.table} points are decoded from registers, not bits`);
  if (bits.length !== 1) throw new RangeError(`point needs 1 bit, got ${bits.length}`);
  return bits[0];
}

/** Engineering value: numbers (and 64-bit strings) scaled, booleans and strings as they are. */
export function scale(p: ModbusPointAddress, raw: RawValue, s: Scaling = IDENTITY_SCALING): EngineeringValue {
  if (typeof raw === "boolean") return raw;
  if (typeof raw === "string" && p.type === "string") return raw;
  const n = typeof raw === "number" ? raw : Number(raw);
  return s.coefficient === 1 && s.base === 0 ? n : n * s.coefficient + s.base;
}

/** What a write of a point's value puts on the wire. */
export type PointWrite =
  | { readonly kind: "coil"; readonly address: number; readonly value: boolean }
  | { readonly kind: "registers"; readonly address: number; readonly values: readonly number[] }
  /**
   * A single bit of a holding register: Modbus has no bit write for registers, so the caller reads the
   * register, sets or clears the bit, and writes it back (not atomic — another master may write between).
   */
  | {
      readonly kind: "register-bit";
      readonly address: number;
      readonly bit: number;
      readonly value: boolean;
    };

function valueError(message: string): DataCollError {
  return new DataCollError("modbus-value", message, "value");
}

const INT_RANGE: Readonly<Record<string, readonly [bigint, bigint]>> = {
  int16: [-0x8000n, 0x7fffn],
  uint16: [0n, 0xffffn],
  int32: [-0x80000000n, 0x7fffffffn],
  uint32: [0n, 0xffffffffn],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

function toBoolean(value: unknown): boolean {
  if (typeof value === "boolean") return value;
  if (value === 0 || value === 1) return value === 1;
  throw valueError(`value ${JSON.stringify(value)} is not a boolean (true/false or 1/0)`);
}

/** Undo the scaling and round to an integer of the point's type, or throw naming the range. */
function toInteger(p: ModbusPointAddress, value: unknown, s: Scaling): bigint {
  const [min, max] = INT_RANGE[p.type];
  let raw: bigint;
  if (typeof value === "bigint" || (typeof value === "string" && /^-?\d+$/.test(value.trim()))) {
    // Exact integers (bigint or a decimal string) bypass floating point when the scaling is identity.
    const exact = BigInt(value);
    if (s.coefficient === 1 && s.base === 0) raw = exact;
    else raw = BigInt(Math.round((Number(exact) - s.base) / s.coefficient));
  } else if (typeof value === "number" && Number.isFinite(value)) {
    const r = Math.round((value - s.base) / s.coefficient);
    if (!Number.isFinite(r)) throw valueError(`value ${value} does not scale to a finite ${p.type}`);
    raw = BigInt(r);
  } else {
    throw valueError(`value ${JSON.stringify(String(value))} is not a finite number for ${p.type}`);
  }
  if (raw < min || raw > max) {
    throw valueError(`value ${String(value)} gives raw ${raw}, outside ${p.type} range ${min}..${max}`);
  }
  return raw;
}

/** Registers (or the coil/bit) that write `value` to point `p`, undoing its scaling. */
export function encodeWrite(
  p: ModbusPointAddress,
  value: unknown,
  s: Scaling = IDENTITY_SCALING,
): PointWrite {
  if (p.table === "discrete-input" || p.table === "input-register") {
    throw new DataCollError(
      "modbus-read-only",
      `${p.table}s are read-only; write a coil or holding register`,
      "table",
    );
  }
  if (p.table === "coil") return { kind: "coil", address: p.address, value: toBoolean(value) };
  if (p.type === "bool")
    return { kind: "register-bit", address: p.address, bit: p.bit ?? 0, value: toBoolean(value) };
  return { kind: "registers", address: p.address, values: encodeRegisters(p, value, s) };
}

/** The registers holding `value` for a register point (not a bit). */
export function encodeRegisters(
  p: ModbusPointAddress,
  value: unknown,
  s: Scaling = IDENTITY_SCALING,
): number[] {
  const buf = Buffer.alloc(pointWidth(p) * 2);
  switch (p.type) {
    case "bool":
      throw new RangeError("a register bit is written with read-modify-write; use encodeWrite");
    case "int16":
      buf.writeInt16BE(Number(toInteger(p, value, s)));
      break;
    case "uint16":
      buf.writeUInt16BE(Number(toInteger(p, value, s)));
      break;
    case "int32":
      buf.writeInt32BE(Number(toInteger(p, value, s)));
      break;
    case "uint32":
      buf.writeUInt32BE(Number(toInteger(p, value, s)));
      break;
    case "int64":
      buf.writeBigInt64BE(toInteger(p, value, s));
      break;
    case "uint64":
      buf.writeBigUInt64BE(toInteger(p, value, s));
      break;
    case "float32":
    case "float64": {
      if (typeof value !== "number")
        throw valueError(`value ${JSON.stringify(value)} is not a number for ${p.type}`);
      const raw = (value - s.base) / s.coefficient;
      if (p.type === "float32") {
        if (Number.isFinite(raw) && Math.abs(raw) > FLOAT32_MAX) {
          throw valueError(`value ${value} is beyond float32 range ±${FLOAT32_MAX}`);
        }
        buf.writeFloatBE(raw);
      } else {
        buf.writeDoubleBE(raw);
      }
      break;
    }
    case "string": {
      if (typeof value !== "string") throw valueError(`value ${JSON.stringify(value)} is not a string`);
      const n = p.length ?? 0;
      if ([...value].some((c) => c.charCodeAt(0) > 0xff)) {
        throw valueError(`value ${JSON.stringify(value)} has characters outside Latin-1`);
      }
      if (value.length > n) throw valueError(`value ${JSON.stringify(value)} is longer than ${n} characters`);
      buf.write(value, 0, "latin1");
      break;
    }
  }
  return bytesToRegisters(p, buf);
}
