/**
 * The store: where a manager keeps its registry and shared state. Two implementations pass one contract
 * suite (test/integration/store/contract.ts): MemoryStore (embedded, one instance) and RedisStore
 * (several instances on one namespace). Layout and wire formats: docs/redis-keys.md.
 */
import type { DataPoint, PointKey } from "../model/datapoint";
import type { PointsEnvelope } from "../bus/envelope";
import type { Registry } from "./registry";

/** Connection state, for node status dots. The memory store is always connected until closed. */
export type StoreState =
  | { readonly kind: "connecting" }
  | { readonly kind: "connected" }
  | { readonly kind: "reconnecting"; readonly attempt: number; readonly delayMs: number }
  | { readonly kind: "error"; readonly message: string }
  | { readonly kind: "closed" };

/** One frame on a device's wire, for commissioning (the frame log). */
export interface FrameRecord {
  readonly ts: number;
  readonly dir: "rx" | "tx";
  /** The bytes as hex. */
  readonly data: string;
  readonly note?: string;
}

/** The state of one alarm condition of one point (e.g. `high`, `stale`). */
export interface AlarmState {
  readonly key: PointKey;
  readonly condition: string;
  readonly active: boolean;
  readonly acked: boolean;
  /** When the condition last changed (epoch ms). */
  readonly ts: number;
  readonly value?: number | boolean | string | null;
  readonly limit?: number;
  /** 1 (least) to 1000 (most). Earlier versions stored it as text; the stores read that as a number. */
  readonly severity?: number;
  readonly message?: string;
}

export interface DeviceStatus {
  readonly online: boolean;
  /** When this status was written. */
  readonly ts: number;
  readonly lastSeen?: number;
  readonly lastError?: string;
  /** The instance polling the device. */
  readonly owner?: string;
}

/** An entry of the durable events stream, as a consumer group reads it. */
export type EventRecord =
  | { readonly id: string; readonly ok: true; readonly envelope: PointsEnvelope }
  | { readonly id: string; readonly ok: false; readonly reason: string };

export interface StoreBounds {
  /** Samples kept per point (history stream). Default 10,000. */
  readonly history: number;
  /** Frames kept per device. Default 1,000. */
  readonly frames: number;
  /** Batches kept in the durable events stream. Default 100,000. */
  readonly events: number;
  /**
   * "approx" trims Redis streams with `MAXLEN ~`, which is cheap but may keep up to one stream node
   * (stream-node-max-entries, 100 by default) beyond the bound; "exact" keeps exactly the bound.
   */
  readonly trim: "approx" | "exact";
}

export const DEFAULT_BOUNDS: StoreBounds = {
  history: 10_000,
  frames: 1_000,
  events: 100_000,
  trim: "approx",
};

export type Unsubscribe = () => void;

export interface Store {
  readonly kind: "memory" | "redis";
  /**
   * Where the store lives, for messages that say it cannot be reached: `Redis at 127.0.0.1:6379`. Host
   * and port only, never a password.
   */
  readonly location: string;
  /** The key prefix, e.g. `dc:`. */
  readonly namespace: string;
  readonly instanceId: string;
  readonly bounds: StoreBounds;
  readonly state: StoreState;
  onState(listener: (state: StoreState) => void): Unsubscribe;

  /** Devices, terms, items, points and formulas, with cascades and change notifications. */
  readonly registry: Registry;

  /**
   * Store a batch: latest value and history of each point, one entry in the durable events stream, and
   * the envelope published to other instances — all in one atomic step. Samples are stored in the
   * order given; the latest value is the last one written, whatever its time stamp.
   */
  ingest(envelope: PointsEnvelope): Promise<void>;
  /** Batches ingested by other instances of this namespace (never this store's own). */
  onRemotePoints(listener: (envelope: PointsEnvelope) => void): Unsubscribe;
  /**
   * Whether every batch other instances have published so far has reached the `onRemotePoints`
   * listeners: false while the subscription is away or reading back what it missed. A store without
   * other instances leaves it out.
   */
  caughtUp?(): boolean;
  latest(key: PointKey): Promise<DataPoint | undefined>;
  latestMany(keys: readonly PointKey[]): Promise<(DataPoint | undefined)[]>;
  /** The newest `count` samples of a point, newest first. */
  history(key: PointKey, count: number): Promise<DataPoint[]>;
  historyLength(key: PointKey): Promise<number>;

  appendFrames(deviceId: string, frames: readonly FrameRecord[]): Promise<void>;
  /** The newest `count` frames of a device, newest first. */
  frames(deviceId: string, count: number): Promise<FrameRecord[]>;
  framesLength(deviceId: string): Promise<number>;

  putAlarm(alarm: AlarmState): Promise<void>;
  deleteAlarm(key: PointKey, condition: string): Promise<void>;
  /** Alarm states of one point, or of every point that has any. */
  alarms(key?: PointKey): Promise<AlarmState[]>;

  setDeviceStatus(deviceId: string, status: DeviceStatus): Promise<void>;
  deviceStatus(deviceId: string): Promise<DeviceStatus | undefined>;
  allDeviceStatus(): Promise<Map<string, DeviceStatus>>;

  /**
   * The durable events stream for savers: a consumer group `group` that starts at the oldest kept entry
   * ("start") or at new entries only ("end"). Creating an existing group is not an error.
   */
  ensureEventGroup(group: string, from: "start" | "end"): Promise<void>;
  /** New entries for `consumer` in `group`, waiting up to `blockMs` (0: do not wait) when there are none. */
  readEvents(group: string, consumer: string, count: number, blockMs: number): Promise<EventRecord[]>;
  /** Entries delivered to `consumer` and not acknowledged yet (after a crash or a failed write). */
  readPendingEvents(group: string, consumer: string, count: number): Promise<EventRecord[]>;
  ackEvents(group: string, ids: readonly string[]): Promise<number>;
  eventsLength(): Promise<number>;

  /** Close every connection and timer; pending blocking reads return empty. */
  close(): Promise<void>;
}
