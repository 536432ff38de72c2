/**
 * What a history reader should get, computed by the tests from the rows they inserted, without SQL: the
 * yardstick both bucket paths (raw rows and the per-minute roll-up) are held to.
 */
import assert from "node:assert/strict";
import type { HistoryBucket } from "../../src/core/history/query";

export interface Inserted {
  key: string;
  ts: number;
  value: number | null;
  text: string | null;
  quality: number;
}

/** A small deterministic generator, so a failure can be run again with the same rows. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** The buckets a reader expects, computed here from the inserted rows without SQL. */
export function expectedBuckets(
  rows: readonly Inserted[],
  key: string,
  from: number,
  to: number,
  step: number,
): HistoryBucket[] {
  const mine = rows.filter((r) => r.key === key && r.ts >= from && r.ts < to).sort((a, b) => a.ts - b.ts);
  const byBucket = new Map<number, Inserted[]>();
  for (const r of mine) {
    const b = Math.floor((r.ts - from) / step);
    const list = byBucket.get(b) ?? [];
    list.push(r);
    byBucket.set(b, list);
  }
  return [...byBucket.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([b, list]) => {
      const nums = list.map((r) => r.value).filter((v): v is number => v !== null);
      const out: HistoryBucket = {
        t: from + b * step,
        count: list.length,
        quality: list.reduce((q, r) => q | r.quality, 0),
      };
      if (nums.length > 0) {
        out.min = Math.min(...nums);
        out.max = Math.max(...nums);
        out.avg = nums.reduce((s, v) => s + v, 0) / nums.length;
      }
      const first = list[0].value;
      const last = list[list.length - 1].value;
      if (first !== null) out.first = first;
      if (last !== null) out.last = last;
      return out;
    });
}

/**
 * `got` equals `want` bucket for bucket: times, counts, quality, first, last, min and max exactly; the
 * average within 1e-9, as sums taken in another order may differ in their last bits.
 */
export function assertBuckets(
  got: readonly HistoryBucket[],
  want: readonly HistoryBucket[],
  label: string,
): void {
  assert.equal(got.length, want.length, `${label}: bucket count`);
  got.forEach((b, i) => {
    const w = want[i];
    const at = `${label} bucket ${w.t}`;
    assert.equal(b.t, w.t, `${at}: t`);
    assert.equal(b.count, w.count, `${at}: count`);
    assert.equal(b.quality, w.quality, `${at}: quality`);
    assert.equal(b.first, w.first, `${at}: first`);
    assert.equal(b.last, w.last, `${at}: last`);
    assert.equal(b.min, w.min, `${at}: min`);
    assert.equal(b.max, w.max, `${at}: max`);
    if (w.avg === undefined) assert.equal(b.avg, undefined, `${at}: avg`);
    else assert.ok(Math.abs((b.avg ?? Number.NaN) - w.avg) < 1e-9, `${at}: avg ${b.avg} vs ${w.avg}`);
  });
}
