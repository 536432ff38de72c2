/**
 * RTU: the framing of Modbus on a serial line (Modbus over Serial Line V1.02 §2.5.1), which cheap
 * serial-to-Ethernet gateways also carry unchanged over TCP ("RTU over TCP", issue #20).
 *
 *   octet 0       unit (slave) address
 *   octet 1..n-3  PDU: function code + data
 *   octet n-2..   CRC-16/MODBUS of everything before it, low octet first (§2.5.1.2, §6.2.2)
 *
 * There is no length field and no transaction id. On a serial line the end of a frame is a 3.5-character
 * silence; a TCP stream has lost that timing, so the size is derived from the function code and, where
 * the PDU has one, its byte count — and a request and a reply of the same function have different
 * layouts, so the reader is made for one direction. A frame whose CRC fails, or whose function we do not
 * know, is garbage: the shared assembler (framing/assembler.ts, `resync`) drops one octet and reads on,
 * so the stream resynchronises on the next frame whose CRC holds.
 */
import { FrameAssembler, type FrameSpec, type HeaderRead } from "../../framing/assembler";
import { MAX_PDU_SIZE } from "./mbap";

/** Unit address + function code + CRC: the smallest frame (FC 07 request, Serial Line §2.5.1.1). */
export const RTU_MIN_SIZE = 4;
/** Serial Line §2.5.1: an RTU frame is at most 256 octets. */
export const RTU_MAX_SIZE = MAX_PDU_SIZE + 3;

/** Which side of the exchange a stream carries: a server reads requests, a client reads replies. */
export type RtuDirection = "request" | "response";

export interface RtuFrame {
  readonly unitId: number;
  /** Function code and data; a view into the received bytes, not a copy. */
  readonly pdu: Buffer;
}

// CRC-16/MODBUS: polynomial 0x8005 reflected (0xA001), initial value 0xFFFF (Serial Line §6.2.2).
const CRC_TABLE = ((): Uint16Array => {
  const t = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-16/MODBUS of `bytes[start, end)`. */
export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) crc = (crc >>> 8) ^ CRC_TABLE[(crc ^ bytes[i]) & 0xff];
  return crc;
}

const need = (have: number, want: number): HeaderRead => ({ kind: "need-more", need: want - have });

/** Size of a frame with a byte count at octet `at`: `fixed` octets (CRC included) plus that count. */
function counted(buf: Buffer, offset: number, avail: number, at: number, fixed: number): HeaderRead {
  return avail <= at ? need(avail, at + 1) : fixed + buf[offset + at];
}

// Sizes of whole frames, CRC included, by function code (Application Protocol V1.1b3 §6). Functions not
// listed are unknown to the reader, so their octets are dropped as garbage.
function requestSize(buf: Buffer, offset: number, avail: number, fc: number): HeaderRead {
  switch (fc) {
    case 0x01: // read coils: address, quantity
    case 0x02:
    case 0x03:
    case 0x04:
    case 0x05: // write single coil / register: address, value
    case 0x06:
      return 8;
    case 0x08:
      return diagnosticsSize(buf, offset, avail);
    case 0x07: // read exception status, get comm event counter/log, report server id: no data
    case 0x0b:
    case 0x0c:
    case 0x11:
      return 4;
    case 0x0f: // write multiple coils / registers: address, quantity, byte count at octet 6
    case 0x10:
      return counted(buf, offset, avail, 6, 9);
    case 0x14: // read / write file record: byte count at octet 2
    case 0x15:
      return counted(buf, offset, avail, 2, 5);
    case 0x16: // mask write register: address, and-mask, or-mask
      return 10;
    case 0x17: // read/write multiple registers: byte count at octet 10
      return counted(buf, offset, avail, 10, 13);
    case 0x18: // read FIFO queue: pointer address
      return 6;
    case 0x2b: // encapsulated interface: only 14, read device identification (code, object id)
      if (avail < 3) return need(avail, 3);
      return buf[offset + 2] === 0x0e ? 7 : { kind: "malformed", reason: "MEI type is not 14" };
    default:
      return { kind: "malformed", reason: `function code ${fc} is unknown` };
  }
}

function responseSize(buf: Buffer, offset: number, avail: number, fc: number): HeaderRead {
  // An exception reply: function | 0x80 and one exception code (Application Protocol §7).
  if (fc & 0x80) return fc === 0x80 ? { kind: "malformed", reason: "function code 0 is invalid" } : 5;
  switch (fc) {
    case 0x01: // reads: byte count at octet 2
    case 0x02:
    case 0x03:
    case 0x04:
    case 0x0c:
    case 0x11:
    case 0x14:
    case 0x15:
    case 0x17:
      return counted(buf, offset, avail, 2, 5);
    case 0x08: // diagnostics echo the request, whatever its length
      return diagnosticsSize(buf, offset, avail);
    case 0x05: // writes echo address and value / quantity
    case 0x06:
    case 0x0b:
    case 0x0f:
    case 0x10:
      return 8;
    case 0x07:
      return 5;
    case 0x16:
      return 10;
    case 0x18: // read FIFO queue: a 16-bit byte count at octets 2-3
      return avail < 4 ? need(avail, 4) : 6 + buf.readUInt16BE(offset + 2);
    case 0x2b:
      return deviceIdSize(buf, offset, avail);
    default:
      return { kind: "malformed", reason: `function code ${fc} is unknown` };
  }
}

/** Unit, function code, sub-function and CRC: a diagnostics frame with no data. */
const DIAGNOSTICS_MIN_SIZE = 6;

/**
 * Diagnostics (FC 8) carry no byte count: return query data (sub-function 00) echoes whatever data the
 * request held, N words (Application Protocol §6.8.1), in the request and in the reply alike. Most other
 * sub-functions have one data word, but the header cannot say which length this one has, so the CRC
 * does: the frame ends at the first length, from the shortest up, whose last two octets are the CRC of
 * the octets before them.
 *
 * Why the CRC and not the request the client has pending: the framer serves both directions, and a
 * server reading requests has no pending request to ask; it also keeps the framer free of session state,
 * so a reply is framed the same whether or not it is the one awaited (the session then refuses an echo
 * that differs from what it sent, codec/pdu.ts). A false CRC match at a shorter length is a 1-in-65536
 * chance per candidate, the same odds by which any RTU garbage passes; the longer frame's own CRC then
 * fails and the stream resynchronises as after any garbage.
 *
 * While no candidate matches yet, more octets are asked for; a frame that never checks out is dropped
 * by the assembler at the largest RTU frame (or, over UDP, with its datagram).
 */
function diagnosticsSize(buf: Buffer, offset: number, avail: number): HeaderRead {
  if (avail < DIAGNOSTICS_MIN_SIZE) return need(avail, DIAGNOSTICS_MIN_SIZE);
  // One running CRC, extended by one octet per candidate length: linear in the frame, not quadratic.
  let crc = crc16(buf, offset, offset + DIAGNOSTICS_MIN_SIZE - 3);
  for (let size = DIAGNOSTICS_MIN_SIZE; size <= avail && size <= RTU_MAX_SIZE; size++) {
    const end = offset + size - 2;
    crc = (crc >>> 8) ^ CRC_TABLE[(crc ^ buf[end - 1]) & 0xff];
    if (crc === buf.readUInt16LE(end)) return size;
  }
  return need(avail, avail + 1);
}

/**
 * A read device identification reply has no byte count: its objects (id, length, value) are walked
 * (Application Protocol §6.21). Octets 2-7: MEI type, code, conformity, more follows, next id, count.
 */
function deviceIdSize(buf: Buffer, offset: number, avail: number): HeaderRead {
  if (avail < 3) return need(avail, 3);
  if (buf[offset + 2] !== 0x0e) return { kind: "malformed", reason: "MEI type is not 14" };
  if (avail < 8) return need(avail, 8);
  let at = 8;
  for (let n = buf[offset + 7]; n > 0; n--) {
    // A walk past the largest frame is garbage; the assembler's bound reports it.
    if (at > RTU_MAX_SIZE) return at + 2;
    if (avail < at + 2) return need(avail, at + 2);
    at += 2 + buf[offset + at + 1];
  }
  return at + 2;
}

function headerReader(direction: RtuDirection): (buf: Buffer, offset: number) => HeaderRead {
  const size = direction === "request" ? requestSize : responseSize;
  return (buf, offset) => {
    const avail = buf.length - offset;
    return avail < 2 ? need(avail, 2) : size(buf, offset, avail, buf[offset + 1]);
  };
}

function decodeRtu(buf: Buffer, offset: number, size: number): RtuFrame | string {
  const end = offset + size - 2;
  const want = crc16(buf, offset, end);
  const got = buf.readUInt16LE(end);
  if (want !== got) return `CRC ${hex4(got)} does not match ${hex4(want)}`;
  return { unitId: buf[offset], pdu: buf.subarray(offset + 1, end) };
}

const hex4 = (n: number): string => `0x${n.toString(16).padStart(4, "0")}`;

/** RTU framing of requests (what a server reads) for the shared assembler. */
export const RTU_REQUEST_FRAMING: FrameSpec<RtuFrame> = {
  readHeader: headerReader("request"),
  minSize: RTU_MIN_SIZE,
  maxSize: RTU_MAX_SIZE,
  decode: decodeRtu,
  resync: true,
};

/** RTU framing of replies (what a client reads) for the shared assembler. */
export const RTU_RESPONSE_FRAMING: FrameSpec<RtuFrame> = {
  ...RTU_REQUEST_FRAMING,
  readHeader: headerReader("response"),
};

/** The framing for one direction. */
export function rtuFraming(direction: RtuDirection): FrameSpec<RtuFrame> {
  return direction === "request" ? RTU_REQUEST_FRAMING : RTU_RESPONSE_FRAMING;
}

/** Frame a PDU. Throws RangeError on values the caller should never produce (a programming error). */
export function encodeRtu(unitId: number, pdu: Uint8Array): Buffer {
  if (!Number.isInteger(unitId) || unitId < 0 || unitId > 0xff) {
    throw new RangeError(`unit id ${unitId} is outside 0..255`);
  }
  if (pdu.length < 1 || pdu.length > MAX_PDU_SIZE) {
    throw new RangeError(`PDU of ${pdu.length} octets is outside 1..${MAX_PDU_SIZE}`);
  }
  const out = Buffer.allocUnsafe(pdu.length + 3);
  out[0] = unitId;
  out.set(pdu, 1);
  out.writeUInt16LE(crc16(out, 0, pdu.length + 1), pdu.length + 1);
  return out;
}

/** Reassembles RTU frames of one direction from a stream, dropping garbage (see FrameAssembler). */
export function rtuAssembler(direction: RtuDirection): FrameAssembler<RtuFrame> {
  return new FrameAssembler(rtuFraming(direction));
}

/**
 * The silence that ends an RTU frame on a serial line, ms: 3.5 character times, a character being 11
 * bits in RTU (start, 8 data, parity or a second stop, stop; Serial Line §2.5.1). Above 19200 baud the
 * spec fixes it at 1.75 ms instead (§2.5.1.1), since a UART's and an OS's timing cannot resolve shorter
 * gaps reliably. A sender keeps at least this gap before each frame it writes.
 */
export function rtuInterFrameSilenceMs(baudRate: number): number {
  if (!Number.isFinite(baudRate) || baudRate <= 0)
    throw new RangeError(`baud rate ${baudRate} is not positive`);
  if (baudRate > 19200) return 1.75;
  return (3.5 * 11 * 1000) / baudRate;
}
