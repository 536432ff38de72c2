/**
 * Registry devices with protocol `modbus-tcp`: the shared connection to host:port, one scheduled poll
 * per term (the term's `pollInterval`, unit id = the term's `address`), points mapped by their address
 * text (`HR0:float32:CDAB`) with the point's scaling and deadband.
 */
import crypto from "node:crypto";
import { DataCollError, errorMessage } from "../errors";
import { splitPointKey, type DataPoint, type PointKey } from "../model/datapoint";
import type { Device } from "../model/device";
import type { Point } from "../model/point";
import type { Term } from "../model/term";
import type { ModbusClient } from "./client";
import { parsePointAddress, type ModbusPointAddress } from "./point-address";
import type { Scaling } from "../model/scaling";
import { writePoint } from "./write-point";
import { Scheduler } from "../scheduler";
import { pointsByTerm } from "../runtime/table-cells";
import type { DeviceDriver, DeviceRun, DeviceRunContext, TermInfo } from "../runtime/device-driver";
import { acquireModbusClient, parseModbusDeviceSettings, type ModbusDeviceSettings } from "./devices";
import { ModbusTerm, type ModbusTermPoint } from "./term";
import type { PoolLease } from "../runtime/shared-pool";
import { wantsFrameLog } from "../runtime/frame-log";

/**
 * Parsed point addresses and the identity scaling are shared by every term (both are read-only): a plant
 * repeats one register map over many devices of a model, and an object per point for each cost ~80 bytes
 * per point (bench/manager.bench.ts, heap_per_point). The cache is bounded; beyond it addresses are
 * parsed per point as before.
 */
const UNIT_SCALING: Scaling = Object.freeze({ coefficient: 1, base: 0 });
const ADDRESS_CACHE_MAX = 100_000;
const addresses = new Map<string, ModbusPointAddress>();

function sharedAddress(text: string): ModbusPointAddress {
  let a = addresses.get(text);
  if (a === undefined) {
    a = Object.freeze(parsePointAddress(text));
    if (addresses.size < ADDRESS_CACHE_MAX) addresses.set(text, a);
  }
  return a;
}

function settingsOf(device: Device): ModbusDeviceSettings {
  return parseModbusDeviceSettings({ ...device.options, host: device.host, port: device.port });
}

interface TermRun {
  readonly term: ModbusTerm;
  intervalMs: number;
  fingerprint: string;
}

class ModbusDeviceRun implements DeviceRun {
  private readonly lease: PoolLease<ModbusClient>;
  private readonly client: ModbusClient;
  private readonly scheduler: Scheduler;
  private readonly terms = new Map<string, TermRun>();
  private readonly settingsJson: string;
  private readonly offState: () => void;
  private offFrames: (() => void) | undefined;
  private lastError: string | undefined;
  private closed = false;

  constructor(
    private device: Device,
    terms: readonly Term[],
    points: readonly Point[],
    private readonly ctx: DeviceRunContext,
  ) {
    const settings = settingsOf(device);
    this.settingsJson = JSON.stringify(settings);
    this.lease = acquireModbusClient(settings);
    this.client = this.lease.value;
    this.scheduler = new Scheduler(ctx.clock, (_id, err) => this.report(errorMessage(err)));
    this.offState = this.client.onStateChange((c) => {
      if (c.state === "connected") ctx.status({ online: true, lastError: this.lastError });
      else if (c.state === "backoff") ctx.status({ online: false, lastError: c.reason ?? "disconnected" });
    });
    this.followFrames(device);
    this.applyTerms(terms, points);
  }

  /** The frame log follows the device's `frameLog` option, switched in place (it is not a setting). */
  private followFrames(device: Device): void {
    const frames = this.ctx.frames;
    if (wantsFrameLog(device.options) && frames !== undefined)
      this.offFrames ??= this.client.onTraffic(frames);
    else {
      this.offFrames?.();
      this.offFrames = undefined;
    }
  }

  update(device: Device, terms: readonly Term[], points: readonly Point[]): "updated" | "restart" {
    if (!device.enabled) return "restart";
    let settings: string;
    try {
      settings = JSON.stringify(settingsOf(device));
    } catch {
      return "restart"; // the new options are invalid: the restart reports why
    }
    if (settings !== this.settingsJson) return "restart";
    this.device = device;
    this.followFrames(device);
    this.applyTerms(terms, points);
    return "updated";
  }

  async call(key: PointKey): Promise<DataPoint | undefined> {
    const ids = splitPointKey(key);
    for (const run of this.terms.values()) {
      if (ids?.deviceId !== this.device.id || ids.termId !== run.term.termId) continue;
      const points = await run.term.poll(this.client, "call", this.ctx.clock.now, true);
      this.ctx.publish(points);
      return points.find((p) => p.key === key);
    }
    return undefined;
  }

  async control(point: Point, value: number | boolean | string): Promise<string> {
    const run = this.terms.get(point.termId);
    if (!run)
      throw new DataCollError("not-found", `term ${point.termId} is not polled on device ${this.device.id}`);
    const req = await writePoint(this.client, run.term.unit, parsePointAddress(point.address), value, {
      scaling: { coefficient: point.coefficient, base: point.base },
    });
    return `${req.fn} at ${req.address} confirmed by unit ${run.term.unit}`;
  }

  info(): Readonly<Record<string, TermInfo>> {
    const out: Record<string, TermInfo> = {};
    for (const [id, { term }] of this.terms) {
      const s = term.stats;
      out[id] = {
        reads: term.reads.length,
        points: term.size,
        cycles: s.cycles,
        failedCycles: s.failedCycles,
        ...(s.lastError ? { lastError: s.lastError } : {}),
      };
    }
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.scheduler.close();
    this.offState();
    this.offFrames?.();
    await this.lease.release();
  }

  private report(message: string): void {
    this.lastError = message;
  }

  /** Bring the scheduled terms in line with the registry, touching only terms that changed. */
  private applyTerms(terms: readonly Term[], points: readonly Point[]): void {
    const byTerm = pointsByTerm(points);
    const wanted = new Set<string>();
    for (const t of terms) {
      if (t.pollInterval <= 0) continue;
      wanted.add(t.id);
      const termPoints = this.termPoints(t, byTerm.get(t.id) ?? []);
      // A digest, not the JSON itself: kept per term for the run's life, the JSON cost ~150 bytes per
      // point (bench/manager.bench.ts, heap_per_point).
      const fingerprint = crypto
        .createHash("sha1")
        .update(JSON.stringify([t.address, termPoints]))
        .digest("base64");
      const existing = this.terms.get(t.id);
      if (existing && existing.fingerprint === fingerprint && existing.intervalMs === t.pollInterval)
        continue;
      if (existing && existing.term.unit === t.address) {
        if (existing.fingerprint !== fingerprint) existing.term.setPoints(termPoints);
        existing.fingerprint = fingerprint;
        if (existing.intervalMs !== t.pollInterval) {
          existing.intervalMs = t.pollInterval;
          this.schedule(existing);
        }
        continue;
      }
      const run: TermRun = {
        term: new ModbusTerm(this.device.id, t.id, t.address, termPoints),
        intervalMs: t.pollInterval,
        fingerprint,
      };
      this.terms.set(t.id, run);
      this.schedule(run);
    }
    for (const id of [...this.terms.keys()]) {
      if (!wanted.has(id)) {
        this.terms.delete(id);
        this.scheduler.delete(id);
      }
    }
  }

  private schedule(run: TermRun): void {
    this.scheduler.set({
      id: run.term.termId,
      intervalMs: run.intervalMs,
      run: async () => {
        const points = await run.term.poll(this.client, "poll", this.ctx.clock.now);
        // A cycle in flight when the run closed (lease handed over, device removed) fails with the
        // socket: that is not the device's state, and another instance may be polling it by now.
        if (this.closed) return;
        const stats = run.term.stats;
        if (stats.lastError) this.lastError = stats.lastError;
        else this.lastError = undefined;
        const s = this.client.stats;
        this.ctx.status({
          online: this.client.state === "connected",
          ...(stats.lastError ? { lastError: stats.lastError } : { lastSeen: this.ctx.clock.now() }),
          requests: s.requests,
          failures: s.failures,
        });
        if (points.length > 0) this.ctx.publish(points);
      },
    });
  }

  private termPoints(term: Term, points: readonly Point[]): ModbusTermPoint[] {
    const out: ModbusTermPoint[] = [];
    for (const p of points) {
      try {
        out.push({
          itemId: p.itemId,
          address: sharedAddress(p.address),
          scaling:
            p.coefficient === 1 && p.base === 0 ? UNIT_SCALING : { coefficient: p.coefficient, base: p.base },
          deadband: p.deadband,
        });
      } catch (err) {
        this.ctx.problem(`point ${p.key} on term ${term.id}: ${errorMessage(err)}`);
      }
    }
    return out.sort((a, b) => (a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0));
  }
}

export const modbusDriver: DeviceDriver = {
  start: (device, terms, points, ctx) => new ModbusDeviceRun(device, terms, points, ctx),
};
