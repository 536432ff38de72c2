/**
 * The batch writer's pump as a state machine: what the writer is doing about MySQL at any moment, and the
 * only moves between those states. It lives apart from the writer, with no I/O of its own, so the whole
 * table reads in one screen and a move the table does not list fails loudly instead of leaving the writer
 * half in two states (the flags this replaces — running, kicked, a retry timer, closing, stopped — could
 * be set in combinations that meant nothing).
 *
 * The routing mode (rows to memory or to the backlog, batch-writer.ts) and the backoff exponent are data
 * the steps use, not states of the pump: the pump only decides whether a step runs.
 */
import type { TimerHandle } from "../../transport/connection";

export type PumpState =
  /** Open and at rest: nothing to send until a write, the batch timer or a finished append kicks. */
  | { readonly tag: "idle" }
  /** Open, steps running one after another; `kicked`: work came during this step, so look again. */
  | { readonly tag: "pumping"; readonly kicked: boolean }
  /** Open, a step failed: rows wait in the backlog and kicks are ignored until the backoff timer fires. */
  | { readonly tag: "waiting-retry"; readonly timer: TimerHandle }
  /** Closing, steps running: as pumping, but a failure ends the attempt instead of arming a retry. */
  | { readonly tag: "draining"; readonly kicked: boolean }
  /** Closing and at rest: close finishes once appends and dead-letter writes have settled. */
  | { readonly tag: "drained" }
  /** Closing during a backoff: no attempt before the retry falls due; the rows stay in the backlog. */
  | { readonly tag: "parked"; readonly timer: TimerHandle }
  /** Closed: nothing touches the pool again (it may be ending). */
  | { readonly tag: "closed" };

export type PumpTag = PumpState["tag"];

export type PumpEvent =
  /** New work may be there: a write, the batch timer, a finished append, a flush. */
  | "kick"
  /** A step starts: kicks before it are answered by it. */
  | "step"
  /** The steps found nothing more to do (or a bug stopped them). */
  | "rest"
  /** A step failed for a connection, statement or backlog reason: back off. */
  | "fail"
  /** The backoff ran out, or retryNow. */
  | "retry-due"
  | "close"
  /** Close has flushed what it could. */
  | "stop";

/**
 * Every legal move; anything missing here throws. Kicks in the waiting states are swallowed on purpose:
 * the backoff, not the input rate, sets the pace of attempts while MySQL is away.
 *
 *   state          kick        step       rest      fail           retry-due   close      stop
 *   idle           pumping     -          -         -              -           drained    -
 *   pumping        pumping*    pumping    idle      waiting-retry  -           draining   -
 *   waiting-retry  (same)      -          -         -              pumping     parked     -
 *   draining       draining*   draining   drained   -              -           -          closed
 *   drained        draining    -          -         -              -           -          closed
 *   parked         (same)      -          -         -              draining    -          closed
 *   closed         (same)      -          -         -              (same)      -          -
 *   (* = with `kicked` set)
 *
 * A failure while draining is not a move: close makes no retries, so the step simply ends like a rest.
 * draining -> closed covers a retry that fell due while close was finishing; the step in flight then
 * finds the pump closed and stops.
 */
export const PUMP_MOVES: { readonly [S in PumpTag]: { readonly [E in PumpEvent]?: PumpTag } } = {
  idle: { kick: "pumping", close: "drained" },
  pumping: { kick: "pumping", step: "pumping", rest: "idle", fail: "waiting-retry", close: "draining" },
  "waiting-retry": { kick: "waiting-retry", "retry-due": "pumping", close: "parked" },
  draining: { kick: "draining", step: "draining", rest: "drained", stop: "closed" },
  drained: { kick: "draining", stop: "closed" },
  parked: { kick: "parked", "retry-due": "draining", stop: "closed" },
  closed: { kick: "closed", "retry-due": "closed" },
};

export const PUMP_IDLE: PumpState = { tag: "idle" };
const PUMPING: PumpState = { tag: "pumping", kicked: false };
const PUMPING_KICKED: PumpState = { tag: "pumping", kicked: true };
const DRAINING: PumpState = { tag: "draining", kicked: false };
const DRAINING_KICKED: PumpState = { tag: "draining", kicked: true };
const DRAINED: PumpState = { tag: "drained" };
const CLOSED: PumpState = { tag: "closed" };

/** Steps run (a loop is alive) in exactly these states. */
export function pumpRunning(s: PumpState): s is Extract<PumpState, { kicked: boolean }> {
  return s.tag === "pumping" || s.tag === "draining";
}

/** Close has been asked in exactly these states. */
export function pumpClosing(s: PumpState): boolean {
  return s.tag === "draining" || s.tag === "drained" || s.tag === "parked" || s.tag === "closed";
}

/** The backoff timer a state holds, if any. */
export function pumpTimer(s: PumpState): TimerHandle | undefined {
  return s.tag === "waiting-retry" || s.tag === "parked" ? s.timer : undefined;
}

export class IllegalPumpMove extends Error {
  constructor(
    readonly from: PumpTag,
    readonly event: PumpEvent,
  ) {
    super(`batch writer pump: "${event}" is not a move from "${from}"`);
  }
}

/**
 * The state after `event`. `armRetry` is called only on the move into waiting-retry, to set the backoff
 * timer that state holds. Timers left behind and loops to start are the caller's: compare the two states.
 */
export function pumpMove(from: PumpState, event: PumpEvent, armRetry: () => TimerHandle): PumpState {
  const to = PUMP_MOVES[from.tag][event];
  if (to === undefined) throw new IllegalPumpMove(from.tag, event);
  // A state that keeps its tag keeps its payload, except the kicked flag that kick sets and step clears.
  const kicked =
    event === "kick" ? pumpRunning(from) : event === "step" ? false : pumpRunning(from) && from.kicked;
  switch (to) {
    case "idle":
      return PUMP_IDLE;
    case "pumping":
      return kicked ? PUMPING_KICKED : PUMPING;
    case "draining":
      return kicked ? DRAINING_KICKED : DRAINING;
    case "drained":
      return DRAINED;
    case "closed":
      return CLOSED;
    case "waiting-retry":
      return from.tag === "waiting-retry" ? from : { tag: "waiting-retry", timer: armRetry() };
    case "parked": {
      const timer = pumpTimer(from);
      // Only waiting-retry and parked lead here (see the table), and both hold a timer.
      if (timer === undefined) throw new IllegalPumpMove(from.tag, event);
      return from.tag === "parked" ? from : { tag: "parked", timer };
    }
  }
}
