import assert from "node:assert/strict";
import { FormulaEngine, type FormulaDefinition } from "../../../src/core/formula/engine";
import { MemoryHistory } from "../../../src/core/formula/history";
import { DataCollError } from "../../../src/core/errors";
import { GOOD, type DataPoint, type Quality } from "../../../src/core/model/datapoint";

const A = "d1:t1:a";
const B = "d1:t1:b";
const RESULT = "calc:f:out";

function pt(key: string, value: DataPoint["value"], ts: number, quality: Quality = GOOD): DataPoint {
  const [deviceId, termId, itemId] = key.split(":");
  return { key, deviceId, termId, itemId, value, ts, quality, cause: "poll" };
}

function formula(expression: string, extra: Partial<FormulaDefinition> = {}): FormulaDefinition {
  return { id: "f1", expression, params: { p1: A, p2: B }, result: RESULT, ...extra };
}

/** Feed p1 samples (value at ts) one by one; return the last result's value. */
function feedA(e: FormulaEngine, samples: ReadonlyArray<readonly [number, number]>): DataPoint["value"] {
  let last: DataPoint[] = [];
  for (const [ts, v] of samples) last = e.update([pt(A, v, ts)], ts);
  assert.equal(last.length, 1);
  return last[0].value;
}

describe("formula engine", function () {
  it("evaluates when a parameter receives a sample and emits a formula DataPoint", function () {
    const e = new FormulaEngine();
    e.set(formula("p1 + p2 * 2"), 0);
    const first = e.update([pt(A, 1, 1000)], 1000);
    assert.equal(first.length, 1);
    assert.equal(first[0].quality.invalid, true);
    assert.equal(first[0].value, null);
    assert.equal(first[0].error, "formula f1: p2 (d1:t1:b) has no value yet");
    const second = e.update([pt(B, 3, 2000)], 2500);
    assert.deepEqual(second, [
      {
        key: RESULT,
        deviceId: "calc",
        termId: "f",
        itemId: "out",
        value: 7,
        ts: 2000,
        quality: GOOD,
        cause: "formula",
      },
    ]);
  });

  it("evaluates once per batch however many of its parameters changed", function () {
    const e = new FormulaEngine();
    e.set(formula("p1 - p2"), 0);
    const out = e.update([pt(A, 10, 1), pt(B, 4, 1), pt(A, 12, 2)], 2);
    assert.equal(out.length, 1);
    assert.equal(out[0].value, 8);
  });

  it("ignores points it does not use and samples older than the newest", function () {
    const e = new FormulaEngine();
    e.set(formula("p1"), 0);
    assert.deepEqual(e.update([pt("x:y:z", 1, 1)], 1), []);
    e.update([pt(A, 5, 100)], 100);
    assert.deepEqual(e.update([pt(A, 1, 50)], 101), []);
    assert.deepEqual(e.parameterKeys(), [A]);
  });

  describe("window functions in expressions", function () {
    it("max(p1, 3) over the last three samples", function () {
      const e = new FormulaEngine();
      e.set(formula("max(p1, 3)"), 0);
      assert.equal(
        feedA(e, [
          [1000, 9],
          [2000, 1],
          [3000, 2],
          [4000, 3],
        ]),
        3,
      );
    });

    it('avg(p1, "5m") over the last five minutes, as seen at the newest sample', function () {
      const e = new FormulaEngine();
      e.set(formula('avg(p1, "5m")'), 0);
      // 100 at 0 s falls out of the window that ends at 400 s; 10, 20, 30 at 100, 200, 400 s remain.
      assert.equal(
        feedA(e, [
          [0, 100],
          [100_000, 10],
          [200_000, 20],
          [400_000, 30],
        ]),
        20,
      );
    });

    it('integral(p1, "1h") is value × seconds by the trapezoid rule', function () {
      const e = new FormulaEngine();
      e.set(formula('integral(p1, "1h") / 3600'), 0);
      // (0+10)/2×60 + (10+10)/2×60 + (10+40)/2×120 = 300 + 600 + 3000 = 3900 value·s
      assert.equal(
        feedA(e, [
          [0, 0],
          [60_000, 10],
          [120_000, 10],
          [240_000, 40],
        ]),
        3900 / 3600,
      );
    });

    it("sum, count, first, last and delta, and the old p1.max() as max(p1) over the default window", function () {
      const e = new FormulaEngine({ defaultWindow: { kind: "count", count: 3 } });
      e.set(
        formula(
          "sum(p1) * 1000 + count(p1, 10) * 100 + first(p1, 2) * 10 + delta(p1, 4) + 0 * last(p1) + max(p1)",
        ),
        0,
      );
      // samples 1, 2, 3, 5: sum of last 3 = 10, count 4, first of last 2 = 3, delta over 4 = 4, max of last 3 = 5
      assert.equal(
        feedA(e, [
          [1, 1],
          [2, 2],
          [3, 3],
          [4, 5],
        ]),
        10_000 + 400 + 30 + 4 + 5,
      );
    });

    it("prev(p1, 1) is the sample before the newest", function () {
      const e = new FormulaEngine();
      e.set(formula("prev(p1, 1) + 10"), 0);
      assert.equal(
        feedA(e, [
          [1, 5],
          [2, 7],
        ]),
        15,
      );
      const bare = new FormulaEngine();
      bare.set(formula("prev(p1) * 100 + prev(p1, 0)"), 0);
      assert.equal(
        feedA(bare, [
          [1, 5],
          [2, 7],
        ]),
        507,
        "prev(p1) is prev(p1, 1); prev(p1, 0) is the newest",
      );
      const first = new FormulaEngine();
      first.set(formula("p1 - prev(p1, 1)"), 0);
      const out = first.update([pt(A, 5, 1)], 1);
      assert.equal(out[0].quality.invalid, true, "no previous sample yet: NaN, so invalid");
    });

    it("the older pandas spellings: p1[-1] the newest sample, p1[-2] the one before, p1.max() a window", function () {
      const e = new FormulaEngine();
      e.set(formula("p1[-1] * 100 + p1[-2] * 10 + p1[-3]"), 0);
      assert.equal(
        feedA(e, [
          [1, 1],
          [2, 2],
          [3, 3],
        ]),
        321,
      );
      // The older system's test formula, over two points.
      const both = new FormulaEngine();
      both.set(formula("max(p1[-1], p2[-1])"), 0);
      both.update([pt(B, 7, 1)], 1);
      assert.equal(both.update([pt(A, 5, 2)], 2)[0].value, 7);
      assert.equal(both.update([pt(A, 9, 3)], 3)[0].value, 9);
      const methods = new FormulaEngine({ defaultWindow: { kind: "count", count: 3 } });
      methods.set(formula("p1.max() * 1000 + p1.min() * 100 + p1.sum() * 10 + p1.mean()"), 0);
      // samples 9, 1, 2, 3: the last three are 1, 2, 3
      assert.equal(
        feedA(methods, [
          [1, 9],
          [2, 1],
          [3, 2],
          [4, 3],
        ]),
        3000 + 100 + 60 + 2,
      );
      const short = new FormulaEngine();
      short.set(formula("p1[-2]"), 0);
      const out = short.update([pt(A, 5, 1)], 1);
      assert.equal(out[0].quality.invalid, true, "no sample before the first: NaN, so invalid");
    });

    it("a window never includes invalid samples", function () {
      const e = new FormulaEngine();
      e.set(formula("avg(p1, 10) + p2 * 0"), 0);
      e.update([pt(B, 0, 0)], 0);
      e.update([pt(A, 10, 1)], 1);
      e.update([pt(A, 1000, 2, { invalid: true })], 2);
      const out = e.update([pt(A, 20, 3)], 3);
      assert.equal(out[0].value, 15);
    });
  });

  describe("quality", function () {
    it("is invalid when any input is invalid, and carries not topical and substituted", function () {
      const e = new FormulaEngine();
      e.set(formula("p1 + p2"), 0);
      e.update([pt(B, 1, 1)], 1);
      const bad = e.update([pt(A, 1, 2, { invalid: true })], 2);
      assert.deepEqual(bad[0].quality, { invalid: true });
      assert.equal(bad[0].value, null);
      assert.equal(bad[0].error, "formula f1: p1 (d1:t1:a) is not valid");
      const old = e.update([pt(A, 1, 3, { notTopical: true, substituted: true })], 3);
      assert.deepEqual(old[0].quality, { notTopical: true, substituted: true });
      assert.equal(old[0].value, 2);
    });

    it("is invalid when the result is not a finite number", function () {
      const e = new FormulaEngine();
      e.set(formula("p1 / p2"), 0);
      const out = e.update([pt(A, 1, 1), pt(B, 0, 1)], 1);
      assert.equal(out[0].quality.invalid, true);
      assert.equal(out[0].error, "formula f1: the result is Infinity, not a finite number");
    });

    it("emits true/false results as they are", function () {
      const e = new FormulaEngine();
      e.set(formula("p1 > p2"), 0);
      assert.equal(e.update([pt(A, 2, 1), pt(B, 1, 1)], 1)[0].value, true);
    });
  });

  describe("chains and timers", function () {
    it("feeds a result on to a formula that uses it, in the same call", function () {
      const e = new FormulaEngine();
      e.set(formula("p1 * 2", { params: { p1: A } }), 0);
      e.set({ id: "f2", expression: "p1 + 1", params: { p1: RESULT }, result: "calc:f:out2" }, 0);
      const out = e.update([pt(A, 5, 1)], 1);
      assert.deepEqual(
        out.map((p) => [p.key, p.value]),
        [
          [RESULT, 10],
          ["calc:f:out2", 11],
        ],
      );
    });

    it("stops a cycle of formulas after the chain depth", function () {
      const e = new FormulaEngine({ maxChainDepth: 4 });
      e.set({ id: "x", expression: "p1 + 1", params: { p1: "c:c:y" }, result: "c:c:x" }, 0);
      e.set({ id: "y", expression: "p1 + 1", params: { p1: "c:c:x" }, result: "c:c:y" }, 0);
      const out = e.update([pt("c:c:x", 0, 1)], 1);
      assert.deepEqual(
        out.map((p) => p.value),
        [1, 2, 3, 4],
      );
    });

    it("evaluates timed formulas on the injected clock and skips missed periods", function () {
      const e = new FormulaEngine();
      e.set(formula('count(p1, "10s")', { params: { p1: A }, everyMs: 1000 }), 0);
      assert.equal(e.nextDeadline(), 1000);
      assert.deepEqual(e.tick(999), []);
      e.update([pt(A, 1, 500)], 500);
      const t = e.tick(1000);
      assert.deepEqual(
        t.map((p) => [p.ts, p.value]),
        [[1000, 1]],
      );
      assert.equal(e.nextDeadline(), 2000);
      assert.equal(e.tick(5500).length, 1);
      assert.equal(e.nextDeadline(), 6000);
      // As seen at 20 s the sample at 0.5 s is outside the 10 s window.
      assert.equal(e.tick(20_000)[0].value, 0);
    });

    it("evaluates on demand", function () {
      const e = new FormulaEngine();
      e.set(formula("p1 * 3", { params: { p1: A } }), 0);
      e.update([pt(A, 2, 1)], 1);
      assert.equal(e.evaluateNow("f1", 10).value, 6);
      assert.throws(() => e.evaluateNow("nope", 10), DataCollError);
    });
  });

  describe("set-up", function () {
    it("rejects a bad expression with the field and the reason", function () {
      const e = new FormulaEngine();
      assert.throws(
        () => e.set(formula("p1 + p3"), 0),
        (err: unknown) =>
          err instanceof DataCollError && err.field === "expression" && /unknown name "p3"/.test(err.message),
      );
      assert.throws(() => e.set(formula('evaluate("1")'), 0), DataCollError);
      assert.throws(() => e.set(formula("p1", { result: "bad" }), 0), DataCollError);
    });

    it("forgets a removed formula and the inputs only it used", function () {
      const e = new FormulaEngine();
      e.set(formula("p1"), 0);
      e.remove("f1");
      assert.deepEqual(e.update([pt(A, 1, 1)], 1), []);
      assert.deepEqual(e.parameterKeys(), []);
    });

    it("replaces a formula with the same id", function () {
      const e = new FormulaEngine();
      e.set(formula("p1"), 0);
      e.set(formula("p1 * 10"), 0);
      assert.deepEqual(
        e.update([pt(A, 2, 1)], 1).map((p) => p.value),
        [20],
      );
    });

    it("seeds a duration window and asks again after the history source failed", async function () {
      const history = new MemoryHistory();
      history.add(A, [
        { ts: 10_000, value: 1 },
        { ts: 50_000, value: 2 },
        { ts: 90_000, value: 3 },
      ]);
      let fail = true;
      const flaky = {
        samples: async (...args: Parameters<MemoryHistory["samples"]>) => {
          if (fail) throw new Error("history away");
          return history.samples(...args);
        },
      };
      const e = new FormulaEngine({ history: flaky });
      e.set(formula('sum(p1, "1m")', { params: { p1: A } }), 0);
      await assert.rejects(e.seed(100_000), /history away/);
      fail = false;
      await e.seed(100_000);
      // The window ending at 100 s covers 50 s and 90 s, and the live 100 s sample.
      assert.equal(e.update([pt(A, 4, 100_000)], 100_000)[0].value, 9);
    });

    it("seeds windows and latest values from the history source after a restart", async function () {
      const history = new MemoryHistory();
      history.add(A, [
        { ts: 1000, value: 1 },
        { ts: 2000, value: 2 },
        { ts: 3000, value: 3 },
      ]);
      history.add(B, [{ ts: 500, value: 100 }]);
      const e = new FormulaEngine({ history });
      e.set(formula("sum(p1, 3) + p2"), 0);
      // A live sample that arrived before seeding finished is kept and stays newest.
      e.update([pt(A, 10, 4000)], 4000);
      await e.seed(4000);
      const out = e.update([pt(A, 20, 5000)], 5000);
      assert.equal(out[0].value, 3 + 10 + 20 + 100);
    });
  });
});
