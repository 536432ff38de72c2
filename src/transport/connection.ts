/**
 * A reconnecting client connection that drives a protocol session. It knows sockets, time and
 * reconnection; it knows nothing of Modbus or IEC 104.
 *
 * THE SESSION INTERFACE. A session is a state machine with no I/O of its own. It reads the time from
 * the same injected clock as the connection (its owner hands both the one Clock of src/protocols/clock.ts)
 * and the connection carries out the actions it returns:
 *
 *   onConnected()           the socket is up; typically returns writes of whatever was waiting
 *   onData(bytes)           octets arrived, in any segmentation; the session reassembles frames
 *   onDisconnected()        the socket is gone (either side); fail or keep what was on the wire
 *   tick()                  time passed; act on every deadline <= now
 *   nextDeadline()          the earliest time tick() has work, or undefined; asked after every call,
 *                           the connection keeps ONE timer armed for the earliest of it and its own
 *                           deadlines (connect timeout, reconnect backoff); that timer may fire before
 *                           anything is due (tick() then finds nothing), never after
 *
 * Actions the connection itself carries out are `{ type: "write", bytes }` (sent if the socket is up,
 * dropped otherwise) and `{ type: "close", reason }` (drop the socket, reconnect after backoff). Every
 * other action is handed to the owner's `onAction` in order. Outside calls into the session (user
 * requests) go through `drive(fn)` so their actions are carried out and the timer re-armed the same way.
 * Calls never overlap: an event that arrives while actions are being carried out (a synchronous peer)
 * is queued and handled after them.
 *
 * CONNECTION STATES.
 *
 *        start()              connect event
 *   idle --------> connecting -------------> connected
 *                   |    ^                      |
 *     refused/failed|    |backoff over          |peer closed / socket error / session "close"
 *     /timed out    v    |                      v
 *                  backoff <--------------------+
 *
 *   any state --close()--> closed   (terminal: socket destroyed, timer cleared, session told)
 *
 * Reconnect delay: initial * 2^(failures-1), capped, times a random factor in [1-jitter, 1+jitter] so
 * a fleet of clients restarted together does not reconnect in lockstep. Failures reset when a
 * connection is established.
 */
import type { Clock, TimerHandle } from "../protocols/clock";
import { between, firstProblem, positiveDuration, rule, type OptionCheck } from "../protocols/options";
import type { SocketFactory, TransportSocket } from "./socket";

export type ConnectionState = "idle" | "connecting" | "connected" | "backoff" | "closed";

export type TransportAction =
  | { readonly type: "write"; readonly bytes: Uint8Array }
  | { readonly type: "close"; readonly reason: string };

export interface DrivenSession<A extends { readonly type: string }> {
  onConnected(): readonly (A | TransportAction)[];
  onData(bytes: Uint8Array): readonly (A | TransportAction)[];
  onDisconnected(): readonly (A | TransportAction)[];
  /** An attempt to connect failed (refused, timed out, no route): the peer is not reachable now. */
  onConnectFailed?(reason: string): readonly (A | TransportAction)[];
  tick(): readonly (A | TransportAction)[];
  nextDeadline(): number | undefined;
}

// The one Clock lives with the sessions that read it (src/protocols/clock.ts); re-exported here so the
// transport's users keep one import for the connection and its clock.
export type { Clock, TimerHandle } from "../protocols/clock";

/** The wall clock and Node's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * A timer this late (ms after the time it was armed for) has waited on a busy event loop; see
 * Connection.onTimer. Node's timers fire 1–2 ms late on an idle loop.
 */
export const LATE_TIMER_MS = 10;

export interface ConnectionOptions {
  /** Give up a connect attempt after this long, ms. */
  readonly connectTimeoutMs: number;
  readonly reconnectInitialMs: number;
  readonly reconnectMaxMs: number;
  /** Fraction of the delay randomised either way, 0..1. */
  readonly reconnectJitter: number;
}

export const DEFAULT_CONNECTION_OPTIONS: ConnectionOptions = Object.freeze({
  connectTimeoutMs: 5000,
  reconnectInitialMs: 1000,
  reconnectMaxMs: 30000,
  reconnectJitter: 0.2,
});

/** The first option out of range, with a sentence saying why, or undefined when all are fine. */
export function checkConnectionOptions(o: ConnectionOptions): OptionCheck<keyof ConnectionOptions> {
  return firstProblem<keyof ConnectionOptions>(
    positiveDuration("connectTimeoutMs", "connect timeout", o.connectTimeoutMs),
    positiveDuration("reconnectInitialMs", "first reconnect delay", o.reconnectInitialMs),
    rule(
      "reconnectMaxMs",
      o.reconnectMaxMs >= o.reconnectInitialMs && Number.isFinite(o.reconnectMaxMs),
      `maximum reconnect delay ${o.reconnectMaxMs} ms must be at least the first delay (${o.reconnectInitialMs} ms)`,
    ),
    between("reconnectJitter", "reconnect jitter", o.reconnectJitter, 0, 1),
  );
}

export interface StateChange {
  readonly state: ConnectionState;
  readonly previous: ConnectionState;
  /** Why, for states entered because something failed or ended. */
  readonly reason?: string;
  /** In `backoff`: when the next attempt starts (clock time). */
  readonly retryAt?: number;
}

export type StateListener = (change: StateChange) => void;

/** Octets as they crossed the socket: "tx" as written (one batch per write), "rx" per segment read. */
export type TrafficListener = (direction: "tx" | "rx", bytes: Uint8Array, at: number) => void;

export interface ConnectionDeps<A extends { readonly type: string }> {
  readonly session: DrivenSession<A>;
  readonly socketFactory: SocketFactory;
  /** Receives every action that is not a write or close, in order. */
  readonly onAction?: (action: A) => void;
  readonly clock?: Clock;
  /** Uniform [0, 1), injected for deterministic jitter in tests. */
  readonly random?: () => number;
  readonly options?: Partial<ConnectionOptions>;
}

function isTransportAction(a: { readonly type: string }): a is TransportAction {
  return a.type === "write" || a.type === "close";
}

export class Connection<A extends { readonly type: string }> {
  readonly options: ConnectionOptions;
  private readonly session: DrivenSession<A>;
  private readonly socketFactory: SocketFactory;
  private readonly onAction: (action: A) => void;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly listeners = new Set<StateListener>();
  private readonly traffic = new Set<TrafficListener>();

  private current: ConnectionState = "idle";
  private currentReason: string | undefined;
  private socket: TransportSocket | undefined;
  private failures = 0;
  /** Connect timeout or end of backoff, whichever applies to the current state. */
  private stateDeadline: number | undefined;
  private timer: TimerHandle | undefined;
  private timerAt: number | undefined;
  /** The timer fired late and was put off one turn (see onTimer); the next firing acts whatever its lateness. */
  private putOff = false;
  private busy = false;
  /**
   * Writes of one batch of work, sent as one socket write when it ends: when several replies arrive in
   * one segment and free several in-flight slots, their requests leave in one segment too (one system
   * call instead of one per request — the main cost of a pipelining client on loopback).
   */
  private outbox: Uint8Array[] = [];
  private readonly backlog: (() => void)[] = [];

  constructor(deps: ConnectionDeps<A>) {
    const o = { ...DEFAULT_CONNECTION_OPTIONS, ...deps.options };
    const problem = checkConnectionOptions(o);
    if (problem !== undefined) throw new RangeError(problem.message);
    this.options = Object.freeze(o);
    this.session = deps.session;
    this.socketFactory = deps.socketFactory;
    this.onAction = deps.onAction ?? ((): void => undefined);
    this.clock = deps.clock ?? systemClock;
    this.random = deps.random ?? Math.random;
  }

  get state(): ConnectionState {
    return this.current;
  }

  /** Why the connection is in its state, when it says (a lost or refused connection: backoff). */
  get reason(): string | undefined {
    return this.currentReason;
  }

  /** Subscribe to state changes; returns the unsubscribe function. */
  onStateChange(listener: StateListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Watch the raw octets (for a commissioning frame log); returns the unsubscribe function. */
  onTraffic(listener: TrafficListener): () => void {
    this.traffic.add(listener);
    return () => {
      this.traffic.delete(listener);
    };
  }

  /** Begin connecting. Only from `idle`; a closed connection stays closed. */
  start(): void {
    if (this.current !== "idle") return;
    this.serialize(() => this.connect());
  }

  /** Call into the session from outside (a user request) and carry out what it returns. */
  drive(fn: () => readonly (A | TransportAction)[]): void {
    this.serialize(() => this.run(fn()));
  }

  /**
   * Stop for good: destroy the socket, clear the timer, tell the session the link is down. Nothing the
   * connection started outlives this call.
   */
  close(): void {
    if (this.current === "closed") return;
    this.serialize(() => {
      if (this.current === "closed") return;
      const wasConnected = this.current === "connected";
      this.dropSocket();
      this.stateDeadline = undefined;
      this.setState("closed", "closed by its owner");
      if (wasConnected) this.run(this.session.onDisconnected());
      this.disarm();
    });
  }

  // Every entry point runs through here so the session never sees overlapping calls.
  private serialize(work: () => void): void {
    if (this.busy) {
      this.backlog.push(work);
      return;
    }
    this.busy = true;
    try {
      work();
      for (;;) {
        const next = this.backlog.shift();
        if (next !== undefined) next();
        else if (this.outbox.length > 0) this.flush();
        else break;
      }
    } finally {
      this.busy = false;
      this.rearm();
    }
  }

  private setState(state: ConnectionState, reason?: string, retryAt?: number): void {
    const previous = this.current;
    this.current = state;
    this.currentReason = reason;
    const change: StateChange = { state, previous, reason, retryAt };
    for (const l of [...this.listeners]) l(change);
  }

  private connect(): void {
    const now = this.clock.now();
    this.stateDeadline = now + this.options.connectTimeoutMs;
    this.setState("connecting");
    // Events from a socket we have since dropped are ignored: only the current socket speaks. (`mine` is
    // read only inside serialized work, which cannot run before the factory returns: connect() is
    // itself serialized work.)
    const own = (): boolean => mine === this.socket;
    const mine: TransportSocket = this.socketFactory({
      connect: () =>
        this.serialize(() => {
          if (!own() || this.current !== "connecting") return;
          this.failures = 0;
          this.stateDeadline = undefined;
          this.setState("connected");
          this.run(this.session.onConnected());
        }),
      data: (bytes) =>
        this.serialize(() => {
          if (!own() || this.current !== "connected") return;
          const now = this.clock.now();
          this.tap("rx", bytes, now);
          this.run(this.session.onData(bytes));
        }),
      close: (reason) =>
        this.serialize(() => {
          if (own()) this.lost(reason);
        }),
    });
    this.socket = mine;
  }

  /** The socket failed or ended (or the session asked): tell the session, schedule a reconnect. */
  private lost(reason: string): void {
    if (this.current === "closed" || this.current === "backoff") return;
    const wasConnected = this.current === "connected";
    this.dropSocket();
    this.failures++;
    const now = this.clock.now();
    const base = Math.min(
      this.options.reconnectMaxMs,
      this.options.reconnectInitialMs * 2 ** (this.failures - 1),
    );
    const j = this.options.reconnectJitter;
    const delay = Math.max(1, Math.round(base * (1 - j + 2 * j * this.random())));
    this.stateDeadline = now + delay;
    this.setState("backoff", reason, this.stateDeadline);
    if (wasConnected) this.run(this.session.onDisconnected());
    else if (this.session.onConnectFailed) this.run(this.session.onConnectFailed(reason));
  }

  private flush(): void {
    const bytes = this.outbox.length === 1 ? this.outbox[0] : Buffer.concat(this.outbox);
    this.outbox = [];
    if (this.current !== "connected" || this.socket === undefined) return;
    this.tap("tx", bytes, this.clock.now());
    this.socket.write(bytes);
  }

  private tap(direction: "tx" | "rx", bytes: Uint8Array, at: number): void {
    // Nobody watches almost always: no copy of the (empty) listener set per segment.
    if (this.traffic.size === 0) return;
    for (const l of [...this.traffic]) l(direction, bytes, at);
  }

  private dropSocket(): void {
    // Writes meant for this socket mean nothing to the next one.
    this.outbox = [];
    const s = this.socket;
    this.socket = undefined;
    s?.destroy();
  }

  private run(actions: readonly (A | TransportAction)[]): void {
    for (const a of actions) {
      if (isTransportAction(a)) {
        if (a.type === "write") {
          if (this.current === "connected") this.outbox.push(a.bytes);
        } else {
          this.lost(a.reason);
        }
      } else {
        this.onAction(a);
      }
    }
  }

  private onTimer(): void {
    const armedFor = this.timerAt;
    this.timer = undefined;
    this.timerAt = undefined;
    // A timer that fires LATE_TIMER_MS or more after its time fires after the event loop was busy (a
    // burst of samples, a long GC): a reply, or the connect, that arrived meanwhile is still unread,
    // because each turn of the loop runs its timers before it reads sockets. Judging deadlines now would
    // fail requests whose replies are already here, and a busy loop would turn into timeouts, unit
    // backoffs and bad quality everywhere at once. So the deadlines are judged one turn later, after
    // that I/O is read; once only, so a loop that stays busy turn after turn still times out.
    if (!this.putOff && armedFor !== undefined && this.clock.now() - armedFor >= LATE_TIMER_MS) {
      this.putOff = true;
      this.armFor(this.clock.now() + 1);
      return;
    }
    this.putOff = false;
    this.serialize(() => {
      const now = this.clock.now();
      if (this.stateDeadline !== undefined && this.stateDeadline <= now) {
        this.stateDeadline = undefined;
        if (this.current === "connecting") {
          this.lost(`no connection within ${this.options.connectTimeoutMs} ms`);
        } else if (this.current === "backoff") {
          this.connect();
        }
      }
      this.run(this.session.tick());
    });
  }

  private disarm(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.timerAt = undefined;
    this.putOff = false;
  }

  /** Keep one timer armed for the earliest deadline, or none. */
  private rearm(): void {
    if (this.current === "closed") {
      this.disarm();
      return;
    }
    const s = this.session.nextDeadline();
    const d = this.stateDeadline;
    const at = s === undefined ? d : d === undefined ? s : Math.min(s, d);
    // A timer already armed is kept when nothing is due, and when it is due no later than `at`: it may
    // fire early, finds nothing due and re-arms (or, nothing being due, is done). A pipelining client's
    // earliest deadline moves later with every reply, and a poller's goes away with each reply and
    // comes back with the next request; re-arming each time cost a clearTimeout and a setTimeout per
    // request, where now a poller every 100 ms with a 1 s timeout arms about one timer a second.
    // close() still clears it, so nothing of ours is left after a flow stops.
    if (at === undefined) return;
    if (this.timerAt !== undefined && this.timerAt <= at) return;
    this.disarm();
    this.armFor(at);
  }

  /** Arm the one timer for `at` (none may be armed). */
  private armFor(at: number): void {
    this.timerAt = at;
    this.timer = this.clock.setTimer(() => this.onTimer(), Math.max(0, at - this.clock.now()));
  }
}
