/**
 * MBAP: the 7-octet header that frames a Modbus PDU on TCP (Modbus Messaging on TCP/IP Implementation
 * Guide V1.0b, §3.1.3).
 *
 *   octet 0-1  transaction identifier (echoed by the server; lets a client match replies to requests)
 *   octet 2-3  protocol identifier, always 0 for Modbus
 *   octet 4-5  length: octets that follow, i.e. unit id + PDU, so 2..254 (a PDU is 1..253 octets,
 *              Modbus Application Protocol V1.1b3 §4.1)
 *   octet 6    unit identifier (the slave behind a gateway; 0xFF or 0 when talking to a device directly)
 *   octet 7..  PDU: function code + data
 *
 * TCP is a byte stream: one segment may hold half a frame or several frames. The decoder reads one frame
 * from the front of a buffer; the assembler keeps the tail between segments.
 */

export const MBAP_HEADER_SIZE = 7;
/** Largest PDU: 256-octet serial ADU minus address and CRC (Application Protocol §4.1). */
export const MAX_PDU_SIZE = 253;
/** Length field bounds: unit id + a PDU of at least the function code. */
export const MIN_MBAP_LENGTH = 2;
export const MAX_MBAP_LENGTH = MAX_PDU_SIZE + 1;
export const MODBUS_PROTOCOL_ID = 0;

export interface MbapFrame {
  readonly transactionId: number;
  readonly unitId: number;
  /** Function code and data; a view into the received bytes, not a copy. */
  readonly pdu: Buffer;
}

/**
 * One frame read from the front of a byte stream and the octets it used, a request for more octets, or a
 * malformed header. A malformed header means the stream has lost its framing (the length can no longer
 * be trusted to find the next frame), so the caller drops the connection rather than guessing.
 */
export type MbapResult =
  | { readonly kind: "frame"; readonly frame: MbapFrame; readonly size: number }
  | { readonly kind: "need-more"; readonly need: number }
  | { readonly kind: "malformed"; readonly reason: string };

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Read the frame that starts at `offset`. */
export function decodeMbap(bytes: Uint8Array, offset = 0): MbapResult {
  const buf = asBuffer(bytes);
  const avail = buf.length - offset;
  // The protocol id and length are checked as soon as they are in, so garbage is reported without
  // waiting for bytes that may never come.
  if (avail < 4) return { kind: "need-more", need: MBAP_HEADER_SIZE - Math.max(avail, 0) };
  const protocolId = buf.readUInt16BE(offset + 2);
  if (protocolId !== MODBUS_PROTOCOL_ID) {
    return { kind: "malformed", reason: `protocol identifier ${protocolId} is not 0 (Modbus)` };
  }
  if (avail < 6) return { kind: "need-more", need: MBAP_HEADER_SIZE - avail };
  const length = buf.readUInt16BE(offset + 4);
  if (length < MIN_MBAP_LENGTH) {
    return { kind: "malformed", reason: `MBAP length ${length} is too short (minimum ${MIN_MBAP_LENGTH})` };
  }
  if (length > MAX_MBAP_LENGTH) {
    return { kind: "malformed", reason: `MBAP length ${length} is too long (maximum ${MAX_MBAP_LENGTH})` };
  }
  const size = 6 + length;
  if (avail < size) return { kind: "need-more", need: size - avail };
  return {
    kind: "frame",
    size,
    frame: {
      transactionId: buf.readUInt16BE(offset),
      unitId: buf[offset + 6],
      pdu: buf.subarray(offset + MBAP_HEADER_SIZE, offset + size),
    },
  };
}

/** Frame a PDU. Throws RangeError on values the caller should never produce (a programming error). */
export function encodeMbap(transactionId: number, unitId: number, pdu: Uint8Array): Buffer {
  if (!Number.isInteger(transactionId) || transactionId < 0 || transactionId > 0xffff) {
    throw new RangeError(`transaction id ${transactionId} is outside 0..65535`);
  }
  if (!Number.isInteger(unitId) || unitId < 0 || unitId > 0xff) {
    throw new RangeError(`unit id ${unitId} is outside 0..255`);
  }
  if (pdu.length < 1 || pdu.length > MAX_PDU_SIZE) {
    throw new RangeError(`PDU of ${pdu.length} octets is outside 1..${MAX_PDU_SIZE}`);
  }
  const out = Buffer.allocUnsafe(MBAP_HEADER_SIZE + pdu.length);
  out.writeUInt16BE(transactionId, 0);
  out.writeUInt16BE(MODBUS_PROTOCOL_ID, 2);
  out.writeUInt16BE(pdu.length + 1, 4);
  out[6] = unitId;
  out.set(pdu, MBAP_HEADER_SIZE);
  return out;
}

/** What one segment yielded: whole frames, and a reason when the stream lost its framing. */
export type AssembleResult =
  | { readonly kind: "frames"; readonly frames: readonly MbapFrame[] }
  | { readonly kind: "malformed"; readonly frames: readonly MbapFrame[]; readonly reason: string };

/**
 * Reassembles frames from TCP segments. Frames handed out may be views into the pushed chunk (no copy
 * on the common path); Node's sockets never reuse a chunk, other callers must not either until the
 * frames are consumed. After a malformed header it discards everything it holds and
 * keeps answering `malformed` until `reset()`: the caller is expected to drop the connection, and bytes
 * after a bad header are not frames anyone can trust.
 */
export class MbapAssembler {
  private pending: Buffer = Buffer.alloc(0);
  private broken: string | undefined;

  push(chunk: Uint8Array): AssembleResult {
    if (this.broken !== undefined) return { kind: "malformed", frames: [], reason: this.broken };
    const buf = this.pending.length === 0 ? asBuffer(chunk) : Buffer.concat([this.pending, chunk]);
    const frames: MbapFrame[] = [];
    let offset = 0;
    for (;;) {
      const r = decodeMbap(buf, offset);
      if (r.kind === "frame") {
        frames.push(r.frame);
        offset += r.size;
        continue;
      }
      if (r.kind === "malformed") {
        this.broken = r.reason;
        this.pending = Buffer.alloc(0);
        return { kind: "malformed", frames, reason: r.reason };
      }
      break;
    }
    // Copy the tail: the caller may reuse its chunk buffer, and frames handed out stay views of `buf`.
    this.pending = offset === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(offset));
    return { kind: "frames", frames };
  }

  /** Octets held back waiting for the rest of a frame. */
  get buffered(): number {
    return this.pending.length;
  }

  /** Start over, e.g. on a new connection. */
  reset(): void {
    this.pending = Buffer.alloc(0);
    this.broken = undefined;
  }
}
