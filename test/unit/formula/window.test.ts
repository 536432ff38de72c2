import assert from "node:assert/strict";
import { SampleRing, type WindowSpan } from "../../../src/core/formula/history";
import {
  computeWindow,
  parseDuration,
  previous,
  type WindowFunction,
} from "../../../src/core/formula/window";

/** Samples at 0, 10, 20, 30, 40 s with values 2, 4, 8, 6, 10. */
function ring(): SampleRing {
  const r = new SampleRing(100);
  [2, 4, 8, 6, 10].forEach((v, i) => assert.ok(r.push(i * 10_000, v)));
  return r;
}

function all(span: WindowSpan, at = 40_000): Record<WindowFunction, number> {
  const r = ring();
  const fns: WindowFunction[] = ["min", "max", "sum", "avg", "count", "first", "last", "delta", "integral"];
  return Object.fromEntries(fns.map((f) => [f, computeWindow(f, r, span, at)])) as Record<
    WindowFunction,
    number
  >;
}

describe("window functions", function () {
  it("over the last 3 samples (8, 6, 10 at 20, 30, 40 s)", function () {
    assert.deepEqual(all({ kind: "count", count: 3 }), {
      min: 6,
      max: 10,
      sum: 24,
      avg: 8,
      count: 3,
      first: 8,
      last: 10,
      delta: 2,
      // (8+6)/2 × 10 s + (6+10)/2 × 10 s
      integral: 150,
    });
  });

  it("over more samples than there are: all five", function () {
    assert.deepEqual(all({ kind: "count", count: 10 }), {
      min: 2,
      max: 10,
      sum: 30,
      avg: 6,
      count: 5,
      first: 2,
      last: 10,
      delta: 8,
      // 30 + 60 + 70 + 80
      integral: 240,
    });
  });

  it("over a duration, counting a sample exactly at the window start", function () {
    assert.equal(computeWindow("count", ring(), { kind: "duration", ms: 25_000 }, 40_000), 3);
    assert.equal(computeWindow("sum", ring(), { kind: "duration", ms: 30_000 }, 40_000), 28);
    assert.equal(computeWindow("integral", ring(), { kind: "duration", ms: 30_000 }, 40_000), 210);
    // Seen later, the same duration covers fewer samples.
    assert.equal(computeWindow("avg", ring(), { kind: "duration", ms: 25_000 }, 50_000), 8);
  });

  it("gives NaN for an empty window (count 0) and 0 for delta and integral of one sample", function () {
    const empty = all({ kind: "duration", ms: 5_000 }, 100_000);
    assert.equal(empty.count, 0);
    for (const f of ["min", "max", "sum", "avg", "first", "last", "delta", "integral"] as const) {
      assert.ok(Number.isNaN(empty[f]), f);
    }
    const one = all({ kind: "count", count: 1 });
    assert.equal(one.delta, 0);
    assert.equal(one.integral, 0);
    assert.equal(one.avg, 10);
  });

  it("prev(k) counts back from the newest", function () {
    assert.deepEqual(
      [0, 1, 4, 5].map((k) => previous(ring(), k)),
      [10, 6, 2, NaN],
    );
  });

  it("parses durations", function () {
    assert.equal(parseDuration("5m"), 300_000);
    assert.equal(parseDuration("1.5h"), 5_400_000);
    assert.equal(parseDuration("500ms"), 500);
    assert.equal(parseDuration(" 30 s "), 30_000);
    assert.equal(parseDuration("1d"), 86_400_000);
    assert.equal(parseDuration("0s"), undefined);
    assert.equal(parseDuration("5x"), undefined);
    assert.equal(parseDuration("-5m"), undefined);
  });
});

describe("sample ring", function () {
  it("grows, keeps time order and refuses samples not newer than the newest", function () {
    const r = new SampleRing(1000, 2);
    for (let i = 0; i < 50; i++) r.push(i, i * 2);
    assert.equal(r.size, 50);
    assert.equal(r.valueAt(49), 98);
    assert.equal(r.push(49, 1), false);
    assert.equal(r.push(10, 1), false);
    assert.equal(r.size, 50);
  });

  it("drops the oldest at its hard limit", function () {
    const r = new SampleRing(3, 2);
    for (let i = 1; i <= 5; i++) r.push(i, i);
    assert.deepEqual([r.valueAt(0), r.valueAt(1), r.valueAt(2)], [3, 4, 5]);
  });

  it("trims to what the windows need: the last N samples or those within the duration", function () {
    const r = new SampleRing(100);
    for (let i = 0; i < 10; i++) r.push(i * 1000, i);
    r.trim(3, 0);
    assert.equal(r.size, 3);
    const d = new SampleRing(100);
    for (let i = 0; i < 10; i++) d.push(i * 1000, i);
    d.trim(1, 4000);
    assert.equal(d.size, 5);
    assert.equal(d.tsAt(0), 5000);
  });
});
