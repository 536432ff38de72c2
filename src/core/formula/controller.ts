/**
 * What a formula node does, without Node-RED: it keeps a FormulaEngine loaded with the node's table
 * (and, when asked, the manager's registry formulas, followed as they change), feeds it samples from the
 * node's input or the manager's bus, runs its timer, and publishes results to the manager. The node only
 * maps its settings in, translates the notices and status below into editor texts, and maps results to
 * messages; so this is tested on a manual clock and a real embedded manager.
 */
import { systemClock } from "../../transport/connection";
import type { Clock, TimerHandle } from "../../protocols/clock";
import type { Subscription } from "../bus/event-bus";
import { errorMessage } from "../errors";
import type { Manager } from "../manager";
import type { DataPoint, PointKey } from "../model/datapoint";
import { FormulaEngine } from "./engine";
import { historySourceOn } from "./store-history";
import { definitionOf, definitionOfRow, type Definition, type FormulaRow } from "./table";

/** Something the node should tell the user; `reason` is plain words, the node adds its own frame. */
export type FormulaNotice =
  /** A formula of the table or the registry cannot run; the others do. */
  | { readonly code: "formula-refused"; readonly id: string; readonly reason: string }
  /** The store's history could not seed the windows; they start empty. */
  | { readonly code: "history-unreadable"; readonly reason: string }
  /** The manager or its registry could not be read at start: nothing runs (input is refused). */
  | { readonly code: "registry-unreadable"; readonly reason: string }
  /** A registry change could not be applied; the formulas stay as they were. */
  | { readonly code: "registry-change-failed"; readonly reason: string }
  /** Results could not be published; said once until a publish succeeds again. */
  | { readonly code: "publish-failed"; readonly reason: string };

/** What the node's status shows, most urgent first. */
export type FormulaStatus =
  | { readonly kind: "refused"; readonly count: number; readonly id: string; readonly reason: string }
  | { readonly kind: "publish-failed"; readonly reason: string }
  | { readonly kind: "running"; readonly formulas: number };

export interface FormulaControllerOptions {
  /** The node's own table; its ids win over registry formulas of the same id. */
  readonly rows: readonly FormulaRow[];
  /** Also evaluate every this many ms (a registry formula's own `everyMs` wins); 0: only on samples. */
  readonly everyMs: number;
  readonly manager?: Manager;
  /** Also run the manager's registry formulas (needs `manager`). */
  readonly useRegistry?: boolean;
  /** Take parameters from the manager's bus (needs `manager`). */
  readonly fromBus?: boolean;
  readonly clock?: Clock;
  /** Results of the timer or of samples from the bus; results of `input` go to its own `deliver`. */
  readonly onResults: (points: readonly DataPoint[]) => void;
  readonly onNotice: (notice: FormulaNotice) => void;
  /** The formulas changed after a registry change: time to show the status again. */
  readonly onChange?: () => void;
}

export class FormulaController {
  /** Settles once the registry's formulas are loaded and the windows seeded (at once without a manager). */
  readonly ready: Promise<void>;
  private readonly engine: FormulaEngine;
  private readonly clock: Clock;
  private readonly manager: Manager | undefined;
  /** Why each formula that cannot run does not, by id. */
  private readonly problems = new Map<string, string>();
  /** Ids from the node's table: they win over registry formulas of the same id. */
  private readonly tableIds = new Set<string>();
  /** Result keys: a result coming back in (through the bus or a data node) is our own echo. */
  private readonly results = new Map<string, PointKey>();
  private own: ReadonlySet<PointKey> = new Set();
  private publishError: string | undefined;
  private timer: TimerHandle | undefined;
  private closed = false;
  private readonly sub: Subscription | undefined;
  private readonly offRegistry: (() => void) | undefined;

  constructor(private readonly opts: FormulaControllerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.manager = opts.manager;
    const manager = this.manager;
    this.engine = new FormulaEngine(manager ? { history: historySourceOn(manager.store) } : {});
    opts.rows.forEach((row, i) => {
      const d = definitionOfRow(row, i, opts.everyMs);
      this.tableIds.add(d.ok ? d.def.id : d.id);
      this.apply(d);
    });
    const useRegistry = manager !== undefined && opts.useRegistry === true;
    this.ready = (async () => {
      if (manager === undefined) return;
      await manager.ready();
      if (useRegistry) {
        for (const f of await manager.registry.listFormulas())
          if (f.enabled && !this.tableIds.has(f.id)) this.apply(definitionOf(f, opts.everyMs));
      }
      await this.seed();
      this.schedule();
    })();
    this.ready.catch((err: unknown) => {
      // Closed meanwhile: the node is gone and nobody is left to tell.
      if (!this.closed) opts.onNotice({ code: "registry-unreadable", reason: errorMessage(err) });
    });
    if (useRegistry && manager !== undefined) {
      this.offRegistry = manager.registry.onChange((changes) => {
        for (const c of changes) {
          if (c.kind !== "formula" || this.tableIds.has(c.id)) continue;
          void this.ready
            .then(async () => {
              const f = c.op === "delete" ? undefined : await manager.registry.getFormula(c.id);
              if (this.closed) return;
              if (f === undefined || !f.enabled) this.drop(c.id);
              else this.apply(definitionOf(f, opts.everyMs));
              await this.seed();
              this.schedule();
              opts.onChange?.();
            })
            .catch((err: unknown) =>
              opts.onNotice({ code: "registry-change-failed", reason: errorMessage(err) }),
            );
        }
      });
    }
    if (manager !== undefined && opts.fromBus === true) {
      this.sub = manager.subscribe("#", (points) => {
        this.ready.then(
          () => {
            if (!this.closed) this.emit(this.feed(points), opts.onResults);
          },
          // Nothing runs when the registry could not be read, and that was said once (registry-unreadable):
          // the bus's samples have nowhere to go.
          () => undefined,
        );
      });
    }
    this.schedule();
  }

  /**
   * Samples from the node's input: evaluated once the controller is ready; results go to `deliver` (the
   * node's own send for this message) and then to the manager. Rejects when the registry could not be read.
   */
  async input(points: readonly DataPoint[], deliver: (points: readonly DataPoint[]) => void): Promise<void> {
    await this.ready;
    this.emit(this.feed(points), deliver);
    this.schedule();
  }

  status(): FormulaStatus {
    if (this.problems.size > 0) {
      const [id, reason] = [...this.problems][0];
      return { kind: "refused", count: this.problems.size, id, reason };
    }
    if (this.publishError !== undefined) return { kind: "publish-failed", reason: this.publishError };
    return { kind: "running", formulas: this.results.size };
  }

  /** Stops the timer and leaves the bus and the registry; the manager itself is the caller's. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.sub?.unsubscribe();
    this.offRegistry?.();
  }

  private apply(d: Definition): void {
    const id = d.ok ? d.def.id : d.id;
    try {
      if (!d.ok) throw new Error(d.problem);
      this.engine.set(d.def, this.clock.now());
      this.results.set(id, d.def.result);
      this.own = new Set(this.results.values());
      this.problems.delete(id);
    } catch (err) {
      this.engine.remove(id);
      this.results.delete(id);
      this.own = new Set(this.results.values());
      this.problems.set(id, errorMessage(err));
      this.opts.onNotice({ code: "formula-refused", id, reason: errorMessage(err) });
    }
  }

  private drop(id: string): void {
    this.engine.remove(id);
    this.results.delete(id);
    this.own = new Set(this.results.values());
    this.problems.delete(id);
  }

  private async seed(): Promise<void> {
    if (this.manager === undefined) return;
    try {
      await this.engine.seed(this.clock.now());
    } catch (err) {
      this.opts.onNotice({ code: "history-unreadable", reason: errorMessage(err) });
    }
  }

  private feed(points: readonly DataPoint[]): DataPoint[] {
    const own = this.own;
    const echo = points.some((p) => own.has(p.key));
    return this.engine.update(echo ? points.filter((p) => !own.has(p.key)) : points, this.clock.now());
  }

  /** Hand results on first, then publish them: the node's output never waits for the store. */
  private emit(points: readonly DataPoint[], deliver: (points: readonly DataPoint[]) => void): void {
    if (points.length === 0) return;
    deliver(points);
    if (this.manager === undefined) return;
    this.manager.publish(points).then(
      () => (this.publishError = undefined),
      (err: unknown) => {
        if (this.publishError === undefined)
          this.opts.onNotice({ code: "publish-failed", reason: errorMessage(err) });
        this.publishError = errorMessage(err);
      },
    );
  }

  /** One timer, set to the engine's next deadline. */
  private schedule(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    const next = this.engine.nextDeadline();
    if (this.closed || next === undefined) return;
    const ms = Math.min(Math.max(next - this.clock.now(), 0), 2 ** 31 - 1);
    this.timer = this.clock.setTimer(() => this.onTimer(), ms);
  }

  private onTimer(): void {
    this.timer = undefined;
    this.emit(this.engine.tick(this.clock.now()), this.opts.onResults);
    this.schedule();
  }
}
