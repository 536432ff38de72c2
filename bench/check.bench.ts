/**
 * check_batch: points per second through the checker in batch mode, three conditions per point (low,
 * high, rate of change), batches of 5,000 points with values in range — the steady state of a plant.
 * Baseline: a plain JS function doing the same three comparisons on the same batches, with the same
 * per-point map lookup and previous-value bookkeeping, and none of the alarm machinery.
 */
import { Checker } from "../src/core/check/checker";
import { MemoryAlarmStateStore } from "../src/core/check/alarm-state";
import type { CheckSettings } from "../src/core/check/settings";
import { GOOD, pointKey, type DataPoint } from "../src/core/model/datapoint";
import { ratePerSecond } from "./lib/measure";
import type { Benchmark } from "./lib/types";

const POINTS = 5000;
const BATCHES = 40;
const REPEATS = 7;
const SETTINGS: CheckSettings = { low: 0, high: 1000, ratePerSecond: 500 };

/** A sample whose time stamp each pass sets anew (see `stamp`). */
type Sample = DataPoint & { ts: number };

function makeBatches(): Sample[][] {
  const batches: Sample[][] = [];
  let seed = 42;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  for (let b = 0; b < BATCHES; b++) {
    const batch: Sample[] = [];
    for (let i = 0; i < POINTS; i++) {
      const termId = `t${Math.floor(i / 100)}`;
      const itemId = `i${i % 100}`;
      batch.push({
        key: pointKey("dev", termId, itemId),
        deviceId: "dev",
        termId,
        itemId,
        value: 400 + rand() * 200,
        ts: 1_000_000 + b * 1000,
        quality: GOOD,
        cause: "poll",
      });
    }
    batches.push(batch);
  }
  return batches;
}

/**
 * Give a batch the time of its pass: the passes repeat the same batches, and the checker leaves a sample
 * no newer than the one it last checked for its point alone (a late sample moves no alarm), so replayed
 * time stamps would measure that shortcut instead of the checks. Both sides pay the same stamping.
 */
function stamp(batch: Sample[], ts: number): void {
  for (let i = 0; i < batch.length; i++) batch[i].ts = ts;
}

interface PlainState {
  readonly low: number;
  readonly high: number;
  readonly rate: number;
  prev: number;
  prevTs: number;
}

/** The same comparisons as the checker's low, high and rate conditions, without alarm state. */
function plainCheck(points: readonly DataPoint[], states: Map<string, PlainState>): number {
  let alarms = 0;
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    const s = states.get(p.key);
    if (s === undefined || typeof p.value !== "number") continue;
    const v = p.value;
    if (v < s.low) alarms++;
    if (v > s.high) alarms++;
    const dt = p.ts - s.prevTs;
    if (dt > 0 && (Math.abs(v - s.prev) * 1000) / dt > s.rate) alarms++;
    s.prev = v;
    s.prevTs = p.ts;
  }
  return alarms;
}

const bench: Benchmark = {
  name: "check",
  async run() {
    const batches = makeBatches();
    const keys = batches[0].map((p) => p.key);
    const checker = await Checker.open({
      store: new MemoryAlarmStateStore(),
      points: new Map(keys.map((k) => [k, SETTINGS])),
      now: 0,
    });
    const states = new Map<string, PlainState>(
      keys.map((k) => [k, { low: 0, high: 1000, rate: 500, prev: NaN, prevTs: NaN }]),
    );
    let now = 1_000_000;
    let plainNow = 1_000_000;
    let sink = 0;
    const ours = (): number => {
      for (const b of batches) {
        now += 1000;
        stamp(b, now);
        sink += checker.checkBatch(b, now).transitions.length;
      }
      return POINTS * BATCHES;
    };
    const plain = (): number => {
      for (const b of batches) {
        plainNow += 1000;
        stamp(b, plainNow);
        sink += plainCheck(b, states);
      }
      return POINTS * BATCHES;
    };
    // Warm both paths before measuring so neither pays the JIT inside the timed runs.
    ours();
    plain();
    const oursRate = await ratePerSecond(REPEATS, ours);
    const plainRate = await ratePerSecond(REPEATS, plain);
    if (sink < 0) console.log(sink);
    return {
      check_batch: {
        value: oursRate,
        unit: "points/s",
        baseline: `plain JS comparisons ${Math.round(plainRate).toLocaleString("en-US")} points/s`,
        ratio: oursRate / plainRate,
        goal: ">= 500,000 points/s",
      },
    };
  },
};

export default bench;
