/**
 * The one clock interface. Time is injected everywhere (sessions, transport, core) so tests drive it
 * instead of waiting; it lives in the lowest layer that reads it — the protocol sessions — so every layer
 * above imports it from here instead of declaring its own.
 *
 * Sessions only read the time (`TimeSource`): they never arm a timer, they report `nextDeadline()` and
 * the transport's one timer per connection calls `tick()`. The transport and core also set timers, so
 * the implementations they use (`systemClock` in src/transport/connection.ts, `ManualClock` in
 * src/transport/manual-clock.ts) implement the whole interface.
 */

/** Whatever `setTimer` returns, handed back to `clearTimer`; opaque to callers. */
export type TimerHandle = unknown;

export interface Clock {
  /** Epoch milliseconds (or any monotonic millisecond count, for a test clock). */
  now(): number;
  setTimer(fn: () => void, ms: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/** The part of a clock a session may use: reading the time. */
export type TimeSource = Pick<Clock, "now">;
