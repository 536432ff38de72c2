/**
 * What a data node does, without Node-RED: it follows a point-key pattern on a manager's bus, leaves out
 * unchanged samples when asked, paces what is left (pace.ts) with one timer on an injected clock, and
 * hands on the messages whose turn has come, each as its points. The node maps its settings in, these
 * messages out and the status below to a dot; so this is tested on a manual clock and a real manager.
 */
import { systemClock } from "../../transport/connection";
import type { Clock, TimerHandle } from "../../protocols/clock";
import type { Manager, ManagerState } from "../manager";
import type { OutageStats } from "../store/outage-buffer";
import type { DataPoint } from "../model/datapoint";
import type { Subscription } from "./event-bus";
import { ChangeFilter, RateLimit, type OutputMode } from "./pace";

export interface DataControllerOptions {
  readonly manager: Manager;
  /** A point-key pattern (pattern.ts); a bad one makes the constructor throw. */
  readonly pattern: string;
  readonly mode: OutputMode;
  /** Leave out samples whose value and quality equal the last one let through for their point. */
  readonly onlyChange?: boolean;
  /** Messages per second at most; 0 for no limit. */
  readonly maxRate: number;
  readonly clock?: Clock;
  /** The messages to send now, each as its points: a batch, or one point in point mode. */
  readonly onMessages: (messages: readonly (readonly DataPoint[])[]) => void;
  /** The manager's connection changed: time to show the status again. */
  readonly onState?: (state: ManagerState) => void;
}

/** The manager's connection first (data from other instances stops with it), then what waits. */
export interface DataStatus {
  readonly state: ManagerState;
  /** Points held back by the rate limit. */
  readonly waiting: number;
  /** The manager's outage buffer (Redis only): what waits for Redis and what was dropped for room. */
  readonly outage?: OutageStats;
}

export class DataController {
  private readonly clock: Clock;
  private readonly changes: ChangeFilter | undefined;
  private readonly limit: RateLimit;
  private readonly sub: Subscription;
  private readonly offState: () => void;
  private timer: TimerHandle | undefined;

  constructor(private readonly opts: DataControllerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.changes = opts.onlyChange === true ? new ChangeFilter() : undefined;
    this.limit = new RateLimit(opts.maxRate, opts.mode, this.clock.now());
    this.sub = opts.manager.subscribe(opts.pattern, (points) => this.take(points));
    this.offState = opts.manager.onState((state) => opts.onState?.(state));
  }

  status(): DataStatus {
    const outage = this.opts.manager.outage();
    return { state: this.opts.manager.state, waiting: this.limit.pending, ...(outage ? { outage } : {}) };
  }

  /** Leaves the bus and stops the timer; what still waits is dropped. The manager is the caller's. */
  close(): void {
    this.sub.unsubscribe();
    this.offState();
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  private take(points: readonly DataPoint[]): void {
    const chosen = this.changes ? this.changes.filter(points) : points;
    if (chosen.length === 0) return;
    this.send(this.limit.offer(chosen, this.clock.now()));
    this.drainLater();
  }

  private send(messages: readonly (readonly DataPoint[])[]): void {
    if (messages.length > 0) this.opts.onMessages(messages);
  }

  /** One timer, set to when the next waiting message may go. */
  private drainLater(): void {
    const due = this.limit.nextDue();
    if (this.timer !== undefined || due === undefined) return;
    this.timer = this.clock.setTimer(
      () => {
        this.timer = undefined;
        this.send(this.limit.drain(this.clock.now()));
        this.drainLater();
      },
      Math.max(0, due - this.clock.now()),
    );
  }
}
