import assert from "node:assert/strict";
import {
  compileSandboxed,
  type ExpressionProblem,
  type SandboxResult,
} from "../../../src/core/formula/sandbox";

const SYMBOLS = new Set(["p1", "p2", "value"]);

function compile(source: string): SandboxResult {
  return compileSandboxed(source, { symbols: SYMBOLS });
}

function problemOf(source: string): ExpressionProblem {
  const r = compile(source);
  assert.equal(r.ok, false, `expected "${source.slice(0, 60)}" to be rejected`);
  if (r.ok) assert.fail("unreachable");
  return r.problem;
}

function run(source: string, scope: Record<string, unknown>): unknown {
  const r = compile(source);
  if (!r.ok) assert.fail(`rejected: ${r.problem.message}`);
  return r.compiled.evaluate(new Map(Object.entries(scope)));
}

describe("expression sandbox", function () {
  describe("what it allows", function () {
    it("evaluates arithmetic, comparison, logic and the ternary over the given symbols", function () {
      assert.equal(run("p1 * 2 + p2 ^ 2 - 1", { p1: 3, p2: 4 }), 21);
      assert.equal(run("value >= 10 and value <= 900", { value: 900 }), true);
      assert.equal(run("value >= 10 and value <= 900", { value: 900.5 }), false);
      assert.equal(run("p1 > 0 ? sqrt(p1) : 0", { p1: 16 }), 4);
      assert.equal(run("max([p1, p2, 7])", { p1: 3, p2: 4 }), 7);
      assert.equal(run("round(pi, 2) * 100 + abs(-1)", {}), 315);
    });

    it("reports the symbols the expression reads", function () {
      const r = compile("p1 + 2 * p1");
      assert.ok(r.ok);
      assert.deepEqual([...r.symbolsUsed], ["p1"]);
    });
  });

  describe("escape patterns", function () {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["import({x: 1})", "forbidden"],
      ['import("fs")', "forbidden"],
      ['createUnit("foo")', "forbidden"],
      ['evaluate("1+1")', "forbidden"],
      ['parse("1+1")', "forbidden"],
      ['simplify("x+x")', "forbidden"],
      ['derivative("x^2", "x")', "forbidden"],
      ['resolve("x")', "forbidden"],
      ['compile("1")', "forbidden"],
      ["reviver()", "forbidden"],
      ["chain(3)", "forbidden"],
      ["typed()", "forbidden"],
      ["f(x) = x", "forbidden"],
      ["f(x) = f(x)", "forbidden"],
      ["p1 = 5", "forbidden"],
      ["p1.constructor", "forbidden"],
      ['p1["constructor"]', "forbidden"],
      ["p1.__proto__", "forbidden"],
      ['sin.constructor("return process")()', "syntax"],
      ['sin["constructor"]("return process")', "forbidden"],
      ['(sin)("x")', "unknown-symbol"],
      ["cos.constructor", "forbidden"],
      ["ones(1e9)", "unknown-function"],
      ["zeros(1e5, 1e5)", "unknown-function"],
      ["range(0, 1e9)", "unknown-function"],
      ["1:1e9", "forbidden"],
      ["[[1,2],[3,4]]", "forbidden"],
      ["{a: 1}", "forbidden"],
      ["p1; p2", "forbidden"],
      ["process", "unknown-symbol"],
      ["Function", "unknown-symbol"],
      ["5 cm", "unknown-symbol"],
      ["5!", "forbidden"],
      ["value(1)", "unknown-function"],
    ];
    for (const [source, code] of cases) {
      it(`rejects ${source} (${code})`, function () {
        assert.equal(problemOf(source).code, code);
      });
    }

    it("rejects an array literal beyond 64 items", function () {
      const items = Array.from({ length: 65 }, (_, i) => String(i)).join(",");
      assert.equal(problemOf(`[${items}]`).code, "forbidden");
      assert.ok(compile(`[${items.split(",").slice(0, 64).join(",")}]`).ok);
    });

    it("rejects a string literal beyond 64 characters", function () {
      assert.equal(problemOf(`"${"x".repeat(65)}"`).code, "forbidden");
      assert.ok(compile(`"${"x".repeat(64)}"`).ok);
    });

    it("rejects deep bracket nesting before the parser sees it", function () {
      const deep = "(".repeat(5000) + "1" + ")".repeat(5000);
      assert.equal(problemOf(deep).code, "too-long");
      const nested = "(".repeat(40) + "1" + ")".repeat(40);
      assert.equal(problemOf(nested).code, "too-deep");
      assert.ok(compile("(".repeat(30) + "1" + ")".repeat(30)).ok);
    });

    it("rejects deep nesting without brackets (a chain of unary minus)", function () {
      assert.equal(problemOf("-".repeat(100) + "1").code, "too-deep");
    });

    it("rejects too many nodes", function () {
      assert.equal(problemOf(Array.from({ length: 450 }, () => "1").join("+")).code, "too-deep");
      const wide = `sum(${Array.from({ length: 450 }, () => "[1]").join(",")})`;
      assert.equal(problemOf(wide).code, "too-complex");
    });
  });

  describe("problems in plain words", function () {
    it("gives the column of a syntax error", function () {
      const p = problemOf("p1 + * 2");
      assert.equal(p.code, "syntax");
      assert.equal(p.column, 6);
      assert.match(p.message, /^syntax error at column 6: Value expected$/);
    });

    it("names an unknown symbol and where it is", function () {
      const p = problemOf("p1 + p3");
      assert.equal(p.code, "unknown-symbol");
      assert.equal(p.column, 6);
      assert.equal(p.message, 'unknown name "p3"');
    });

    it("names an unknown function", function () {
      const p = problemOf("p1 + foo(2)");
      assert.deepEqual(p, { code: "unknown-function", message: "unknown function foo()", column: 6 });
    });

    it("says an empty expression is empty", function () {
      assert.equal(problemOf("  ").code, "empty");
    });
  });
});
