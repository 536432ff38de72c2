/**
 * The Modbus framings as one choice (issue #20): the client session and the server core take a
 * `ModbusFraming` and get an `AduCodec` for it, so neither knows which framing runs. Each framing is its
 * own codec on the shared assembler (mbap.ts, rtu.ts, ascii.ts); this file only puts them behind one shape.
 *
 * What differs and cannot be hidden is said by the codec: MBAP carries a transaction id, so replies are
 * matched by it and several requests may be on the wire; RTU has none, so replies are matched by order
 * and one request at a time (`hasTransactionId`). A broken MBAP header loses the stream; RTU drops
 * garbage and resynchronises on its CRC.
 *
 * Over UDP ("udp", MBAP as Modbus UDP devices speak it, and "rtu-over-udp") one datagram is one ADU:
 * the Modbus UDP devices and RTU-over-UDP gateways in the field send one frame per datagram, and a
 * datagram arrives whole or not at all. So the datagram codec frames each datagram on its own:
 * a datagram that is not exactly one good frame is dropped whole and counted, nothing is carried over
 * to the next one, and a bad MBAP header never "loses the stream" — the next datagram starts clean.
 */
import type { FrameAssembler } from "../../framing/assembler";
import { MbapAssembler, encodeMbap } from "./mbap";
import { encodeRtu, rtuAssembler, type RtuDirection, type RtuFrame } from "./rtu";
import { asciiAssembler, encodeAscii } from "./ascii";

/**
 * "tcp": Modbus TCP, MBAP-framed; "rtu-over-tcp": RTU frames, CRC and all, carried by a TCP stream;
 * "udp": MBAP frames, one per UDP datagram (Modbus UDP); "rtu-over-udp": RTU frames, one per datagram;
 * "serial-rtu" and "serial-ascii": RTU or ASCII frames on a serial line (the octets are those of RTU
 * over TCP, or of ASCII; the line's timing is the transport's business, see src/transport/serial-port.ts).
 */
export type ModbusFraming = "tcp" | "rtu-over-tcp" | "udp" | "rtu-over-udp" | "serial-rtu" | "serial-ascii";

export const MODBUS_FRAMINGS: readonly ModbusFraming[] = [
  "tcp",
  "rtu-over-tcp",
  "udp",
  "rtu-over-udp",
  "serial-rtu",
  "serial-ascii",
];

export function isModbusFraming(v: unknown): v is ModbusFraming {
  return (MODBUS_FRAMINGS as readonly unknown[]).includes(v);
}

/** Whether the framing rides on datagrams (UDP) rather than a stream (TCP) or a serial line. */
export function isDatagramFraming(f: ModbusFraming): boolean {
  return f === "udp" || f === "rtu-over-udp";
}

/** Framings carried by a serial port rather than a TCP connection or UDP datagrams. */
export function isSerialFraming(f: ModbusFraming): f is "serial-rtu" | "serial-ascii" {
  return f === "serial-rtu" || f === "serial-ascii";
}

/** Whether frames are MBAP (header with transaction id), over a TCP stream or in UDP datagrams. */
function isMbapFraming(f: ModbusFraming): boolean {
  return f === "tcp" || f === "udp";
}

/**
 * Whether replies carry a transaction id (MBAP, TCP or UDP) or are matched by order, one at a time (RTU
 * over TCP or UDP, and RTU or ASCII on a serial line).
 */
export function framingHasTransactionId(f: ModbusFraming): boolean {
  return isMbapFraming(f);
}

/** One application data unit read from the stream: the PDU and whom it is for or from. */
export interface Adu {
  /** MBAP's transaction id; absent in framings that have none. */
  readonly transactionId?: number;
  readonly unitId: number;
  /** Function code and data; a view into the received bytes. */
  readonly pdu: Buffer;
}

/** What one chunk yielded; `lost` says why the stream lost its framing (the connection should close). */
export interface AduRead {
  readonly frames: readonly Adu[];
  readonly lost?: string;
}

export interface AduCodec {
  readonly framing: ModbusFraming;
  /** Whether replies can be matched by transaction id (otherwise by order, one at a time). */
  readonly hasTransactionId: boolean;
  /** Frame a PDU; `transactionId` is ignored by framings without one. */
  encode(transactionId: number, unitId: number, pdu: Uint8Array): Buffer;
  push(chunk: Uint8Array): AduRead;
  /** Octets held back waiting for the rest of a frame. */
  readonly buffered: number;
  /** The incomplete frame held, by ordinal (FrameAssembler.pendingFrame). */
  readonly pendingFrame: number | undefined;
  /** Octets dropped as garbage so far (resynchronising framings; always 0 for MBAP). */
  readonly droppedOctets: number;
  reset(): void;
}

class MbapCodec implements AduCodec {
  readonly framing: ModbusFraming = "tcp";
  readonly hasTransactionId = true;
  readonly droppedOctets = 0;
  private readonly assembler = new MbapAssembler();

  encode(transactionId: number, unitId: number, pdu: Uint8Array): Buffer {
    return encodeMbap(transactionId, unitId, pdu);
  }

  push(chunk: Uint8Array): AduRead {
    const r = this.assembler.push(chunk);
    return r.kind === "frames" ? r : { frames: r.frames, lost: r.reason };
  }

  get buffered(): number {
    return this.assembler.buffered;
  }

  get pendingFrame(): number | undefined {
    return this.assembler.pendingFrame;
  }

  reset(): void {
    this.assembler.reset();
  }
}

/** RTU and ASCII alike: no transaction id, garbage dropped; they differ only in the assembler and encoder. */
class UnitCodec implements AduCodec {
  readonly hasTransactionId = false;

  constructor(
    readonly framing: ModbusFraming,
    private readonly assembler: FrameAssembler<RtuFrame>,
    private readonly encodeFrame: (unitId: number, pdu: Uint8Array) => Buffer,
  ) {}

  encode(_transactionId: number, unitId: number, pdu: Uint8Array): Buffer {
    return this.encodeFrame(unitId, pdu);
  }

  push(chunk: Uint8Array): AduRead {
    // RTU and ASCII resynchronise, so the assembler never reports a lost stream.
    return { frames: this.assembler.push(chunk).frames };
  }

  get buffered(): number {
    return this.assembler.buffered;
  }

  get pendingFrame(): number | undefined {
    return this.assembler.pendingFrame;
  }

  get droppedOctets(): number {
    return this.assembler.dropped.octets;
  }

  reset(): void {
    this.assembler.reset();
  }
}

/**
 * One datagram, one ADU: the stream codec underneath frames each datagram from a clean start. A
 * datagram holding anything but exactly one whole good frame (truncated, two frames, trailing octets,
 * bad CRC, bad MBAP header) is dropped whole: a datagram is the unit the network loses or corrupts, and
 * its octets cannot be the start of the next one.
 */
class DatagramCodec implements AduCodec {
  readonly hasTransactionId: boolean;
  private dropped = 0;

  constructor(
    readonly framing: ModbusFraming,
    private readonly inner: AduCodec,
  ) {
    this.hasTransactionId = inner.hasTransactionId;
  }

  encode(transactionId: number, unitId: number, pdu: Uint8Array): Buffer {
    return this.inner.encode(transactionId, unitId, pdu);
  }

  push(datagram: Uint8Array): AduRead {
    this.inner.reset();
    const droppedBefore = this.inner.droppedOctets;
    const r = this.inner.push(datagram);
    const whole =
      r.frames.length === 1 &&
      r.lost === undefined &&
      this.inner.buffered === 0 &&
      this.inner.droppedOctets === droppedBefore;
    this.inner.reset();
    if (whole) return { frames: r.frames };
    this.dropped += datagram.length;
    return { frames: [] };
  }

  /** Nothing is held between datagrams. */
  readonly buffered = 0;
  readonly pendingFrame = undefined;

  get droppedOctets(): number {
    return this.dropped;
  }

  reset(): void {
    this.inner.reset();
  }
}

/** Frame a PDU in `framing` (the transaction id is ignored by framings without one). */
export function encodeAdu(
  framing: ModbusFraming,
  transactionId: number,
  unitId: number,
  pdu: Uint8Array,
): Buffer {
  if (isMbapFraming(framing)) return encodeMbap(transactionId, unitId, pdu);
  return framing === "serial-ascii" ? encodeAscii(unitId, pdu) : encodeRtu(unitId, pdu);
}

/** A codec for one end of a connection: a client reads responses, a server reads requests. */
export function aduCodec(framing: ModbusFraming, reads: RtuDirection): AduCodec {
  // ASCII is delimited, so the same assembler reads either direction.
  const stream = isMbapFraming(framing)
    ? new MbapCodec()
    : framing === "serial-ascii"
      ? new UnitCodec(framing, asciiAssembler(), encodeAscii)
      : new UnitCodec(framing, rtuAssembler(reads), encodeRtu);
  return isDatagramFraming(framing) ? new DatagramCodec(framing, stream) : stream;
}
