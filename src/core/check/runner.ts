/**
 * The checker as a running service, for the check node: one timer on the checker's next deadline (stale
 * points, on/off delays, shelving that runs out), and its state written to the store one flush at a time,
 * coalesced. A failed write is kept by the checker and goes again on the next change or `retry()`.
 * The clock is injected, so this runs on a fake one in tests.
 *
 * With several instances one checker is the active one (see SingleLease): the others stand by — they
 * follow every sample, so they know the alarms when they take over, but write nothing and report no
 * transitions — and the one that takes over adopts the store's state (`activate`).
 */
import type { Clock, TimerHandle } from "../../transport/connection";
import type { AlarmTransition, Checker } from "./checker";

export interface CheckRunnerEvents {
  /** Transitions the timer made. */
  readonly onTimerTransitions: (transitions: readonly AlarmTransition[]) => void;
  /** A write to the store failed (with the error), or succeeded after a failure (undefined). */
  readonly onStoreState: (err: unknown) => void;
}

/** setTimeout's limit; a later deadline is re-armed when this one fires. */
const MAX_DELAY = 2 ** 31 - 1;

export class CheckRunner {
  private timer: TimerHandle | undefined;
  private chain: Promise<void> = Promise.resolve();
  private queued = false;
  private failing = false;
  private closed = false;
  private standingBy: boolean;
  /** Bumped at each switch, so a takeover overtaken by a loss does not complete. */
  private generation = 0;
  /** Transitions this checker made while standing by, oldest first, kept `keepMs` (see `seen`). */
  private recent: AlarmTransition[] = [];
  private readonly keepMs: number;

  constructor(
    readonly checker: Checker,
    private readonly clock: Clock,
    private readonly events: CheckRunnerEvents,
    opts: { readonly standby?: boolean; readonly keepMs?: number } = {},
  ) {
    this.standingBy = opts.standby === true;
    this.keepMs = opts.keepMs ?? 60_000;
    this.schedule();
  }

  /**
   * Transitions the checker made from samples (call with every batch's). While standing by they are not
   * reported but kept for a while: if the active checker dies, or the role is handed over, they may be
   * transitions nobody reported (an excursion that came and went between two active checkers).
   */
  seen(transitions: readonly AlarmTransition[]): void {
    if (!this.standingBy || transitions.length === 0) return;
    this.recent.push(...transitions);
    const oldest = this.clock.now() - this.keepMs;
    let drop = 0;
    while (drop < this.recent.length && this.recent[drop].ts < oldest) drop++;
    if (drop > 0 || this.recent.length > 10_000)
      this.recent = this.recent.slice(Math.max(drop, this.recent.length - 10_000));
  }

  /** False while standing by. */
  get active(): boolean {
    return !this.standingBy;
  }

  /**
   * Stand by: keep following the samples, write nothing, report no transitions. What `seen` kept stays:
   * a takeover overtaken by a loss of the role (its read of the store still on its way) reported none of
   * it, and the next takeover must (an active runner keeps nothing there: `seen` keeps only while
   * standing by, and `activate` empties it).
   */
  standBy(): void {
    this.generation++;
    this.standingBy = true;
    this.checker.dropUnsaved();
  }

  /**
   * Become the active checker: adopt the alarm state in the store and write from now on. Resolves with
   * the transitions the former active checker had not written (to report), or none if `standBy` came
   * first. `since`: transitions this one made while standing by from then on may have gone unreported.
   * Changes the store holds as unreported (made as the former holder closed) are reported too.
   */
  async activate(since = -Infinity): Promise<readonly AlarmTransition[]> {
    const generation = ++this.generation;
    const records = await this.checker.storedAlarms();
    if (generation !== this.generation || this.closed) return [];
    // Samples checked while the read was on its way made transitions too (kept by `seen`): taken now,
    // with the adoption in the same step, so none falls between the two.
    const recent = this.recent.filter((t) => t.ts >= since);
    const out = this.checker.adopt(records, this.clock.now(), recent);
    this.standingBy = false;
    this.recent = [];
    this.changed();
    return out;
  }

  /** Call after anything done on the checker directly (a batch, a command, new settings). */
  changed(): void {
    this.persist();
    this.schedule();
  }

  /** Write again what a failed write left, if anything (call it now and then). */
  retry(): void {
    if (this.checker.unsaved > 0) this.persist();
  }

  /** Stop the timer and finish writing (one last try for what is unsaved). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.persist();
    await this.chain;
  }

  private persist(): void {
    if (this.standingBy) {
      this.checker.dropUnsaved();
      return;
    }
    if (this.queued) return;
    this.queued = true;
    this.chain = this.chain.then(async () => {
      this.queued = false;
      try {
        await this.checker.flush();
        if (this.failing) {
          this.failing = false;
          this.events.onStoreState(undefined);
        }
      } catch (err) {
        this.failing = true;
        this.events.onStoreState(err);
      }
    });
  }

  private schedule(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    const next = this.checker.nextDeadline();
    if (this.closed || next === undefined) return;
    const delay = Math.min(Math.max(next - this.clock.now(), 0), MAX_DELAY);
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      if (this.closed) return;
      const transitions = this.checker.tick(this.clock.now());
      if (transitions.length > 0 && !this.standingBy) this.events.onTimerTransitions(transitions);
      else this.seen(transitions);
      this.changed();
    }, delay);
  }
}
