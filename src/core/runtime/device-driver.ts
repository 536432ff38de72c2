/**
 * How the manager runs a registry device: a driver per protocol starts a DeviceRun from the device's
 * record, its terms and their points, and the run applies later registry changes in place where it can
 * (a point added to a term re-plans that term only) or asks to be restarted (host or options changed).
 */
import type { DataPoint, PointKey } from "../model/datapoint";
import type { Device } from "../model/device";
import type { Point } from "../model/point";
import type { Term } from "../model/term";
import type { Clock, TrafficListener } from "../../transport/connection";

export interface DeviceRunContext {
  readonly clock: Clock;
  /** Samples made by the run, to be stored and published. */
  publish(points: readonly DataPoint[]): void;
  /** The device's live status changed (online, last seen, last error, counters). */
  status(update: DeviceStatusUpdate): void;
  /** Something about the device's configuration cannot run (a bad address, bad options). */
  problem(message: string): void;
  /**
   * The device's frame log in the store: a driver whose device has the `frameLog` option on hands its
   * connection's traffic here (frame-log.ts).
   */
  readonly frames?: TrafficListener;
}

export interface DeviceStatusUpdate {
  readonly online: boolean;
  readonly lastSeen?: number;
  readonly lastError?: string;
  readonly requests?: number;
  readonly failures?: number;
}

export interface DeviceRun {
  /** Apply a new version of the device; "restart" when it cannot be applied in place. */
  update(device: Device, terms: readonly Term[], points: readonly Point[]): "updated" | "restart";
  /** Read one point now (REST device_call); undefined when the point is not the run's. */
  call?(key: PointKey): Promise<DataPoint | undefined>;
  /** Write a value to one of the run's points (REST device_ctrl); resolves once the device confirmed. */
  control?(point: Point, value: number | boolean | string): Promise<string>;
  /** What runs, per term: reads per cycle and cycles so far (status pages, diagnostics). */
  info(): Readonly<Record<string, TermInfo>>;
  close(): Promise<void>;
}

export interface TermInfo {
  readonly reads: number;
  readonly points: number;
  readonly cycles: number;
  readonly failedCycles: number;
  readonly lastError?: string;
}

export interface DeviceDriver {
  start(device: Device, terms: readonly Term[], points: readonly Point[], ctx: DeviceRunContext): DeviceRun;
}
