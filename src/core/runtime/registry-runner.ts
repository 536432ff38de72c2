/**
 * The DeviceManager at run time (docs/architecture.md §1, §7): it runs the registry's devices, with no
 * node drawn per device. It loads the registry, takes the devices this instance owns (all of them on the
 * embedded store; a fair share through leases with Redis), starts a protocol driver for each, writes
 * device status, and applies registry changes within a moment, touching only what changed: a point added
 * to a term re-plans that term, a device whose host changed is restarted, the others keep polling.
 */
import { DataCollError, errorMessage } from "../errors";
import type { Manager } from "../manager";
import { deviceOfPointKey, type DataPoint, type PointKey } from "../model/datapoint";
import { NO_DRIVER_PROTOCOLS, type Protocol } from "../model/device";
import type { RegistryChange } from "../model/change";
import type { DeviceStatus } from "../store/store";
import type { Clock, TimerHandle } from "../../transport/connection";
import type { DeviceDriver, DeviceRun, DeviceStatusUpdate, TermInfo } from "./device-driver";
import { LeaseKeeper, LocalLeaseBackend, type LeaseBackend } from "./leases";
import { FrameLogWriter } from "./frame-log";

export interface RunnerOptions {
  readonly clock: Clock;
  readonly drivers: Partial<Record<Protocol, DeviceDriver>>;
  /** Leases across instances; the local backend (own every device) when absent. */
  readonly leases?: LeaseBackend;
  readonly leaseMs?: number;
  /** Registry changes are gathered this long before they are applied, so a burst reloads once. */
  readonly settleMs?: number;
  /** A registry load or reload that failed (the store unreachable) is tried again after this long. */
  readonly retryMs?: number;
  readonly onProblem?: (deviceId: string, message: string) => void;
  /**
   * A write to the store failed (Redis away): which write, for which device (`*`: samples, which the
   * manager writes for every device together), so the log names what was not stored.
   */
  readonly onStoreError?: (what: StoreWrite, deviceId: string, err: unknown) => void;
}

/** What the runner writes to the store besides the registry. */
export type StoreWrite = "samples" | "device status" | "frame log";

/** The last status written for a device, shared by its run's callbacks. */
interface StatusBox {
  status: DeviceStatus;
}

interface Running {
  readonly run: DeviceRun;
  readonly box: StatusBox;
  /** The device's frame log writer, made on its first frame. */
  readonly frames: { writer?: FrameLogWriter };
}

export class RegistryRunner {
  private readonly running = new Map<string, Running>();
  private readonly owned = new Set<string>();
  private readonly leases: LeaseKeeper;
  private readonly pending = new Set<string>();
  private pendingAll = false;
  private settleTimer: TimerHandle | undefined;
  private reloading: Promise<void> = Promise.resolve();
  private offChange: (() => void) | undefined;
  private closed = false;
  /** The wait before the next try of a failed start, ended early by close(). */
  private retryWait: { readonly handle: TimerHandle; readonly resolve: () => void } | undefined;
  /** Which device each term belongs to, to place a deleted term's change. */
  private readonly termDevice = new Map<string, string>();

  constructor(
    private readonly manager: Manager,
    private readonly opts: RunnerOptions,
  ) {
    this.leases = new LeaseKeeper(
      opts.clock,
      opts.leases ?? new LocalLeaseBackend(),
      {
        gained: (id) => {
          this.owned.add(id);
          this.queue([id]);
        },
        lost: (id) => {
          this.owned.delete(id);
          void this.stop(id);
        },
      },
      { ttlMs: opts.leaseMs ?? 10_000 },
    );
  }

  /** Devices running here now. */
  get devices(): string[] {
    return [...this.running.keys()];
  }

  /**
   * Load the registry and start; registry changes are followed from now on. While the store cannot be
   * reached (a Redis restart during a deploy) the load is tried again until it works or the runner is
   * closed: a runtime that gave up would run no device for good.
   */
  async start(): Promise<void> {
    this.offChange = this.manager.registry.onChange((changes) => this.onChanges(changes));
    for (;;) {
      try {
        await this.reloadAll();
        return;
      } catch (err) {
        if (this.closed) return;
        this.opts.onProblem?.("*", `registry load failed, trying again: ${errorMessage(err)}`);
        await new Promise<void>((resolve) => {
          const handle = this.opts.clock.setTimer(() => {
            this.retryWait = undefined;
            resolve();
          }, this.retryMs);
          this.retryWait = { handle, resolve };
        });
        if (this.closed) return;
      }
    }
  }

  private get retryMs(): number {
    return this.opts.retryMs ?? 1000;
  }

  /** Per-term run information of a device running here. */
  info(deviceId: string): Readonly<Record<string, TermInfo>> | undefined {
    return this.running.get(deviceId)?.run.info();
  }

  /** Read one point now through its running device (REST device_call). */
  async call(key: PointKey): Promise<DataPoint> {
    const run = this.runOf(key);
    const point = await run.call?.(key);
    if (!point)
      throw new DataCollError("not-found", `point ${key} is not polled by device ${deviceOfPointKey(key)}`);
    return point;
  }

  /** Write a value to a point through its running device (REST device_ctrl). */
  async control(key: PointKey, value: number | boolean | string): Promise<string> {
    const point = await this.manager.registry.getPoint(key);
    if (!point) throw new DataCollError("not-found", `point ${key} is not in the registry`);
    const run = this.runOf(key);
    if (!run.control) throw new DataCollError("unsupported", `device ${point.deviceId} takes no commands`);
    return run.control(point, value);
  }

  private runOf(key: PointKey): DeviceRun {
    const deviceId = deviceOfPointKey(key);
    const entry = this.running.get(deviceId);
    if (!entry) {
      throw new DataCollError(
        "not-running",
        `device ${deviceId} is not running on this instance (${this.manager.settings.instanceId}); ask the instance that owns it`,
      );
    }
    return entry.run;
  }

  /** Resolves once queued registry changes have been applied (for tests and orderly shutdown). */
  async settled(): Promise<void> {
    while (this.settleTimer !== undefined || this.pending.size > 0 || this.pendingAll) {
      if (this.settleTimer !== undefined) {
        this.opts.clock.clearTimer(this.settleTimer);
        this.settleTimer = undefined;
        this.flush();
      }
      await this.reloading;
    }
    await this.reloading;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.offChange?.();
    if (this.retryWait !== undefined) {
      this.opts.clock.clearTimer(this.retryWait.handle);
      this.retryWait.resolve();
      this.retryWait = undefined;
    }
    if (this.settleTimer !== undefined) this.opts.clock.clearTimer(this.settleTimer);
    this.settleTimer = undefined;
    await this.reloading;
    await this.leases.close();
    await Promise.all([...this.running.keys()].map((id) => this.stop(id)));
  }

  private onChanges(changes: readonly RegistryChange[]): void {
    const ids: string[] = [];
    for (const c of changes) {
      if (c.kind === "device") ids.push(c.id);
      else if (c.kind === "point") ids.push(deviceOfPointKey(c.id));
      else if (c.kind === "term") {
        const device = this.termDevice.get(c.id);
        if (device) ids.push(device);
        else this.pendingAll = true; // a term we have not seen: find its device on reload
      }
    }
    this.queue(ids);
  }

  private queue(ids: readonly string[], delayMs = this.opts.settleMs ?? 50): void {
    for (const id of ids) this.pending.add(id);
    if (this.closed || this.settleTimer !== undefined) return;
    this.settleTimer = this.opts.clock.setTimer(() => {
      this.settleTimer = undefined;
      this.flush();
    }, delayMs);
  }

  private flush(): void {
    const all = this.pendingAll;
    const ids = [...this.pending];
    this.pending.clear();
    this.pendingAll = false;
    this.reloading = this.reloading
      .then(async () => {
        if (all) await this.reloadAll();
        else await Promise.all(ids.map((id) => this.reloadDevice(id)));
      })
      .then(
        () => undefined,
        (err: unknown) => {
          // Try the same changes again: one dropped would leave a device whose lease was gained here
          // not running (nobody polls it while this instance renews the lease), or running stale.
          this.opts.onProblem?.("*", `registry reload failed, trying again: ${errorMessage(err)}`);
          if (all) this.pendingAll = true;
          this.queue(ids, this.retryMs);
        },
      );
  }

  /** Runnable devices: enabled, with a protocol that has a driver here. */
  private async reloadAll(): Promise<void> {
    const devices = await this.manager.registry.listDevices();
    const runnable = devices.filter((d) => d.enabled && this.opts.drivers[d.protocol] !== undefined);
    for (const d of devices) if (NO_DRIVER_PROTOCOLS.has(d.protocol)) this.noDriver(d.id, d.protocol);
    this.leases.setDevices(runnable.map((d) => d.id));
    await this.leases.round();
    const ids = new Set([...runnable.map((d) => d.id), ...this.running.keys()]);
    await Promise.all([...ids].map((id) => this.reloadDevice(id)));
  }

  private async reloadDevice(id: string): Promise<void> {
    if (this.closed) return;
    const registry = this.manager.registry;
    const device = await registry.getDevice(id);
    const driver = device ? this.opts.drivers[device.protocol] : undefined;
    if (!device || !device.enabled || !driver) {
      await this.stop(id);
      if (device && NO_DRIVER_PROTOCOLS.has(device.protocol)) this.noDriver(id, device.protocol);
      this.leases.setDevices(await this.runnableIds());
      return;
    }
    if (!this.leases.holds(id) && !this.owned.has(id)) {
      // Not ours (yet): make sure the lease keeper knows the device, and let it decide.
      this.leases.setDevices(await this.runnableIds());
      return;
    }
    const terms = await registry.listTerms(id);
    for (const t of terms) this.termDevice.set(t.id, id);
    const points = await registry.listPoints({ deviceId: id });
    const current = this.running.get(id);
    if (current && current.run.update(device, terms, points) === "updated") return;
    if (current) await this.stop(id);
    if (this.closed || !this.owned.has(id)) return;
    try {
      const status: DeviceStatus = {
        online: false,
        ts: this.opts.clock.now(),
        owner: this.manager.settings.instanceId,
      };
      const box: StatusBox = { status };
      const frames: Running["frames"] = {};
      const run = driver.start(device, terms, points, {
        clock: this.opts.clock,
        publish: (pts) => this.publish(pts),
        status: (u) => this.updateStatus(id, box, u),
        problem: (message) => this.opts.onProblem?.(id, message),
        frames: (dir, bytes, at) => {
          frames.writer ??= new FrameLogWriter(id, this.manager.store, this.opts.clock, (err) =>
            this.opts.onStoreError?.("frame log", id, err),
          );
          frames.writer.add(dir, bytes, at);
        },
      });
      this.running.set(id, { run, box, frames });
      void this.manager.store
        .setDeviceStatus(id, status)
        .catch((err: unknown) => this.opts.onStoreError?.("device status", id, err));
    } catch (err) {
      this.opts.onProblem?.(id, errorMessage(err));
      void this.manager.store
        .setDeviceStatus(id, { online: false, ts: this.opts.clock.now(), lastError: errorMessage(err) })
        .catch((e: unknown) => this.opts.onStoreError?.("device status", id, e));
    }
  }

  /** A device of a protocol nothing runs (the older system stored those too): its status says why. */
  private noDriver(id: string, protocol: Protocol): void {
    const lastError = `there is no ${protocol} driver: the device is kept in the registry and not run`;
    void this.manager.store
      .setDeviceStatus(id, { online: false, ts: this.opts.clock.now(), lastError })
      .catch((err: unknown) => this.opts.onStoreError?.("device status", id, err));
  }

  private async runnableIds(): Promise<string[]> {
    const devices = await this.manager.registry.listDevices();
    return devices.filter((d) => d.enabled && this.opts.drivers[d.protocol] !== undefined).map((d) => d.id);
  }

  private async stop(id: string): Promise<void> {
    const entry = this.running.get(id);
    if (!entry) return;
    this.running.delete(id);
    await entry.run.close();
    await entry.frames.writer?.close();
  }

  private publish(points: readonly DataPoint[]): void {
    this.manager.publish(points).catch((err: unknown) => this.opts.onStoreError?.("samples", "*", err));
  }

  private updateStatus(id: string, box: StatusBox, u: DeviceStatusUpdate): void {
    const prev = box.status;
    const next: DeviceStatus = {
      online: u.online,
      ts: this.opts.clock.now(),
      owner: this.manager.settings.instanceId,
      ...(u.lastSeen !== undefined
        ? { lastSeen: u.lastSeen }
        : prev.lastSeen !== undefined
          ? { lastSeen: prev.lastSeen }
          : {}),
      ...(u.lastError !== undefined ? { lastError: u.lastError } : {}),
    };
    box.status = next;
    // Status is written on a change of online/error, and at most once a second otherwise.
    if (prev.online === next.online && prev.lastError === next.lastError && next.ts - prev.ts < 1000) {
      box.status = { ...next, ts: prev.ts };
      return;
    }
    if (this.running.get(id)?.box !== box) return;
    void this.manager.store
      .setDeviceStatus(id, next)
      .catch((err: unknown) => this.opts.onStoreError?.("device status", id, err));
  }
}
