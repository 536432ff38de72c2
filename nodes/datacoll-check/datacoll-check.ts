import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import { MemoryAlarmStateStore, type AlarmStateStore } from "../../src/core/check/alarm-state";
import { Checker, type AlarmTransition, type PointAlarms } from "../../src/core/check/checker";
import { COMMAND_NAMES, parseAlarmCommand, runAlarmCommand } from "../../src/core/check/command";
import { checkSettingsOfPoint } from "../../src/core/check/point-settings";
import { CONDITIONS, parseCheckSettings, type CheckSettings } from "../../src/core/check/settings";
import { RegistryScope } from "../../src/core/check/registry-scope";
import { CheckRunner } from "../../src/core/check/runner";
import { alarmStateStoreOn } from "../../src/core/check/store-adapter";
import { compilePattern, type PointMatcher } from "../../src/core/bus/pattern";
import { errorMessage } from "../../src/core/errors";
import type { ManagerHandle } from "../../src/core/manager";
import { splitPointKey, type DataPoint, type PointKey } from "../../src/core/model/datapoint";
import type { Point } from "../../src/core/model/point";
import type { ManagerConfigNode } from "../datacoll-manager/api";
import { leaseConnectionOptions, RedisLeaseBackend } from "../../src/core/runtime/redis-leases";
import { SingleLease } from "../../src/core/runtime/single-lease";
import { closeRedis, closeRedisAfter } from "../../src/core/store/redis-close";
import { systemClock } from "../../src/transport/connection";
import { pointsFromMessage } from "../lib/messages";
import { RateMeter } from "../lib/rate";
import { errorStatus, rateText } from "../lib/status";
import { registerNodeType } from "../lib/register";

interface CheckDef extends NodeDef {
  manager: string;
  /** "registry": every point of the manager's registry; "pattern" (and flows saved before it): `scope`. */
  scopeMode?: string;
  scope: string;
  lowLow: string;
  low: string;
  high: string;
  highHigh: string;
  hysteresis: string;
  ratePerSecond: string;
  staleSeconds: string;
  quality: boolean;
  verify: string;
  onDelay: string;
  offDelay: string;
  severity: string;
  message: string;
}

const blank = (v: unknown): boolean => v === undefined || v === null || String(v).trim() === "";
const seconds = (v: unknown): number | undefined => (blank(v) ? undefined : Number(v) * 1000);

/** The node's defaults as CheckSettings; throws a DataCollError naming the field at fault. */
function defaultsOf(def: CheckDef): CheckSettings {
  const severity = blank(def.severity)
    ? undefined
    : Object.fromEntries(CONDITIONS.map((c) => [c, Number(def.severity)]));
  return parseCheckSettings({
    lowLow: def.lowLow,
    low: def.low,
    high: def.high,
    highHigh: def.highHigh,
    hysteresis: def.hysteresis,
    ratePerSecond: def.ratePerSecond,
    staleSeconds: def.staleSeconds,
    quality: def.quality === true ? true : undefined,
    verify: blank(def.verify) ? undefined : def.verify,
    onDelayMs: seconds(def.onDelay),
    offDelayMs: seconds(def.offDelay),
    severity,
    message: blank(def.message) ? undefined : def.message,
  });
}

/** Alarm state of checkers without a manager: kept per node id, so a redeploy (not a restart) keeps it. */
const memoryStates = new Map<string, MemoryAlarmStateStore>();

/** Only the alarms of points in this node's scope: another check node may own the rest. */
function scoped(store: AlarmStateStore, scope: PointMatcher): AlarmStateStore {
  if (scope.all) return store;
  return {
    loadAll: async () =>
      (await store.loadAll()).filter((a) => {
        const ids = splitPointKey(a.key);
        return ids !== undefined && scope.matches(ids);
      }),
    save: (changes) => store.save(changes),
  };
}

function transitionMessage(t: AlarmTransition): NodeMessage {
  return { topic: t.key, payload: t.text, alarm: t } as NodeMessage;
}

export = function register(RED: NodeAPI): void {
  function DataCollCheck(this: Node, def: CheckDef): void {
    RED.nodes.createNode(this, def);
    let defaults: CheckSettings;
    let scope: PointMatcher;
    let registryScope: RegistryScope | undefined;
    let handle: ManagerHandle | undefined;
    let leaseMs = 10000;
    try {
      defaults = defaultsOf(def);
      if (def.scopeMode === "registry") {
        if (blank(def.manager)) throw new Error(RED._("datacoll-check.errors.registryNeedsManager"));
        scope = registryScope = new RegistryScope();
      } else scope = compilePattern(def.scope ?? "");
      if (!blank(def.manager)) {
        const m = RED.nodes.getNode(def.manager) as ManagerConfigNode | null;
        handle = m?.acquireManager();
        if (handle === undefined)
          throw new Error(m?.settingsError ?? RED._("datacoll-check.errors.noManager"));
        leaseMs = m?.leaseMs ?? leaseMs;
      }
    } catch (err) {
      const reason = errorMessage(err);
      this.error(RED._("datacoll-check.errors.config", { reason }));
      this.status(errorStatus(reason));
      return;
    }
    const manager = handle?.manager;
    const pointSettings = (p: Point): CheckSettings | undefined => {
      try {
        return checkSettingsOfPoint(p);
      } catch (err) {
        this.warn(RED._("datacoll-check.errors.point", { key: p.key, reason: errorMessage(err) }));
        return undefined;
      }
    };
    let memory = memoryStates.get(this.id);
    if (manager === undefined && memory === undefined)
      memoryStates.set(this.id, (memory = new MemoryAlarmStateStore()));
    const store = scoped(manager ? alarmStateStoreOn(manager.store) : (memory as AlarmStateStore), scope);

    let runner: CheckRunner | undefined;
    let closed = false;
    let problem: string | undefined;
    // Instances sharing a Redis namespace run this node's alarms once: the holder of the lease
    // `<ns>lease:check:<node id>` is the active checker, the others stand by (docs/scale-out.md).
    const leaseRedis =
      manager?.settings.store === "redis"
        ? manager.openRedis(`datacoll-check:${manager.settings.instanceId}:${this.id}`, {
            maxRetriesPerRequest: 1,
            ...leaseConnectionOptions(leaseMs),
          })
        : undefined;
    leaseRedis?.on("error", () => undefined); // reconnects by itself; the lease round notes the failure
    let retryTimer: NodeJS.Timeout | undefined;
    const activate = (): void => {
      if (closed || runner === undefined || !lease?.held) return;
      // What this copy saw since shortly before another instance was last seen active may have gone
      // unreported (that one may have died up to a lease time before its key expired).
      const taken = lease.lastSeenTaken;
      runner.activate(taken === undefined ? -Infinity : taken - leaseMs).then(
        (raises) => {
          if (!closed && raises.length > 0) emitTransitions(raises, (m) => this.send(m));
          problem = undefined; // the store answered (a failed try before may have said otherwise)
          showStatus();
        },
        (err: unknown) => {
          // The store did not answer: try again while the lease is still ours.
          problem = RED._("datacoll-check.errors.store", { reason: errorMessage(err) });
          showStatus();
          if (!closed) retryTimer = setTimeout(activate, 1000);
        },
      );
    };
    const lease =
      leaseRedis && manager
        ? new SingleLease(
            systemClock,
            new RedisLeaseBackend(
              leaseRedis,
              manager.settings.namespace,
              manager.settings.instanceId,
              Date.now,
              "check",
            ),
            this.id,
            leaseMs,
            (held) => {
              if (held) activate();
              else runner?.standBy();
              showStatus();
            },
            // The holder keeps the role through a Redis outage and, when Redis comes back with the key
            // expired, takes it back before a standby would (which waits a whole lease time).
            // A standby whose store has not heard every other instance's samples (its subscription away
            // or reading back what it missed) would check on less than the holder saw: it waits.
            {
              holdThroughOutage: true,
              patienceMs: leaseMs,
              mayTake: () => manager.store.caughtUp?.() ?? true,
            },
          )
        : undefined;
    const ready: Promise<CheckRunner> = (async () => {
      const points = new Map<PointKey, CheckSettings>();
      if (manager) {
        await manager.ready();
        const listed = await manager.registry.listPoints();
        registryScope?.addAll(listed.map((p) => p.key));
        for (const p of listed) {
          const s = scope.matches(p) ? pointSettings(p) : undefined;
          if (s !== undefined) points.set(p.key, s);
        }
      }
      const onRuleError = (key: PointKey, message: string): void =>
        this.warn(RED._("datacoll-check.errors.rule", { key, reason: message }));
      const checker = await Checker.open({ store, defaults, points, onRuleError, now: Date.now() });
      runner = new CheckRunner(
        checker,
        systemClock,
        {
          onTimerTransitions: (ts) => emitTransitions(ts, (m) => this.send(m)),
          onStoreState: (err) => {
            const reason = err === undefined ? undefined : errorMessage(err);
            // One log line per outage; the status shows it while the retries go on.
            if (reason !== undefined && problem === undefined)
              this.warn(RED._("datacoll-check.errors.store", { reason }));
            problem = reason === undefined ? undefined : RED._("datacoll-check.errors.store", { reason });
            showStatus();
          },
        },
        { standby: lease !== undefined, keepMs: 3 * leaseMs },
      );
      if (closed) void runner.close();
      else lease?.start();
      return runner;
    })();
    ready.catch((err: unknown) => {
      if (closed) return;
      problem = errorMessage(err);
      this.error(RED._("datacoll-check.errors.open", { reason: problem }));
      showStatus();
    });

    /**
     * An operator's command (ack, shelve, unshelve). The active checker runs it; a standby one hands it to
     * the active one over Redis (`<ns>alarm-commands`), since an operator may be talking to either
     * instance. True when it changed something here; false when forwarded. Throws for a bad command.
     */
    const commandsChannel = manager ? `${manager.settings.namespace}alarm-commands` : "";
    const runCommand = (
      run: CheckRunner,
      topic: string,
      payload: unknown,
      now: number,
      send: (m: (NodeMessage | NodeMessage[] | null)[]) => void,
    ): boolean => {
      const command = parseAlarmCommand(topic, payload);
      if (!run.active && leaseRedis && manager) {
        const note = JSON.stringify({ node: this.id, from: manager.settings.instanceId, topic, payload });
        leaseRedis
          .publish(commandsChannel, note)
          .catch((err: unknown) =>
            this.warn(RED._("datacoll-check.errors.forward", { reason: errorMessage(err) })),
          );
        return false;
      }
      const ts = runAlarmCommand(run.checker, command, now);
      emitTransitions(ts, send);
      run.changed();
      return ts.length > 0;
    };
    const commandRedis =
      leaseRedis && manager ? manager.openRedis(`datacoll-check-commands:${this.id}`) : undefined;
    commandRedis?.on("error", () => undefined); // reconnects and subscribes again by itself
    commandRedis?.on("message", (_channel: string, text: string) => {
      let note: { node?: unknown; from?: unknown; topic?: unknown; payload?: unknown };
      try {
        note = JSON.parse(text) as typeof note;
      } catch {
        return; // not ours
      }
      if (note.node !== this.id || note.from === manager?.settings.instanceId) return;
      if (typeof note.topic !== "string" || !COMMAND_NAMES.has(note.topic)) return;
      const topic = note.topic;
      void ready.then((run) => {
        if (closed || !run.active) return;
        try {
          runCommand(run, topic, note.payload, Date.now(), (m) => this.send(m));
        } catch {
          // Not an alarm this instance's copy knows (yet): the standby answered from its own copy.
        }
      });
    });
    commandRedis?.subscribe(commandsChannel).catch(() => undefined);

    // Operators acknowledge and shelve from the REST API or the live view through the manager.
    const viaManager = async (
      topic: "ack" | "shelve",
      payload: Record<string, unknown>,
    ): Promise<boolean> => {
      const ids = typeof payload.key === "string" ? splitPointKey(payload.key) : undefined;
      if (ids === undefined || !scope.matches(ids)) return false;
      const run = await ready;
      try {
        if (runCommand(run, topic, payload, Date.now(), (m) => this.send(m))) return true;
        if (run.active || manager === undefined) return false;
        // Forwarded: answer from the state the active checker wrote.
        const condition = typeof payload.condition === "string" ? payload.condition : undefined;
        const held = (await manager.store.alarms(payload.key as PointKey)).filter(
          (a) => condition === undefined || a.condition === condition,
        );
        return topic === "shelve" || held.some((a) => !a.acked);
      } catch {
        return false; // not an alarm this node holds
      }
    };
    const offAlarms = manager?.addAlarmHandler({
      acknowledge: (key, condition, by) => viaManager("ack", { key, condition, by }),
      shelve: (key, condition, until, by) => viaManager("shelve", { key, condition, until, by }),
    });

    // Registry edits reach the checker without a redeploy.
    const offRegistry = manager?.registry.onChange((changes) => {
      for (const c of changes) {
        const ids = c.kind === "point" ? splitPointKey(c.id) : undefined;
        if (ids === undefined) continue;
        if (registryScope ? !registryScope.apply(c) : !scope.matches(ids)) continue;
        void ready
          .then(async (run) => {
            const p = c.op === "delete" ? undefined : await manager.registry.getPoint(c.id);
            if (closed || (p === undefined && run.checker.summary(c.id) === undefined)) return;
            // Out of a registry scope once deleted: nothing will check it any more.
            if (p === undefined && registryScope) run.checker.removePoint(c.id, Date.now());
            else run.checker.setPoint(c.id, p && pointSettings(p), Date.now());
            run.changed();
          })
          .catch((err: unknown) => this.warn(errorMessage(err)));
      }
    });

    const emitTransitions = (
      ts: readonly AlarmTransition[],
      send: (m: (NodeMessage | NodeMessage[] | null)[]) => void,
    ) => {
      if (ts.length === 0) return;
      send([null, ts.map(transitionMessage)]);
      showStatus();
    };

    const rate = new RateMeter();
    let shown = "";
    const showStatus = (): void => {
      const now = Date.now();
      let status;
      if (problem !== undefined) status = errorStatus(problem);
      else if (runner === undefined) status = { fill: "grey", shape: "ring", text: "starting" } as const;
      else if (!runner.active) {
        const text = `${RED._("datacoll-check.status.standby")} · ${rateText(rate.perSecond(now), 0)}`;
        status = { fill: "blue", shape: "ring", text } as const;
      } else {
        const list = runner.checker.activeAlarms();
        const active = list.filter((a) => a.active).length;
        const unacked = list.some((a) => a.unacked);
        const text = `${active} alarm${active === 1 ? "" : "s"} · ${rateText(rate.perSecond(now), 0)}`;
        status = { fill: unacked ? "red" : active > 0 ? "yellow" : "green", shape: "dot", text } as const;
      }
      const key = JSON.stringify(status);
      if (key === shown) return;
      shown = key;
      this.status(status);
    };
    showStatus();
    // Also retries a write that failed (Redis away) when no new message would.
    const statusTimer = setInterval(() => {
      runner?.retry();
      showStatus();
    }, 1000);

    const annotate = (ck: Checker, points: DataPoint[], now: number) => {
      const inScope = scope.all ? points : points.filter((p) => scope.matches(p));
      const r = ck.checkBatch(inScope, now);
      const out = new Array<DataPoint>(points.length);
      for (let i = 0, j = 0; i < points.length; i++) {
        const p = points[i];
        out[i] = inScope[j] === p ? ({ ...p, alarm: r.alarms[j++] } as DataPoint) : p;
      }
      return { out, transitions: r.transitions };
    };

    this.on("input", (msg: NodeMessageInFlow, send, done) => {
      const now = Date.now();
      let work: (run: CheckRunner) => void;
      try {
        const topic = typeof msg.topic === "string" ? msg.topic : "";
        if (COMMAND_NAMES.has(topic)) {
          parseAlarmCommand(topic, msg.payload); // a bad command fails here, before waiting for the store
          work = (run) => runCommand(run, topic, msg.payload, now, send);
        } else {
          const points = pointsFromMessage(msg as Record<string, unknown>, now);
          rate.add(points.length, now);
          work = (run) => {
            const { out, transitions: all } = annotate(run.checker, points, now);
            // A standby checker passes the points on but reports no transitions: the active one does.
            const transitions = run.active ? all : [];
            run.seen(all);
            const m = msg as NodeMessage & Record<string, unknown>;
            if (Array.isArray(msg.payload)) m.payload = out;
            else {
              m.point = out[0];
              m.alarm = (out[0] as { alarm?: PointAlarms }).alarm;
            }
            send([m, transitions.length > 0 ? transitions.map(transitionMessage) : null]);
            // Counting alarms walks every point: only when something changed, else once a second.
            if (transitions.length > 0) showStatus();
          };
        }
      } catch (err) {
        done(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      ready.then(
        (run) => {
          try {
            work(run);
            done();
          } catch (err) {
            done(err instanceof Error ? err : new Error(String(err)));
          }
          run.changed();
        },
        (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
      );
    });

    this.on("close", (removed: boolean, done: () => void) => {
      closed = true;
      clearInterval(statusTimer);
      offRegistry?.();
      offAlarms?.();
      if (removed) memoryStates.delete(this.id);
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      // The last state is written before the lease is handed back, so whoever takes over reads it.
      // With Redis away, the lease's last round would wait for ioredis to give its command up:
      // closeRedisAfter drops a connection that is not ready first.
      const closeLease = async (): Promise<void> => {
        await runner?.close();
        await lease?.close();
      };
      void (leaseRedis ? closeRedisAfter(leaseRedis, closeLease) : closeLease())
        .then(() => commandRedis && closeRedis(commandRedis))
        .then(() => handle?.release())
        .catch((err: unknown) => this.warn(errorMessage(err)))
        .then(() => done());
    });
  }
  registerNodeType(RED, "datacoll-check", DataCollCheck);
};
