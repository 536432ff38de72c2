/**
 * Registry devices with protocol `iec104`: the shared master connection to the device's outstation(s),
 * one Iec104Term per term (common address = the term's `address`), points mapped by (common address, IOA)
 * from their address text (`1001` or `1001:M_ME_NC_1`) with the point's scaling and deadband. Data is
 * listened to as it comes (interrogation answers, spontaneous, periodic); each term with a `pollInterval`
 * is interrogated on that schedule, and every term's station when data transfer (re)starts.
 *
 * Device options are those of the `datacoll-iec104` node (commonAddress, k, w, t0..t3 in s, giInterval,
 * ciInterval, clockSyncOnStart, clockSyncInterval, hosts for redundant outstations besides `host`), and
 * selectBeforeOperate (default true) for commands.
 *
 * A point is controlled (REST device_ctrl) with the command type its address names (`100:C_SE_NC_1`,
 * or the older `code_type` 63), else the command that matches its monitor type (a float measured value
 * takes a float set point, a single point a single command).
 */
import { DataCollError, errorMessage } from "../errors";
import { TypeId } from "../../protocols/iec104/codec";
import { commandObject, sendCommand, type CommandKind } from "./command";
import { splitPointKey, type DataPoint, type PointKey } from "../model/datapoint";
import type { Device } from "../model/device";
import type { Point } from "../model/point";
import type { Term } from "../model/term";
import { Scheduler } from "../scheduler";
import type { Asdu } from "../../protocols/iec104/codec";
import { pointsByTerm } from "../runtime/table-cells";
import type { DeviceDriver, DeviceRun, DeviceRunContext, TermInfo } from "../runtime/device-driver";
import { acquireIec104Master, parseIec104DeviceSettings, type Iec104DeviceSettings } from "./devices";
import type { Iec104Master } from "./master";
import { Iec104Term, parseIec104Address, type Iec104TermPoint } from "./term";
import type { PoolLease } from "../runtime/shared-pool";

function settingsOf(device: Device, terms: readonly Term[]): Iec104DeviceSettings {
  const o = device.options;
  const extra = Array.isArray(o.hosts) ? o.hosts.map(String) : typeof o.hosts === "string" ? [o.hosts] : [];
  return parseIec104DeviceSettings({
    ...o,
    host: [device.host, ...extra].join(","),
    port: device.port,
    // The station interrogated at start-up: the option, else the first term's.
    commonAddress: o.commonAddress ?? terms[0]?.address ?? 1,
  });
}

/** The command that sets what a monitor type reports. */
const COMMAND_OF_MONITOR: ReadonlyMap<number, CommandKind> = new Map([
  [TypeId.M_SP_NA_1, "single-command"],
  [TypeId.M_DP_NA_1, "double-command"],
  [TypeId.M_ST_NA_1, "step-command"],
  [TypeId.M_ME_NA_1, "setpoint-normalized"],
  [TypeId.M_ME_NB_1, "setpoint-scaled"],
  [TypeId.M_ME_NC_1, "setpoint-float"],
]);

interface TermRun {
  readonly term: Iec104Term;
  intervalMs: number;
  fingerprint: string;
  interrogations: number;
  failed: number;
  lastError?: string;
}

class Iec104DeviceRun implements DeviceRun {
  private readonly lease: PoolLease<Iec104Master>;
  private readonly master: Iec104Master;
  private readonly scheduler: Scheduler;
  private readonly terms = new Map<string, TermRun>();
  private readonly settingsJson: string;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    private device: Device,
    terms: readonly Term[],
    points: readonly Point[],
    private readonly ctx: DeviceRunContext,
  ) {
    const settings = settingsOf(device, terms);
    this.settingsJson = JSON.stringify(settings);
    this.lease = acquireIec104Master(settings);
    this.master = this.lease.value;
    // Its one task (interrogate, below) catches and counts its own failures per term: none reach here.
    this.scheduler = new Scheduler(ctx.clock, () => undefined);
    this.unsubscribe.push(
      this.master.onData((asdu, at) => this.onData(asdu, at)),
      this.master.onStateChange((c) => {
        if (c.state !== "backoff") return;
        const reason = c.reason ?? "disconnected";
        ctx.status({ online: false, lastError: reason });
        // The station's last values are no longer topical: said once per item, as the poll node does.
        const now = ctx.clock.now();
        const lost = [...this.terms.values()].flatMap((run) => run.term.linkLost(now, reason));
        if (lost.length > 0) ctx.publish(lost);
      }),
      this.master.onStarted(() => {
        ctx.status({ online: true, lastSeen: ctx.clock.now() });
        // The master interrogates its default station itself; every other term's station is asked here.
        const own = settings.master.commonAddress;
        for (const run of this.terms.values()) {
          if (run.term.commonAddress !== own) void this.interrogate(run);
        }
      }),
    );
    if (settings.frameLog && ctx.frames !== undefined)
      this.unsubscribe.push(this.master.onTraffic(ctx.frames));
    this.applyTerms(terms, points);
    if (this.master.started) ctx.status({ online: true });
  }

  update(device: Device, terms: readonly Term[], points: readonly Point[]): "updated" | "restart" {
    if (!device.enabled) return "restart";
    let settings: string;
    try {
      settings = JSON.stringify(settingsOf(device, terms));
    } catch {
      return "restart"; // the new options are invalid: the restart reports why
    }
    if (settings !== this.settingsJson) return "restart";
    this.device = device;
    this.applyTerms(terms, points);
    return "updated";
  }

  /** A read command (C_RD_NA_1) for the point's IOA; the answer arrives as data with cause "call". */
  async call(key: PointKey): Promise<DataPoint | undefined> {
    const ids = splitPointKey(key);
    if (ids === undefined) return undefined;
    const run = this.terms.get(ids.termId);
    const point = run?.term.pointOf(ids.itemId);
    if (run === undefined || point === undefined) return undefined;
    await this.master.request({ kind: "read", ioa: point.ioa, commonAddress: run.term.commonAddress });
    return run.term.current().find((p) => p.key === key);
  }

  /** Send the point's command with the value and answer once the outstation confirmed it. */
  async control(point: Point, value: number | boolean | string): Promise<string> {
    const run = this.terms.get(point.termId);
    if (run === undefined) throw new DataCollError("not-found", `term ${point.termId} is not running`);
    const address = parseIec104Address(point.address);
    const command =
      address.command ??
      (address.typeId === undefined
        ? undefined
        : { kind: COMMAND_OF_MONITOR.get(address.typeId), withTime: false });
    if (command?.kind === undefined) {
      throw new DataCollError(
        "unsupported",
        `point ${point.key} names no command type: give one in its address (e.g. ${address.ioa}:C_SE_NC_1, ` +
          `or code_type 50 or 63)`,
      );
    }
    const done = await sendCommand(
      this.master,
      commandObject(command.kind, address.ioa, value, {
        scaling: { coefficient: point.coefficient, base: point.base },
      }),
      {
        commonAddress: run.term.commonAddress,
        withTime: command.withTime,
        // As the older driver did: select, then execute, unless the device says otherwise.
        selectBeforeOperate: this.device.options.selectBeforeOperate !== false,
      },
      () => this.ctx.clock.now(),
    );
    return `${done.type} to IOA ${done.ioa} of station ${done.commonAddress}: ${done.steps.join(", ")}`;
  }

  info(): Readonly<Record<string, TermInfo>> {
    const out: Record<string, TermInfo> = {};
    for (const [id, run] of this.terms) {
      const lastError = run.lastError ?? run.term.stats.lastError;
      out[id] = {
        reads: run.intervalMs > 0 ? 1 : 0,
        points: run.term.size,
        cycles: run.interrogations,
        failedCycles: run.failed,
        ...(lastError ? { lastError } : {}),
      };
    }
    return out;
  }

  async close(): Promise<void> {
    this.scheduler.close();
    for (const off of this.unsubscribe) off();
    await this.lease.release();
  }

  private onData(asdu: Asdu, at: number): void {
    const out: DataPoint[] = [];
    for (const run of this.terms.values()) {
      if (run.term.commonAddress === asdu.commonAddress) out.push(...run.term.accept(asdu, at));
    }
    if (out.length > 0) {
      this.ctx.publish(out);
      const s = this.master.stats;
      this.ctx.status({ online: true, lastSeen: at, requests: s.requests, failures: s.failures });
    }
  }

  private async interrogate(run: TermRun): Promise<void> {
    try {
      await this.master.request({ kind: "interrogation", commonAddress: run.term.commonAddress });
      run.interrogations++;
      run.lastError = undefined;
    } catch (err) {
      run.failed++;
      run.lastError = errorMessage(err);
    }
  }

  /** Bring the terms in line with the registry, touching only terms that changed. */
  private applyTerms(terms: readonly Term[], points: readonly Point[]): void {
    const byTerm = pointsByTerm(points);
    const wanted = new Set<string>();
    for (const t of terms) {
      wanted.add(t.id);
      const termPoints = this.termPoints(t, byTerm.get(t.id) ?? []);
      const fingerprint = JSON.stringify([t.address, termPoints]);
      const existing = this.terms.get(t.id);
      if (existing && existing.term.commonAddress === t.address) {
        if (existing.fingerprint !== fingerprint) existing.term.setPoints(termPoints);
        existing.fingerprint = fingerprint;
        if (existing.intervalMs !== t.pollInterval) {
          existing.intervalMs = t.pollInterval;
          this.schedule(existing);
        }
        continue;
      }
      const run: TermRun = {
        term: new Iec104Term(this.device.id, t.id, t.address, termPoints),
        intervalMs: t.pollInterval,
        fingerprint,
        interrogations: 0,
        failed: 0,
      };
      this.terms.set(t.id, run);
      this.schedule(run);
      // A term added while the link runs is interrogated at once, not at its first interval.
      if (this.master.started) void this.interrogate(run);
    }
    for (const id of [...this.terms.keys()]) {
      if (!wanted.has(id)) {
        this.terms.delete(id);
        this.scheduler.delete(id);
      }
    }
  }

  private schedule(run: TermRun): void {
    this.scheduler.delete(run.term.termId);
    if (run.intervalMs <= 0) return;
    this.scheduler.set({
      id: run.term.termId,
      intervalMs: run.intervalMs,
      run: async () => {
        if (this.master.started) await this.interrogate(run);
      },
    });
  }

  private termPoints(term: Term, points: readonly Point[]): Iec104TermPoint[] {
    const out: Iec104TermPoint[] = [];
    for (const p of points) {
      try {
        const { ioa, typeId } = parseIec104Address(p.address);
        out.push({
          itemId: p.itemId,
          ioa,
          ...(typeId === undefined ? {} : { typeId }),
          scaling: { coefficient: p.coefficient, base: p.base },
          deadband: p.deadband,
        });
      } catch (err) {
        this.ctx.problem(`point ${p.key} on term ${term.id}: ${errorMessage(err)}`);
      }
    }
    return out.sort((a, b) => a.ioa - b.ioa);
  }
}

export const iec104Driver: DeviceDriver = {
  start: (device, terms, points, ctx) => new Iec104DeviceRun(device, terms, points, ctx),
};
