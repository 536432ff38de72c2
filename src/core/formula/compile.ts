/**
 * Compile a formula expression: the sandbox check plus the window-function syntax of window.ts. Each
 * window call becomes a hidden symbol whose value the engine computes from the history before evaluating,
 * so mathjs only ever sees plain numbers.
 */
import { isConstantNode, isOperatorNode, isSymbolNode, type MathNode } from "mathjs";
import type { WindowSpan } from "./history";
import {
  columnOf,
  compileSandboxed,
  FUNCTIONS,
  type CompiledExpression,
  type ExpressionProblem,
  type RewriteSite,
  type SandboxLimits,
} from "./sandbox";
import { isWindowFunction, parseDuration, type WindowFunction } from "./window";

/** The most samples a window or prev() may reach back. */
export const MAX_WINDOW_SAMPLES = 10_000;
/** The longest duration window: one week. */
export const MAX_WINDOW_MS = 7 * 86_400_000;

export interface WindowUse {
  /** The hidden symbol that stands for this call. */
  readonly symbol: string;
  readonly fn: WindowFunction | "prev";
  readonly param: string;
  readonly span: WindowSpan;
  /** For prev(): samples back from the newest. */
  readonly back: number;
}

export interface CompiledFormula {
  readonly expression: CompiledExpression;
  /** Parameters read directly or through a window, in name order. */
  readonly params: readonly string[];
  readonly windows: readonly WindowUse[];
}

export type FormulaCompileResult =
  | { readonly ok: true; readonly formula: CompiledFormula }
  | { readonly ok: false; readonly problem: ExpressionProblem };

interface Collect {
  readonly source: string;
  readonly params: ReadonlySet<string>;
  readonly defaultSpan: WindowSpan;
  readonly windows: WindowUse[];
  readonly used: Set<string>;
}

function problem(message: string): { readonly problem: ExpressionProblem } {
  return { problem: { code: "bad-argument", message } };
}

const PARAMETER = /^p[1-9][0-9]*$/;

/**
 * A parameter's name used without being bound (`avg(p2, "5m")` with only p1 bound) is the sandbox's
 * unknown name, as `p2 + 1` would be: what is wrong is the missing binding, not the call around it, and
 * checkFormula words both alike.
 */
function unbound(name: string, c: Collect): { readonly problem: ExpressionProblem } | undefined {
  if (!PARAMETER.test(name) || c.params.has(name)) return undefined;
  const column = columnOf(c.source, name);
  const message = `unknown name "${name}"`;
  return {
    problem:
      column === undefined
        ? { code: "unknown-symbol", message }
        : { code: "unknown-symbol", message, column },
  };
}

function spanOf(
  name: string,
  arg: MathNode | undefined,
  c: Collect,
): WindowSpan | { readonly problem: ExpressionProblem } {
  if (arg === undefined) return c.defaultSpan;
  const example = `${name}(p1, 10) for the last 10 samples or ${name}(p1, "5m") for the last 5 minutes`;
  if (!isConstantNode(arg)) {
    const hint =
      name === "min" || name === "max" || name === "sum" ? `; to combine values write ${name}([p1, p2])` : "";
    return problem(
      `the second argument of ${name}() must be a number of samples or a duration: ${example}${hint}`,
    );
  }
  const v: unknown = arg.value;
  if (typeof v === "number") {
    if (!Number.isInteger(v) || v < 1 || v > MAX_WINDOW_SAMPLES) {
      return problem(`${name}(): a number of samples must be a whole number from 1 to ${MAX_WINDOW_SAMPLES}`);
    }
    return { kind: "count", count: v };
  }
  if (typeof v === "string") {
    const ms = parseDuration(v);
    if (ms === undefined || ms > MAX_WINDOW_MS) {
      return problem(`${name}(): "${v}" is not a duration up to 7 days, like "30s", "5m", "1h" or "1d"`);
    }
    return { kind: "duration", ms };
  }
  return problem(`the second argument of ${name}() must be a number of samples or a duration: ${example}`);
}

/** `p1[-k]`, the older system's pandas position (-1 the newest sample): `prev(p1, k - 1)`. */
function olderIndex(param: string, index: readonly MathNode[], c: Collect) {
  if (!c.params.has(param)) return undefined;
  const only = index.length === 1 ? index[0] : undefined;
  const negated =
    only !== undefined && isOperatorNode(only) && only.fn === "unaryMinus" && isConstantNode(only.args[0])
      ? (only.args[0].value as unknown)
      : undefined;
  const k = typeof negated === "number" ? negated : undefined;
  if (k === undefined || !Number.isInteger(k) || k < 1 || k > MAX_WINDOW_SAMPLES) {
    return problem(
      `${param}[..] takes a whole number from -1 to -${MAX_WINDOW_SAMPLES}: ${param}[-1] is the newest sample, ` +
        `${param}[-2] the one before (the same as prev(${param}, 1))`,
    );
  }
  return windowSymbol("prev", param, { kind: "count", count: k }, k - 1, c);
}

/** The older system's pandas series methods and the window functions they are. */
const OLDER_METHODS: Readonly<Record<string, WindowFunction>> = {
  max: "max",
  min: "min",
  sum: "sum",
  mean: "avg",
};

/** `p1.max()`: the window function over the default window. */
function olderMethod(param: string, name: string, args: readonly MathNode[], c: Collect) {
  if (!c.params.has(param)) return unbound(param, c);
  const fn = Object.hasOwn(OLDER_METHODS, name) ? OLDER_METHODS[name] : undefined;
  if (fn === undefined || args.length > 0) {
    return problem(
      `${param}.${name}(${args.length > 0 ? ".." : ""}) is not available; ${param}.max(), .min(), .sum() and ` +
        `.mean() are, or the window functions, e.g. max(${param}, 10)`,
    );
  }
  return windowSymbol(fn, param, c.defaultSpan, 0, c);
}

function rewrite(site: RewriteSite, c: Collect) {
  if (site.kind === "index") return olderIndex(site.object, site.index, c);
  if (site.kind === "method") return olderMethod(site.object, site.name, site.args, c);
  const { name, args } = site;
  const isPrev = name === "prev";
  if (!isPrev && !isWindowFunction(name)) return undefined;
  const first = args[0];
  const param = first !== undefined && isSymbolNode(first) ? first.name : undefined;
  if (param === undefined || !c.params.has(param)) {
    // min, max and sum over ordinary values (max([a, b]), max(p1 + 1, 3)) stay mathjs functions.
    if (FUNCTIONS.has(name)) return undefined;
    const missing = param === undefined ? undefined : unbound(param, c);
    if (missing !== undefined) return missing;
    return problem(
      `${name}() takes a parameter name first, e.g. ${isPrev ? "prev(p1, 1)" : `${name}(p1, "5m")`}`,
    );
  }
  if (args.length > 2)
    return problem(`${name}() takes a parameter and at most one window, e.g. ${name}(p1, 10)`);
  let span: WindowSpan;
  let back = 0;
  if (isPrev) {
    const arg = args[1];
    const v: unknown = arg === undefined ? 1 : isConstantNode(arg) ? (arg.value as unknown) : undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= MAX_WINDOW_SAMPLES) {
      return problem(
        `prev(): samples back must be a whole number from 0 to ${MAX_WINDOW_SAMPLES - 1}, e.g. prev(p1, 1)`,
      );
    }
    back = v;
    span = { kind: "count", count: v + 1 };
  } else {
    const s = spanOf(name, args[1], c);
    if ("problem" in s) return s;
    span = s;
  }
  return windowSymbol(isPrev ? "prev" : (name as WindowFunction), param, span, back, c);
}

/** The hidden symbol for one window use, shared by every use of the same window. */
function windowSymbol(
  fn: WindowFunction | "prev",
  param: string,
  span: WindowSpan,
  back: number,
  c: Collect,
): { readonly symbol: string } {
  c.used.add(param);
  const same = c.windows.find(
    (w) =>
      w.fn === fn &&
      w.param === param &&
      w.back === back &&
      w.span.kind === span.kind &&
      (span.kind === "count"
        ? w.span.kind === "count" && w.span.count === span.count
        : w.span.kind === "duration" && w.span.ms === span.ms),
  );
  if (same !== undefined) return { symbol: same.symbol };
  const symbol = `__w${c.windows.length}`;
  c.windows.push({ symbol, fn, param, span, back });
  return { symbol };
}

/** Compile `expression` over the parameter names given; windows without a span use `defaultSpan`. */
export function compileFormula(
  expression: string,
  params: ReadonlySet<string>,
  defaultSpan: WindowSpan,
  limits?: SandboxLimits,
): FormulaCompileResult {
  const c: Collect = { source: expression, params, defaultSpan, windows: [], used: new Set() };
  const r = compileSandboxed(expression, {
    symbols: params,
    rewrite: (site) => rewrite(site, c),
    ...(limits === undefined ? {} : { limits }),
  });
  if (!r.ok) return r;
  for (const p of r.symbolsUsed) c.used.add(p);
  return {
    ok: true,
    formula: { expression: r.compiled, params: [...c.used].sort(), windows: c.windows },
  };
}
