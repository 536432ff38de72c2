/**
 * Starting the DeviceManager's runtime for a manager: the registry runner with every protocol driver,
 * leases in Redis when the manager's store is Redis (so several instances share the devices), and the
 * manager's REST actions (device_call, device_ctrl) pointed at it.
 */
import { errorMessage } from "./errors";
import type { Manager } from "./manager";
import type { Protocol } from "./model/device";
import { systemClock, type Clock } from "../transport/connection";
import type { DeviceDriver } from "./runtime/device-driver";
import { DEFAULT_LEASE_MS } from "./runtime/leases";
import { DRIVERS } from "./protocols";
import { RedisLeaseBackend } from "./runtime/redis-leases";
import { RegistryRunner } from "./runtime/registry-runner";
import { closeRedisAfter } from "./store/redis-close";

export interface ManagerRuntimeOptions {
  readonly clock?: Clock;
  readonly leaseMs?: number;
  readonly drivers?: Partial<Record<Protocol, DeviceDriver>>;
  readonly onProblem?: (deviceId: string, message: string) => void;
}

export interface ManagerRuntime {
  readonly runner: RegistryRunner;
  /** Resolves once the registry is loaded and owned devices are started. */
  readonly started: Promise<void>;
  close(): Promise<void>;
}

export function startManagerRuntime(manager: Manager, opts: ManagerRuntimeOptions = {}): ManagerRuntime {
  const s = manager.settings;
  // Leases get their own connection: a renewal must not queue behind a large ingest pipeline.
  // Opened through the manager so AUTH, TLS and Sentinel reach it as they reach the store.
  const leaseRedis =
    s.store === "redis"
      ? manager.openRedis(`datacoll-leases:${s.instanceId}`, { maxRetriesPerRequest: 1 })
      : undefined;
  leaseRedis?.on("error", () => undefined); // reconnects by itself; a lease round reports the failure
  let saidWhileAway = false;
  const offState = manager.onState((st) => {
    if (st.kind === "connected") saidWhileAway = false;
  });
  const runner = new RegistryRunner(manager, {
    clock: opts.clock ?? systemClock,
    drivers: opts.drivers ?? DRIVERS,
    leases: leaseRedis ? new RedisLeaseBackend(leaseRedis, s.namespace, s.instanceId) : undefined,
    leaseMs: opts.leaseMs ?? DEFAULT_LEASE_MS,
    onProblem: opts.onProblem,
    // Named for what was not stored: a device status written while Redis is away is not a sample.
    // While the store is away, said once until it is back: a line for every device and every write of
    // an outage would only repeat it (the manager warns of the outage itself).
    onStoreError: (what, deviceId, err) => {
      const away = manager.state.kind !== "connected";
      if (away && saidWhileAway) return;
      saidWhileAway ||= away;
      const more = away ? " (said once until the store is back)" : "";
      opts.onProblem?.(deviceId, `storing the ${what} failed: ${errorMessage(err)}${more}`);
    },
  });
  manager.restActions = {
    call: (key) => runner.call(key),
    control: async (key, value) => {
      const message = await runner.control(key, value);
      return { key, value, confirmed: true, ts: Date.now(), message };
    },
    ackAlarm: (key, condition) => manager.acknowledgeAlarm(key, condition, "rest"),
    shelveAlarm: (key, condition, until) => manager.shelveAlarm(key, condition, until, "rest"),
  };
  const started = runner.start();
  let closing: Promise<void> | undefined;
  return {
    runner,
    started,
    close: () =>
      (closing ??= (async () => {
        if (manager.restActions) manager.restActions = undefined;
        offState();
        // Closed first: a start still retrying an unreachable registry (a wrong password, Redis away) ends
        // only when the runner closes, so waiting for it first would hold the close until Node-RED gives up.
        // No device starts once the runner is closed, so none is left running by a start still under way.
        const stop = async (): Promise<void> => {
          await runner.close();
          // Whoever holds `started` says why it failed (the manager node logs it); here only its end counts.
          await started.catch(() => undefined);
        };
        // With Redis away, a lease round waiting on the lease connection would hold the runner's close
        // until ioredis gives its command up: closeRedisAfter drops that connection first.
        await (leaseRedis ? closeRedisAfter(leaseRedis, stop) : stop());
      })()),
  };
}
