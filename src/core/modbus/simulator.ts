/**
 * The one Modbus simulator: the strict server core (src/protocols/modbus/server.ts) on a real port, MBAP
 * framed or RTU, over TCP or UDP (`framing`, issue #20), or on a serial port, RTU or ASCII
 * (serial-server.ts). `startModbusSimulator` serves any core a caller fills
 * itself (loopback and fault tests, the benchmark's simulator process); `ModbusSimulator` is the
 * `datacoll-modbus-server` node's simulator on top of it: typed values written into its tables by address
 * text (`HR0:float32`, `C5`, ...), and generators that move values over time (constant, ramp, sine,
 * random walk) on one timer. It names itself by the identification objects a user gives it
 * (FC 43/14). Time and randomness are injected so tests drive them.
 */
import { rowNumber } from "../runtime/table-cells";
import { DataCollError, errorMessage } from "../errors";
import { waveValue } from "../generators";
import { parsePointAddress, pointWidth, type ModbusPointAddress } from "./point-address";
import { decodeBits, decodeRegisters, encodeRegisters, type RawValue } from "./values";
import {
  DEFAULT_IDENTIFICATION,
  DEFAULT_TABLE_SIZES,
  ModbusServerCore,
  type TableSizes,
} from "../../protocols/modbus/server";
import {
  DEVICE_ID_OBJECTS,
  checkDeviceIdObjects,
  type DeviceIdObject,
} from "../../protocols/modbus/codec/device-id";
import {
  framingHasTransactionId,
  isDatagramFraming,
  isSerialFraming,
  type ModbusFraming,
} from "../../protocols/modbus/codec/framing";
import { listenTcp, type TcpServerHandle } from "../../transport/tcp-server";
import { listenUdp } from "../../transport/udp-server";
import type { SerialLineOptions } from "../../transport/serial-port";
import { serveModbusSerial, type SerialServerHandle } from "./serial-server";
import type { Clock, TimerHandle } from "../../transport/connection";

/** A client that sends nothing for this long is closed: the default of the node's idle timeout. */
export const MODBUS_IDLE_TIMEOUT_MS = 30_000;

/**
 * A connection holding the start of a request this long is closed. Modbus TCP sets no such time (the
 * Messaging Implementation Guide leaves it to the server); a client writes a request of at most 260
 * octets in one go, so one that has not finished in 5 s has stopped, and its half request would be read
 * together with whatever it sends next (docs/protocols/modbus.md §8).
 */
export const MODBUS_PARTIAL_FRAME_TIMEOUT_MS = 5_000;

export interface ListenOptions {
  readonly host?: string;
  /** 0 picks a free port (see the handle's `port`). */
  readonly port: number;
  /** Connections at once; a new client beyond it evicts the longest idle one. Default 64. */
  readonly maxConnections?: number;
  /** Close a client silent this long, ms; 0 = never. Default MODBUS_IDLE_TIMEOUT_MS. */
  readonly idleTimeoutMs?: number;
  /** Default MODBUS_PARTIAL_FRAME_TIMEOUT_MS; 0 = never. */
  readonly partialFrameTimeoutMs?: number;
  /** The clock of those timeouts. Default the wall clock. */
  readonly clock?: Clock;
  /**
   * How requests and replies are framed: Modbus TCP (default), RTU over TCP as a serial gateway, or either
   * over UDP, one frame per datagram (the connection limits and timeouts do not apply: UDP has none).
   */
  readonly framing?: ModbusFraming;
}

export function startModbusSimulator(core: ModbusServerCore, opts: ListenOptions): Promise<TcpServerHandle> {
  const framing = opts.framing ?? "tcp";
  if (isDatagramFraming(framing)) {
    // Every datagram is framed on its own, so one server-side codec serves every sender.
    const conn = core.connection(framing);
    return listenUdp({
      host: opts.host,
      port: opts.port,
      onDatagram: (datagram) => conn.onData(datagram).replies,
    }).then((udp) => ({ port: udp.port, connections: 0, close: () => udp.close() }));
  }
  return listenTcp({
    host: opts.host,
    port: opts.port,
    maxConnections: opts.maxConnections,
    idleTimeoutMs: opts.idleTimeoutMs ?? MODBUS_IDLE_TIMEOUT_MS,
    partialFrameTimeoutMs: opts.partialFrameTimeoutMs ?? MODBUS_PARTIAL_FRAME_TIMEOUT_MS,
    clock: opts.clock,
    onConnection: (peer) => {
      const conn = core.connection(opts.framing);
      return {
        pendingFrame: () => conn.pendingFrame,
        data: (bytes) => {
          const out = conn.onData(bytes);
          // One write for all the replies to one segment: a pipelining client sends several per segment.
          if (out.replies.length > 0)
            peer.write(out.replies.length === 1 ? out.replies[0] : Buffer.concat(out.replies));
          if (out.close !== undefined) peer.close();
        },
      };
    },
  });
}

/**
 * The simulator's "other units" setting: "silent", "gateway" (exception 0B), or "auto" (and blank, from a
 * caller that gives none), which answers as what the transport stands for — a gateway when frames are RTU
 * on a network port, since that is what an RTU-over-TCP/UDP server is (a serial gateway, whose clients
 * are helped by a prompt 0B), and a device that is simply not addressed on Modbus TCP or UDP and on a
 * serial line (where the other units share the wire and a reply for them would collide with theirs).
 */
export function parseUnknownUnit(raw: unknown, framing: ModbusFraming): "silent" | "gateway" {
  if (raw === "silent" || raw === "gateway") return raw;
  if (raw === undefined || raw === null || raw === "" || raw === "auto") {
    return framingHasTransactionId(framing) || isSerialFraming(framing) ? "silent" : "gateway";
  }
  throw new DataCollError("invalid", 'other units must be "auto", "silent" or "gateway"', "unknownUnit");
}

export type GeneratorKind = "constant" | "ramp" | "sine" | "random-walk";
export const GENERATOR_KINDS: readonly GeneratorKind[] = ["constant", "ramp", "sine", "random-walk"];

export interface GeneratorSpec {
  readonly unit: number;
  readonly address: ModbusPointAddress;
  readonly text: string;
  readonly kind: GeneratorKind;
  readonly value: number;
  readonly min: number;
  readonly max: number;
  readonly periodMs: number;
  readonly step: number;
}

/** A generator row as the editor gives it: text cells. */
export interface GeneratorRow {
  readonly unit?: unknown;
  readonly address?: unknown;
  readonly kind?: unknown;
  readonly value?: unknown;
  readonly min?: unknown;
  readonly max?: unknown;
  readonly period?: unknown;
  readonly step?: unknown;
}

function n(raw: unknown, def: number, field: string, row: number): number {
  return rowNumber(raw, field, def, row, "generator");
}

export function parseGenerators(rows: readonly GeneratorRow[], units: readonly number[]): GeneratorSpec[] {
  return rows.map((r, i) => {
    const row = i + 1;
    const unit = n(r.unit, units[0] ?? 1, "unit", row);
    if (!units.includes(unit)) {
      throw new DataCollError(
        "invalid",
        `generator ${row}: unit ${unit} is not one the server answers`,
        "unit",
      );
    }
    if (typeof r.address !== "string")
      throw new DataCollError("invalid", `generator ${row}: address is missing`, "address");
    let address: ModbusPointAddress;
    try {
      address = parsePointAddress(r.address);
    } catch (err) {
      throw new DataCollError("invalid", `generator ${row}: ${errorMessage(err)}`, "address");
    }
    const kind = (r.kind ?? "constant") as GeneratorKind;
    if (!GENERATOR_KINDS.includes(kind)) {
      throw new DataCollError(
        "invalid",
        `generator ${row}: kind must be one of ${GENERATOR_KINDS.join(", ")}`,
        "kind",
      );
    }
    const min = n(r.min, 0, "min", row);
    const max = n(r.max, 100, "max", row);
    if (max < min) throw new DataCollError("invalid", `generator ${row}: max must not be below min`, "max");
    const periodMs = n(r.period, 60, "period", row) * 1000;
    if (periodMs <= 0)
      throw new DataCollError("invalid", `generator ${row}: period must be positive`, "period");
    return {
      unit,
      address,
      text: r.address,
      kind,
      // A bit's constant may be written as on/off: true/false (text from the editor's table) are 1/0.
      value: n(
        r.value === true || r.value === "true" ? 1 : r.value === false || r.value === "false" ? 0 : r.value,
        min,
        "value",
        row,
      ),
      min,
      max,
      periodMs,
      step: n(r.step, (max - min) / 100, "step", row),
    };
  });
}

/** The identification a user gives the simulator by name; blank basic objects keep their defaults. */
export interface IdentificationFields {
  readonly vendorName?: string;
  readonly productCode?: string;
  readonly revision?: string;
  readonly vendorUrl?: string;
  readonly productName?: string;
  readonly modelName?: string;
}

/**
 * The objects read device identification (FC 43/14) answers with: the three basic ones (their defaults
 * when left blank, since a device must have them) and each regular one that was filled in.
 */
export function identificationObjects(fields: IdentificationFields): DeviceIdObject[] {
  const given = (v: string | undefined): string | undefined => (v?.trim() ? v.trim() : undefined);
  const basic = (id: number): string =>
    given(
      id === DEVICE_ID_OBJECTS.vendorName
        ? fields.vendorName
        : id === DEVICE_ID_OBJECTS.productCode
          ? fields.productCode
          : fields.revision,
    ) ??
    DEFAULT_IDENTIFICATION.find((o) => o.id === id)?.value ??
    "";
  const objects: DeviceIdObject[] = [0, 1, 2].map((id) => ({ id, value: basic(id) }));
  const regular: [number, string | undefined][] = [
    [DEVICE_ID_OBJECTS.vendorUrl, fields.vendorUrl],
    [DEVICE_ID_OBJECTS.productName, fields.productName],
    [DEVICE_ID_OBJECTS.modelName, fields.modelName],
  ];
  for (const [id, v] of regular) {
    const value = given(v);
    if (value !== undefined) objects.push({ id, value });
  }
  const problem = checkDeviceIdObjects(objects);
  if (problem !== undefined)
    throw new DataCollError("invalid", `device identification: ${problem}`, "identification");
  return objects;
}

export interface SimulatorOptions {
  readonly units: readonly number[];
  readonly sizes?: TableSizes;
  readonly generators?: readonly GeneratorSpec[];
  /**
   * Requests for a unit not served: "silent" (default) as a device on a network, or exception 0B as a
   * gateway whose target did not respond, which a client handles at once instead of waiting its timeout.
   */
  readonly unknownUnit?: "silent" | "gateway";
  /** What read device identification (FC 43/14) answers; default DEFAULT_IDENTIFICATION. */
  readonly identification?: readonly DeviceIdObject[];
  /** How often generators move, ms. */
  readonly updateMs?: number;
  /** Close a client silent this long, ms; 0 = never. Default MODBUS_IDLE_TIMEOUT_MS. */
  readonly idleTimeoutMs?: number;
  /** Connections at once; a new client beyond it evicts the longest idle one. Default 64. */
  readonly maxConnections?: number;
  /** Generators and the connection timeouts both run on it. */
  readonly clock: Clock;
  readonly random?: () => number;
  /** Default "tcp" (MBAP). */
  readonly framing?: ModbusFraming;
  /** Backoff for reopening a serial port that disappeared; default a client link's. */
  readonly serialReopen?: { readonly reconnectInitialMs?: number; readonly reconnectMaxMs?: number };
}

export class ModbusSimulator {
  readonly core: ModbusServerCore;
  private server: TcpServerHandle | undefined;
  private line: SerialServerHandle | undefined;
  private timer: TimerHandle | undefined;
  private readonly started: number;
  private readonly walk = new Map<GeneratorSpec, number>();
  private readonly random: () => number;
  private generatorErrors = 0;
  private lastGeneratorError: string | undefined;

  constructor(private readonly opts: SimulatorOptions) {
    this.core = new ModbusServerCore({
      units: opts.units,
      sizes: opts.sizes ?? DEFAULT_TABLE_SIZES,
      identification: opts.identification,
      unknownUnit: opts.unknownUnit,
    });
    const idle = opts.idleTimeoutMs ?? MODBUS_IDLE_TIMEOUT_MS;
    if (!Number.isFinite(idle) || idle < 0)
      throw new DataCollError("invalid", "idle timeout must be 0 (never) or a positive time", "idleTimeout");
    this.random = opts.random ?? Math.random;
    this.started = opts.clock.now();
    for (const g of opts.generators ?? []) this.walk.set(g, g.value);
    this.step();
  }

  /** Start serving; resolves with the port (0 picks a free one). */
  async listen(port: number, host = "127.0.0.1"): Promise<number> {
    this.server = await startModbusSimulator(this.core, {
      host,
      port,
      idleTimeoutMs: this.opts.idleTimeoutMs,
      maxConnections: this.opts.maxConnections,
      clock: this.opts.clock,
      framing: this.opts.framing,
    });
    if ((this.opts.generators ?? []).length > 0) this.schedule();
    return this.server.port;
  }

  /** Serve on a serial port instead of TCP (framing "serial-rtu" or "serial-ascii"); reopens a lost port. */
  openSerial(line: SerialLineOptions): SerialServerHandle {
    const framing = this.opts.framing;
    if (framing !== "serial-rtu" && framing !== "serial-ascii") {
      throw new DataCollError(
        "invalid",
        `a serial port needs a serial transport, not ${framing ?? "tcp"}`,
        "transport",
      );
    }
    this.line = serveModbusSerial(this.core, { framing, line, connection: this.opts.serialReopen });
    if ((this.opts.generators ?? []).length > 0) this.schedule();
    return this.line;
  }

  /** TCP clients connected, or 1 while the serial port is open. */
  get connections(): number {
    if (this.line !== undefined) return this.line.state === "connected" ? 1 : 0;
    return this.server?.connections ?? 0;
  }

  get generatorError(): { count: number; last: string | undefined } {
    return { count: this.generatorErrors, last: this.lastGeneratorError };
  }

  /** Write a typed value at an address text (e.g. `HR10:float32:CDAB`), as a device's own logic would. */
  set(unit: number, addressText: string, value: unknown): void {
    this.write(unit, parsePointAddress(addressText), value);
  }

  /** Read a typed value back (e.g. to report what a client wrote). */
  get(unit: number, addressText: string): RawValue {
    const p = parsePointAddress(addressText);
    const t = this.core.unit(unit);
    const width = pointWidth(p);
    switch (p.table) {
      case "coil":
        return decodeBits(p, [t.coils[p.address] === 1]);
      case "discrete-input":
        return decodeBits(p, [t.discreteInputs[p.address] === 1]);
      case "holding-register":
        return decodeRegisters(p, Array.from(t.holdingRegisters.subarray(p.address, p.address + width)));
      case "input-register":
        return decodeRegisters(p, Array.from(t.inputRegisters.subarray(p.address, p.address + width)));
    }
  }

  async close(): Promise<void> {
    if (this.timer !== undefined) this.opts.clock.clearTimer(this.timer);
    this.timer = undefined;
    const server = this.server;
    this.server = undefined;
    const line = this.line;
    this.line = undefined;
    await Promise.all([server?.close(), line?.close()]);
  }

  private schedule(): void {
    this.timer = this.opts.clock.setTimer(() => {
      this.step();
      this.schedule();
    }, this.opts.updateMs ?? 1000);
  }

  /** Move every generator to its value at the current time. */
  step(): void {
    const t = this.opts.clock.now() - this.started;
    for (const g of this.opts.generators ?? []) {
      const v =
        g.kind === "constant" ? g.value : waveValue(g.kind, g, t, this.walk.get(g) ?? g.value, this.random);
      if (g.kind === "random-walk") this.walk.set(g, v);
      try {
        // A bit: a constant is on unless it is 0; a wave is on in the upper half of its range.
        const bit = g.kind === "constant" ? v !== 0 : v >= (g.min + g.max) / 2;
        this.write(g.unit, g.address, g.address.type === "bool" ? bit : v);
      } catch (err) {
        this.generatorErrors++;
        this.lastGeneratorError = `${g.text}: ${errorMessage(err)}`;
      }
    }
  }

  private write(unit: number, p: ModbusPointAddress, value: unknown): void {
    const t = this.core.unit(unit);
    const bool = (): boolean => value === true || value === 1 || value === "true";
    if (p.table === "coil" || p.table === "discrete-input") {
      const table = p.table === "coil" ? t.coils : t.discreteInputs;
      if (p.address >= table.length)
        throw new DataCollError("invalid", `${p.table} ${p.address} is outside the table`, "address");
      table[p.address] = bool() ? 1 : 0;
      return;
    }
    const table = p.table === "holding-register" ? t.holdingRegisters : t.inputRegisters;
    if (p.type === "bool") {
      const bit = 1 << (p.bit ?? 0);
      table[p.address] = bool() ? table[p.address] | bit : table[p.address] & ~bit;
      return;
    }
    const numeric =
      typeof value === "number" && !["float32", "float64"].includes(p.type) ? Math.round(value) : value;
    const regs = encodeRegisters(p, numeric);
    if (p.address + regs.length > table.length) {
      throw new DataCollError("invalid", `${p.table} ${p.address} is outside the table`, "address");
    }
    table.set(regs, p.address);
  }
}
