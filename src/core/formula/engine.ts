/**
 * The formula engine: formulas compiled once when set, evaluated when one of their parameters receives a
 * sample (and, for formulas with `everyMs`, on a timer the caller drives through `tick`/`nextDeadline`).
 * Each result is a DataPoint on the formula's result point with cause `formula` and a quality derived
 * from the inputs. Results that are parameters of other formulas are fed on within the same call, up to
 * a bounded depth so a cycle of formulas cannot spin.
 */
import { DataCollError, errorMessage } from "../errors";
import { GOOD, splitPointKey, type DataPoint, type PointKey, type Quality } from "../model/datapoint";
import { compileFormula, type CompiledFormula, type WindowUse } from "./compile";
import { SampleRing, type HistorySample, type HistorySource, type WindowSpan } from "./history";
import { computeWindow, previous, type WindowFunction } from "./window";

export interface FormulaDefinition {
  readonly id: string;
  readonly expression: string;
  /** p1 … pn → point key. */
  readonly params: Readonly<Record<string, PointKey>>;
  /** The point the result is written to (a point on a `formula` device). */
  readonly result: PointKey;
  /** Also evaluate every this many milliseconds; absent or 0: only when a parameter receives a sample. */
  readonly everyMs?: number;
}

export interface FormulaEngineOptions {
  /** Seeds parameter history after a restart (see `seed`). */
  readonly history?: HistorySource;
  /** The window of `max(p1)` and the like when none is given; default the last 100 samples. */
  readonly defaultWindow?: WindowSpan;
  /** Samples kept per point at most, whatever the windows ask; default 10,000. */
  readonly maxSamplesPerPoint?: number;
  /** How many times results are fed on to formulas that use them within one call; default 8. */
  readonly maxChainDepth?: number;
}

export const DEFAULT_WINDOW: WindowSpan = Object.freeze({ kind: "count", count: 100 });

class Input {
  readonly ring: SampleRing;
  latest: number | boolean | string | null = null;
  latestTs = -Infinity;
  quality: Quality = GOOD;
  hasValue = false;
  keepCount = 1;
  keepMs = 0;
  seeded = false;
  /** Formulas reading this input; an array because it is walked for every sample. */
  users: FormulaRuntime[] = [];

  constructor(
    readonly key: PointKey,
    limit: number,
  ) {
    this.ring = new SampleRing(limit);
  }
}

interface Binding {
  readonly name: string;
  readonly input: Input;
}

interface WindowBinding {
  readonly use: WindowUse;
  readonly input: Input;
}

class FormulaRuntime {
  readonly scope = new Map<string, unknown>();
  dirty = false;
  nextDue = Infinity;
  readonly deviceId: string;
  readonly termId: string;
  readonly itemId: string;

  constructor(
    readonly def: FormulaDefinition,
    readonly compiled: CompiledFormula,
    readonly bindings: readonly Binding[],
    readonly windows: readonly WindowBinding[],
  ) {
    const parts = splitPointKey(def.result);
    if (parts === undefined) {
      throw new DataCollError(
        "invalid",
        `formula ${def.id}: result ${def.result} is not a point key`,
        "result",
      );
    }
    this.deviceId = parts.deviceId;
    this.termId = parts.termId;
    this.itemId = parts.itemId;
  }
}

function unusable(q: Quality): boolean {
  return q.invalid === true || q.overflow === true || q.blocked === true;
}

export class FormulaEngine {
  private readonly formulas = new Map<string, FormulaRuntime>();
  private readonly inputs = new Map<PointKey, Input>();
  private readonly defaultWindow: WindowSpan;
  private readonly limit: number;
  private readonly maxDepth: number;

  constructor(private readonly options: FormulaEngineOptions = {}) {
    this.defaultWindow = options.defaultWindow ?? DEFAULT_WINDOW;
    this.limit = options.maxSamplesPerPoint ?? 10_000;
    this.maxDepth = options.maxChainDepth ?? 8;
  }

  /** Add or replace a formula. Throws a DataCollError (field `expression`, `params` or `result`). */
  set(def: FormulaDefinition, now: number): void {
    const names = new Set(Object.keys(def.params));
    const r = compileFormula(def.expression, names, this.defaultWindow);
    if (!r.ok) throw new DataCollError("invalid", `formula ${def.id}: ${r.problem.message}`, "expression");
    this.remove(def.id);
    const inputFor = (name: string): Input => {
      const key = def.params[name];
      let input = this.inputs.get(key);
      if (input === undefined) {
        input = new Input(key, this.limit);
        this.inputs.set(key, input);
      }
      return input;
    };
    const bindings = r.formula.params.map((name) => ({ name, input: inputFor(name) }));
    const windows = r.formula.windows.map((use) => ({ use, input: inputFor(use.param) }));
    const f = new FormulaRuntime(def, r.formula, bindings, windows);
    if (def.everyMs !== undefined && def.everyMs > 0) f.nextDue = now + def.everyMs;
    this.formulas.set(def.id, f);
    for (const b of bindings) b.input.users.push(f);
    for (const b of bindings) this.retention(b.input);
  }

  remove(id: string): void {
    const f = this.formulas.get(id);
    if (f === undefined) return;
    this.formulas.delete(id);
    for (const b of f.bindings) {
      b.input.users = b.input.users.filter((u) => u !== f);
      if (b.input.users.length === 0) this.inputs.delete(b.input.key);
      else this.retention(b.input);
    }
  }

  /** How much history an input must keep: the most any formula's windows reach back. */
  private retention(input: Input): void {
    let count = 1;
    let ms = 0;
    for (const f of input.users) {
      for (const w of f.windows) {
        if (w.input !== input) continue;
        if (w.use.span.kind === "count") count = Math.max(count, w.use.span.count);
        else ms = Math.max(ms, w.use.span.ms);
      }
    }
    input.keepCount = count;
    input.keepMs = ms;
  }

  /** Point keys the formulas read; the caller subscribes to these. */
  parameterKeys(): PointKey[] {
    return [...this.inputs.keys()];
  }

  /**
   * Load recent history for parameters not seeded yet, so windows and latest values survive a restart.
   * Samples from the history count as good; live samples already received are kept and win.
   */
  async seed(now: number): Promise<void> {
    const source = this.options.history;
    if (source === undefined) return;
    for (const input of this.inputs.values()) {
      if (input.seeded) continue;
      const got: HistorySample[] = [
        ...(await source.samples(input.key, { kind: "count", count: input.keepCount }, now)),
      ];
      if (input.keepMs > 0)
        got.push(...(await source.samples(input.key, { kind: "duration", ms: input.keepMs }, now)));
      this.merge(input, got);
      // Marked only once loaded, so a store that failed is asked again by the next seed().
      input.seeded = true;
    }
  }

  private merge(input: Input, got: HistorySample[]): void {
    const ring = input.ring;
    const live: HistorySample[] = [];
    for (let i = 0; i < ring.size; i++) live.push({ ts: ring.tsAt(i), value: ring.valueAt(i) });
    const firstLive = live.length > 0 ? live[0].ts : Infinity;
    const older = got.filter((s) => s.ts < firstLive && Number.isFinite(s.value)).sort((a, b) => a.ts - b.ts);
    ring.clear();
    for (const s of older) ring.push(s.ts, s.value);
    for (const s of live) ring.push(s.ts, s.value);
    ring.trim(input.keepCount, input.keepMs);
    if (!input.hasValue && older.length > 0) {
      const last = older[older.length - 1];
      input.latest = last.value;
      input.latestTs = last.ts;
      input.hasValue = true;
    }
  }

  /** Feed samples; returns the results of every formula whose parameters received one. */
  update(points: readonly DataPoint[], now: number): DataPoint[] {
    const out: DataPoint[] = [];
    this.propagate(points, now, out, 0);
    return out;
  }

  private propagate(points: readonly DataPoint[], now: number, out: DataPoint[], depth: number): void {
    let batch = points;
    for (let d = depth; batch.length > 0 && d < this.maxDepth; d++) {
      const dirty: FormulaRuntime[] = [];
      for (let i = 0; i < batch.length; i++) {
        const p = batch[i];
        const input = this.inputs.get(p.key);
        if (input === undefined || !this.ingest(input, p)) continue;
        const users = input.users;
        for (let u = 0; u < users.length; u++) {
          const f = users[u];
          if (!f.dirty) {
            f.dirty = true;
            dirty.push(f);
          }
        }
      }
      const results: DataPoint[] = [];
      for (const f of dirty) {
        f.dirty = false;
        results.push(this.evaluate(f, undefined, now));
      }
      for (const r of results) out.push(r);
      batch = results;
    }
  }

  /** Take a sample into an input; false for one older than the newest seen (a late duplicate). */
  private ingest(input: Input, p: DataPoint): boolean {
    if (p.ts < input.latestTs) return false;
    input.latest = p.value;
    input.latestTs = p.ts;
    input.quality = p.quality;
    input.hasValue = true;
    if (unusable(p.quality)) return true;
    const v = typeof p.value === "number" ? p.value : typeof p.value === "boolean" ? +p.value : NaN;
    // Only usable numbers enter the history, so a window never averages a failed read.
    if (Number.isFinite(v) && input.ring.push(p.ts, v)) input.ring.trim(input.keepCount, input.keepMs);
    return true;
  }

  /**
   * Evaluate one formula. `at` is the reference time of windows and the result's time stamp: for a
   * sample-driven evaluation the newest parameter time, for a timed one the tick's `now`.
   */
  private evaluate(f: FormulaRuntime, at: number | undefined, now: number): DataPoint {
    let invalid = false;
    let notTopical = false;
    let substituted = false;
    let error: string | undefined;
    let newest = -Infinity;
    const scope = f.scope;
    for (let i = 0; i < f.bindings.length; i++) {
      const { name, input } = f.bindings[i];
      if (!input.hasValue) {
        invalid = true;
        error ??= `${name} (${input.key}) has no value yet`;
      } else {
        const q = input.quality;
        if (unusable(q)) {
          invalid = true;
          error ??= `${name} (${input.key}) is not valid`;
        }
        if (q.notTopical === true) notTopical = true;
        if (q.substituted === true) substituted = true;
        if (input.latestTs > newest) newest = input.latestTs;
      }
      scope.set(name, input.latest);
    }
    const ref = at ?? (newest === -Infinity ? now : newest);
    for (let i = 0; i < f.windows.length; i++) {
      const { use, input } = f.windows[i];
      scope.set(
        use.symbol,
        use.fn === "prev"
          ? previous(input.ring, use.back)
          : computeWindow(use.fn as WindowFunction, input.ring, use.span, ref),
      );
    }
    let value: DataPoint["value"] = null;
    if (!invalid) {
      try {
        const r = f.compiled.expression.evaluate(scope);
        if (typeof r === "boolean") value = r;
        else if (typeof r === "number" && Number.isFinite(r)) value = r;
        else {
          invalid = true;
          error =
            typeof r === "number" ? `the result is ${r}, not a finite number` : "the result is not a number";
        }
      } catch (err) {
        invalid = true;
        error = `cannot evaluate: ${errorMessage(err)}`;
      }
    }
    const quality: Quality =
      invalid || notTopical || substituted
        ? {
            ...(invalid ? { invalid: true } : {}),
            ...(notTopical ? { notTopical: true } : {}),
            ...(substituted ? { substituted: true } : {}),
          }
        : GOOD;
    // Built without spreads: this runs once per evaluation and the temporaries showed up as GC time.
    const out: { -readonly [K in keyof DataPoint]: DataPoint[K] } = {
      key: f.def.result,
      deviceId: f.deviceId,
      termId: f.termId,
      itemId: f.itemId,
      value,
      ts: ref,
      quality,
      cause: "formula",
    };
    if (error !== undefined) out.error = `formula ${f.def.id}: ${error}`;
    return out;
  }

  /** Evaluate one formula now, whatever its trigger (an on-demand call). */
  evaluateNow(id: string, now: number): DataPoint {
    const f = this.formulas.get(id);
    if (f === undefined) throw new DataCollError("not-found", `no formula ${id}`, "id");
    return this.evaluate(f, now, now);
  }

  /** Evaluate the timed formulas that are due; their results are fed on like any other sample. */
  tick(now: number): DataPoint[] {
    const results: DataPoint[] = [];
    for (const f of this.formulas.values()) {
      if (f.nextDue > now) continue;
      const every = f.def.everyMs ?? 0;
      // Skip missed periods rather than catching up with a burst after a stall.
      f.nextDue += Math.max(1, Math.ceil((now - f.nextDue + 1) / every)) * every;
      results.push(this.evaluate(f, now, now));
    }
    const out = [...results];
    this.propagate(results, now, out, 1);
    return out;
  }

  nextDeadline(): number | undefined {
    let next = Infinity;
    for (const f of this.formulas.values()) if (f.nextDue < next) next = f.nextDue;
    return next === Infinity ? undefined : next;
  }
}
