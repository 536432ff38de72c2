import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import { MemoryAlarmStateStore, type AlarmStateStore } from "../../src/core/check/alarm-state";
import { Checker, type AlarmTransition, type PointAlarms } from "../../src/core/check/checker";
import { COMMAND_NAMES, parseAlarmCommand, runAlarmCommand } from "../../src/core/check/command";
import { checkSettingsOfPoint } from "../../src/core/check/point-settings";
import { CONDITIONS, parseCheckSettings, type CheckSettings } from "../../src/core/check/settings";
import { CheckRunner } from "../../src/core/check/runner";
import { alarmStateStoreOn } from "../../src/core/check/store-adapter";
import { compilePattern, type PointMatcher } from "../../src/core/bus/pattern";
import { errorMessage } from "../../src/core/errors";
import type { ManagerHandle } from "../../src/core/manager";
import { splitPointKey, type DataPoint, type PointKey } from "../../src/core/model/datapoint";
import type { Point } from "../../src/core/model/point";
import type { ManagerConfigNode } from "../datacoll-manager/api";
import { systemClock } from "../../src/transport/connection";
import { pointsFromMessage } from "../lib/messages";
import { RateMeter } from "../lib/rate";
import { errorStatus, rateText } from "../lib/status";

interface CheckDef extends NodeDef {
  manager: string;
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
    let handle: ManagerHandle | undefined;
    try {
      defaults = defaultsOf(def);
      scope = compilePattern(def.scope ?? "");
      if (!blank(def.manager)) {
        const m = RED.nodes.getNode(def.manager) as ManagerConfigNode | null;
        handle = m?.acquireManager();
        if (handle === undefined)
          throw new Error(m?.settingsError ?? RED._("datacoll-check.errors.noManager"));
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
    const ready: Promise<CheckRunner> = (async () => {
      const points = new Map<PointKey, CheckSettings>();
      if (manager) {
        await manager.ready();
        for (const p of await manager.registry.listPoints()) {
          const s = scope.matches(p) ? pointSettings(p) : undefined;
          if (s !== undefined) points.set(p.key, s);
        }
      }
      const onRuleError = (key: PointKey, message: string): void =>
        this.warn(RED._("datacoll-check.errors.rule", { key, reason: message }));
      const checker = await Checker.open({ store, defaults, points, onRuleError, now: Date.now() });
      runner = new CheckRunner(checker, systemClock, {
        onTimerTransitions: (ts) => emitTransitions(ts, (m) => this.send(m)),
        onStoreState: (err) => {
          const reason = err === undefined ? undefined : errorMessage(err);
          // One log line per outage; the status shows it while the retries go on.
          if (reason !== undefined && problem === undefined)
            this.warn(RED._("datacoll-check.errors.store", { reason }));
          problem = reason === undefined ? undefined : RED._("datacoll-check.errors.store", { reason });
          showStatus();
        },
      });
      if (closed) void runner.close();
      return runner;
    })();
    ready.catch((err: unknown) => {
      if (closed) return;
      problem = errorMessage(err);
      this.error(RED._("datacoll-check.errors.open", { reason: problem }));
      showStatus();
    });

    // Operators acknowledge and shelve from the REST API or the live view through the manager.
    const viaManager = async (
      topic: "ack" | "shelve",
      payload: Record<string, unknown>,
    ): Promise<boolean> => {
      const ids = typeof payload.key === "string" ? splitPointKey(payload.key) : undefined;
      if (ids === undefined || !scope.matches(ids)) return false;
      const run = await ready;
      try {
        const ts = runAlarmCommand(run.checker, parseAlarmCommand(topic, payload), Date.now());
        emitTransitions(ts, (m) => this.send(m));
        run.changed();
        return ts.length > 0;
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
        if (ids === undefined || !scope.matches(ids)) continue;
        void ready
          .then(async (run) => {
            const p = c.op === "delete" ? undefined : await manager.registry.getPoint(c.id);
            if (closed || (p === undefined && run.checker.summary(c.id) === undefined)) return;
            run.checker.setPoint(c.id, p && pointSettings(p), Date.now());
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
      else {
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
      let work: (ck: Checker) => void;
      try {
        const topic = typeof msg.topic === "string" ? msg.topic : "";
        if (COMMAND_NAMES.has(topic)) {
          const c = parseAlarmCommand(topic, msg.payload);
          work = (ck) => emitTransitions(runAlarmCommand(ck, c, now), send);
        } else {
          const points = pointsFromMessage(msg as Record<string, unknown>, now);
          rate.add(points.length, now);
          work = (ck) => {
            const { out, transitions } = annotate(ck, points, now);
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
            work(run.checker);
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
      void Promise.resolve(runner?.close())
        .then(() => handle?.release())
        .catch((err: unknown) => this.warn(errorMessage(err)))
        .then(() => done());
    });
  }
  RED.nodes.registerType("datacoll-check", DataCollCheck);
};
