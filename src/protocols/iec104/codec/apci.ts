/**
 * APCI: the 6-octet frame header of IEC 60870-5-104 and its 3 frame formats (docs/protocols/iec104.md §1).
 *
 *   octet 0   start 0x68
 *   octet 1   length L = octets after this one (4 control octets + ASDU), 4..253
 *   octet 2-5 control field CF1..CF4
 *     I-format  CF1 bit0 = 0: N(S) in CF1 bits1-7 + CF2, N(R) in CF3 bits1-7 + CF4 (15-bit counters)
 *     S-format  CF1 = 0x01, CF2 = 0: N(R) as above
 *     U-format  CF1 bits0-1 = 11, exactly one function bit set in bits2-7, CF2..CF4 = 0
 */
import { FrameAssembler, measureFrame, type FrameSpec, type HeaderRead } from "../../framing/assembler";
import { asBuffer } from "./bytes";

export const START_BYTE = 0x68;
export const APCI_SIZE = 6;
/** Max APDU length octet: 255 − start − length (docs/protocols/iec104.md §1, Beckhoff parameter doc). */
export const MAX_APDU_LENGTH = 253;
/** Max ASDU: 253 − 4 control octets. */
export const MAX_ASDU_SIZE = 249;
/** Send and receive sequence numbers count modulo 2^15. */
export const SEQ_MODULO = 32768;

export type UFunction =
  "startdt-act" | "startdt-con" | "stopdt-act" | "stopdt-con" | "testfr-act" | "testfr-con";

// CF1 of each U-format function, as observed on the wire (docs/protocols/iec104.md §1 and §6).
const U_CODES: Readonly<Record<UFunction, number>> = {
  "startdt-act": 0x07,
  "startdt-con": 0x0b,
  "stopdt-act": 0x13,
  "stopdt-con": 0x23,
  "testfr-act": 0x43,
  "testfr-con": 0x83,
};

const U_BY_CODE: ReadonlyMap<number, UFunction> = new Map(
  (Object.entries(U_CODES) as [UFunction, number][]).map(([fn, code]) => [code, fn]),
);

export type Apdu =
  | { readonly format: "I"; readonly sendSeq: number; readonly recvSeq: number; readonly asdu: Buffer }
  | { readonly format: "S"; readonly recvSeq: number }
  | { readonly format: "U"; readonly fn: UFunction };

/**
 * The result of reading one APDU from the front of a byte stream: a frame and how many octets it used,
 * a request for more octets, or a malformed frame. A malformed frame means the stream has lost its
 * framing (the length octet can no longer be trusted), so the caller closes the connection.
 */
export type ApduResult =
  | { readonly kind: "apdu"; readonly apdu: Apdu; readonly size: number }
  | { readonly kind: "need-more"; readonly need: number }
  | { readonly kind: "malformed"; readonly reason: string };

function hex(n: number): string {
  return "0x" + n.toString(16).padStart(2, "0");
}

function readApciHeader(buf: Buffer, offset: number): HeaderRead {
  const avail = buf.length - offset;
  if (avail < 1) return { kind: "need-more", need: APCI_SIZE };
  if (buf[offset] !== START_BYTE) {
    return { kind: "malformed", reason: `start octet ${hex(buf[offset])} is not 0x68` };
  }
  if (avail < 2) return { kind: "need-more", need: APCI_SIZE - avail };
  // The length octet counts the octets after itself.
  return buf[offset + 1] + 2;
}

/** The control field of a whole APDU of `size` octets at `offset`: which format, and its numbers. */
function readControlField(buf: Buffer, offset: number, size: number): Apdu | string {
  const length = size - 2;
  const cf1 = buf[offset + 2];
  const cf2 = buf[offset + 3];
  const cf3 = buf[offset + 4];
  const cf4 = buf[offset + 5];
  if ((cf1 & 0x01) === 0) {
    if (length === 4) return "I-format frame without an ASDU";
    const apdu: Apdu = {
      format: "I",
      sendSeq: (cf1 >> 1) | (cf2 << 7),
      recvSeq: (cf3 >> 1) | (cf4 << 7),
      asdu: buf.subarray(offset + APCI_SIZE, offset + size),
    };
    return apdu;
  }
  if (length !== 4) return `S/U-format frame with length ${length}, expected 4`;
  if ((cf1 & 0x03) === 0x01) {
    if (cf1 !== 0x01 || cf2 !== 0) return "S-format frame with reserved bits set";
    return { format: "S", recvSeq: (cf3 >> 1) | (cf4 << 7) };
  }
  const fn = U_BY_CODE.get(cf1);
  if (fn === undefined || cf2 !== 0 || cf3 !== 0 || cf4 !== 0) {
    return `unknown U-format control field ${hex(cf1)}`;
  }
  return { format: "U", fn };
}

/** APCI framing for the shared assembler: the length octet bounds the frame, 4..253 (docs/protocols/iec104.md §1). */
export const APCI_FRAMING: FrameSpec<Apdu> = {
  readHeader: readApciHeader,
  minSize: APCI_SIZE,
  maxSize: MAX_APDU_LENGTH + 2,
  lengthField: { name: "APDU length", excluded: 2 },
  decode: readControlField,
};

/** Read the APDU that starts at `offset`. The ASDU of an I-frame is a view into `bytes`, not a copy. */
export function decodeApdu(bytes: Uint8Array, offset = 0): ApduResult {
  // measure + decode rather than readFrame, so the one result object made is this codec's own.
  const buf = asBuffer(bytes);
  const size = measureFrame(APCI_FRAMING, buf, offset);
  if (typeof size !== "number") {
    return size.kind === "need-more" ? size : { kind: "malformed", reason: size.error.reason };
  }
  const apdu = readControlField(buf, offset, size);
  return typeof apdu === "string" ? { kind: "malformed", reason: apdu } : { kind: "apdu", apdu, size };
}

function checkSeq(name: string, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n >= SEQ_MODULO) {
    throw new RangeError(`${name} ${n} is not a sequence number 0..${SEQ_MODULO - 1}`);
  }
}

/** An I-format APDU carrying `asdu` (1..249 octets). */
export function encodeIFrame(sendSeq: number, recvSeq: number, asdu: Uint8Array): Buffer {
  checkSeq("N(S)", sendSeq);
  checkSeq("N(R)", recvSeq);
  if (asdu.length < 1 || asdu.length > MAX_ASDU_SIZE) {
    throw new RangeError(`ASDU of ${asdu.length} octets does not fit an APDU (1..${MAX_ASDU_SIZE})`);
  }
  const out = Buffer.allocUnsafe(APCI_SIZE + asdu.length);
  out[0] = START_BYTE;
  out[1] = asdu.length + 4;
  out[2] = (sendSeq << 1) & 0xfe;
  out[3] = sendSeq >> 7;
  out[4] = (recvSeq << 1) & 0xfe;
  out[5] = recvSeq >> 7;
  out.set(asdu, APCI_SIZE);
  return out;
}

/** An S-format APDU acknowledging every I-frame before `recvSeq`. */
export function encodeSFrame(recvSeq: number): Buffer {
  checkSeq("N(R)", recvSeq);
  return Buffer.from([START_BYTE, 4, 0x01, 0x00, (recvSeq << 1) & 0xfe, recvSeq >> 7]);
}

export function encodeUFrame(fn: UFunction): Buffer {
  return Buffer.from([START_BYTE, 4, U_CODES[fn], 0, 0, 0]);
}

/** Octets an APDU takes on the wire. */
function apduSize(apdu: Apdu): number {
  return apdu.format === "I" ? APCI_SIZE + apdu.asdu.length : APCI_SIZE;
}

/**
 * Cuts a TCP byte stream into APDUs by their length octet: chunks go in as they arrive (split anywhere),
 * whole frames come out. The shared `FrameAssembler` (framing/assembler.ts) with APCI's header reader,
 * answering in this codec's result shape. Pure: no I/O and no timers.
 */
export class ApduAssembler {
  private readonly inner = new FrameAssembler(APCI_FRAMING);

  /** Add a chunk and return every frame it completes, ending with a malformed result if framing is lost. */
  push(chunk: Uint8Array): Exclude<ApduResult, { kind: "need-more" }>[] {
    const r = this.inner.push(chunk);
    const out: Exclude<ApduResult, { kind: "need-more" }>[] = [];
    // `size` is not kept by the assembler; the APDU's own length octet gives it back for the caller.
    for (const apdu of r.frames) out.push({ kind: "apdu", apdu, size: apduSize(apdu) });
    if (r.kind === "malformed") out.push({ kind: "malformed", reason: r.error.reason });
    return out;
  }

  /** Octets held while waiting for the rest of a frame. */
  get buffered(): number {
    return this.inner.buffered;
  }

  /** The incomplete APDU held, by ordinal; undefined when none (FrameAssembler.pendingFrame). */
  get pendingFrame(): number | undefined {
    return this.inner.pendingFrame;
  }
}
