/**
 * The IEC 104 outstation simulator behind the `datacoll-iec104-server` node: a point table (IOA, type,
 * initial value, generator) and a command table (accept or reject, select-before-operate) served to any
 * number of masters at once — one OutstationSession per accepted connection, each with its one deadline
 * timer. Generators move values on one timer and every change goes to every master spontaneously; periodic
 * data goes out on another. Time and randomness are injected so tests drive them.
 */
import { DataCollError, errorMessage } from "../errors";
import { waveValue } from "../generators";
import {
  GOOD,
  TypeId,
  type CommandObject,
  type MonitorObject,
  type Quality,
} from "../../protocols/iec104/codec";
import { Cot } from "../../protocols/iec104/codec/cot";
import {
  DEFAULT_LINK_PARAMETERS,
  OutstationSession,
  checkOutstationOptions,
  type LinkParameters,
  type OutstationEvent,
} from "../../protocols/iec104/session";
import type { Clock, TimerHandle } from "../../transport/connection";
import {
  listenTcp,
  type PeerHandler,
  type ServerPeer,
  type TcpServerHandle,
} from "../../transport/tcp-server";
import { parseMonitorType } from "./term";
import { isCommandKind, type CommandKind } from "./command";

export type SimGeneratorKind = "constant" | "ramp" | "sine" | "random-walk" | "toggle";
export const SIM_GENERATORS: readonly SimGeneratorKind[] = [
  "constant",
  "ramp",
  "sine",
  "random-walk",
  "toggle",
];

export interface SimPoint {
  readonly ioa: number;
  readonly kind: MonitorObject["kind"];
  readonly value: number;
  readonly generator: SimGeneratorKind;
  readonly min: number;
  readonly max: number;
  readonly periodMs: number;
  readonly step: number;
  /** Interrogation groups 1..16 (counter groups 1..4 for totals). */
  readonly groups: readonly number[];
}

export interface SimCommand {
  readonly ioa: number;
  readonly kind: CommandKind;
  readonly accept: boolean;
  readonly selectRequired: boolean;
  /** The monitor point that shows the commanded value (0 = none). */
  readonly feedback: number;
}

/** A point row as the editor gives it: text cells. */
export interface SimPointRow {
  readonly ioa?: unknown;
  readonly type?: unknown;
  readonly value?: unknown;
  readonly generator?: unknown;
  readonly min?: unknown;
  readonly max?: unknown;
  readonly period?: unknown;
  readonly step?: unknown;
  readonly group?: unknown;
}

export interface SimCommandRow {
  readonly ioa?: unknown;
  readonly type?: unknown;
  readonly accept?: unknown;
  readonly sbo?: unknown;
  readonly feedback?: unknown;
}

const KIND_OF_TYPE: ReadonlyMap<number, MonitorObject["kind"]> = new Map([
  [TypeId.M_SP_NA_1, "single"],
  [TypeId.M_DP_NA_1, "double"],
  [TypeId.M_ST_NA_1, "step"],
  [TypeId.M_BO_NA_1, "bitstring"],
  [TypeId.M_ME_NA_1, "normalized"],
  [TypeId.M_ME_NB_1, "scaled"],
  [TypeId.M_ME_NC_1, "float"],
  [TypeId.M_IT_NA_1, "totals"],
]);

function n(raw: unknown, def: number, field: string, where: string): number {
  if (raw === undefined || raw === null || raw === "") return def;
  const v = typeof raw === "number" ? raw : Number(String(raw).trim());
  if (!Number.isFinite(v)) throw new DataCollError("invalid", `${where}: ${field} must be a number`, field);
  return v;
}

function ioaOf(raw: unknown, where: string): number {
  const ioa = n(raw, Number.NaN, "ioa", where);
  if (!Number.isInteger(ioa) || ioa < 1 || ioa > 0xffffff) {
    throw new DataCollError("invalid", `${where}: ioa must be a whole number from 1 to 16777215`, "ioa");
  }
  return ioa;
}

function yes(raw: unknown, def: boolean): boolean {
  if (raw === undefined || raw === null || raw === "") return def;
  return raw === true || raw === "true" || raw === "yes" || raw === 1 || raw === "1";
}

/** Validate the point table; errors name the row and the field. */
export function parseSimPoints(rows: readonly SimPointRow[]): SimPoint[] {
  const seen = new Set<number>();
  return rows.map((r, i) => {
    const where = `point ${i + 1}`;
    const ioa = ioaOf(r.ioa, where);
    if (seen.has(ioa)) throw new DataCollError("invalid", `${where}: IOA ${ioa} appears twice`, "ioa");
    seen.add(ioa);
    let typeId: number | undefined;
    try {
      typeId = parseMonitorType(r.type === undefined || r.type === "" ? "float" : r.type);
    } catch (err) {
      throw new DataCollError("invalid", `${where}: ${errorMessage(err)}`, "type");
    }
    const kind = KIND_OF_TYPE.get(typeId ?? TypeId.M_ME_NC_1) ?? "float";
    const generator = (
      r.generator === undefined || r.generator === "" ? "constant" : r.generator
    ) as SimGeneratorKind;
    if (!SIM_GENERATORS.includes(generator)) {
      throw new DataCollError(
        "invalid",
        `${where}: generator must be one of ${SIM_GENERATORS.join(", ")}`,
        "generator",
      );
    }
    const bool = kind === "single";
    const min = n(r.min, bool ? 0 : kind === "normalized" ? -1 : 0, "min", where);
    const max = n(r.max, bool ? 1 : kind === "normalized" ? 1 : 100, "max", where);
    if (max < min) throw new DataCollError("invalid", `${where}: max must not be below min`, "max");
    const raw =
      r.value === true ? 1 : r.value === false || r.value === "false" ? 0 : r.value === "true" ? 1 : r.value;
    const periodMs = n(r.period, 60, "period", where) * 1000;
    if (periodMs <= 0) throw new DataCollError("invalid", `${where}: period must be positive`, "period");
    const group = n(r.group, 0, "group", where);
    const groupMax = kind === "totals" ? 4 : 16;
    if (!Number.isInteger(group) || group < 0 || group > groupMax) {
      throw new DataCollError("invalid", `${where}: group must be 0 (none) to ${groupMax}`, "group");
    }
    const value = n(raw, min, "value", where);
    // The initial value must be one the type carries, so a bad table fails at deploy, not at the first GI.
    objectOf(kind, ioa, value, GOOD, where);
    return {
      ioa,
      kind,
      value,
      generator,
      min,
      max,
      periodMs,
      step: n(r.step, (max - min) / 100, "step", where),
      groups: group === 0 ? [] : [group],
    };
  });
}

export function parseSimCommands(rows: readonly SimCommandRow[]): SimCommand[] {
  const seen = new Set<number>();
  return rows.map((r, i) => {
    const where = `command ${i + 1}`;
    const ioa = ioaOf(r.ioa, where);
    if (seen.has(ioa)) throw new DataCollError("invalid", `${where}: IOA ${ioa} appears twice`, "ioa");
    seen.add(ioa);
    const kind = r.type === undefined || r.type === "" ? "single-command" : r.type;
    if (!isCommandKind(kind)) {
      throw new DataCollError(
        "invalid",
        `${where}: type must be a command kind such as single-command`,
        "type",
      );
    }
    const feedback = r.feedback === undefined || r.feedback === "" ? 0 : ioaOf(r.feedback, where);
    return { ioa, kind, accept: yes(r.accept, true), selectRequired: yes(r.sbo, false), feedback };
  });
}

/** A monitor object of `kind` holding `value`; throws (naming `where`) when the type cannot carry it. */
export function objectOf(
  kind: MonitorObject["kind"],
  ioa: number,
  value: unknown,
  quality: Quality,
  where = `IOA ${ioa}`,
): MonitorObject {
  const num =
    typeof value === "boolean" ? (value ? 1 : 0) : typeof value === "number" ? value : Number(value);
  const bad = (range: string): never => {
    throw new DataCollError(
      "invalid",
      `${where}: ${kind} value ${JSON.stringify(value)} must be ${range}`,
      "value",
    );
  };
  if (!Number.isFinite(num)) bad("a number");
  switch (kind) {
    case "single":
      return { kind, ioa, value: num >= 0.5, quality };
    case "double": {
      const v = Math.round(num);
      if (v < 0 || v > 3) bad("0..3 (1 OFF, 2 ON)");
      return { kind, ioa, value: v as 0 | 1 | 2 | 3, quality };
    }
    case "step": {
      const v = Math.round(num);
      if (v < -64 || v > 63) bad("-64..63");
      return { kind, ioa, value: v, transient: false, quality };
    }
    case "bitstring": {
      const v = Math.round(num);
      if (v < 0 || v > 0xffffffff) bad("0..4294967295");
      return { kind, ioa, value: v, quality };
    }
    case "normalized":
      if (num < -1 || num > 1) bad("-1..1");
      return { kind, ioa, value: num, quality };
    case "scaled": {
      const v = Math.round(num);
      if (v < -32768 || v > 32767) bad("-32768..32767");
      return { kind, ioa, value: v, quality };
    }
    case "float":
      return { kind, ioa, value: Math.fround(num), quality };
    case "totals": {
      const v = Math.round(num);
      if (v < -2147483648 || v > 2147483647) bad("a 32-bit counter");
      return { kind, ioa, value: v, sequence: 0, carry: false, adjusted: false, quality };
    }
  }
}

export interface Iec104SimulatorOptions {
  readonly commonAddress: number;
  readonly points: readonly SimPoint[];
  readonly commands: readonly SimCommand[];
  /** How often generators move, ms. */
  readonly updateMs?: number;
  /** Send every point with cause periodic this often; 0 = never. */
  readonly periodicMs?: number;
  readonly link?: Partial<LinkParameters>;
  readonly selectTimeoutMs?: number;
  /** Connections at once; a new master beyond it evicts the longest idle one. Default 16. */
  readonly maxConnections?: number;
  /**
   * Close a master that sent nothing this long, ms; 0 = never. Default IEC104_IDLE_TIMEOUT_MS. Must exceed
   * t3: a master that answers the TESTFR sent after t3 of silence is alive and keeps its connection.
   */
  readonly idleTimeoutMs?: number;
  /** Generators, periodic data, the link timers and the idle timeout all run on it. */
  readonly clock: Clock;
  readonly random?: () => number;
}

/** The default idle timeout; above the default t3 (20 s), as it must be. */
export const IEC104_IDLE_TIMEOUT_MS = 30_000;

export type SimulatorEvent =
  | { readonly type: "command"; readonly peer: string; readonly command: CommandObject }
  | { readonly type: "clock-sync"; readonly peer: string; readonly time: number }
  | { readonly type: "connected"; readonly peer: string }
  /** `reason` says why the server side ended it (idle, evicted, a link error), when it knows. */
  | { readonly type: "disconnected"; readonly peer: string; readonly reason?: string }
  | { readonly type: "warning"; readonly peer: string; readonly message: string };

interface Peer {
  readonly remote: string;
  readonly station: OutstationSession;
  readonly carry: (events: readonly OutstationEvent[]) => void;
  readonly stop: () => void;
}

export class Iec104Simulator {
  private readonly table = new Map<number, MonitorObject>();
  private readonly peers = new Set<Peer>();
  private readonly listeners = new Set<(e: SimulatorEvent) => void>();
  private server: TcpServerHandle | undefined;
  private genTimer: TimerHandle | undefined;
  private periodicTimer: TimerHandle | undefined;
  private readonly started: number;
  private readonly random: () => number;
  private readonly commandByIoa: ReadonlyMap<number, SimCommand>;

  constructor(private readonly opts: Iec104SimulatorOptions) {
    const [problem] = checkOutstationOptions({
      commonAddress: opts.commonAddress,
      link: opts.link,
      selectTimeoutMs: opts.selectTimeoutMs,
    });
    if (problem !== undefined) throw new DataCollError("invalid", problem.message, problem.field);
    const idle = opts.idleTimeoutMs ?? IEC104_IDLE_TIMEOUT_MS;
    const t3 = opts.link?.t3Ms ?? DEFAULT_LINK_PARAMETERS.t3Ms;
    if (!Number.isFinite(idle) || idle < 0 || (idle > 0 && idle <= t3)) {
      throw new DataCollError(
        "invalid",
        `idle timeout ${idle / 1000} s must be 0 (never) or longer than t3 (${t3 / 1000} s): the test frames ` +
          `sent after t3 are what keep a quiet master's connection alive`,
        "idleTimeout",
      );
    }
    this.random = opts.random ?? Math.random;
    this.started = opts.clock.now();
    for (const p of opts.points) this.table.set(p.ioa, objectOf(p.kind, p.ioa, p.value, GOOD));
    for (const c of opts.commands) {
      if (c.feedback !== 0 && !this.table.has(c.feedback)) {
        throw new DataCollError(
          "invalid",
          `command ${c.ioa}: feedback IOA ${c.feedback} is not a point`,
          "feedback",
        );
      }
    }
    this.commandByIoa = new Map(opts.commands.map((c) => [c.ioa, c]));
  }

  /** Start serving; resolves with the port (0 picks a free one). */
  async listen(port: number, host = "127.0.0.1"): Promise<number> {
    this.server = await listenTcp({
      host,
      port,
      maxConnections: this.opts.maxConnections ?? 16,
      idleTimeoutMs: this.opts.idleTimeoutMs ?? IEC104_IDLE_TIMEOUT_MS,
      clock: this.opts.clock,
      onConnection: (peer) => this.accept(peer),
    });
    if (this.opts.points.some((p) => p.generator !== "constant")) this.scheduleGenerators();
    if ((this.opts.periodicMs ?? 0) > 0) this.schedulePeriodic();
    return this.server.port;
  }

  get connections(): number {
    return this.peers.size;
  }

  /** Masters with data transfer started. */
  get activeMasters(): number {
    return this.startedPeers().length;
  }

  /**
   * The remote address of each master with data transfer started, in the order they connected: the
   * connections a change set now is sent on (the soak numbers them to tell a hand-over from a loss).
   */
  startedPeers(): string[] {
    const out: string[] = [];
    for (const p of this.peers) if (p.station.state === "started") out.push(p.remote);
    return out;
  }

  on(listener: (e: SimulatorEvent) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** The current state of a point. */
  point(ioa: number): MonitorObject | undefined {
    return this.table.get(ioa);
  }

  /** Set a point (as the plant would) and send the change spontaneously to every master. */
  set(ioa: number, value: unknown, quality: Quality = GOOD): MonitorObject {
    const current = this.table.get(ioa);
    if (current === undefined)
      throw new DataCollError("invalid", `IOA ${ioa} is not a point of the simulator`, "ioa");
    const next = objectOf(current.kind, ioa, value, quality);
    const obj: MonitorObject =
      next.kind === "totals" && current.kind === "totals"
        ? { ...next, sequence: (current.sequence + 1) % 32 }
        : next;
    this.table.set(ioa, obj);
    for (const p of this.peers) p.carry(p.station.update(obj));
    return obj;
  }

  async close(): Promise<void> {
    if (this.genTimer !== undefined) this.opts.clock.clearTimer(this.genTimer);
    if (this.periodicTimer !== undefined) this.opts.clock.clearTimer(this.periodicTimer);
    this.genTimer = this.periodicTimer = undefined;
    for (const p of [...this.peers]) p.stop();
    const server = this.server;
    this.server = undefined;
    await server?.close();
  }

  /** Move every generator to its value at the current time and send what changed. */
  step(): void {
    const t = this.opts.clock.now() - this.started;
    for (const g of this.opts.points) {
      if (g.generator === "constant") continue;
      const current = this.table.get(g.ioa);
      if (current === undefined) continue;
      const prev = typeof current.value === "number" ? current.value : current.value ? 1 : 0;
      const v = waveValue(g.generator, g, t, prev, this.random);
      const next = objectOf(g.kind, g.ioa, v, current.quality);
      if (next.value !== current.value) this.set(g.ioa, next.value, current.quality);
    }
  }

  private scheduleGenerators(): void {
    this.genTimer = this.opts.clock.setTimer(() => {
      this.step();
      this.scheduleGenerators();
    }, this.opts.updateMs ?? 1000);
  }

  private schedulePeriodic(): void {
    this.periodicTimer = this.opts.clock.setTimer(() => {
      for (const p of this.peers) {
        if (p.station.state !== "started") continue;
        const events: OutstationEvent[] = [];
        for (const obj of this.table.values()) {
          if (obj.kind === "totals") continue;
          events.push(...p.station.update(obj, { timed: false, cot: Cot.PERIODIC }));
        }
        p.carry(events);
      }
      this.schedulePeriodic();
    }, this.opts.periodicMs ?? 0);
  }

  private emit(e: SimulatorEvent): void {
    for (const l of [...this.listeners]) l(e);
  }

  private accept(peer: ServerPeer): PeerHandler {
    const clock = this.opts.clock;
    const station = new OutstationSession(
      {
        commonAddress: this.opts.commonAddress,
        link: this.opts.link,
        selectTimeoutMs: this.opts.selectTimeoutMs,
        onCommand: (cmd) => this.decide(cmd),
      },
      clock,
    );
    const groups = new Map(this.opts.points.map((p) => [p.ioa, p.groups]));
    for (const obj of this.table.values()) station.definePoint(obj, { groups: groups.get(obj.ioa) ?? [] });
    for (const c of this.opts.commands) {
      station.defineCommand({ ioa: c.ioa, kind: c.kind, selectRequired: c.selectRequired });
    }
    let timer: TimerHandle | undefined;
    let timerAt: number | undefined;
    let closed = false;
    const stop = (): void => {
      if (closed) return;
      closed = true;
      if (timer !== undefined) clock.clearTimer(timer);
      timer = undefined;
      this.peers.delete(entry);
      station.close("the simulator stopped");
      peer.close();
    };
    const carry = (events: readonly OutstationEvent[]): void => {
      // Executed commands are acted on after every frame of this batch is written: their feedback is a
      // new I-frame, numbered after the confirmations already encoded in the batch.
      const executed: CommandObject[] = [];
      for (const e of events) {
        switch (e.type) {
          case "send":
            peer.write(e.bytes);
            break;
          case "close":
            stop();
            this.emit({ type: "disconnected", peer: peer.remote, reason: e.reason });
            return;
          case "command":
            executed.push(e.command);
            break;
          case "clock-sync":
            this.emit({ type: "clock-sync", peer: peer.remote, time: e.time });
            break;
          case "warning":
            this.emit({ type: "warning", peer: peer.remote, message: e.message });
            break;
          default:
            break;
        }
      }
      for (const cmd of executed) this.onExecuted(cmd, peer.remote);
      if (closed) return;
      const at = station.nextDeadline();
      if (at === timerAt) return;
      if (timer !== undefined) clock.clearTimer(timer);
      timer = undefined;
      timerAt = at;
      if (at !== undefined) {
        timer = clock.setTimer(
          () => {
            timer = timerAt = undefined;
            carry(station.tick());
          },
          Math.max(0, at - clock.now()),
        );
      }
    };
    const entry: Peer = { remote: peer.remote, station, carry, stop };
    this.peers.add(entry);
    this.emit({ type: "connected", peer: peer.remote });
    return {
      data: (bytes) => {
        if (!closed) carry(station.receive(bytes));
      },
      closed: (reason) => {
        if (closed) return;
        stop();
        this.emit({ type: "disconnected", peer: peer.remote, reason });
      },
    };
  }

  private decide(cmd: CommandObject): boolean | string {
    const c = this.commandByIoa.get(cmd.ioa);
    if (c !== undefined && !c.accept) return `IOA ${cmd.ioa} is set to reject commands`;
    return true;
  }

  private onExecuted(cmd: CommandObject, remote: string): void {
    this.emit({ type: "command", peer: remote, command: cmd });
    const c = this.commandByIoa.get(cmd.ioa);
    if (c === undefined || c.feedback === 0) return;
    try {
      this.set(c.feedback, cmd.value);
    } catch (err) {
      this.emit({ type: "warning", peer: remote, message: `feedback of ${cmd.ioa}: ${errorMessage(err)}` });
    }
  }
}
