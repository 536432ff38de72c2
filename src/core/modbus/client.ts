/**
 * The Modbus TCP client other layers call: promises per request, on top of the pure client session
 * (src/protocols/modbus/session) driven by the generic reconnecting connection (src/transport). It lives
 * in core because it joins those two layers; it adds no protocol rules of its own.
 *
 * Requests made before the connection is up wait in the session's bounded queue; see the session's
 * header for timeouts, per-unit backoff and what happens to requests across a reconnect.
 */
import { DataCollError } from "../errors";
import type { ModbusReply, ModbusRequest } from "../../protocols/modbus/codec/pdu";
import type { DeviceIdObject } from "../../protocols/modbus/codec/device-id";
import {
  DEFAULT_SESSION_OPTIONS,
  ModbusClientSession,
  checkSessionOptions,
  type ModbusSessionAction,
  type ModbusSessionOptions,
  type ModbusSessionStats,
  type RequestFailure,
} from "../../protocols/modbus/session/client-session";
import {
  Connection,
  DEFAULT_CONNECTION_OPTIONS,
  systemClock,
  checkConnectionOptions,
  type Clock,
  type ConnectionOptions,
  type ConnectionState,
  type StateListener,
  type TrafficListener,
} from "../../transport/connection";
import { tcpSocketFactory, type SocketFactory } from "../../transport/socket";
import { udpSocketFactory } from "../../transport/udp-socket";
import { isDatagramFraming } from "../../protocols/modbus/codec/framing";
import { serialSocketFactory, type SerialLineOptions } from "../../transport/serial-port";

/** A failed request. `failure.kind` says why (timeout, exception, queue-full, ...). */
export class ModbusRequestError extends DataCollError {
  readonly failure: RequestFailure;

  constructor(failure: RequestFailure) {
    super(`modbus-${failure.kind}`, failure.message);
    this.name = "ModbusRequestError";
    this.failure = failure;
  }
}

export interface ModbusClientStats extends ModbusSessionStats {
  /** Connections established since the client started. */
  connects: number;
  /** Connections lost or attempts failed. */
  disconnects: number;
}

export interface ModbusClientDeps {
  readonly socketFactory: SocketFactory;
  readonly session?: Partial<ModbusSessionOptions>;
  readonly connection?: Partial<ConnectionOptions>;
  readonly clock?: Clock;
  readonly random?: () => number;
}

export interface RequestOptions {
  /** Reply deadline for this request, ms (default: the session's `timeoutMs`). */
  readonly timeoutMs?: number;
}

interface Waiter {
  readonly resolve: (reply: ModbusReply) => void;
  readonly reject: (err: ModbusRequestError) => void;
}

export class ModbusClient {
  private readonly session: ModbusClientSession;
  private readonly connection: Connection<ModbusSessionAction>;
  private readonly waiters = new Map<number, Waiter>();
  private connects = 0;
  private disconnects = 0;

  /** A client of one TCP endpoint. */
  static tcp(host: string, port: number, deps: Omit<ModbusClientDeps, "socketFactory"> = {}): ModbusClient {
    return new ModbusClient({ ...deps, socketFactory: tcpSocketFactory({ host, port }) });
  }

  /** A client of one network endpoint, over UDP when the session's framing rides on datagrams, else TCP. */
  static network(
    host: string,
    port: number,
    deps: Omit<ModbusClientDeps, "socketFactory"> = {},
  ): ModbusClient {
    const framing = deps.session?.framing ?? DEFAULT_SESSION_OPTIONS.framing;
    if (!isDatagramFraming(framing)) return ModbusClient.tcp(host, port, deps);
    return new ModbusClient({ ...deps, socketFactory: udpSocketFactory({ host, port }) });
  }

  /** A client of the units on one serial line (framing "serial-rtu" or "serial-ascii" in `deps.session`). */
  static serial(line: SerialLineOptions, deps: Omit<ModbusClientDeps, "socketFactory"> = {}): ModbusClient {
    return new ModbusClient({ ...deps, socketFactory: serialSocketFactory(line) });
  }

  /** Throws DataCollError("modbus-config", why, field) for an option out of range. */
  constructor(deps: ModbusClientDeps) {
    const problem =
      checkSessionOptions({ ...DEFAULT_SESSION_OPTIONS, ...deps.session }) ??
      checkConnectionOptions({ ...DEFAULT_CONNECTION_OPTIONS, ...deps.connection });
    if (problem !== undefined) throw new DataCollError("modbus-config", problem.message, problem.field);
    // One clock for the session and the connection whose timer drives it, so deadlines agree.
    const clock = deps.clock ?? systemClock;
    this.session = new ModbusClientSession(deps.session ?? {}, clock);
    this.connection = new Connection<ModbusSessionAction>({
      session: this.session,
      socketFactory: deps.socketFactory,
      clock,
      random: deps.random,
      options: deps.connection,
      onAction: (a) => this.settle(a),
    });
    this.connection.onStateChange((c) => {
      if (c.state === "connected") this.connects++;
      if (c.state === "backoff") this.disconnects++;
    });
  }

  get state(): ConnectionState {
    return this.connection.state;
  }

  /** Why the link is in its state (e.g. a refused connect while reconnecting), when it says. */
  get linkReason(): string | undefined {
    return this.connection.reason;
  }

  get stats(): ModbusClientStats {
    return { ...this.session.stats, connects: this.connects, disconnects: this.disconnects };
  }

  /** Requests waiting to be sent and on the wire. */
  get backlog(): { readonly queued: number; readonly inFlight: number } {
    return { queued: this.session.queued, inFlight: this.session.pendingOnWire };
  }

  onStateChange(listener: StateListener): () => void {
    return this.connection.onStateChange(listener);
  }

  /** Watch the raw octets sent and received, e.g. for the device's frame log. */
  onTraffic(listener: TrafficListener): () => void {
    return this.connection.onTraffic(listener);
  }

  start(): void {
    this.connection.start();
  }

  /** Resolves when the connection is up (at once if it is); rejects if the client is closed first. */
  whenConnected(): Promise<void> {
    if (this.state === "connected") return Promise.resolve();
    if (this.state === "closed")
      return Promise.reject(new DataCollError("modbus-closed", "client is closed"));
    return new Promise((resolve, reject) => {
      const off = this.onStateChange((c) => {
        if (c.state === "connected") resolve();
        else if (c.state === "closed") reject(new DataCollError("modbus-closed", "client is closed"));
        else return;
        off();
      });
    });
  }

  /** Fail every waiting request ("closed"), drop the socket and the timer. Idempotent. */
  close(): void {
    this.connection.drive(() => this.session.close());
    this.connection.close();
  }

  request(unit: number, request: ModbusRequest, opts: RequestOptions = {}): Promise<ModbusReply> {
    return new Promise<ModbusReply>((resolve, reject) => {
      this.connection.drive(() => {
        const { id, actions } = this.session.submit(unit, request, opts);
        this.waiters.set(id, { resolve, reject });
        return actions;
      });
    });
  }

  async readCoils(unit: number, address: number, count: number, opts?: RequestOptions): Promise<boolean[]> {
    return bits(await this.request(unit, { fn: "readCoils", address, count }, opts));
  }

  async readDiscreteInputs(
    unit: number,
    address: number,
    count: number,
    opts?: RequestOptions,
  ): Promise<boolean[]> {
    return bits(await this.request(unit, { fn: "readDiscreteInputs", address, count }, opts));
  }

  async readHoldingRegisters(
    unit: number,
    address: number,
    count: number,
    opts?: RequestOptions,
  ): Promise<number[]> {
    return registers(await this.request(unit, { fn: "readHoldingRegisters", address, count }, opts));
  }

  async readInputRegisters(
    unit: number,
    address: number,
    count: number,
    opts?: RequestOptions,
  ): Promise<number[]> {
    return registers(await this.request(unit, { fn: "readInputRegisters", address, count }, opts));
  }

  async writeSingleCoil(unit: number, address: number, value: boolean, opts?: RequestOptions): Promise<void> {
    await this.request(unit, { fn: "writeSingleCoil", address, value }, opts);
  }

  async writeSingleRegister(
    unit: number,
    address: number,
    value: number,
    opts?: RequestOptions,
  ): Promise<void> {
    await this.request(unit, { fn: "writeSingleRegister", address, value }, opts);
  }

  async writeMultipleCoils(
    unit: number,
    address: number,
    values: readonly boolean[],
    opts?: RequestOptions,
  ): Promise<void> {
    await this.request(unit, { fn: "writeMultipleCoils", address, values }, opts);
  }

  async writeMultipleRegisters(
    unit: number,
    address: number,
    values: readonly number[],
    opts?: RequestOptions,
  ): Promise<void> {
    await this.request(unit, { fn: "writeMultipleRegisters", address, values }, opts);
  }

  /**
   * FC 8 sub-function 00 (return query data): the unit echoes `data` unchanged, touching none of its
   * tables — a commissioning check that the path to the unit and back works. Resolves with the words
   * echoed, which the session has checked equal to those sent.
   */
  async diagnosticsEcho(unit: number, data: readonly number[], opts?: RequestOptions): Promise<number[]> {
    const reply = await this.request(unit, { fn: "diagnosticsEcho", data }, opts);
    if (reply.kind !== "echo")
      throw new DataCollError("modbus-internal", `expected an echo, got ${reply.kind}`);
    return [...reply.data];
  }

  /**
   * FC 43/14, read device identification: every object of the category asked for (1 basic, 2 regular,
   * 3 extended), following "more follows" over as many exchanges as the device splits them into.
   */
  async readDeviceIdentification(
    unit: number,
    access: 1 | 2 | 3 = 1,
    opts?: RequestOptions,
  ): Promise<{ conformity: number; objects: DeviceIdObject[] }> {
    const objects: DeviceIdObject[] = [];
    let objectId = 0;
    for (;;) {
      const reply = identification(
        await this.request(unit, { fn: "readDeviceIdentification", access, objectId }, opts),
      );
      objects.push(...reply.objects);
      if (!reply.moreFollows) return { conformity: reply.conformity, objects };
      // Each continuation must move forward, or a faulty device would keep us asking for ever.
      if (reply.nextObjectId <= objectId) {
        throw new DataCollError(
          "modbus-malformed-reply",
          `unit ${unit}: device identification says more follows from object ${reply.nextObjectId}, not after ${objectId}`,
        );
      }
      objectId = reply.nextObjectId;
    }
  }

  /** FC 43/14 with access code 04: one identification object's value (exception 02 if it has none). */
  async readDeviceIdentificationObject(
    unit: number,
    objectId: number,
    opts?: RequestOptions,
  ): Promise<string> {
    const reply = identification(
      await this.request(unit, { fn: "readDeviceIdentification", access: 4, objectId }, opts),
    );
    const found = reply.objects.find((o) => o.id === objectId);
    if (found === undefined) {
      throw new DataCollError(
        "modbus-malformed-reply",
        `unit ${unit}: reply does not carry object ${objectId}`,
      );
    }
    return found.value;
  }

  /**
   * FC 22: set the register to (current AND andMask) OR (orMask AND NOT andMask) in one request, so a
   * bit is changed without the read-modify-write race of two requests.
   */
  async maskWriteRegister(
    unit: number,
    address: number,
    andMask: number,
    orMask: number,
    opts?: RequestOptions,
  ): Promise<void> {
    await this.request(unit, { fn: "maskWriteRegister", address, andMask, orMask }, opts);
  }

  /** FC 23: write `values` at `writeAddress`, then read `count` registers at `address`, in one exchange. */
  async readWriteMultipleRegisters(
    unit: number,
    address: number,
    count: number,
    writeAddress: number,
    values: readonly number[],
    opts?: RequestOptions,
  ): Promise<number[]> {
    return registers(
      await this.request(
        unit,
        { fn: "readWriteMultipleRegisters", address, count, writeAddress, values },
        opts,
      ),
    );
  }

  private settle(a: ModbusSessionAction): void {
    if (a.type !== "resolve" && a.type !== "reject") return;
    const w = this.waiters.get(a.id);
    if (w === undefined) return;
    this.waiters.delete(a.id);
    if (a.type === "resolve") w.resolve(a.reply);
    else w.reject(new ModbusRequestError(a.failure));
  }
}

// The session checked the reply against the request, so a read always carries its own kind.
function bits(reply: ModbusReply): boolean[] {
  if (reply.kind !== "bits") throw new DataCollError("modbus-internal", `expected bits, got ${reply.kind}`);
  return [...reply.values];
}

function registers(reply: ModbusReply): number[] {
  if (reply.kind !== "registers")
    throw new DataCollError("modbus-internal", `expected registers, got ${reply.kind}`);
  return [...reply.values];
}

function identification(reply: ModbusReply): Extract<ModbusReply, { kind: "identification" }> {
  if (reply.kind !== "identification")
    throw new DataCollError("modbus-internal", `expected identification, got ${reply.kind}`);
  return reply;
}
