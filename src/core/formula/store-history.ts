/**
 * The formula engine's HistorySource over the shared Store's capped per-point history. The Store answers
 * "the newest N samples", so a duration window asks for as many as a window may hold and keeps those in
 * the duration; what the Store's cap has already dropped cannot be recovered.
 */
import type { DataPoint } from "../model/datapoint";
import type { Store } from "../store/store";
import { MAX_WINDOW_SAMPLES } from "./compile";
import type { HistorySample, HistorySource } from "./history";

function usableNumber(p: DataPoint): number {
  const q = p.quality;
  if (q.invalid === true || q.overflow === true || q.blocked === true) return NaN;
  if (typeof p.value === "number") return p.value;
  return typeof p.value === "boolean" ? +p.value : NaN;
}

export function historySourceOn(
  store: Pick<Store, "history">,
  maxSamples = MAX_WINDOW_SAMPLES,
): HistorySource {
  return {
    async samples(key, span, now) {
      const newestFirst = await store.history(key, span.kind === "count" ? span.count : maxSamples);
      const from = span.kind === "duration" ? now - span.ms : -Infinity;
      const out: HistorySample[] = [];
      for (let i = newestFirst.length - 1; i >= 0; i--) {
        const p = newestFirst[i];
        const value = usableNumber(p);
        // The same rule as live samples: only usable numbers enter a window.
        if (Number.isFinite(value) && p.ts >= from && p.ts <= now) out.push({ ts: p.ts, value });
      }
      return out;
    },
  };
}
