/**
 * checkFormula: everything wrong with a formula, in plain words, without running it on live data — the
 * REST API's `formula_check` and the editor's validation use it.
 */
import { errorMessage } from "../errors";
import type { PointKey } from "../model/datapoint";
import { compileFormula } from "./compile";
import { DEFAULT_WINDOW } from "./engine";
import type { ProblemCode } from "./sandbox";

export type FormulaProblemCode =
  ProblemCode | "bad-parameter-name" | "unknown-parameter" | "unknown-point" | "not-numeric";

export interface FormulaProblem {
  readonly code: FormulaProblemCode;
  readonly message: string;
  /** 1-based column in the expression, when the problem has a place. */
  readonly column?: number;
  /** The parameter concerned, when there is one. */
  readonly param?: string;
}

export interface FormulaCheck {
  readonly ok: boolean;
  readonly problems: readonly FormulaProblem[];
  /** Parameters bound but not used in the expression (not an error; worth a look). */
  readonly unused: readonly string[];
}

const PARAM_NAME = /^p[1-9][0-9]*$/;

function describe(value: unknown): string {
  if (typeof value === "string") return "text";
  if (Array.isArray(value) || (typeof value === "object" && value !== null && "size" in value))
    return "a list of values";
  if (value === undefined || value === null) return "nothing";
  return `a ${typeof value === "object" ? (value.constructor?.name ?? "value") : typeof value}`;
}

/**
 * Check an expression against its parameter bindings (p1 … pn → point key) and the points that exist.
 * Reports bad parameter names, parameters used but not bound, bound to unknown points, syntax errors with
 * their column, forbidden constructs, and a result that is not a number (or true/false).
 */
export function checkFormula(
  expression: string,
  params: Readonly<Record<string, PointKey>>,
  knownPoints: ReadonlySet<PointKey> | ((key: PointKey) => boolean),
): FormulaCheck {
  const known = typeof knownPoints === "function" ? knownPoints : (k: PointKey) => knownPoints.has(k);
  const problems: FormulaProblem[] = [];
  const names = new Set<string>();
  for (const [name, key] of Object.entries(params)) {
    if (!PARAM_NAME.test(name)) {
      problems.push({
        code: "bad-parameter-name",
        message: `"${name}" is not a parameter name (p1, p2, …)`,
        param: name,
      });
      continue;
    }
    names.add(name);
    if (!known(key))
      problems.push({
        code: "unknown-point",
        message: `${name} is bound to ${key}, which is not a known point`,
        param: name,
      });
  }
  const r = compileFormula(expression, names, DEFAULT_WINDOW);
  if (!r.ok) {
    const p = r.problem;
    const m = p.code === "unknown-symbol" ? /^unknown name "(p[1-9][0-9]*)"$/.exec(p.message) : null;
    if (m !== null) {
      problems.push({
        code: "unknown-parameter",
        message: `${m[1]} is used but not bound to a point; add it to the parameters`,
        param: m[1],
        ...(p.column === undefined ? {} : { column: p.column }),
      });
    } else problems.push(p);
    return { ok: false, problems, unused: [] };
  }
  const used = new Set(r.formula.params);
  const unused = [...names].filter((n) => !used.has(n)).sort();
  // Try it on stand-in values (1 for every parameter and window) to see what kind of result it gives.
  const scope = new Map<string, unknown>();
  for (const n of names) scope.set(n, 1);
  for (const w of r.formula.windows) scope.set(w.symbol, 1);
  try {
    const v = r.formula.expression.evaluate(scope);
    if (typeof v !== "number" && typeof v !== "boolean") {
      problems.push({ code: "not-numeric", message: `the result is ${describe(v)}, not a number` });
    }
  } catch (err) {
    problems.push({
      code: "not-numeric",
      message: `the expression cannot be evaluated: ${errorMessage(err)}`,
    });
  }
  return { ok: problems.length === 0, problems, unused };
}
