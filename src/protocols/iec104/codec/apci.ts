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

/** Read the APDU that starts at `offset`. The ASDU of an I-frame is a view into `bytes`, not a copy. */
export function decodeApdu(bytes: Uint8Array, offset = 0): ApduResult {
  const buf = asBuffer(bytes);
  const avail = buf.length - offset;
  if (avail < 1) return { kind: "need-more", need: APCI_SIZE };
  if (buf[offset] !== START_BYTE) {
    return { kind: "malformed", reason: `start octet ${hex(buf[offset])} is not 0x68` };
  }
  if (avail < 2) return { kind: "need-more", need: APCI_SIZE - avail };
  const length = buf[offset + 1];
  if (length < 4 || length > MAX_APDU_LENGTH) {
    return { kind: "malformed", reason: `APDU length ${length} is outside 4..${MAX_APDU_LENGTH}` };
  }
  const size = length + 2;
  if (avail < size) return { kind: "need-more", need: size - avail };

  const cf1 = buf[offset + 2];
  const cf2 = buf[offset + 3];
  const cf3 = buf[offset + 4];
  const cf4 = buf[offset + 5];
  if ((cf1 & 0x01) === 0) {
    if (length === 4) return { kind: "malformed", reason: "I-format frame without an ASDU" };
    const apdu: Apdu = {
      format: "I",
      sendSeq: (cf1 >> 1) | (cf2 << 7),
      recvSeq: (cf3 >> 1) | (cf4 << 7),
      asdu: buf.subarray(offset + APCI_SIZE, offset + size),
    };
    return { kind: "apdu", apdu, size };
  }
  if (length !== 4)
    return { kind: "malformed", reason: `S/U-format frame with length ${length}, expected 4` };
  if ((cf1 & 0x03) === 0x01) {
    if (cf1 !== 0x01 || cf2 !== 0)
      return { kind: "malformed", reason: "S-format frame with reserved bits set" };
    return { kind: "apdu", apdu: { format: "S", recvSeq: (cf3 >> 1) | (cf4 << 7) }, size };
  }
  const fn = U_BY_CODE.get(cf1);
  if (fn === undefined || cf2 !== 0 || cf3 !== 0 || cf4 !== 0) {
    return { kind: "malformed", reason: `unknown U-format control field ${hex(cf1)}` };
  }
  return { kind: "apdu", apdu: { format: "U", fn }, size };
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

/**
 * Cuts a TCP byte stream into APDUs by their length octet: chunks go in as they arrive (split anywhere),
 * whole frames come out. Pure: no I/O and no timers.
 */
export class ApduAssembler {
  private pending: Buffer = Buffer.alloc(0);
  private failed: string | undefined;

  /** Add a chunk and return every frame it completes, ending with a malformed result if framing is lost. */
  push(chunk: Uint8Array): Exclude<ApduResult, { kind: "need-more" }>[] {
    if (this.failed !== undefined) return [{ kind: "malformed", reason: this.failed }];
    const data = this.pending.length === 0 ? asBuffer(chunk) : Buffer.concat([this.pending, chunk]);
    const out: Exclude<ApduResult, { kind: "need-more" }>[] = [];
    let offset = 0;
    for (;;) {
      const r = decodeApdu(data, offset);
      if (r.kind === "need-more") break;
      out.push(r);
      if (r.kind === "malformed") {
        this.failed = r.reason;
        this.pending = Buffer.alloc(0);
        return out;
      }
      offset += r.size;
    }
    // Keep the partial tail as a copy so the caller may reuse its chunk buffer.
    this.pending = offset === data.length ? Buffer.alloc(0) : Buffer.from(data.subarray(offset));
    return out;
  }

  /** Octets held while waiting for the rest of a frame. */
  get buffered(): number {
    return this.pending.length;
  }
}
