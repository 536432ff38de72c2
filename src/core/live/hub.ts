/**
 * The live view's feed for one manager: the latest sample of every point seen (registry points first,
 * then whatever arrives on the bus, from this instance or others), a short trend per point for
 * sparklines, device status and active alarms. It follows the bus from the moment it is made (the live
 * view makes one when the manager starts), so the first viewer's snapshot already holds the points of
 * flow-drawn devices, which the registry does not know, with their trend. Viewers attach a sink; the
 * timers run only while someone watches, and bursts are coalesced: at most one `points` event per flush
 * interval, carrying only what changed.
 */
import type { Manager } from "../manager";
import { deviceOfPointKey, type DataPoint, type PointKey } from "../model/datapoint";
import type { AlarmState, DeviceStatus } from "../store/store";
import type { Clock, TimerHandle } from "../../transport/connection";

export interface LivePoint {
  readonly key: PointKey;
  readonly value: DataPoint["value"];
  readonly quality: DataPoint["quality"];
  readonly ts: number;
  readonly cause: DataPoint["cause"];
  /** Recent numeric values, oldest first, for a sparkline. */
  readonly trend: readonly number[];
}

export interface LiveDevice {
  readonly id: string;
  readonly name: string;
  readonly protocol: string;
  readonly status: DeviceStatus | undefined;
}

export interface LiveSnapshot {
  readonly devices: readonly LiveDevice[];
  readonly points: readonly LivePoint[];
  readonly alarms: readonly AlarmState[];
}

export type LiveSink = (event: "snapshot" | "points" | "status", data: unknown) => void;

export interface HubOptions {
  readonly clock: Clock;
  readonly flushMs?: number;
  readonly statusMs?: number;
  readonly trendLength?: number;
  /** Points kept; beyond it the least recently updated are forgotten. */
  readonly maxPoints?: number;
}

/** A point as the hub keeps it: updated in place, since every sample of the manager passes through here. */
interface Entry {
  key: PointKey;
  value: DataPoint["value"];
  quality: DataPoint["quality"];
  ts: number;
  cause: DataPoint["cause"];
  trend: number[];
  /** When it was last updated (a counter): the least recently updated points are forgotten first. */
  seq: number;
}

/** What viewers get: a copy, so a later sample does not change what was sent. */
function view(e: Entry): LivePoint {
  return { key: e.key, value: e.value, quality: e.quality, ts: e.ts, cause: e.cause, trend: [...e.trend] };
}

export class LiveHub {
  private points = new Map<PointKey, Entry>();
  private seq = 0;
  /**
   * Whether `points` is kept in update order (least recent first), for forgetting points beyond
   * maxPoints. Moving every sample's point to the end of the map costs a delete and an insert per
   * sample, so it starts only once the map first outgrows maxPoints; until then `seq` alone says the
   * order, and the map is sorted by it at that moment.
   */
  private ordered = false;
  private readonly changed = new Set<PointKey>();
  private readonly sinks = new Set<LiveSink>();
  private unsubscribe: (() => void) | undefined;
  private flushTimer: TimerHandle | undefined;
  private statusTimer: TimerHandle | undefined;
  private seeded: Promise<void> | undefined;

  constructor(
    readonly manager: Manager,
    private readonly opts: HubOptions,
  ) {
    const sub = manager.subscribe("#", (batch) => this.take(batch));
    this.unsubscribe = () => sub.unsubscribe();
  }

  get viewers(): number {
    return this.sinks.size;
  }

  /** Start feeding `sink` (a snapshot first, then changes); call the result to stop. */
  attach(sink: LiveSink): () => void {
    this.sinks.add(sink);
    if (this.sinks.size === 1) this.start();
    void this.snapshot().then(
      (snap) => this.sinks.has(sink) && sink("snapshot", snap),
      // The store is away, which the manager node reports; the viewer still gets the changes and statuses.
      () => undefined,
    );
    return () => {
      this.sinks.delete(sink);
      if (this.sinks.size === 0) this.stop();
    };
  }

  /** Devices, points and alarms as they are now. */
  async snapshot(): Promise<LiveSnapshot> {
    await (this.seeded ??= this.seed());
    return {
      devices: await this.devices(),
      points: [...this.points.values()]
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
        .map(view),
      alarms: await this.activeAlarms(),
    };
  }

  /** Stop everything (the manager is closing); viewers are told nothing more. */
  close(): void {
    this.sinks.clear();
    this.stop();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  private start(): void {
    // What changed while nobody watched is in the snapshot the new viewer gets.
    this.changed.clear();
    this.scheduleFlush();
    this.scheduleStatus();
  }

  private stop(): void {
    if (this.flushTimer !== undefined) this.opts.clock.clearTimer(this.flushTimer);
    if (this.statusTimer !== undefined) this.opts.clock.clearTimer(this.statusTimer);
    this.flushTimer = this.statusTimer = undefined;
  }

  private async seed(): Promise<void> {
    const keys = (await this.manager.registry.listPoints()).map((p) => p.key);
    const latest = keys.length > 0 ? await this.manager.store.latestMany(keys) : [];
    const withTrend = keys.slice(0, 200);
    // A history that cannot be read: that point starts with no trend, which grows from the bus.
    const histories = await Promise.all(
      withTrend.map((k) => this.manager.store.history(k, this.opts.trendLength ?? 30).catch(() => [])),
    );
    keys.forEach((key, i) => {
      const p = latest[i];
      if (!p || this.points.has(key)) return;
      const trend = (histories[i] ?? [])
        .map((h) => h.value)
        .filter((v): v is number => typeof v === "number")
        .reverse();
      this.points.set(key, {
        key,
        value: p.value,
        quality: p.quality,
        ts: p.ts,
        cause: p.cause,
        trend,
        seq: ++this.seq,
      });
    });
  }

  private take(batch: readonly DataPoint[]): void {
    const max = this.opts.maxPoints ?? 5000;
    const len = this.opts.trendLength ?? 30;
    const watched = this.sinks.size > 0;
    for (const p of batch) {
      let e = this.points.get(p.key);
      if (e === undefined) {
        e = {
          key: p.key,
          value: p.value,
          quality: p.quality,
          ts: p.ts,
          cause: p.cause,
          trend: [],
          seq: ++this.seq,
        };
        this.points.set(p.key, e);
      } else {
        e.value = p.value;
        e.quality = p.quality;
        e.ts = p.ts;
        e.cause = p.cause;
        e.seq = ++this.seq;
        if (this.ordered) {
          this.points.delete(p.key); // re-inserted: the map's order is least recently updated first
          this.points.set(p.key, e);
        }
      }
      if (typeof p.value === "number") {
        e.trend.push(p.value);
        if (e.trend.length > len) e.trend.shift();
      }
      if (watched) this.changed.add(p.key);
    }
    if (this.points.size <= max) return;
    if (!this.ordered) {
      this.points = new Map([...this.points].sort(([, a], [, b]) => a.seq - b.seq));
      this.ordered = true;
    }
    while (this.points.size > max) {
      const oldest = this.points.keys().next().value;
      if (oldest === undefined) break;
      this.points.delete(oldest);
      this.changed.delete(oldest);
    }
  }

  private scheduleFlush(): void {
    this.flushTimer = this.opts.clock.setTimer(() => {
      if (this.changed.size > 0) {
        const points: LivePoint[] = [];
        for (const k of this.changed) {
          const e = this.points.get(k);
          if (e !== undefined) points.push(view(e));
        }
        this.changed.clear();
        for (const s of this.sinks) s("points", points);
      }
      this.scheduleFlush();
    }, this.opts.flushMs ?? 500);
  }

  private scheduleStatus(): void {
    this.statusTimer = this.opts.clock.setTimer(() => {
      void Promise.all([this.devices(), this.activeAlarms()]).then(
        ([devices, alarms]) => {
          for (const s of this.sinks) s("status", { devices, alarms });
        },
        // The store is away, which the manager node reports; the next round tries again.
        () => undefined,
      );
      this.scheduleStatus();
    }, this.opts.statusMs ?? 2000);
  }

  /**
   * Registry devices with their stored status, then devices known only from their samples (flow-drawn
   * poll nodes): online while their newest sample is good, last seen at its time.
   */
  private async devices(): Promise<LiveDevice[]> {
    const [list, status] = await Promise.all([
      this.manager.registry.listDevices(),
      this.manager.store.allDeviceStatus(),
    ]);
    const out: LiveDevice[] = list.map((d) => ({
      id: d.id,
      name: d.name,
      protocol: d.protocol,
      status: status.get(d.id),
    }));
    const known = new Set(list.map((d) => d.id));
    const seen = new Map<string, { ts: number; seq: number; good: boolean }>();
    for (const p of this.points.values()) {
      const device = deviceOfPointKey(p.key);
      if (known.has(device) || p.cause === "formula") continue;
      const s = seen.get(device);
      // Of the newest samples, the least recently updated point's (the map's order is not update order).
      if (!s || p.ts > s.ts || (p.ts === s.ts && p.seq < s.seq))
        seen.set(device, { ts: p.ts, seq: p.seq, good: Object.keys(p.quality).length === 0 });
    }
    for (const [id, s] of [...seen].sort(([a], [b]) => (a < b ? -1 : 1))) {
      out.push({ id, name: id, protocol: "flow", status: { online: s.good, ts: s.ts, lastSeen: s.ts } });
    }
    return out;
  }

  private async activeAlarms(): Promise<AlarmState[]> {
    return (await this.manager.store.alarms()).filter((a) => a.active || !a.acked);
  }
}
