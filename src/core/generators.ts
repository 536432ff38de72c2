/**
 * The simulators' moving values, the same for every protocol's simulator: a ramp, a sine, a bounded random
 * walk and a toggle over a period. The Modbus and IEC 104 simulators each keep their own tables and
 * generator rows and ask here only for the next value.
 */

export type WaveKind = "ramp" | "sine" | "random-walk" | "toggle";

export interface Wave {
  readonly min: number;
  readonly max: number;
  readonly periodMs: number;
  /** The largest move of a random walk per update. */
  readonly step: number;
}

/**
 * The value at `t` ms after the simulator started. A random walk moves from `previous` and is the only
 * kind that draws from `random`, so a test's sequence of draws is not used up by the other kinds.
 */
export function waveValue(
  kind: WaveKind,
  w: Wave,
  t: number,
  previous: number,
  random: () => number,
): number {
  switch (kind) {
    case "ramp":
      return w.min + ((t % w.periodMs) / w.periodMs) * (w.max - w.min);
    case "sine":
      return (w.min + w.max) / 2 + ((w.max - w.min) / 2) * Math.sin((2 * Math.PI * t) / w.periodMs);
    case "random-walk":
      return Math.min(w.max, Math.max(w.min, previous + (random() * 2 - 1) * w.step));
    case "toggle":
      // Half a period at min, half at max: a breaker that opens and closes.
      return t % w.periodMs < w.periodMs / 2 ? w.min : w.max;
  }
}
