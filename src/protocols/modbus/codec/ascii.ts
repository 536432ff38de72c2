/**
 * ASCII: the other framing of Modbus on a serial line (Modbus over Serial Line V1.02 §2.5.2), kept by
 * older meters, PLCs and radio modems, and carried unchanged over TCP by gateways as RTU is (issue #20).
 *
 *   ':'           start (0x3A)
 *   2 characters  unit (slave) address, as two hex digits
 *   2n characters PDU: function code + data, each octet as two hex digits
 *   2 characters  LRC of address and PDU (§6.2.1), as two hex digits
 *   CR LF         end
 *
 * Unlike RTU the frame is delimited, so its size is where CR LF is, in either direction, and it needs no
 * timing. A frame whose LRC fails, that holds a character that is not a hex digit, or that a new ':' cuts
 * short is garbage: the shared assembler (framing/assembler.ts, `resync`) drops it octet by octet until
 * the next ':' that starts a good frame, as a serial device does (§2.5.2.1: a ':' always starts a frame).
 */
import { FrameAssembler, type FrameSpec, type HeaderRead } from "../../framing/assembler";
import { MAX_PDU_SIZE } from "./mbap";
import type { RtuFrame } from "./rtu";

/**
 * The same unit and PDU as an RTU frame; only the encoding on the wire differs. The PDU is decoded from
 * hex, so here it is a fresh buffer rather than a view into the received bytes.
 */
export type AsciiFrame = RtuFrame;

const COLON = 0x3a;
const CR = 0x0d;
const LF = 0x0a;

/** ':' + address, function code, LRC (two characters each) + CR LF: the smallest frame. */
export const ASCII_MIN_SIZE = 1 + 2 * 3 + 2;
/** Serial Line §2.5.2.1: an ASCII frame is at most 513 characters (a 253-octet PDU). */
export const ASCII_MAX_SIZE = 1 + 2 * (MAX_PDU_SIZE + 2) + 2;

/** LRC of `bytes[start, end)`: the two's complement of their 8-bit sum (Serial Line §6.2.1). */
export function lrc(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum = (sum + bytes[i]) & 0xff;
  return -sum & 0xff;
}

/**
 * A frame starts at a ':' and ends at the first LF. A second ':' before that LF means the frame was cut
 * short and a new one began, so this one is garbage; the search stops at the largest frame, and the
 * assembler reports a frame end that never came.
 */
function readHeader(buf: Buffer, offset: number): HeaderRead {
  if (offset >= buf.length) return { kind: "need-more", need: 1 };
  if (buf[offset] !== COLON) return { kind: "malformed", reason: "a frame does not start with ':'" };
  const end = Math.min(buf.length, offset + ASCII_MAX_SIZE);
  for (let at = offset + 1; at < end; at++) {
    const c = buf[at];
    if (c === LF) return at - offset + 1;
    if (c === COLON) return { kind: "malformed", reason: "a new frame starts before this one ended" };
  }
  return { kind: "need-more", need: 1 };
}

/** The value of one hex digit, or -1. The spec sends upper case; lower case is accepted as harmless. */
function nibble(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

function decodeAscii(buf: Buffer, offset: number, size: number): AsciiFrame | string {
  const end = offset + size - 2;
  if (buf[end] !== CR) return "a frame does not end with CR LF";
  const digits = size - 3;
  if (digits % 2 !== 0) return `a frame holds an odd number (${digits}) of hex digits`;
  const bytes = Buffer.allocUnsafe(digits / 2);
  for (let i = 0, at = offset + 1; i < bytes.length; i++, at += 2) {
    const hi = nibble(buf[at]);
    const lo = nibble(buf[at + 1]);
    if (hi < 0 || lo < 0) return `character ${at - offset} of a frame is not a hex digit`;
    bytes[i] = (hi << 4) | lo;
  }
  const want = lrc(bytes, 0, bytes.length - 1);
  const got = bytes[bytes.length - 1];
  if (want !== got) return `LRC ${hex2(got)} does not match ${hex2(want)}`;
  return { unitId: bytes[0], pdu: bytes.subarray(1, bytes.length - 1) };
}

const hex2 = (n: number): string => `0x${n.toString(16).padStart(2, "0")}`;

/** ASCII framing for the shared assembler; the same for requests and replies, being delimited. */
export const ASCII_FRAMING: FrameSpec<AsciiFrame> = {
  readHeader,
  minSize: ASCII_MIN_SIZE,
  maxSize: ASCII_MAX_SIZE,
  decode: decodeAscii,
  resync: true,
};

/** Frame a PDU. Throws RangeError on values the caller should never produce (a programming error). */
export function encodeAscii(unitId: number, pdu: Uint8Array): Buffer {
  if (!Number.isInteger(unitId) || unitId < 0 || unitId > 0xff) {
    throw new RangeError(`unit id ${unitId} is outside 0..255`);
  }
  if (pdu.length < 1 || pdu.length > MAX_PDU_SIZE) {
    throw new RangeError(`PDU of ${pdu.length} octets is outside 1..${MAX_PDU_SIZE}`);
  }
  const bytes = Buffer.allocUnsafe(pdu.length + 2);
  bytes[0] = unitId;
  bytes.set(pdu, 1);
  bytes[pdu.length + 1] = lrc(bytes, 0, pdu.length + 1);
  return Buffer.from(`:${bytes.toString("hex").toUpperCase()}\r\n`, "latin1");
}

/** Reassembles ASCII frames from a stream, dropping garbage (see FrameAssembler). */
export function asciiAssembler(): FrameAssembler<AsciiFrame> {
  return new FrameAssembler(ASCII_FRAMING);
}
