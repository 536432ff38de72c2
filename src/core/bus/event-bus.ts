/**
 * The in-process event bus: DataPoint batches from whoever produces them (pollers, IEC 104 sessions,
 * formulas, other instances through Redis) to whoever subscribed with a point-key pattern.
 *
 * Batches are delivered as they are: a listener whose pattern matches everything gets the very array that
 * was published, and a filtered listener gets the original array too when every point matches — only a
 * batch that is partly matched is copied. Listeners are kept in an array replaced on (un)subscribe, so
 * publishing allocates nothing for the listener list and a listener may unsubscribe while being called.
 */
import type { DataPoint } from "../model/datapoint";
import { compilePattern, type PointMatcher } from "./pattern";
import { EventIds, RecentIds, type PointsEnvelope, ENVELOPE_VERSION } from "./envelope";

export type PointsListener = (points: readonly DataPoint[], envelope: PointsEnvelope) => void;

export interface Subscription {
  readonly pattern: string;
  unsubscribe(): void;
}

export interface EventBusOptions {
  readonly instanceId: string;
  /** Ids of the events this bus makes; shared with whatever sends them onwards, to know its echoes. */
  readonly ids?: EventIds;
  /** How many recent event ids are remembered to drop duplicates from other instances. */
  readonly dedupeWindow?: number;
  readonly now?: () => number;
  /** A listener threw: the bus keeps delivering to the others and reports it here. */
  readonly onListenerError?: (err: unknown, pattern: string) => void;
}

interface Entry {
  readonly matcher: PointMatcher;
  readonly listener: PointsListener;
}

export class EventBus {
  readonly instanceId: string;
  readonly ids: EventIds;
  private entries: readonly Entry[] = [];
  private readonly recent: RecentIds;
  private readonly now: () => number;
  private readonly onListenerError: (err: unknown, pattern: string) => void;

  constructor(opts: EventBusOptions) {
    this.instanceId = opts.instanceId;
    this.ids = opts.ids ?? new EventIds();
    this.recent = new RecentIds(opts.dedupeWindow ?? 10_000);
    this.now = opts.now ?? Date.now;
    this.onListenerError =
      opts.onListenerError ??
      ((err, pattern) => process.emitWarning(`datacoll bus listener for "${pattern}" threw: ${String(err)}`));
  }

  get listenerCount(): number {
    return this.entries.length;
  }

  /** Listen to the points matching `pattern` (see pattern.ts); throws a DataCollError for a bad pattern. */
  subscribe(pattern: string, listener: PointsListener): Subscription {
    const entry: Entry = { matcher: compilePattern(pattern), listener };
    this.entries = [...this.entries, entry];
    return {
      pattern: entry.matcher.pattern,
      unsubscribe: () => {
        this.entries = this.entries.filter((e) => e !== entry);
      },
    };
  }

  /** Wrap a batch made here in a new envelope (with a fresh id) without delivering it. */
  envelope(points: readonly DataPoint[]): PointsEnvelope {
    return { v: ENVELOPE_VERSION, instance: this.instanceId, id: this.ids.next(), ts: this.now(), points };
  }

  /** Deliver a batch made in this instance to local listeners; returns its envelope to send onwards. */
  publish(points: readonly DataPoint[]): PointsEnvelope {
    const env = this.envelope(points);
    this.deliver(env);
    return env;
  }

  /**
   * Deliver a batch that came from outside (another instance through Redis). Our own events coming back
   * and events already seen are dropped; returns whether it was delivered.
   */
  receive(env: PointsEnvelope): boolean {
    if (this.ids.isOwn(env.id) || this.recent.seen(env.id)) return false;
    this.deliver(env);
    return true;
  }

  deliver(env: PointsEnvelope): void {
    const points = env.points;
    if (points.length === 0) return;
    for (const e of this.entries) {
      const selected = e.matcher.all ? points : select(points, e.matcher);
      if (selected.length === 0) continue;
      try {
        e.listener(selected, env);
      } catch (err) {
        this.onListenerError(err, e.matcher.pattern);
      }
    }
  }

  /** Drop every subscription (the manager closes). */
  clear(): void {
    this.entries = [];
  }
}

function select(points: readonly DataPoint[], m: PointMatcher): readonly DataPoint[] {
  let first = -1;
  for (let i = 0; i < points.length; i++) {
    if (!m.matches(points[i])) {
      first = i;
      break;
    }
  }
  if (first < 0) return points;
  const out = points.slice(0, first);
  for (let i = first + 1; i < points.length; i++) if (m.matches(points[i])) out.push(points[i]);
  return out;
}
