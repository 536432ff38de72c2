import assert from "node:assert/strict";
import { checkFormula, type FormulaCheck } from "../../../src/core/formula/check";

const KNOWN = new Set(["d1:t1:a", "d1:t1:b"]);
const PARAMS = { p1: "d1:t1:a", p2: "d1:t1:b" };

function check(expression: string, params: Record<string, string> = PARAMS): FormulaCheck {
  return checkFormula(expression, params, KNOWN);
}

describe("checkFormula", function () {
  it("accepts a good formula with window functions", function () {
    assert.deepEqual(check('p1 + avg(p2, "5m") - prev(p1, 1)'), { ok: true, problems: [], unused: [] });
    assert.deepEqual(check("p1 > p2"), { ok: true, problems: [], unused: [] });
  });

  it("accepts the older pandas spellings p1[-k] and p1.max(), .min(), .sum(), .mean()", function () {
    assert.deepEqual(check("max(p1[-1], p2[-1])"), { ok: true, problems: [], unused: [] });
    assert.deepEqual(check("p1[-10000] + p1.max() + p1.min() + p2.sum() + p2.mean()").problems, []);
  });

  it("refuses what p1[..] and p1.method() cannot mean here, in plain words", function () {
    for (const source of ["p1[0]", "p1[1]", "p1[-0.5]", "p1[-10001]", "p1[p2]", "p1[-p2]", 'p1["x"]']) {
      const [p] = check(source).problems;
      assert.equal(p.code, "bad-argument", source);
      assert.match(
        p.message,
        /^p1\[\.\.\] takes a whole number from -1 to -10000: p1\[-1\] is the newest/,
        source,
      );
    }
    for (const source of ["p1.std()", "p1.max(3)", "p1.constructor()"]) {
      const [p] = check(source).problems;
      assert.equal(p.code, "bad-argument", source);
      assert.match(
        p.message,
        /is not available; p1\.max\(\), \.min\(\), \.sum\(\) and \.mean\(\) are/,
        source,
      );
    }
    assert.equal(check("p3[-1]").problems[0].code, "unknown-parameter");
    assert.equal(check("p1.constructor").problems[0].code, "forbidden");
    assert.equal(check("[1, 2][-1]").problems[0].code, "forbidden");
  });

  it("names parameters that are bound but unused, without failing", function () {
    assert.deepEqual(check("p1 * 2"), { ok: true, problems: [], unused: ["p2"] });
  });

  it("reports a parameter used but not bound, with its column", function () {
    assert.deepEqual(check("p1 + p3").problems, [
      {
        code: "unknown-parameter",
        message: "p3 is used but not bound to a point; add it to the parameters",
        param: "p3",
        column: 6,
      },
    ]);
  });

  it("reports a parameter a window function or older spelling reads but nobody bound, naming it", function () {
    const only = { p1: "d1:t1:a" };
    const cases: ReadonlyArray<readonly [string, number]> = [
      ['avg(p2, "5m")', 5],
      ['p1 + max(p2, "1h")', 10],
      ["prev(p2, 1)", 6],
      ["delta(p2)", 7],
      ["p2.mean()", 1],
      ["p2[-2]", 1],
    ];
    for (const [expression, column] of cases) {
      assert.deepEqual(
        checkFormula(expression, only, KNOWN).problems,
        [
          {
            code: "unknown-parameter",
            message: "p2 is used but not bound to a point; add it to the parameters",
            param: "p2",
            column,
          },
        ],
        expression,
      );
    }
    // What is not a parameter's name keeps saying what the function takes.
    assert.match(check('avg(x, "5m")').problems[0].message, /avg\(\) takes a parameter name first/);
  });

  it("reports a parameter bound to an unknown point and a bad parameter name", function () {
    const r = check("p1", { p1: "d1:t1:a", p2: "d9:t9:zz", x1: "d1:t1:b" });
    assert.equal(r.ok, false);
    assert.deepEqual(
      r.problems.map((p) => [p.code, p.param]),
      [
        ["unknown-point", "p2"],
        ["bad-parameter-name", "x1"],
      ],
    );
    assert.equal(r.problems[0].message, "p2 is bound to d9:t9:zz, which is not a known point");
    // The known points may also be given as a lookup function.
    assert.equal(checkFormula("p1", { p1: "q:q:q" }, (k) => k === "q:q:q").ok, true);
  });

  it("reports a syntax error with its column", function () {
    const [p] = check("p1 + (p2 * 2").problems;
    assert.equal(p.code, "syntax");
    assert.equal(p.column, 13);
    assert.match(p.message, /^syntax error at column 13: /);
  });

  it("reports a result that is not a number in plain words", function () {
    assert.deepEqual(check('"abc"').problems, [
      { code: "not-numeric", message: "the result is text, not a number" },
    ]);
    assert.deepEqual(check("[p1, p2]").problems, [
      { code: "not-numeric", message: "the result is a list of values, not a number" },
    ]);
  });

  it("explains what a window function takes", function () {
    const cases: ReadonlyArray<readonly [string, RegExp]> = [
      ["max(p1, p2)", /to combine values write max\(\[p1, p2\]\)/],
      ['avg(p1, "5q")', /"5q" is not a duration/],
      ['avg(p1, "8d")', /up to 7 days/],
      ["avg(3)", /avg\(\) takes a parameter name first/],
      ["avg(p1, 0)", /whole number from 1 to 10000/],
      ["avg(p1, 2.5)", /whole number from 1 to 10000/],
      ["prev(p1, -1)", /prev\(\): samples back must be a whole number/],
      ['prev(p1, "5m")', /prev\(\): samples back/],
      ["avg(p1, 10, 3)", /at most one window/],
      ["max(p1, ones(1e9))", /must be a number of samples or a duration/],
    ];
    for (const [expression, message] of cases) {
      const r = check(expression);
      assert.equal(r.ok, false, expression);
      assert.equal(r.problems[0].code, "bad-argument", expression);
      assert.match(r.problems[0].message, message, expression);
    }
  });

  it("still lets min, max and sum work on ordinary values", function () {
    assert.equal(check("max([p1, p2]) + min(p1 + 1, 3) + sum([1, 2])").ok, true);
  });

  it("rejects the sandbox escapes through a formula as well", function () {
    for (const e of ['evaluate("p1")', "p1.constructor", "f(x) = x", "import({})", "ones(1e9)"]) {
      assert.equal(check(e).ok, false, e);
    }
  });
});
