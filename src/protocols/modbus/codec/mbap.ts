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
 * from the front of a buffer; the shared assembler (framing/assembler.ts) keeps the tail between segments.
 */
import { FrameAssembler, readFrame, type FrameSpec, type HeaderRead } from "../../framing/assembler";
import { asBuffer } from "../../framing/bytes";

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

function readMbapHeader(buf: Buffer, offset: number): HeaderRead {
  const avail = buf.length - offset;
  // The protocol id and length are checked as soon as they are in, so garbage is reported without
  // waiting for bytes that may never come.
  if (avail < 4) return { kind: "need-more", need: MBAP_HEADER_SIZE - Math.max(avail, 0) };
  const protocolId = buf.readUInt16BE(offset + 2);
  if (protocolId !== MODBUS_PROTOCOL_ID) {
    return { kind: "malformed", reason: `protocol identifier ${protocolId} is not 0 (Modbus)` };
  }
  if (avail < 6) return { kind: "need-more", need: MBAP_HEADER_SIZE - avail };
  // The length counts the octets after itself (octets 0-5 are not in it).
  return 6 + buf.readUInt16BE(offset + 4);
}

/** MBAP framing for the shared assembler: the length field bounds the frame, the PDU is a view. */
export const MBAP_FRAMING: FrameSpec<MbapFrame> = {
  readHeader: readMbapHeader,
  minSize: 6 + MIN_MBAP_LENGTH,
  maxSize: 6 + MAX_MBAP_LENGTH,
  lengthField: { name: "MBAP length", excluded: 6 },
  decode: (buf, offset, size) => ({
    transactionId: buf.readUInt16BE(offset),
    unitId: buf[offset + 6],
    pdu: buf.subarray(offset + MBAP_HEADER_SIZE, offset + size),
  }),
};

/** Read the frame that starts at `offset`. */
export function decodeMbap(bytes: Uint8Array, offset = 0): MbapResult {
  const r = readFrame(MBAP_FRAMING, asBuffer(bytes), offset);
  return r.kind === "malformed" ? { kind: "malformed", reason: r.error.reason } : r;
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
 * Reassembles MBAP frames from TCP segments: the shared `FrameAssembler` (framing/assembler.ts) with
 * MBAP's header reader, answering in this codec's result shape. Frames are views into the pushed
 * chunk; after a malformed header it stays broken until `reset()` (see FrameAssembler).
 */
export class MbapAssembler {
  private readonly inner = new FrameAssembler(MBAP_FRAMING);

  push(chunk: Uint8Array): AssembleResult {
    const r = this.inner.push(chunk);
    return r.kind === "frames" ? r : { kind: "malformed", frames: r.frames, reason: r.error.reason };
  }

  /** Octets held back waiting for the rest of a frame. */
  get buffered(): number {
    return this.inner.buffered;
  }

  /** The incomplete frame held, by ordinal; undefined when none (FrameAssembler.pendingFrame). */
  get pendingFrame(): number | undefined {
    return this.inner.pendingFrame;
  }

  /** Start over, e.g. on a new connection. */
  reset(): void {
    this.inner.reset();
  }
}
