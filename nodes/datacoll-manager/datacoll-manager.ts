import type { NodeAPI, NodeDef } from "node-red";
import { errorMessage } from "../../src/core/errors";
import { parseManagerSettings } from "../../src/core/manager-config";
import { managers, type ManagerOptions } from "../../src/core/manager";
import { startManagerRuntime } from "../../src/core/manager-runtime";
import { dropRestingDatabases } from "../../src/core/store/memory-store";
import { followManager, registerLiveView } from "../lib/live-view";
import type { ManagerConfigNode, ManagerCredentials } from "./api";
import { registerNodeType } from "../lib/register";

interface ManagerDef extends NodeDef {
  runDevices?: boolean;
  leaseMs?: string | number;
  store: string;
  redisUrl: string;
  redisMode?: string;
  sentinels?: string;
  sentinelName?: string;
  sentinelTls?: boolean;
  redisCa?: string;
  redisCert?: string;
  redisRejectUnauthorized?: boolean;
  namespace: string;
  instanceId: string;
  outageBuffer?: string | number;
  historyLength?: string | number;
}

/** The runtimes whose flows:started event already drops what closed embedded stores kept. */
const droppingOn = new WeakSet<object>();

export = function register(RED: NodeAPI): void {
  registerLiveView(RED);
  // A deploy closes the embedded stores and opens new ones, which take over what the closed ones kept in
  // memory (history, latest values, the savers' events); once the flows have started, what no new store
  // took is no longer used (its manager was deleted or now uses Redis) and is dropped.
  if (!droppingOn.has(RED.events)) {
    droppingOn.add(RED.events);
    RED.events.on("flows:started", dropRestingDatabases);
  }
  function DataCollManager(this: ManagerConfigNode, def: ManagerDef): void {
    RED.nodes.createNode(this, def);
    this.manager = undefined;
    this.leaseMs = 10000;
    this.acquireManager = () => undefined;
    try {
      this.settings = parseManagerSettings({
        store: def.store,
        redisUrl: def.redisUrl,
        redisMode: def.redisMode,
        sentinels: def.sentinels,
        sentinelName: def.sentinelName,
        sentinelPassword: this.credentials?.sentinelPassword,
        sentinelTls: def.sentinelTls,
        redisPassword: this.credentials?.password,
        redisCa: def.redisCa,
        redisCert: def.redisCert,
        redisKey: this.credentials?.redisKey,
        redisRejectUnauthorized: def.redisRejectUnauthorized,
        namespace: def.namespace,
        instanceId: def.instanceId,
        outageBuffer: def.outageBuffer,
        historyLength: def.historyLength,
      });
      this.settingsError = undefined;
    } catch (err) {
      this.settings = undefined;
      this.settingsError = errorMessage(err);
      this.error(RED._("datacoll-manager.errors.settings", { reason: this.settingsError }));
      return;
    }
    const settings = this.settings;
    // The embedded store keeps its registry in the user directory, beside flows.json.
    const userDir: unknown = (RED.settings as unknown as { userDir?: unknown }).userDir;
    const opts: ManagerOptions = {
      ...(typeof userDir === "string" && userDir !== "" ? { storeDir: userDir } : {}),
      // A loss from the outage buffer is always in the log; a drained buffer only when it held samples.
      onOutage: (e) => {
        if (e.kind === "dropped") this.warn(RED._("datacoll-manager.log.outageDropped", { ...e }));
        else if (e.written > 0 || e.dropped > 0)
          (e.dropped > 0 ? this.warn : this.log).call(
            this,
            RED._("datacoll-manager.log.outageRecovered", { ...e }),
          );
      },
    };
    // The config node holds a share itself, so the connections live as long as it does, used or not.
    const handle = managers.acquire(this.id, settings, opts);
    this.manager = handle.manager;
    this.acquireManager = () => managers.acquire(this.id, settings, opts);
    const startState = handle.manager.state;
    if (startState.kind === "error")
      this.error(RED._("datacoll-manager.errors.store", { reason: startState.message }));
    const unfollow = followManager(this.id);
    // The DeviceManager proper: run the devices the registry holds (shared with other instances by lease).
    const leaseMs = Number(def.leaseMs ?? 10000);
    this.leaseMs = Number.isFinite(leaseMs) && leaseMs >= 1000 ? leaseMs : 10000;
    const runtime =
      def.runDevices === false || startState.kind === "error"
        ? undefined
        : startManagerRuntime(handle.manager, {
            leaseMs: this.leaseMs,
            onProblem: (deviceId, message) =>
              this.warn(RED._("datacoll-manager.errors.device", { device: deviceId, reason: message })),
          });
    runtime?.started.catch((err: unknown) =>
      this.error(RED._("datacoll-manager.errors.registry", { reason: errorMessage(err) })),
    );
    // One log line per outage, not one per reconnect attempt.
    let outage: string | undefined;
    const offState = handle.manager.onState((s) => {
      if (s.kind === "error" && outage === undefined) {
        outage = s.message;
        this.warn(RED._("datacoll-manager.errors.connection", { reason: s.message }));
      } else if (s.kind === "connected" && outage !== undefined) {
        outage = undefined;
        this.log(RED._("datacoll-manager.log.reconnected"));
      }
    });
    this.on("close", (_removed: boolean, done: () => void) => {
      offState();
      unfollow();
      // With Redis away, the nodes closing with this one would wait for it (see closeIfUnreachable).
      const early = handle.manager.closeIfUnreachable();
      Promise.all([early, runtime?.close()])
        .then(() => handle.release())
        .then(
          () => done(),
          (err: unknown) => {
            this.error(RED._("datacoll-manager.errors.close", { reason: errorMessage(err) }));
            done();
          },
        );
    });
  }
  registerNodeType<ManagerConfigNode, ManagerDef, ManagerCredentials>(
    RED,
    "datacoll-manager",
    DataCollManager,
    {
      credentials: {
        password: { type: "password" },
        redisKey: { type: "password" },
        sentinelPassword: { type: "password" },
      },
    },
  );
};
