/**
 * Escape attempts against the expression sandbox through each way an untrusted expression comes in: the
 * formula check the REST API and the editor run (checkFormula), the check node's expression rule
 * (compileVerify), and the sandbox itself. test/unit/formula/sandbox.test.ts covers the basic patterns;
 * this file adds what an attacker would try next: JavaScript's own names, prototype pollution, code
 * strings, and expressions built to burn time or memory. Every one is refused with a plain-words problem,
 * nothing leaks onto Object.prototype, and the largest expressions allowed evaluate in bounded work
 * (the suite's timeout is the hang detector; no timed assertion).
 */
import assert from "node:assert/strict";
import { compileVerify } from "../../../src/core/check/settings";
import { DataCollError } from "../../../src/core/errors";
import { checkFormula } from "../../../src/core/formula/check";
import { compileSandboxed, DEFAULT_LIMITS } from "../../../src/core/formula/sandbox";

const SYMBOLS = new Set(["p1", "value"]);
const PARAMS = { p1: "d:t:a" };
const KNOWN = new Set(["d:t:a"]);

function refused(source: string): string {
  const r = compileSandboxed(source, { symbols: SYMBOLS });
  assert.equal(r.ok, false, `"${source.slice(0, 80)}" was accepted`);
  return r.ok ? "" : r.problem.code;
}

const ATTEMPTS: readonly string[] = [
  // JavaScript's names, called or read.
  "constructor",
  "constructor(1)",
  "__proto__",
  "prototype",
  "toString()",
  "valueOf()",
  'hasOwnProperty("p1")',
  '__defineGetter__("x", sin)',
  '__lookupGetter__("p1")',
  'eval("1")',
  'Function("return process")',
  'require("fs")',
  "process.exit(1)",
  "globalThis",
  "this",
  "module",
  "setTimeout(sin, 1)", // an expression the sandbox must refuse, not a timer of the test
  // Reaching a prototype through values.
  '"".constructor',
  "(1).constructor",
  "[1].constructor",
  'p1["__proto__"]["x"] = 1',
  "{__proto__: {polluted: 1}}",
  "{constructor: {prototype: {polluted: 1}}}",
  'sin["__proto__"]',
  "p1.valueOf",
  // mathjs' own ways to code and to reach its internals.
  "import({polluted: 1}, {override: true})",
  'createUnit("evil", "1 m")',
  'evaluate("import({}, {})")',
  'parse("1").compile()',
  'compile("1").evaluate()',
  'config({number: "BigNumber"})',
  'typed("x", {})',
  "f(x) = f(x + 1)",
  "g = sin",
  "p1 = 1; p1",
  "x = 1",
  '"" + import',
  "map([1, 2], sin)",
  "forEach([1], sin)",
  "filter([1], sin)",
  "apply([[1]], 1, sum)",
  "matrix([[1]])",
  "ones(100000, 100000)",
  "zeros(1e9)",
  "range(1, 1e12)",
  "1:1e12",
  "factorial(1e9)",
  "gamma(1e308)",
  "isPrime(9007199254740881)",
  'bignumber("1e1000000")',
  'concat("x", "y")',
  "string(p1)",
  'format(p1, {notation: "fixed", precision: 1e9})',
  'print("$a", {a: 1})',
  'repeat("x", 1e9)',
];

describe("expression sandbox: escape attempts", function () {
  const before = Object.getOwnPropertyNames(Object.prototype).sort();

  after(function () {
    assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), before, "Object.prototype changed");
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  for (const source of ATTEMPTS) {
    it(`refuses ${source}`, function () {
      const code = refused(source);
      assert.match(code, /^(forbidden|unknown-symbol|unknown-function|syntax|bad-argument)$/);
      // The same text as a formula (REST formula_check, the editor) and as a check rule.
      const f = checkFormula(source, PARAMS, KNOWN);
      assert.equal(f.ok, false);
      assert.ok(f.problems.every((p) => typeof p.message === "string" && p.message.length > 0));
      assert.throws(
        () => compileVerify(source),
        (err: unknown) => err instanceof DataCollError && err.field === "verify",
      );
    });
  }

  it("refuses text over the length limit before parsing it, and deep call chains", function () {
    assert.equal(refused("1+".repeat(DEFAULT_LIMITS.maxLength) + "1"), "too-long");
    assert.equal(refused("x".repeat(1_000_000)), "too-long");
    assert.equal(refused("abs(".repeat(40) + "1" + ")".repeat(40)), "too-deep");
    assert.equal(refused("[".repeat(5000) + "]".repeat(5000)), "too-long");
    assert.equal(refused("-".repeat(1500) + "1"), "too-deep");
  });

  it("evaluates the largest expressions it allows in bounded work, without throwing out of the sandbox", function () {
    // Near the node limit: a tower of powers (overflows to Infinity), and medians of full-size arrays.
    const tower = Array.from({ length: 30 }, () => "9").join("^");
    const list = `[${Array.from({ length: DEFAULT_LIMITS.maxArrayItems }, (_, i) => `p1 * ${i}`).join(",")}]`;
    const heavy = `median(${list}) + sum(${list.replace(/p1/g, "value")})`;
    for (const source of [tower, heavy, "p1 / 0", "log(-1)", "sqrt(-4)", "0 ^ -1"]) {
      const r = compileSandboxed(source, { symbols: SYMBOLS });
      assert.ok(r.ok, `${source.slice(0, 40)}: ${r.ok ? "" : r.problem.message}`);
      for (let i = 0; i < 200; i++)
        r.compiled.evaluate(
          new Map([
            ["p1", 1.5],
            ["value", 2],
          ]),
        );
    }
  });

  it("treats hostile values in the scope as data", function () {
    const r = compileSandboxed("p1 + 1", { symbols: SYMBOLS });
    assert.ok(r.ok);
    const hostile: unknown[] = [
      "constructor",
      { valueOf: () => 41 },
      JSON.parse('{"__proto__": {"polluted": 1}}'),
    ];
    for (const v of hostile) {
      try {
        r.compiled.evaluate(new Map([["p1", v]]));
      } catch (err) {
        // mathjs may refuse a value it cannot add; what matters is that it is an ordinary error.
        assert.ok(err instanceof Error);
      }
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});
