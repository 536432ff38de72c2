/**
 * Window functions over a parameter's history, and the syntax that names a window:
 *
 *   fn(pN)            over the engine's default window
 *   fn(pN, 10)        over the last 10 samples
 *   fn(pN, "5m")      over the samples of the last 5 minutes (units ms, s, m, h, d; "1.5h" works)
 *   prev(pN, k)       the sample k before the newest (prev(pN, 0) is the newest kept sample)
 *
 * fn is one of min, max, sum, avg, count, first, last, delta, integral.
 */
import type { SampleRing, WindowSpan } from "./history";

export const WINDOW_FUNCTIONS = [
  "min",
  "max",
  "sum",
  "avg",
  "count",
  "first",
  "last",
  "delta",
  "integral",
] as const;
export type WindowFunction = (typeof WINDOW_FUNCTIONS)[number];

export function isWindowFunction(name: string): name is WindowFunction {
  return (WINDOW_FUNCTIONS as readonly string[]).includes(name);
}

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "5m" → 300000; undefined when the text is not a positive duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (m === null) return undefined;
  const ms = Number(m[1]) * UNITS[m[2]];
  return ms > 0 && Number.isFinite(ms) ? ms : undefined;
}

/** The index range [from, size) of the ring that a span covers, counted back from reference time `at`. */
function startOf(ring: SampleRing, span: WindowSpan, at: number): number {
  if (span.kind === "count") return Math.max(0, ring.size - span.count);
  return ring.firstAtOrAfter(at - span.ms);
}

/**
 * The value of `fn` over the samples of `ring` in `span` as seen at time `at`. An empty window gives NaN
 * (count gives 0); delta and integral of a single sample give 0.
 */
export function computeWindow(fn: WindowFunction, ring: SampleRing, span: WindowSpan, at: number): number {
  const from = startOf(ring, span, at);
  const to = ring.size;
  const n = to - from;
  if (fn === "count") return n;
  if (n === 0) return NaN;
  switch (fn) {
    case "first":
      return ring.valueAt(from);
    case "last":
      return ring.valueAt(to - 1);
    case "delta":
      return ring.valueAt(to - 1) - ring.valueAt(from);
    case "min": {
      let m = Infinity;
      for (let i = from; i < to; i++) m = Math.min(m, ring.valueAt(i));
      return m;
    }
    case "max": {
      let m = -Infinity;
      for (let i = from; i < to; i++) m = Math.max(m, ring.valueAt(i));
      return m;
    }
    case "sum":
    case "avg": {
      let s = 0;
      for (let i = from; i < to; i++) s += ring.valueAt(i);
      return fn === "sum" ? s : s / n;
    }
    case "integral": {
      // Trapezoid rule, value × seconds: each pair of neighbours contributes their mean times the gap.
      let s = 0;
      for (let i = from + 1; i < to; i++) {
        s += ((ring.valueAt(i - 1) + ring.valueAt(i)) / 2) * ((ring.tsAt(i) - ring.tsAt(i - 1)) / 1000);
      }
      return s;
    }
  }
}

/** prev(pN, k): the k-th sample before the newest kept one; NaN when there are not that many. */
export function previous(ring: SampleRing, k: number): number {
  const i = ring.size - 1 - k;
  return i >= 0 ? ring.valueAt(i) : NaN;
}
