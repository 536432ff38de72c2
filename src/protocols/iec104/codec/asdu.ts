/**
 * The ASDU: data unit identifier and information objects (IEC 60870-5-101 §7.1 with the 104 field sizes:
 * COT 2 octets, common address 2, IOA 3; layout in docs/protocols/iec104.md §2).
 *
 *   octet 0    type id
 *   octet 1    VSQ: bit7 SQ (one IOA, then consecutive elements), bits0-6 number of objects
 *   octet 2    COT: bits0-5 cause, bit6 P/N, bit7 T
 *   octet 3    originator address
 *   octet 4-5  common address, little-endian
 *   then       SQ=0: (IOA + element) × n;  SQ=1: IOA + element × n
 */
import { asBuffer } from "./bytes";
import { MAX_ASDU_SIZE } from "./apci";
import {
  decodeElement,
  describeType,
  encodeElement,
  type InformationObject,
  type TypeDescriptor,
} from "./information-objects";
import { typeIdName } from "./type-ids";

export const ASDU_HEADER_SIZE = 6;
/** The information object address: 3 octets, little-endian, fixed for 104. */
export const IOA_SIZE = 3;
export const MAX_IOA = 0xffffff;
export const MAX_OBJECTS = 127;
/** Common address 65535 addresses every station (global address). */
export const BROADCAST_CA = 0xffff;

export interface AsduHeader {
  readonly typeId: number;
  /** SQ: the objects have consecutive IOAs and only the first IOA is on the wire. */
  readonly sequence: boolean;
  /** Cause of transmission 0..63 (see `Cot`). */
  readonly cot: number;
  /** P/N: a negative confirmation. */
  readonly negative: boolean;
  /** T: a test ASDU, not to be acted upon. */
  readonly test: boolean;
  readonly originator: number;
  readonly commonAddress: number;
}

export interface Asdu extends AsduHeader {
  readonly objects: readonly InformationObject[];
}

export type AsduResult =
  | { readonly kind: "asdu"; readonly asdu: Asdu }
  /** A well-framed ASDU of a type this stack does not handle; a controlled station answers COT 44. */
  | { readonly kind: "unknown-type"; readonly header: AsduHeader; readonly count: number }
  | { readonly kind: "malformed"; readonly reason: string };

function readIoa(buf: Buffer, off: number): number {
  return buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16);
}

export function decodeAsduHeader(buf: Buffer): AsduHeader {
  return {
    typeId: buf[0],
    sequence: (buf[1] & 0x80) !== 0,
    cot: buf[2] & 0x3f,
    negative: (buf[2] & 0x40) !== 0,
    test: (buf[2] & 0x80) !== 0,
    originator: buf[3],
    commonAddress: buf[4] | (buf[5] << 8),
  };
}

/** Decode an ASDU (the octets after the APCI of an I-frame). */
export function decodeAsdu(bytes: Uint8Array): AsduResult {
  const buf = asBuffer(bytes);
  if (buf.length < ASDU_HEADER_SIZE) {
    return {
      kind: "malformed",
      reason: `ASDU of ${buf.length} octets is shorter than its ${ASDU_HEADER_SIZE}-octet header`,
    };
  }
  const header = decodeAsduHeader(buf);
  const count = buf[1] & 0x7f;
  const desc = describeType(header.typeId);
  if (desc === undefined) return { kind: "unknown-type", header, count };
  // The type's name is looked up only for a reason given, not for every well-formed ASDU.
  if (count === 0)
    return { kind: "malformed", reason: `${typeIdName(header.typeId)} ASDU with no information objects` };
  if (desc.single && (count !== 1 || header.sequence)) {
    return {
      kind: "malformed",
      reason: `${typeIdName(header.typeId)} carries one information object, not ${count}`,
    };
  }
  const body = buf.length - ASDU_HEADER_SIZE;
  const expected = header.sequence ? IOA_SIZE + count * desc.size : count * (IOA_SIZE + desc.size);
  if (body !== expected) {
    return {
      kind: "malformed",
      reason: `${typeIdName(header.typeId)} with ${count} object(s) needs ${expected} octets of objects, got ${body}`,
    };
  }
  const objects: InformationObject[] = new Array<InformationObject>(count);
  let off = ASDU_HEADER_SIZE;
  if (header.sequence) {
    const first = readIoa(buf, off);
    off += IOA_SIZE;
    if (first + count - 1 > MAX_IOA)
      return { kind: "malformed", reason: `${typeIdName(header.typeId)} sequence runs past IOA ${MAX_IOA}` };
    for (let i = 0; i < count; i++, off += desc.size) {
      objects[i] = decodeElement(header.typeId, desc, first + i, buf, off);
    }
  } else {
    for (let i = 0; i < count; i++, off += IOA_SIZE + desc.size) {
      objects[i] = decodeElement(header.typeId, desc, readIoa(buf, off), buf, off + IOA_SIZE);
    }
  }
  // Built field by field: a spread of the header costs more than the rest of a small ASDU's decode.
  const asdu: Asdu = {
    typeId: header.typeId,
    sequence: header.sequence,
    cot: header.cot,
    negative: header.negative,
    test: header.test,
    originator: header.originator,
    commonAddress: header.commonAddress,
    objects,
  };
  return { kind: "asdu", asdu };
}

function check(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${name} ${v} is outside 0..${max}`);
}

function checkedDescriptor(asdu: Asdu): TypeDescriptor {
  const desc = describeType(asdu.typeId);
  if (desc === undefined) throw new RangeError(`${typeIdName(asdu.typeId)} is not a type this stack encodes`);
  return desc;
}

/** Octets the objects of one ASDU take. */
export function asduSize(desc: TypeDescriptor, count: number, sequence: boolean): number {
  return ASDU_HEADER_SIZE + (sequence ? IOA_SIZE + count * desc.size : count * (IOA_SIZE + desc.size));
}

/** Encode an ASDU. Throws RangeError for anything the standard does not allow, before writing a frame. */
export function encodeAsdu(asdu: Asdu): Buffer {
  const desc = checkedDescriptor(asdu);
  const name = typeIdName(asdu.typeId);
  const count = asdu.objects.length;
  if (count < 1 || count > MAX_OBJECTS)
    throw new RangeError(`${name} ASDU with ${count} objects (1..${MAX_OBJECTS})`);
  if (desc.single && (count !== 1 || asdu.sequence))
    throw new RangeError(`${name} carries one information object`);
  check("cause of transmission", asdu.cot, 63);
  check("originator address", asdu.originator, 255);
  check("common address", asdu.commonAddress, 0xffff);
  const size = asduSize(desc, count, asdu.sequence);
  if (size > MAX_ASDU_SIZE) throw new RangeError(`${name} ASDU of ${size} octets exceeds ${MAX_ASDU_SIZE}`);

  const buf = Buffer.alloc(size);
  buf[0] = asdu.typeId;
  buf[1] = count | (asdu.sequence ? 0x80 : 0);
  buf[2] = asdu.cot | (asdu.negative ? 0x40 : 0) | (asdu.test ? 0x80 : 0);
  buf[3] = asdu.originator;
  buf[4] = asdu.commonAddress & 0xff;
  buf[5] = asdu.commonAddress >> 8;
  let off = ASDU_HEADER_SIZE;
  const first = asdu.objects[0].ioa;
  for (let i = 0; i < count; i++) {
    const obj = asdu.objects[i];
    if (obj.kind !== desc.kind) throw new RangeError(`${name} carries ${desc.kind} objects, not ${obj.kind}`);
    check("IOA", obj.ioa, MAX_IOA);
    if (asdu.sequence && obj.ioa !== first + i) {
      throw new RangeError(`${name} sequence (SQ=1) needs consecutive IOAs; object ${i} has ${obj.ioa}`);
    }
    if (!asdu.sequence || i === 0) {
      buf[off] = obj.ioa & 0xff;
      buf[off + 1] = (obj.ioa >> 8) & 0xff;
      buf[off + 2] = obj.ioa >> 16;
      off += IOA_SIZE;
    }
    encodeElement(asdu.typeId, desc, obj, buf, off);
    off += desc.size;
  }
  return buf;
}

/**
 * Objects of one type split into as few SQ=0 ASDUs as fit the 249-octet and 127-object limits, in order:
 * how a station answers an interrogation for more points than one ASDU holds.
 */
export function packAsdus(
  header: Omit<AsduHeader, "sequence">,
  objects: readonly InformationObject[],
): Asdu[] {
  const desc = describeType(header.typeId);
  if (desc === undefined)
    throw new RangeError(`${typeIdName(header.typeId)} is not a type this stack encodes`);
  const perAsdu = desc.single
    ? 1
    : Math.min(MAX_OBJECTS, Math.floor((MAX_ASDU_SIZE - ASDU_HEADER_SIZE) / (IOA_SIZE + desc.size)));
  const out: Asdu[] = [];
  for (let i = 0; i < objects.length; i += perAsdu) {
    out.push({ ...header, sequence: false, objects: objects.slice(i, i + perAsdu) });
  }
  return out;
}

/**
 * The received ASDU sent back with another cause and P/N set, octet for octet otherwise: how a controlled
 * station confirms an activation (the ActCon repeats it) and rejects a request it cannot decode or serve
 * (unknown type, cause, CA or IOA; docs/protocols/iec104.md §5). Mirroring, not re-encoding, also answers
 * requests whose contents this codec reads but would refuse to write (a year octet above 99).
 * `commonAddress` replaces the address, for answers to the global address.
 */
export function mirrorAsdu(
  bytes: Uint8Array,
  cot: number,
  negative: boolean,
  commonAddress?: number,
): Buffer {
  check("cause of transmission", cot, 63);
  const out = Buffer.from(bytes);
  if (out.length < ASDU_HEADER_SIZE) throw new RangeError("cannot mirror an ASDU shorter than its header");
  out[2] = (out[2] & 0x80) | cot | (negative ? 0x40 : 0);
  if (commonAddress !== undefined) {
    check("common address", commonAddress, 0xffff);
    out[4] = commonAddress & 0xff;
    out[5] = commonAddress >> 8;
  }
  return out;
}
