/**
 * The checker: runs every point of a batch through its conditions and the alarm state machine of each
 * (alarm-state.ts), and reports the transitions.
 *
 * Built for batches of thousands of points: each point's conditions are resolved once into plain runtime
 * objects when its settings change, so a sample that changes nothing costs a map lookup and a few
 * comparisons — no closures, no allocations. Per-point summaries are immutable objects replaced only
 * when a state changes, so callers can compare them by identity.
 *
 * Time is injected: `checkBatch(points, now)` and `tick(now)`; the caller drives one timer with
 * `nextDeadline()` (stale points, pending on/off delays, shelving that runs out).
 */
import { splitPointKey, type DataPoint, type PointKey, type Quality } from "../model/datapoint";
import { DataCollError, errorMessage } from "../errors";
import type { CompiledExpression } from "../formula/sandbox";
import { alarmId, type AlarmState, type AlarmStateStore, type StoredAlarm } from "./alarm-state";
import {
  compileVerify,
  DEFAULT_SEVERITY,
  enabledConditions,
  mergeSettings,
  type CheckSettings,
  type ConditionName,
} from "./settings";
import { DEFAULT_MESSAGES, renderMessage } from "./template";

/** One change of one alarm. */
export interface AlarmTransition {
  readonly key: PointKey;
  readonly condition: ConditionName;
  readonly severity: number;
  readonly text: string;
  readonly ts: number;
  readonly state: AlarmState;
  readonly previous: AlarmState;
  /** Whether the condition is present after the change. */
  readonly active: boolean;
  /** The point's value when the transition happened (the last one known for timer-driven ones). */
  readonly value: DataPoint["value"] | undefined;
  /** Who acknowledged or shelved, when given. */
  readonly by?: string;
}

/** One condition's state, as shown in a point's summary. */
export interface ConditionStatus {
  readonly condition: ConditionName;
  readonly state: AlarmState;
  readonly active: boolean;
  readonly severity: number;
}

/** A point's alarm picture. The same object is returned until something about it changes. */
export interface PointAlarms {
  readonly key: PointKey;
  /** Conditions not in state normal. */
  readonly alarms: readonly ConditionStatus[];
  /** Any condition raised or acked (present). */
  readonly active: boolean;
  /** Any condition raised or cleared-unacked (waiting for an operator). */
  readonly unacked: boolean;
  /** The highest severity among present conditions; 0 when none. */
  readonly severity: number;
}

export interface CheckResult {
  /** Parallel to the points given: `alarms[i]` belongs to `points[i]`. */
  readonly alarms: readonly PointAlarms[];
  readonly transitions: readonly AlarmTransition[];
}

export interface CheckerOptions {
  readonly store: AlarmStateStore;
  /** Settings for every point; a point's own settings override them field by field. */
  readonly defaults?: CheckSettings;
  /**
   * Points' own settings known at start. Give them here rather than through setPoint afterwards: stored
   * alarms are matched against the settings when the checker opens, and a stored alarm of a condition
   * the settings no longer switch on is dropped.
   */
  readonly points?: ReadonlyMap<PointKey, CheckSettings>;
  /**
   * Told when a point's expression rule fails to evaluate (and again only when the reason changes), so
   * the node can show it; the alarm is held as it was meanwhile.
   */
  readonly onRuleError?: (key: PointKey, message: string) => void;
  /** Start of the stale watch for points configured before their first sample. */
  readonly now: number;
  /**
   * Keep the changes the store holds as unreported to report again (`takeReplays`), and write them
   * without the mark: for a checker active from its start (no lease); with a lease `adopt` does it.
   */
  readonly replayUnreported?: boolean;
}

const HOLD = -1;
/**
 * A sample at most this much older than the newest one a point has had checked arrived late (read back
 * after a Redis outage, or stored once Redis was back): it does not move the alarms. One older still is
 * taken as the source's clock set back, and checked.
 */
const LATE_WINDOW_MS = 10 * 60_000;
const NO_TRANSITIONS: readonly AlarmTransition[] = Object.freeze([]);

/** Quality that makes a value unusable for limits, rate and the expression rule. */
function unusable(q: Quality): boolean {
  return q.invalid === true || q.notTopical === true || q.overflow === true || q.blocked === true;
}

function numeric(v: DataPoint["value"]): number {
  if (typeof v === "number") return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  return NaN;
}

class ConditionRuntime {
  state: AlarmState = "normal";
  /** The condition after on/off delays: what the state machine has seen. */
  active = false;
  /** When the raw condition first differed from `active`; NaN when it does not. */
  pendingSince = NaN;
  since = 0;
  shelvedUntil = 0;
  /** The message rendered when the condition last became present; "" before. */
  text = "";
  status: ConditionStatus;

  constructor(
    readonly condition: ConditionName,
    readonly severity: number,
    readonly template: string,
    /** The limit, rate, seconds or expression shown in messages. */
    readonly limit: number | string,
    /**
     * What a sample is compared with: the limit of a limit condition, the rate of the rate condition;
     * NaN for the others. Here, not in the point's spec, with the hysteresis: the check of a sample then
     * reads only the point and its conditions (reading the spec too cost the check bench, where every
     * point has settings of its own, a fifth to a third of its rate: one more object per sample).
     */
    readonly threshold: number,
    readonly hysteresis: number,
    /**
     * One of a spec's pristine conditions, shared by its points: never changed (PointRuntime.own gives a
     * point its own copy first). A flag, not Object.freeze: with frozen instances the check bench ran
     * about a third slower.
     */
    readonly shared = false,
  ) {
    this.status = this.makeStatus();
  }

  makeStatus(): ConditionStatus {
    return statusOf(this.condition, this.state, this.active, this.severity);
  }

  /** A runtime of its own in the same state, to change (see PointSpec.pristine). */
  copy(): ConditionRuntime {
    const c = new ConditionRuntime(
      this.condition,
      this.severity,
      this.template,
      this.limit,
      this.threshold,
      this.hysteresis,
    );
    copyState(this, c);
    return c;
  }
}

/**
 * Statuses are frozen values, so every condition in the same state shares one: a plant of 100,000
 * points in scope held three of its own per point (measured: about 170 bytes a point), almost all
 * "normal". The kinds are few — conditions × states × active × the severities configured.
 */
const statuses = new Map<string, ConditionStatus>();

function statusOf(
  condition: ConditionName,
  state: AlarmState,
  active: boolean,
  severity: number,
): ConditionStatus {
  const id = `${condition}|${state}|${active ? 1 : 0}|${severity}`;
  let status = statuses.get(id);
  if (status === undefined) {
    status = Object.freeze({ condition, state, active, severity });
    statuses.set(id, status);
  }
  return status;
}

const NO_ALARMS: readonly ConditionStatus[] = Object.freeze([]);

/**
 * What a point's settings make of it: the limits, the compiled rule and the conditions in their first
 * state. Every point without settings of its own (the check node's defaults: most points of a plant)
 * shares one, conditions included, until a condition of the point changes. A plant of 100,000 points
 * held all of it per point: the capacity bench's heap snapshots, 1,785 bytes of live heap a point before,
 * 1,209 after.
 */
class PointSpec {
  readonly hysteresis: number;
  readonly rate: number;
  readonly staleMs: number;
  readonly onDelay: number;
  readonly offDelay: number;
  readonly lowLow: number;
  readonly low: number;
  readonly high: number;
  readonly highHigh: number;
  readonly verify: CompiledExpression | undefined;
  /**
   * The rule's scope, refilled per sample: checking is synchronous, so points sharing it never see each
   * other's values; the limits never change for these settings.
   */
  readonly verifyScope: Map<string, unknown> | undefined;
  /**
   * The conditions in their first state (normal, not active, nothing pending), shared: a point uses these
   * until one of its conditions changes, and then a copy of its own (PointRuntime.own).
   */
  readonly pristine: readonly ConditionRuntime[] | undefined;
  /** Where the stale condition is in the conditions; -1 without one. */
  readonly staleIndex: number;

  constructor(
    readonly settings: CheckSettings,
    /** Shared by many points (the defaults): their conditions start as `pristine`. */
    shared: boolean,
  ) {
    const s = settings;
    this.hysteresis = s.hysteresis ?? 0;
    this.rate = s.ratePerSecond ?? Infinity;
    this.staleMs = s.staleSeconds === undefined ? Infinity : s.staleSeconds * 1000;
    this.onDelay = s.onDelayMs ?? 0;
    this.offDelay = s.offDelayMs ?? 0;
    this.lowLow = s.lowLow ?? NaN;
    this.low = s.low ?? NaN;
    this.high = s.high ?? NaN;
    this.highHigh = s.highHigh ?? NaN;
    const names = enabledConditions(s);
    this.pristine = shared ? this.conditions(true) : undefined;
    this.staleIndex = names.indexOf("stale");
    if (s.verify !== undefined && names.includes("verify")) {
      this.verify = compileVerify(s.verify);
      this.verifyScope = new Map<string, unknown>([
        ["lowLow", this.lowLow],
        ["low", this.low],
        ["high", this.high],
        ["highHigh", this.highHigh],
        ["down_limit", this.low],
        ["up_limit", this.high],
      ]);
    }
  }

  /** The conditions in their first state; `shared` ones are never changed (ConditionRuntime.shared). */
  conditions(shared: boolean): ConditionRuntime[] {
    const s = this.settings;
    return enabledConditions(s).map((c) => {
      const template = s.messages?.[c] ?? s.message ?? DEFAULT_MESSAGES[c];
      const limit = limitOf(s, c);
      const threshold = c === "rate" ? this.rate : typeof limit === "number" ? limit : NaN;
      const severity = s.severity?.[c] ?? DEFAULT_SEVERITY[c];
      return new ConditionRuntime(c, severity, template, limit, threshold, this.hysteresis, shared);
    });
  }
}

class PointRuntime {
  /** The spec's pristine conditions until one changes; then an array of its own (`own`). */
  conds: readonly ConditionRuntime[];
  /** Previous usable numeric value and its sample time, for the rate of change. */
  prevValue = NaN;
  prevTs = NaN;
  /** When the last sample arrived (the receipt time), or when the watch started before any sample. */
  lastSeen: number;
  /** Whether any condition has a pending delay or a shelve deadline. */
  timed = false;
  /**
   * The time stamp and value of the newest sample checked (NaN and undefined before one): what late
   * samples are judged by and alarm records carry. Not the sample itself, which held its whole object
   * for every point between samples.
   */
  lastTs = NaN;
  lastValue: DataPoint["value"] | undefined;
  /** The last reason the expression rule failed, so it is reported once, not per sample. */
  ruleError: string | undefined;
  summary: PointAlarms;

  constructor(
    readonly key: PointKey,
    readonly spec: PointSpec,
    now: number,
  ) {
    // A point with settings of its own has its own conditions from the start, made with the runtime: the
    // check of a sample reads the point and its conditions, and made together they sit together in
    // memory (apart, the check bench, every point with its own settings, lost a fifth of its rate).
    this.conds = spec.pristine ?? spec.conditions(false);
    this.lastSeen = now;
    this.summary = summarize(key, this.conds);
  }

  /** When the stale condition becomes true; Infinity without a stale condition. */
  get staleAt(): number {
    return this.lastSeen + this.spec.staleMs;
  }
  get staleCond(): ConditionRuntime | undefined {
    return this.spec.staleIndex < 0 ? undefined : this.conds[this.spec.staleIndex];
  }

  /** `c` (one of this point's conditions) as a runtime this point may change: its own copy if shared. */
  own(c: ConditionRuntime): ConditionRuntime {
    if (!c.shared) return c;
    const conds = this.conds === this.spec.pristine ? [...this.conds] : (this.conds as ConditionRuntime[]);
    const mine = c.copy();
    conds[conds.indexOf(c)] = mine;
    this.conds = conds;
    return mine;
  }
}

function limitOf(s: CheckSettings, c: ConditionName): number | string {
  switch (c) {
    case "lowLow":
    case "low":
    case "high":
    case "highHigh":
      return s[c] ?? NaN;
    case "rate":
      return s.ratePerSecond ?? NaN;
    case "stale":
      return s.staleSeconds ?? NaN;
    case "quality":
      return "";
    case "verify":
      return s.verify ?? "";
  }
}

function summarize(key: PointKey, conds: readonly ConditionRuntime[]): PointAlarms {
  const alarms = conds.filter((c) => c.state !== "normal").map((c) => c.status);
  let severity = 0;
  for (const c of alarms) if (c.active && c.severity > severity) severity = c.severity;
  return Object.freeze({
    key,
    alarms: alarms.length === 0 ? NO_ALARMS : Object.freeze(alarms),
    active: alarms.some((c) => c.state === "raised" || c.state === "acked"),
    unacked: alarms.some((c) => c.state === "raised" || c.state === "cleared-unacked"),
    severity,
  });
}

export class Checker {
  private defaults: CheckSettings;
  private readonly own = new Map<PointKey, CheckSettings>();
  private readonly runtimes = new Map<PointKey, PointRuntime>();
  /** The spec of every point without settings of its own, made on first use; new defaults, a new one. */
  private defaultSpec: PointSpec | undefined;
  /**
   * The runtimes `nextDeadline` must look at: those with a stale condition or something timed.
   * The runner asks for the next deadline after every batch, so walking every point there made each
   * batch cost as much as the whole plant (a tenth of a core at 100,000 points, issue 23). Entries that
   * have nothing timed any more, or were replaced or removed, are dropped when next walked.
   */
  private readonly timedOrStale = new Set<PointRuntime>();
  /**
   * The runtimes that may have a condition not in state normal, for `alarmed`: the node's status counts
   * them after every transition, which walking every point made a fifth of a core at 100,000 points in
   * an alarm flood. Entries back to normal, replaced or removed are dropped when next walked.
   */
  private readonly mayBeAlarmed = new Set<PointRuntime>();
  /** Stored alarms of points not seen yet, applied when their runtime is made. */
  private readonly restored = new Map<PointKey, StoredAlarm[]>();
  private pending: StoredAlarm[] = [];
  private transitions: AlarmTransition[] | undefined;
  /** Changes the store held as unreported at open, to report again (CheckerOptions.replayUnreported). */
  private replays: AlarmTransition[] = [];
  private readonly store: AlarmStateStore;
  private readonly onRuleError: ((key: PointKey, message: string) => void) | undefined;

  private constructor(options: CheckerOptions) {
    this.store = options.store;
    this.onRuleError = options.onRuleError;
    this.defaults = options.defaults ?? {};
  }

  /** A checker with the alarm state the store holds, so a restart neither repeats nor loses an alarm. */
  static async open(options: CheckerOptions): Promise<Checker> {
    const c = new Checker(options);
    for (const [key, settings] of options.points ?? []) {
      if (settings.verify !== undefined) compileVerify(settings.verify);
      c.own.set(key, settings);
    }
    const records = await options.store.loadAll();
    for (const a of records) {
      const list = c.restored.get(a.key);
      if (list === undefined) c.restored.set(a.key, [a]);
      else list.push(a);
    }
    if (options.replayUnreported === true) {
      const unreported = unreportedOf(records);
      c.replays = unreported.transitions;
      c.pending.push(...unreported.unmarked);
    }
    // Configured points are watched from the start (a point that never reports still goes stale).
    for (const key of [...c.own.keys(), ...c.restored.keys()]) c.runtime(key, options.now);
    return c;
  }

  /**
   * Mark the records of these transitions, just made, as unreported (StoredAlarm.unreported): made as the
   * node closes, they go out to nodes that are closing too. Call before the next flush.
   */
  markUnreported(transitions: readonly AlarmTransition[]): void {
    if (transitions.length === 0) return;
    const made = new Set(transitions.map((t) => changeId(t.key, t.condition, t.state, t.ts)));
    this.pending = this.pending.map((r) =>
      made.has(changeId(r.key, r.condition, r.state, r.since)) && r.previous !== undefined
        ? { ...r, unreported: true }
        : r,
    );
  }

  /** The changes kept at open to report again (CheckerOptions.replayUnreported); empty after the first call. */
  takeReplays(): readonly AlarmTransition[] {
    const out = this.replays;
    this.replays = [];
    return out;
  }

  /** Replace the defaults; every point's conditions are rebuilt, keeping the state of those that remain. */
  setDefaults(defaults: CheckSettings, now: number): void {
    this.defaults = defaults;
    this.defaultSpec = undefined;
    for (const key of [...this.runtimes.keys()]) this.rebuild(key, now);
  }

  /** Set (or with undefined, drop) a point's own settings. Throws a DataCollError for a bad expression. */
  setPoint(key: PointKey, settings: CheckSettings | undefined, now: number): void {
    if (settings?.verify !== undefined) compileVerify(settings.verify);
    if (settings === undefined) this.own.delete(key);
    else this.own.set(key, settings);
    this.rebuild(key, now);
  }

  /**
   * Stop watching a point that left the caller's scope (deleted from the registry a node checks): its
   * present alarms are stored as normal, since no sample will clear them any more, and it cannot go stale.
   */
  removePoint(key: PointKey, now: number): void {
    this.own.delete(key);
    this.restored.delete(key);
    const rt = this.runtimes.get(key);
    if (rt === undefined) return;
    for (const c of rt.conds)
      if (c.state !== "normal") this.pending.push(stored(key, c, "normal", false, now, 0, "", undefined));
    this.runtimes.delete(key);
  }

  private rebuild(key: PointKey, now: number): void {
    const old = this.runtimes.get(key);
    if (old === undefined) {
      this.runtime(key, now);
      return;
    }
    const rt = this.newRuntime(key, now);
    for (const c of rt.conds) {
      const prev = old.conds.find((o) => o.condition === c.condition);
      if (prev !== undefined && !prev.shared) copyState(prev, rt.own(c));
    }
    for (const o of old.conds) {
      // A condition that is no longer watched cannot clear by itself; forget it rather than leave
      // an alarm nobody can resolve.
      if (o.state !== "normal" && !rt.conds.some((c) => c.condition === o.condition)) {
        this.pending.push(stored(key, o, "normal", false, now, 0, "", undefined));
      }
    }
    rt.prevValue = old.prevValue;
    rt.prevTs = old.prevTs;
    rt.lastTs = old.lastTs;
    rt.lastValue = old.lastValue;
    rt.lastSeen = old.lastSeen;
    rt.timed = rt.conds.some((c) => !Number.isNaN(c.pendingSince) || c.shelvedUntil > 0);
    refresh(rt);
    this.install(rt);
  }

  /** Put a runtime in place, watched by `tick` when it has a stale condition or something timed. */
  private install(rt: PointRuntime): void {
    this.runtimes.set(rt.key, rt);
    if (rt.staleCond !== undefined || rt.timed) this.timedOrStale.add(rt);
    this.noteAlarms(rt);
  }

  /** After `rt.summary` changed: watch it in `alarmed` if it holds an alarm. */
  private noteAlarms(rt: PointRuntime): void {
    if (rt.summary.alarms.length > 0) this.mayBeAlarmed.add(rt);
  }

  /** Something of `rt` is timed now (a delay, a shelve deadline). */
  private timed(rt: PointRuntime): void {
    rt.timed = true;
    this.timedOrStale.add(rt);
  }

  private newRuntime(key: PointKey, now: number): PointRuntime {
    const own = this.own.get(key);
    if (own !== undefined)
      return new PointRuntime(key, new PointSpec(mergeSettings(this.defaults, own), false), now);
    this.defaultSpec ??= new PointSpec(this.defaults, true);
    return new PointRuntime(key, this.defaultSpec, now);
  }

  private runtime(key: PointKey, now: number): PointRuntime {
    let rt = this.runtimes.get(key);
    if (rt !== undefined) return rt;
    rt = this.newRuntime(key, now);
    const saved = this.restored.get(key);
    if (saved !== undefined) {
      this.restored.delete(key);
      for (const a of saved) {
        const found = rt.conds.find((x) => x.condition === a.condition);
        if (found === undefined) {
          this.pending.push({ ...a, state: "normal", active: false, since: now, shelvedUntil: 0 });
          continue;
        }
        const c = rt.own(found);
        c.state = a.state;
        c.active = a.active;
        c.since = a.since;
        c.shelvedUntil = a.shelvedUntil;
        c.text = a.text;
        if (a.shelvedUntil > 0) rt.timed = true;
      }
      refresh(rt);
    }
    this.install(rt);
    return rt;
  }

  /**
   * Check a batch. Returns each point's alarm summary (parallel to `points`) and the transitions, in
   * point order then condition order. Call `flush()` afterwards to persist the changes.
   */
  checkBatch(points: readonly DataPoint[], now: number): CheckResult {
    this.transitions = undefined;
    const alarms = new Array<PointAlarms>(points.length);
    for (let i = 0; i < points.length; i++) {
      const p = points[i];
      const rt = this.runtimes.get(p.key) ?? this.runtime(p.key, now);
      this.checkPoint(rt, p, now);
      alarms[i] = rt.summary;
    }
    return { alarms, transitions: this.transitions ?? NO_TRANSITIONS };
  }

  private checkPoint(rt: PointRuntime, p: DataPoint, now: number): void {
    // Alarms follow the newest value. A late sample checked against the limits would take an alarm back
    // to an old value: after a Redis outage, samples another instance polled meanwhile arrive after the
    // newer ones polled here, and the alarm cleared by the newest sample was raised a second time.
    const newest = rt.lastTs;
    if (p.ts <= newest && newest - p.ts <= LATE_WINDOW_MS) return;
    rt.lastTs = p.ts;
    rt.lastValue = p.value;
    rt.lastSeen = now;
    const conds = rt.conds;
    if (conds.length === 0) return;
    // A transition the sample itself causes is stamped with the sample's time, not the checker's clock:
    // the alarm happened when the value did, and two instances checking the same sample (scale-out,
    // one flow on both) write the same alarm row, which the saver's key then stores once.
    const at = Number.isFinite(p.ts) ? p.ts : now;
    const usable = !unusable(p.quality);
    const v = usable ? numeric(p.value) : NaN;
    // The first sample is its own previous value, so rules on the change do not fire at start-up.
    const previous = Number.isNaN(rt.prevValue) ? v : rt.prevValue;
    let rate = NaN;
    if (!Number.isNaN(v)) {
      const dt = p.ts - rt.prevTs;
      if (dt > 0) rate = (Math.abs(v - rt.prevValue) * 1000) / dt;
      // Samples out of order (dt <= 0) neither measure a rate nor replace the newer one.
      if (!(dt <= 0)) {
        rt.prevValue = v;
        rt.prevTs = p.ts;
      }
    }
    for (let i = 0; i < conds.length; i++) {
      const c = conds[i];
      let raw: number;
      switch (c.condition) {
        case "high":
        case "highHigh":
          raw = Number.isNaN(v) ? HOLD : c.active ? +(v > c.threshold - c.hysteresis) : +(v > c.threshold);
          break;
        case "low":
        case "lowLow":
          raw = Number.isNaN(v) ? HOLD : c.active ? +(v < c.threshold + c.hysteresis) : +(v < c.threshold);
          break;
        case "rate":
          raw = Number.isNaN(rate) ? HOLD : +(rate > c.threshold);
          break;
        case "stale":
          raw = 0;
          break;
        case "quality":
          raw = +!usable;
          break;
        case "verify":
          raw = usable ? this.verify(rt, p, v, previous) : HOLD;
          break;
      }
      if (raw !== HOLD) this.apply(rt, c, raw === 1, now, at);
    }
  }

  private verify(rt: PointRuntime, p: DataPoint, v: number, previous: number): number {
    const scope = rt.spec.verifyScope;
    if (rt.spec.verify === undefined || scope === undefined) return HOLD;
    scope.set("value", Number.isNaN(v) ? p.value : v);
    scope.set("prev", previous);
    scope.set("ts", p.ts);
    scope.set("good", !unusable(p.quality));
    let ok: unknown;
    try {
      ok = rt.spec.verify.evaluate(scope);
    } catch (err) {
      // A rule that cannot be evaluated for this value (e.g. text compared with a number) says nothing
      // about it: hold the alarm as it is rather than raise or clear on a type error, and tell the node.
      return this.ruleFailed(rt, `verify cannot be evaluated: ${errorMessage(err)}`);
    }
    if (typeof ok === "boolean") {
      rt.ruleError = undefined;
      return ok ? 0 : 1;
    }
    if (typeof ok === "number" && !Number.isNaN(ok)) {
      rt.ruleError = undefined;
      return ok !== 0 ? 0 : 1;
    }
    return this.ruleFailed(rt, "verify gives neither true nor false");
  }

  private ruleFailed(rt: PointRuntime, message: string): number {
    if (rt.ruleError !== message) {
      rt.ruleError = message;
      this.onRuleError?.(rt.key, message);
    }
    return HOLD;
  }

  /**
   * Feed a raw condition through the on/off delays into the state machine. `at` stamps an immediate
   * transition (the sample's time); one that waited for a delay is stamped `now`, when the delay ran out.
   */
  private apply(rt: PointRuntime, shared: ConditionRuntime, raw: boolean, now: number, at = now): void {
    if (raw === shared.active) {
      // A shared (pristine) condition has nothing pending: this writes only to a point's own.
      if (!shared.shared) shared.pendingSince = NaN;
      return;
    }
    const c = rt.own(shared);
    const delay = raw ? rt.spec.onDelay : rt.spec.offDelay;
    if (delay > 0) {
      if (Number.isNaN(c.pendingSince)) {
        c.pendingSince = now;
        this.timed(rt);
        return;
      }
      if (now < c.pendingSince + delay) return;
      this.setActive(rt, c, raw, now);
      return;
    }
    this.setActive(rt, c, raw, at);
  }

  private setActive(rt: PointRuntime, shared: ConditionRuntime, active: boolean, now: number): void {
    const c = rt.own(shared);
    c.active = active;
    c.pendingSince = NaN;
    const from = c.state;
    let to: AlarmState = from;
    if (from === "shelved") to = "shelved";
    else if (active) to = "raised";
    else if (from === "raised") to = "cleared-unacked";
    else if (from === "acked") to = "normal";
    this.transition(rt, c, to, now, undefined, from === to);
  }

  private transition(
    rt: PointRuntime,
    shared: ConditionRuntime,
    to: AlarmState,
    now: number,
    by: string | undefined,
    silent = false,
  ): void {
    const c = rt.own(shared);
    const from = c.state;
    c.state = to;
    if (!silent) c.since = now;
    const value = rt.lastValue;
    // An alarm keeps the words it was raised with: its clear or acknowledgement is about the same alarm
    // (a clear re-rendered with the clearing value read "high: 238.2 above 240").
    if (to === "raised" || c.text === "") c.text = renderMessage(c.template, messageFields(rt, c, value));
    const text = c.text;
    this.pending.push(
      stored(
        rt.key,
        c,
        to,
        c.active,
        c.since,
        c.shelvedUntil,
        text,
        value,
        silent ? undefined : { from, by },
      ),
    );
    c.status = c.makeStatus();
    rt.summary = summarize(rt.key, rt.conds);
    this.noteAlarms(rt);
    if (silent) return;
    const t: AlarmTransition = {
      key: rt.key,
      condition: c.condition,
      severity: c.severity,
      text,
      ts: now,
      state: to,
      previous: from,
      active: c.active,
      value,
      ...(by === undefined ? {} : { by }),
    };
    (this.transitions ??= []).push(t);
  }

  /** Drive time: stale points, pending delays and shelving that ran out. Returns the transitions. */
  tick(now: number): readonly AlarmTransition[] {
    this.transitions = undefined;
    // Every point, in the order they were first seen, so transitions keep that order.
    for (const rt of this.runtimes.values()) {
      if (rt.staleAt <= now && rt.staleCond !== undefined) this.apply(rt, rt.staleCond, true, now);
      if (!rt.timed) continue;
      let still = false;
      for (const c of rt.conds) {
        if (!Number.isNaN(c.pendingSince)) {
          const delay = c.active ? rt.spec.offDelay : rt.spec.onDelay;
          // No new sample since the condition started to differ: it still differs, so the delay completes.
          if (now >= c.pendingSince + delay) this.setActive(rt, c, !c.active, now);
          else still = true;
        }
        if (c.shelvedUntil > 0) {
          if (now >= c.shelvedUntil) this.unshelveCondition(rt, c, now, undefined);
          else still = true;
        }
      }
      rt.timed = still;
    }
    return this.takeTransitions();
  }

  /** The runtimes of `timedOrStale` still in place with a stale condition or something timed. */
  private *watched(): Generator<PointRuntime> {
    for (const rt of this.timedOrStale) {
      if (this.runtimes.get(rt.key) !== rt || (rt.staleCond === undefined && !rt.timed))
        this.timedOrStale.delete(rt);
      else yield rt;
    }
  }

  /** When `tick` next has something to do; undefined when nothing is timed. */
  nextDeadline(): number | undefined {
    let next = Infinity;
    for (const rt of this.watched()) {
      const stale = rt.staleCond;
      if (rt.staleAt < next && stale !== undefined && !stale.active && Number.isNaN(stale.pendingSince)) {
        next = rt.staleAt;
      }
      if (!rt.timed) continue;
      for (const c of rt.conds) {
        if (!Number.isNaN(c.pendingSince)) {
          next = Math.min(next, c.pendingSince + (c.active ? rt.spec.offDelay : rt.spec.onDelay));
        }
        if (c.shelvedUntil > 0) next = Math.min(next, c.shelvedUntil);
      }
    }
    return next === Infinity ? undefined : next;
  }

  private condition(key: PointKey, condition: ConditionName): [PointRuntime, ConditionRuntime] {
    const rt = this.runtimes.get(key);
    const c = rt?.conds.find((x) => x.condition === condition);
    if (rt === undefined || c === undefined) {
      throw new DataCollError("not-found", `no ${condition} alarm is watched on ${key}`, "condition");
    }
    return [rt, c];
  }

  private conditionsOf(
    key: PointKey,
    condition: ConditionName | undefined,
  ): [PointRuntime, ConditionRuntime][] {
    if (condition !== undefined) return [this.condition(key, condition)];
    const rt = this.runtimes.get(key);
    if (rt === undefined) throw new DataCollError("not-found", `no alarm is watched on ${key}`, "key");
    return rt.conds.map((c) => [rt, c]);
  }

  /**
   * Acknowledge one condition (or all of a point's): raised → acked, cleared-unacked → normal. Other
   * states are left alone. Returns the transitions.
   */
  acknowledge(
    key: PointKey,
    condition: ConditionName | undefined,
    now: number,
    by?: string,
  ): readonly AlarmTransition[] {
    this.transitions = undefined;
    for (const [rt, c] of this.conditionsOf(key, condition)) {
      if (c.state === "raised") this.transition(rt, c, "acked", now, by);
      else if (c.state === "cleared-unacked") this.transition(rt, c, "normal", now, by);
    }
    return this.takeTransitions();
  }

  /** Shelve a condition until `until` (epoch ms); it returns by itself then, or through `unshelve`. */
  shelve(
    key: PointKey,
    condition: ConditionName,
    until: number,
    now: number,
    by?: string,
  ): readonly AlarmTransition[] {
    this.transitions = undefined;
    if (!(until > now)) throw new DataCollError("invalid", "shelve until must be in the future", "until");
    const [rt, shared] = this.condition(key, condition);
    const c = rt.own(shared);
    c.shelvedUntil = until;
    c.pendingSince = NaN;
    this.timed(rt);
    this.transition(rt, c, "shelved", now, by);
    return this.takeTransitions();
  }

  unshelve(key: PointKey, condition: ConditionName, now: number, by?: string): readonly AlarmTransition[] {
    this.transitions = undefined;
    const [rt, c] = this.condition(key, condition);
    if (c.state === "shelved") this.unshelveCondition(rt, c, now, by);
    return this.takeTransitions();
  }

  private unshelveCondition(
    rt: PointRuntime,
    c: ConditionRuntime,
    now: number,
    by: string | undefined,
  ): void {
    c = rt.own(c);
    c.shelvedUntil = 0;
    this.transition(rt, c, c.active ? "raised" : "normal", now, by);
  }

  private takeTransitions(): readonly AlarmTransition[] {
    const t = this.transitions ?? NO_TRANSITIONS;
    this.transitions = undefined;
    return t;
  }

  /** A point's alarm summary; undefined for a point never seen or configured. */
  summary(key: PointKey): PointAlarms | undefined {
    return this.runtimes.get(key)?.summary;
  }

  /** Every point with a condition not in state normal, in no particular order, without walking every point. */
  alarmed(): PointAlarms[] {
    const out: PointAlarms[] = [];
    for (const rt of this.mayBeAlarmed) {
      if (this.runtimes.get(rt.key) !== rt || rt.summary.alarms.length === 0) this.mayBeAlarmed.delete(rt);
      else out.push(rt.summary);
    }
    return out;
  }

  /** Every point with a condition not in state normal, in the order the points were first seen. */
  activeAlarms(): PointAlarms[] {
    const out: PointAlarms[] = [];
    for (const rt of this.runtimes.values()) if (rt.summary.alarms.length > 0) out.push(rt.summary);
    return out;
  }

  /**
   * Standing by (another instance's checker is the active one): forget the changes this checker made, so
   * nothing it saw is written over what the active one writes.
   */
  dropUnsaved(): void {
    this.pending = [];
  }

  /** The alarm state in the store (written by the checker that was active), for `adopt`. */
  storedAlarms(): Promise<readonly StoredAlarm[]> {
    return this.store.loadAll();
  }

  /**
   * Take over as the active checker: adopt the store's records (`storedAlarms`) as every alarm's state.
   * One exception: a condition this checker sees present that the store does not hold as present — the
   * former active checker died or lost its lease before it wrote the raise, or never saw the sample — is
   * raised now, stamped with the time it became present here. Changes made while standing by are
   * dropped. Returns the transitions to report. Synchronous, so no sample comes between the records and
   * `recent`: pass the records of an awaited read and the transitions as they are after it.
   * `recent`: transitions this checker made while standing by that may have gone unreported; those of an
   * alarm newer than its stored state are reported (an excursion that came and went while no checker was
   * active), and that alarm keeps this checker's state. The others — the store already holds their
   * alarm's state — are reported again, at least once, and the store's state stands: the former checker
   * wrote the state before its transition reached whoever records it (a save node), and a holder killed
   * or redeployed in between wrote the state and lost the transition (the soak's missing raise rows).
   * Whoever records transitions keys them by point, condition, state and time stamp, so a second copy
   * is one row. A raise of an alarm the store already holds present since earlier, with no transition of
   * this copy's before it, is that excursion seen late (this copy missed its first samples): not reported.
   * Records marked unreported (a change made as the former holder closed, its transition sent to nodes
   * closing too) are reported again as they were and written without the mark: a holder redeployed
   * right after a change, with no other copy to have seen it, wrote the state and lost the transition
   * (CI's soak: a raise 0.6 s before the redeploy of the one instance alive, refused by its closing save
   * node).
   */
  adopt(
    records: readonly StoredAlarm[],
    now: number,
    recent: readonly AlarmTransition[] = [],
  ): readonly AlarmTransition[] {
    this.transitions = undefined;
    this.pending = [];
    const left = new Map(records.map((r) => [alarmId(r.key, r.condition), r]));
    const missed = new Map<string, AlarmTransition[]>();
    const again: AlarmTransition[] = [];
    for (const t of recent) {
      const id = alarmId(t.key, t.condition);
      const s = left.get(id);
      if (!(t.ts > (s?.since ?? -Infinity))) {
        again.push(t);
        continue;
      }
      const list = missed.get(id);
      // The store holds the alarm present since before this raise, and this copy made nothing before it:
      // the same excursion, seen late — this copy missed its first samples (its flow was starting, or
      // they reached it after a newer one) — not a new one to report.
      if (list === undefined && s?.active === true && t.state === "raised") continue;
      if (list === undefined) missed.set(id, [t]);
      else list.push(t);
    }
    const replayed: AlarmTransition[] = [];
    for (const rt of this.runtimes.values()) {
      for (const shared of rt.conds) {
        const id = alarmId(rt.key, shared.condition);
        const s = left.get(id);
        left.delete(id);
        const newer = missed.get(id);
        if (newer !== undefined) {
          // This copy saw what the store does not hold: its state stands and is written.
          replayed.push(...newer);
          const last = newer[newer.length - 1];
          this.pending.push(
            stored(
              rt.key,
              shared,
              shared.state,
              shared.active,
              shared.since,
              shared.shelvedUntil,
              shared.text,
              rt.lastValue,
              {
                from: last.previous,
                by: last.by,
              },
            ),
          );
          continue;
        }
        // A condition still in its first state with no record to adopt stays as it is, shared.
        if (s === undefined && shared.shared) continue;
        const c = rt.own(shared);
        const seen = c.active && c.state !== "shelved";
        const raise = seen && s?.active !== true && s?.state !== "shelved";
        const seenSince = c.since;
        c.state = s?.state ?? "normal";
        c.since = s?.since ?? c.since;
        c.shelvedUntil = s?.shelvedUntil ?? 0;
        if (s !== undefined) c.text = s.text;
        if (c.shelvedUntil > 0) this.timed(rt);
        if (raise) {
          this.transition(rt, c, "raised", seenSince > 0 ? seenSince : now, undefined);
          continue;
        }
        if (s !== undefined) c.active = s.active;
        else if (c.state === "normal") c.active = false;
      }
      refresh(rt);
      this.noteAlarms(rt);
    }
    // Records of points not seen here yet wait for their first sample, as at open.
    this.restored.clear();
    for (const r of left.values()) {
      const list = this.restored.get(r.key);
      if (list === undefined) this.restored.set(r.key, [r]);
      else list.push(r);
    }
    const raised = this.takeTransitions();
    // Unreported records whose alarm this copy did not write over above: reported, the mark taken off.
    const unreported = unreportedOf(records.filter((r) => !missed.has(alarmId(r.key, r.condition))));
    this.pending.push(...unreported.unmarked);
    const fromStore = unreported.transitions;
    if (replayed.length === 0 && again.length === 0 && fromStore.length === 0) return raised;
    // A raise seen here that the store does not hold as present may also be among `again`: once.
    const out = new Map<string, AlarmTransition>();
    for (const t of [...fromStore, ...replayed, ...again, ...raised])
      out.set(changeId(t.key, t.condition, t.state, t.ts), t);
    return [...out.values()].sort((a, b) => a.ts - b.ts);
  }

  /** Changes not yet written to the store. */
  get unsaved(): number {
    return this.pending.length;
  }

  /** Write the state changes since the last flush to the store. On failure they are kept for the next try. */
  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    try {
      await this.store.save(batch);
    } catch (err) {
      this.pending = batch.concat(this.pending);
      throw err;
    }
  }
}

function copyState(from: ConditionRuntime, to: ConditionRuntime): void {
  to.state = from.state;
  to.active = from.active;
  to.pendingSince = from.pendingSince;
  to.since = from.since;
  to.shelvedUntil = from.shelvedUntil;
  to.text = from.text;
  to.status = to.makeStatus();
}

function refresh(rt: PointRuntime): void {
  // A shared condition's status is its first one for good.
  for (const c of rt.conds) if (!c.shared) c.status = c.makeStatus();
  rt.summary = summarize(rt.key, rt.conds);
}

function stored(
  key: PointKey,
  c: ConditionRuntime,
  state: AlarmState,
  active: boolean,
  since: number,
  shelvedUntil: number,
  text: string,
  value: DataPoint["value"] | undefined,
  change?: { readonly from: AlarmState; readonly by: string | undefined },
): StoredAlarm {
  return {
    key,
    condition: c.condition,
    state,
    active,
    since,
    shelvedUntil,
    severity: c.severity,
    text,
    ...(value === undefined ? {} : { value }),
    ...(change === undefined ? {} : { previous: change.from }),
    ...(change?.by === undefined ? {} : { by: change.by }),
  };
}

/** One change of one alarm: the key its row in the alarms table has too (point, condition, state, time). */
function changeId(key: PointKey, condition: ConditionName, state: AlarmState, ts: number): string {
  return `${alarmId(key, condition)}|${state}|${ts}`;
}

/**
 * The records marked unreported: their last changes as they were made, to report again, and the records
 * without the mark, to write once they are. The mark is set only on a record that says what it changed
 * from, so nothing is guessed (the alarms table's last write of a key wins, and a wrong `previous` would
 * overwrite the true one).
 */
function unreportedOf(records: readonly StoredAlarm[]): {
  readonly transitions: AlarmTransition[];
  readonly unmarked: StoredAlarm[];
} {
  const transitions: AlarmTransition[] = [];
  const unmarked: StoredAlarm[] = [];
  for (const { unreported, ...r } of records) {
    if (unreported !== true) continue;
    unmarked.push(r);
    if (r.previous === undefined || r.state === "normal") continue;
    transitions.push({
      key: r.key,
      condition: r.condition,
      severity: r.severity,
      text: r.text,
      ts: r.since,
      state: r.state,
      previous: r.previous,
      active: r.active,
      value: r.value,
      ...(r.by === undefined ? {} : { by: r.by }),
    });
  }
  return { transitions: transitions.sort((a, b) => a.ts - b.ts), unmarked };
}

function messageFields(rt: PointRuntime, c: ConditionRuntime, value: unknown): Record<string, unknown> {
  // A point's ids are those of its key: samples are read so (nodes/lib/messages.ts readDataPoint).
  const ids = splitPointKey(rt.key);
  const s = rt.spec.settings;
  return {
    key: rt.key,
    deviceId: ids?.deviceId,
    termId: ids?.termId,
    itemId: ids?.itemId,
    value,
    limit: c.limit,
    condition: c.condition,
    severity: c.severity,
    lowLow: s.lowLow,
    low: s.low,
    high: s.high,
    highHigh: s.highHigh,
    down_limit: s.low,
    up_limit: s.high,
  };
}
