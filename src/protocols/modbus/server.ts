/**
 * A strict Modbus TCP server core for simulators: the four tables per unit id, no sockets. Its purpose
 * is to be the well-behaved peer jsmodbus's server is not (docs/protocols/modbus.md §5: that one ignores unit
 * ids, returns truncated data past its buffer and crashes on reads of 128+ registers).
 *
 * Rules:
 * - Read device identification (FC 43/14) answers with the configured objects, the same for every unit.
 * - On a serial line (or RTU frames through a gateway), address 0 is a broadcast: every unit carries out
 *   a write sent to it and none answers (Serial Line §2.2).
 * - Only configured unit ids are answered. A request for another unit gets no reply (as a device
 *   would: it is not addressed), or exception 0B when `unknownUnit` is "gateway" (Application Protocol
 *   §7: the gateway's target did not respond).
 * - Every request is decoded strictly (codec/pdu.ts): 01 for a function we do not serve, 03 for a bad
 *   quantity, byte count or value, 02 for a range outside the unit's table. A reply always carries
 *   exactly the data asked for — never truncated.
 * - Nothing a client sends can make it throw. A bad MBAP header loses the framing: the connection is
 *   closed rather than guessed at, since the octets after it cannot be trusted to be frames.
 * - The tables do not depend on the framing; each connection has its own (`connection(framing)`, issue
 *   #20): MBAP, or RTU over TCP as a serial gateway speaks it, where garbage and bad CRCs are dropped
 *   (a serial device ignores a frame that fails its CRC, Serial Line §2.4.1) and the stream goes on.
 */
import {
  aduCodec,
  encodeAdu,
  framingHasTransactionId,
  type Adu,
  type AduCodec,
  type ModbusFraming,
} from "./codec/framing";
import { ExceptionCode, encodeException } from "./codec/exceptions";
import {
  applyMask,
  decodeRequest,
  encodeReply,
  isReadOnly,
  requestCount,
  type AddressedRequest,
} from "./codec/pdu";
import { answerDeviceId, checkDeviceIdObjects, type DeviceIdObject } from "./codec/device-id";

export type ServerTable = "coils" | "discreteInputs" | "holdingRegisters" | "inputRegisters";

/** Address 0 on a serial line: every slave carries out the write, none answers (Serial Line §2.2). */
const BROADCAST = 0;
/** The unit ids a client uses for a server it reaches directly over MBAP, when they are not served. */
const DIRECT_UNITS: ReadonlySet<number> = new Set([0xff, 0]);

export interface TableSizes {
  readonly coils: number;
  readonly discreteInputs: number;
  readonly holdingRegisters: number;
  readonly inputRegisters: number;
}

/** One unit's data. Bits are 0/1 octets; registers unsigned 16-bit. Mutable: the simulator's state. */
export class UnitTables {
  readonly coils: Uint8Array;
  readonly discreteInputs: Uint8Array;
  readonly holdingRegisters: Uint16Array;
  readonly inputRegisters: Uint16Array;

  constructor(sizes: TableSizes) {
    for (const [name, n] of Object.entries(sizes)) {
      if (!Number.isInteger(n) || n < 0 || n > 0x10000)
        throw new RangeError(`${name} size ${n} is outside 0..65536`);
    }
    this.coils = new Uint8Array(sizes.coils);
    this.discreteInputs = new Uint8Array(sizes.discreteInputs);
    this.holdingRegisters = new Uint16Array(sizes.holdingRegisters);
    this.inputRegisters = new Uint16Array(sizes.inputRegisters);
  }
}

export interface ServerOptions {
  /** Unit ids answered, each with its own tables. */
  readonly units: readonly number[];
  readonly sizes: TableSizes;
  /** What to do with requests for other unit ids. */
  readonly unknownUnit: "silent" | "gateway";
  /** The objects read device identification (FC 43/14) answers with; basic objects 0–2 are mandatory. */
  readonly identification: readonly DeviceIdObject[];
}

/** What the simulator names itself when nobody configured otherwise. */
export const DEFAULT_IDENTIFICATION: readonly DeviceIdObject[] = Object.freeze([
  { id: 0x00, value: "datacoll" },
  { id: 0x01, value: "datacoll-modbus-server" },
  { id: 0x02, value: "1.0" },
]);

export const DEFAULT_TABLE_SIZES: TableSizes = Object.freeze({
  coils: 10000,
  discreteInputs: 10000,
  holdingRegisters: 10000,
  inputRegisters: 10000,
});

export interface ServerStats {
  requests: number;
  exceptions: number;
  ignored: number;
  malformedStreams: number;
}

export type WriteListener = (
  unit: number,
  table: "coils" | "holdingRegisters",
  address: number,
  count: number,
) => void;

function tableOf(req: AddressedRequest): ServerTable {
  switch (req.fn) {
    case "readCoils":
    case "writeSingleCoil":
    case "writeMultipleCoils":
      return "coils";
    case "readDiscreteInputs":
      return "discreteInputs";
    case "readHoldingRegisters":
    case "writeSingleRegister":
    case "writeMultipleRegisters":
    case "maskWriteRegister":
    case "readWriteMultipleRegisters":
      return "holdingRegisters";
    case "readInputRegisters":
      return "inputRegisters";
  }
}

export class ModbusServerCore {
  private readonly unitTables = new Map<number, UnitTables>();
  private readonly unknownUnit: "silent" | "gateway";
  private readonly identification: readonly DeviceIdObject[];
  private readonly writeListeners = new Set<WriteListener>();
  private readonly counters: ServerStats = { requests: 0, exceptions: 0, ignored: 0, malformedStreams: 0 };

  constructor(options: Partial<ServerOptions> = {}) {
    const units = options.units ?? [1];
    const sizes = options.sizes ?? DEFAULT_TABLE_SIZES;
    for (const u of units) {
      if (!Number.isInteger(u) || u < 0 || u > 255) throw new RangeError(`unit id ${u} is outside 0..255`);
      this.unitTables.set(u, new UnitTables(sizes));
    }
    this.unknownUnit = options.unknownUnit ?? "silent";
    const identification = options.identification ?? DEFAULT_IDENTIFICATION;
    const problem = checkDeviceIdObjects(identification);
    if (problem !== undefined) throw new RangeError(`device identification: ${problem}`);
    this.identification = identification.map((o) => ({ ...o }));
  }

  get stats(): Readonly<ServerStats> {
    return { ...this.counters };
  }

  /** The tables of a served unit, to set inputs or inspect writes. */
  unit(unit: number): UnitTables {
    const t = this.unitTables.get(unit);
    if (t === undefined) throw new RangeError(`unit ${unit} is not served`);
    return t;
  }

  onWrite(listener: WriteListener): () => void {
    this.writeListeners.add(listener);
    return () => {
      this.writeListeners.delete(listener);
    };
  }

  /** A new connection's framing state; feed it the connection's bytes. */
  connection(framing: ModbusFraming = "tcp"): ServerConnection {
    return new ServerConnection(this, framing);
  }

  /** The reply frame, in `framing`, to one request frame, or undefined when it is not for us. */
  handleFrame(frame: Adu, framing: ModbusFraming = "tcp"): Buffer | undefined {
    this.counters.requests++;
    const reply = (pdu: Buffer): Buffer => encodeAdu(framing, frame.transactionId ?? 0, frame.unitId, pdu);
    const fc = frame.pdu.length > 0 ? frame.pdu[0] : 0;
    // RTU and ASCII frames (no transaction id) are a serial line's, direct or through a gateway.
    const mbap = framingHasTransactionId(framing);
    if (frame.unitId === BROADCAST && !mbap) {
      this.broadcast(frame);
      return undefined;
    }
    // Over MBAP a server reached by its IP address takes 0xFF (or 0) as "you" (Messaging Implementation
    // Guide §4.4.2): when not served themselves, the first unit listed answers them, as a one-unit device.
    const direct = mbap && DIRECT_UNITS.has(frame.unitId) && !this.unitTables.has(frame.unitId);
    const unit = direct ? this.unitTables.keys().next().value : frame.unitId;
    const tables = unit === undefined ? undefined : this.unitTables.get(unit);
    if (unit === undefined || tables === undefined) {
      if (this.unknownUnit === "silent") {
        this.counters.ignored++;
        return undefined;
      }
      this.counters.exceptions++;
      return reply(encodeException(fc & 0x7f, ExceptionCode.GATEWAY_TARGET_FAILED));
    }
    const decoded = decodeRequest(frame.pdu);
    if (decoded.kind === "exception") {
      this.counters.exceptions++;
      return reply(encodeException(decoded.functionCode, decoded.code));
    }
    const req = decoded.request;
    // Return query data touches no table: the echo proves the path to the unit and back.
    if (req.fn === "diagnosticsEcho") return reply(encodeReply(req));
    if (req.fn === "readDeviceIdentification") {
      const answer = answerDeviceId(this.identification, req.access, req.objectId);
      if (answer.kind === "reply") return reply(answer.pdu);
      this.counters.exceptions++;
      return reply(encodeException(fc, answer.code));
    }
    const table = tables[tableOf(req)];
    const count = requestCount(req);
    const writePastEnd =
      req.fn === "readWriteMultipleRegisters" && req.writeAddress + req.values.length > table.length;
    if (req.address + count > table.length || writePastEnd) {
      this.counters.exceptions++;
      return reply(encodeException(fc, ExceptionCode.ILLEGAL_DATA_ADDRESS));
    }
    return reply(this.execute(unit, tables, req));
  }

  /**
   * A broadcast (address 0) on a serial line: every unit carries out a write and none answers (Serial
   * Line §2.2); anything else sent to address 0 is ignored. A unit whose table does not reach the
   * address skips it, as it would answer 02 to the same request addressed to it.
   */
  private broadcast(frame: Adu): void {
    const decoded = decodeRequest(frame.pdu);
    const req = decoded.kind === "exception" ? undefined : decoded.request;
    // A write that answers nothing back: FC 23 reads too, so it cannot be broadcast. (The first two
    // tests are isReadOnly's too, spelled out so the type narrows to an addressed request.)
    if (
      req === undefined ||
      req.fn === "diagnosticsEcho" ||
      req.fn === "readDeviceIdentification" ||
      req.fn === "readWriteMultipleRegisters" ||
      isReadOnly(req)
    ) {
      this.counters.ignored++;
      return;
    }
    for (const [unit, tables] of this.unitTables) {
      if (req.address + requestCount(req) <= tables[tableOf(req)].length) this.execute(unit, tables, req);
    }
  }

  private execute(unit: number, t: UnitTables, req: AddressedRequest): Buffer {
    const bits = (a: Uint8Array, from: number, n: number): boolean[] =>
      Array.from(a.subarray(from, from + n), (b) => b !== 0);
    const regs = (a: Uint16Array, from: number, n: number): number[] =>
      Array.from(a.subarray(from, from + n));
    switch (req.fn) {
      case "readCoils":
        return encodeReply(req, bits(t.coils, req.address, req.count));
      case "readDiscreteInputs":
        return encodeReply(req, bits(t.discreteInputs, req.address, req.count));
      case "readHoldingRegisters":
        return encodeReply(req, regs(t.holdingRegisters, req.address, req.count));
      case "readInputRegisters":
        return encodeReply(req, regs(t.inputRegisters, req.address, req.count));
      case "writeSingleCoil":
        t.coils[req.address] = req.value ? 1 : 0;
        this.notify(unit, "coils", req.address, 1);
        return encodeReply(req);
      case "writeMultipleCoils":
        t.coils.set(
          req.values.map((v) => (v ? 1 : 0)),
          req.address,
        );
        this.notify(unit, "coils", req.address, req.values.length);
        return encodeReply(req);
      case "writeSingleRegister":
        t.holdingRegisters[req.address] = req.value;
        this.notify(unit, "holdingRegisters", req.address, 1);
        return encodeReply(req);
      case "writeMultipleRegisters":
        t.holdingRegisters.set(req.values, req.address);
        this.notify(unit, "holdingRegisters", req.address, req.values.length);
        return encodeReply(req);
      case "maskWriteRegister":
        t.holdingRegisters[req.address] = applyMask(t.holdingRegisters[req.address], req.andMask, req.orMask);
        this.notify(unit, "holdingRegisters", req.address, 1);
        return encodeReply(req);
      case "readWriteMultipleRegisters":
        // The write is performed before the read (Application Protocol §6.17), so an overlap reads it back.
        t.holdingRegisters.set(req.values, req.writeAddress);
        this.notify(unit, "holdingRegisters", req.writeAddress, req.values.length);
        return encodeReply(req, regs(t.holdingRegisters, req.address, req.count));
    }
  }

  private notify(unit: number, table: "coils" | "holdingRegisters", address: number, count: number): void {
    for (const l of [...this.writeListeners]) l(unit, table, address, count);
  }

  /** @internal */
  countMalformed(): void {
    this.counters.malformedStreams++;
  }
}

/** What a connection should do after some bytes: send these replies, and close if framing was lost. */
export interface ServerOutput {
  readonly replies: readonly Buffer[];
  readonly close?: string;
}

export class ServerConnection {
  private readonly assembler: AduCodec;

  constructor(
    private readonly core: ModbusServerCore,
    private readonly framing: ModbusFraming = "tcp",
  ) {
    this.assembler = aduCodec(framing, "request");
  }

  /**
   * The request frame of which only the start has arrived, by ordinal, or undefined. The simulator closes
   * a connection that holds one too long (MODBUS_PARTIAL_FRAME_TIMEOUT_MS in src/core/modbus/simulator.ts).
   */
  get pendingFrame(): number | undefined {
    return this.assembler.pendingFrame;
  }

  onData(bytes: Uint8Array): ServerOutput {
    const r = this.assembler.push(bytes);
    const replies: Buffer[] = [];
    for (const frame of r.frames) {
      const reply = this.core.handleFrame(frame, this.framing);
      if (reply !== undefined) replies.push(reply);
    }
    if (r.lost !== undefined) {
      this.core.countMalformed();
      return { replies, close: r.lost };
    }
    return { replies };
  }
}
