/**
 * formula_3param: evaluations per second of `p1 * 2 + p2 - avg(p3, 10)` — three parameters, one window
 * function — through the formula engine: 1,000 formulas, each batch gives every formula's p3 a new sample
 * so each batch is 1,000 evaluations (ingest, window, mathjs, result DataPoint).
 * Baseline: the same arithmetic in plain JS on the same samples — a 10-slot ring per p3 and the average
 * computed over it — with none of the engine's sandbox, quality or DataPoint work.
 */
import { FormulaEngine } from "../src/core/formula/engine";
import { GOOD, pointKeyParts, type DataPoint } from "../src/core/model/datapoint";
import { ratePerSecond } from "./lib/measure";
import type { Benchmark } from "./lib/types";

const FORMULAS = 1000;
const BATCHES = 50;
const REPEATS = 7;
const WINDOW = 10;

function pt(key: string, value: number, ts: number): DataPoint {
  const [deviceId, termId, itemId] = pointKeyParts(key);
  return { key, deviceId, termId, itemId, value, ts, quality: GOOD, cause: "poll" };
}

const keyOf = (i: number, p: number): string => `dev:t${i}:p${p}`;

interface Plain {
  readonly p1: number;
  readonly p2: number;
  readonly ring: Float64Array;
  n: number;
}

/** Plain JS: the same arithmetic, per new p3 sample. */
function plainEvaluate(s: Plain, v: number): number {
  s.ring[s.n % WINDOW] = v;
  s.n++;
  const count = Math.min(s.n, WINDOW);
  let sum = 0;
  for (let i = 0; i < count; i++) sum += s.ring[i];
  return s.p1 * 2 + s.p2 - sum / count;
}

const bench: Benchmark = {
  name: "formula",
  async run() {
    const engine = new FormulaEngine();
    const plain: Plain[] = [];
    const setup: DataPoint[] = [];
    for (let i = 0; i < FORMULAS; i++) {
      engine.set(
        {
          id: `f${i}`,
          expression: "p1 * 2 + p2 - avg(p3, 10)",
          params: { p1: keyOf(i, 1), p2: keyOf(i, 2), p3: keyOf(i, 3) },
          result: `calc:f:r${i}`,
        },
        0,
      );
      setup.push(pt(keyOf(i, 1), i, 1), pt(keyOf(i, 2), 2 * i, 1));
      plain.push({ p1: i, p2: 2 * i, ring: new Float64Array(WINDOW), n: 0 });
    }
    engine.update(setup, 1);
    // Samples for the p3s, prepared once and shared by both sides: batch b carries one per formula.
    let ts = 10;
    const batches: DataPoint[][] = [];
    for (let b = 0; b < BATCHES; b++) {
      const batch: DataPoint[] = [];
      for (let i = 0; i < FORMULAS; i++) batch.push(pt(keyOf(i, 3), (b * 7 + i) % 100, 0));
      batches.push(batch);
    }
    let sink = 0;
    const ours = (): number => {
      for (const batch of batches) {
        ts += 1000;
        // Fresh time stamps so the engine takes every sample as new (same values as the baseline).
        const timed = batch.map((p) => ({ ...p, ts }));
        const out = engine.update(timed, ts);
        sink += out.length;
      }
      return FORMULAS * BATCHES;
    };
    const plainRun = (): number => {
      for (const batch of batches) {
        const timed = batch.map((p) => ({ ...p, ts }));
        for (let i = 0; i < timed.length; i++) sink += plainEvaluate(plain[i], timed[i].value as number);
      }
      return FORMULAS * BATCHES;
    };
    ours();
    plainRun();
    const oursRate = await ratePerSecond(REPEATS, ours);
    const plainRate = await ratePerSecond(REPEATS, plainRun);
    if (sink < 0) console.log(sink);
    return {
      formula_3param: {
        value: oursRate,
        unit: "evaluations/s",
        baseline: `plain JS arithmetic ${Math.round(plainRate).toLocaleString("en-US")} evaluations/s`,
        ratio: oursRate / plainRate,
        goal: ">= 200,000 evaluations/s",
      },
    };
  },
};

export default bench;
