/**
 * The expression sandbox shared by the formula engine and the checker's expression rule.
 *
 * Expressions come from the REST API and the editor, so they are untrusted text. Two fences keep them in:
 *
 * 1. A restricted mathjs instance: every function that can parse, compile, import or reach JavaScript is
 *    replaced by one that throws (mathjs' own security advice). The parser is captured before that, so only
 *    this module can parse.
 * 2. An allow-list check of the parsed tree before it is compiled: only arithmetic, comparison, logic,
 *    the ternary, small 1-D arrays, short strings, the listed functions and the caller's own symbols.
 *    No assignment, no function definition (so no recursion), no property or index access (so no
 *    `constructor`/`__proto__`), no ranges or matrix builders (so no `ones(1e9)` or `1:1e9`).
 *
 * With no loops, no recursion, a bounded tree and bounded arrays, evaluation time and result size are
 * bounded by the tree size; that is why there is no run-time watchdog.
 */
import { all, create, type MathNode } from "mathjs";

export interface SandboxLimits {
  /** Characters of source text. */
  readonly maxLength: number;
  /** Nodes in the parsed tree. */
  readonly maxNodes: number;
  /** Nesting depth of the tree (and of brackets in the text, checked before parsing). */
  readonly maxDepth: number;
  /** Items in an array literal `[a, b, c]`. */
  readonly maxArrayItems: number;
  /** Characters of a string literal. */
  readonly maxStringLength: number;
}

export const DEFAULT_LIMITS: SandboxLimits = Object.freeze({
  maxLength: 2000,
  maxNodes: 400,
  maxDepth: 32,
  maxArrayItems: 64,
  maxStringLength: 64,
});

export type ProblemCode =
  | "empty"
  | "too-long"
  | "too-deep"
  | "too-complex"
  | "syntax"
  | "forbidden"
  | "unknown-symbol"
  | "unknown-function"
  | "bad-argument";

/** What is wrong with an expression, in words a plant engineer understands; column is 1-based. */
export interface ExpressionProblem {
  readonly code: ProblemCode;
  readonly message: string;
  readonly column?: number;
}

/** A compiled expression; the scope maps symbol names to values. */
export interface CompiledExpression {
  readonly source: string;
  evaluate(scope: Map<string, unknown>): unknown;
}

/**
 * A place in the tree the caller may handle itself: a function call `name(args)` (the formula engine's
 * window functions), or — only when the object is a plain name — an index `p1[-1]` or a method call
 * `p1.max()` (the older system's pandas spellings, which the formula engine maps onto its own functions).
 */
export type RewriteSite =
  | { readonly kind: "call"; readonly name: string; readonly args: readonly MathNode[] }
  | { readonly kind: "index"; readonly object: string; readonly index: readonly MathNode[] }
  | {
      readonly kind: "method";
      readonly object: string;
      readonly name: string;
      readonly args: readonly MathNode[];
    };

/**
 * The caller's hook for the sites it handles itself: return a symbol name to put in the site's place (the
 * caller puts its value in the scope), a problem, or undefined to let the site be checked as usual (a call
 * as an ordinary function; an index or method is refused).
 */
export type CallRewriter = (
  site: RewriteSite,
) => { readonly symbol: string } | { readonly problem: ExpressionProblem } | undefined;

export interface SandboxOptions {
  /** Symbols the expression may read. */
  readonly symbols: ReadonlySet<string>;
  readonly rewrite?: CallRewriter;
  readonly limits?: SandboxLimits;
}

export type SandboxResult =
  | { readonly ok: true; readonly compiled: CompiledExpression; readonly symbolsUsed: ReadonlySet<string> }
  | { readonly ok: false; readonly problem: ExpressionProblem };

const math = create(all);
// Captured before the public names are disabled below; nothing else in the process can reach them.
const parse = math.parse;

function disabled(name: string): () => never {
  return () => {
    throw new Error(`function ${name} is not available in DataColl expressions`);
  };
}

const DISABLED = [
  "import",
  "createUnit",
  "evaluate",
  "parse",
  "simplify",
  "simplifyConstant",
  "simplifyCore",
  "derivative",
  "resolve",
  "compile",
  "reviver",
  "replacer",
  "chain",
  "parser",
  "rationalize",
  "help",
  "leafCount",
  "symbolicEqual",
];
math.import(Object.fromEntries(DISABLED.map((n) => [n, disabled(n)])), { override: true });
// `typed` and `config` stay in the namespace because mathjs builds its functions lazily from them; the
// tree check is what keeps an expression from calling them.
const FORBIDDEN_CALLS: ReadonlySet<string> = new Set([...DISABLED, "typed", "config"]);

/** Operators (by mathjs function name) an expression may use. */
const OPERATORS: ReadonlySet<string> = new Set([
  "add",
  "subtract",
  "multiply",
  "divide",
  "mod",
  "pow",
  "unaryMinus",
  "unaryPlus",
  "equal",
  "unequal",
  "smaller",
  "larger",
  "smallerEq",
  "largerEq",
  "and",
  "or",
  "not",
  "xor",
]);

/** Functions an expression may call. Each is bounded in time for bounded inputs. */
export const FUNCTIONS: ReadonlySet<string> = new Set([
  "abs",
  "sign",
  "sqrt",
  "cbrt",
  "exp",
  "log",
  "log10",
  "log2",
  "pow",
  "round",
  "floor",
  "ceil",
  "fix",
  "mod",
  "min",
  "max",
  "sum",
  "mean",
  "median",
  "hypot",
  "sin",
  "cos",
  "tan",
  "asin",
  "acos",
  "atan",
  "atan2",
  "sinh",
  "cosh",
  "tanh",
  "isNaN",
]);

/** Constants every expression may read besides the caller's symbols. */
const CONSTANTS: ReadonlySet<string> = new Set(["pi", "e", "PI", "E", "Infinity", "NaN"]);

class Rejection extends Error {
  constructor(readonly problem: ExpressionProblem) {
    super(problem.message);
  }
}

/** 1-based column of the first whole-word occurrence of `word` in `source`, if any. */
export function columnOf(source: string, word: string): number | undefined {
  const escaped = word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const m = new RegExp(`(^|[^A-Za-z0-9_$])(${escaped})(?![A-Za-z0-9_$])`).exec(source);
  return m ? m.index + m[1].length + 1 : undefined;
}

function reject(code: ProblemCode, message: string, column?: number): never {
  throw new Rejection(column === undefined ? { code, message } : { code, message, column });
}

/** Bracket depth of the raw text, so a pathological nesting never reaches the recursive parser. */
function bracketDepth(source: string): { depth: number; column: number } {
  let depth = 0;
  let worst = 0;
  let column = 0;
  let quote: string | undefined;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (quote !== undefined) {
      if (c === "\\") i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === "(" || c === "[" || c === "{") {
      depth++;
      if (depth > worst) {
        worst = depth;
        column = i + 1;
      }
    } else if (c === ")" || c === "]" || c === "}") depth--;
  }
  return { depth: worst, column };
}

interface Walk {
  readonly source: string;
  readonly options: SandboxOptions;
  readonly limits: SandboxLimits;
  nodes: number;
  readonly used: Set<string>;
  readonly replacements: Map<MathNode, string>;
}

function check(node: MathNode, depth: number, w: Walk): void {
  w.nodes++;
  if (w.nodes > w.limits.maxNodes) {
    reject(
      "too-complex",
      `the expression is too long to evaluate safely (more than ${w.limits.maxNodes} parts)`,
    );
  }
  if (depth > w.limits.maxDepth) {
    reject("too-deep", `the expression is nested too deeply (more than ${w.limits.maxDepth} levels)`);
  }
  if (math.isConstantNode(node)) {
    const v: unknown = node.value;
    if (typeof v === "string" && v.length > w.limits.maxStringLength) {
      reject("forbidden", `a text in quotes may be at most ${w.limits.maxStringLength} characters long`);
    }
    return;
  }
  if (math.isSymbolNode(node)) {
    const name = node.name;
    if (w.options.symbols.has(name)) {
      w.used.add(name);
      return;
    }
    if (CONSTANTS.has(name)) return;
    reject("unknown-symbol", `unknown name "${name}"`, columnOf(w.source, name));
  }
  if (math.isParenthesisNode(node)) {
    check(node.content, depth + 1, w);
    return;
  }
  if (math.isOperatorNode(node)) {
    if (!OPERATORS.has(node.fn)) {
      reject("forbidden", `the operator "${node.op}" is not allowed`, columnAfter(w.source, node.op));
    }
    for (const a of node.args) check(a, depth + 1, w);
    return;
  }
  if (math.isConditionalNode(node)) {
    check(node.condition, depth + 1, w);
    check(node.trueExpr, depth + 1, w);
    check(node.falseExpr, depth + 1, w);
    return;
  }
  if (math.isArrayNode(node)) {
    if (node.items.length > w.limits.maxArrayItems) {
      reject("forbidden", `a list [..] may hold at most ${w.limits.maxArrayItems} values`);
    }
    for (const item of node.items) {
      if (math.isArrayNode(item)) reject("forbidden", "nested lists (matrices) are not allowed");
      check(item, depth + 1, w);
    }
    return;
  }
  if (math.isFunctionNode(node)) {
    checkCall(node, depth, w);
    return;
  }
  if (math.isAccessorNode(node) && math.isSymbolNode(node.object) && !node.index.dotNotation) {
    const site: RewriteSite = { kind: "index", object: node.object.name, index: node.index.dimensions };
    if (rewritten(node, site, node.index.dimensions.length + 1, w)) return;
    // An unbound name is the first thing wrong with `p3[-1]`: say so rather than refusing the index.
    check(node.object, depth + 1, w);
  }
  rejectNode(node, w.source);
}

function columnAfter(source: string, text: string): number | undefined {
  const i = source.indexOf(text);
  return i < 0 ? undefined : i + 1;
}

/** Offer `site` to the caller's hook; true when the caller took it (`node` is then replaced). */
function rewritten(node: MathNode, site: RewriteSite, parts: number, w: Walk): boolean {
  const r = w.options.rewrite?.(site);
  if (r === undefined) return false;
  if ("problem" in r) throw new Rejection(r.problem);
  w.replacements.set(node, r.symbol);
  w.nodes += parts;
  return true;
}

/** `p1.max()`: a call whose function is a dotted name on a plain name. */
function methodSite(fn: MathNode, args: readonly MathNode[]): RewriteSite | undefined {
  if (!math.isAccessorNode(fn) || !fn.index.dotNotation || !math.isSymbolNode(fn.object)) return undefined;
  const key = fn.index.dimensions[0];
  if (fn.index.dimensions.length !== 1 || !math.isConstantNode(key) || typeof key.value !== "string") {
    return undefined;
  }
  return { kind: "method", object: fn.object.name, name: key.value, args };
}

function checkCall(node: MathNode & { fn: MathNode; args: MathNode[] }, depth: number, w: Walk): void {
  const method = methodSite(node.fn, node.args);
  if (method !== undefined && rewritten(node, method, node.args.length + 1, w)) return;
  if (!math.isSymbolNode(node.fn)) {
    // Name what was called (`process.exit`), printed from the parse tree, never evaluated.
    const callee = node.fn.toString();
    reject(
      "forbidden",
      `${callee.length > 40 ? `${callee.slice(0, 39)}…` : callee}(…) cannot be called: only a named function can be, e.g. max(p1, p2)`,
    );
  }
  const name = node.fn.name;
  if (rewritten(node, { kind: "call", name, args: node.args }, node.args.length, w)) return;
  if (FORBIDDEN_CALLS.has(name)) {
    reject("forbidden", `the function ${name}() is not allowed`, columnOf(w.source, name));
  }
  if (!FUNCTIONS.has(name)) {
    reject("unknown-function", `unknown function ${name}()`, columnOf(w.source, name));
  }
  for (const a of node.args) check(a, depth + 1, w);
}

function rejectNode(node: MathNode, source: string): never {
  switch (node.type) {
    case "AssignmentNode":
      reject("forbidden", "assignments (=) are not allowed; an expression only computes a value");
      break;
    case "FunctionAssignmentNode":
      reject("forbidden", "defining functions is not allowed");
      break;
    case "AccessorNode":
    case "IndexNode":
      reject(
        "forbidden",
        "property and index access (a.b, a[1]) are not allowed; for an earlier sample use prev(p1, 1)",
        columnAfter(source, "[") ?? columnAfter(source, "."),
      );
      break;
    case "BlockNode":
      reject("forbidden", "only one expression is allowed (no ';' or new lines between expressions)");
      break;
    case "RangeNode":
      reject("forbidden", "ranges (a:b) are not allowed", columnAfter(source, ":"));
      break;
    case "ObjectNode":
      reject("forbidden", "objects {..} are not allowed", columnAfter(source, "{"));
      break;
    default:
      reject("forbidden", `${node.type} is not allowed`);
  }
}

function syntaxProblem(err: unknown): ExpressionProblem {
  const message = err instanceof Error ? err.message : String(err);
  const col = (err as { char?: unknown }).char;
  // mathjs appends "(char N)"; the column is reported on its own, so drop it from the words.
  const words = message.replace(/\s*\(char \d+\)\s*$/, "");
  return typeof col === "number"
    ? { code: "syntax", message: `syntax error at column ${col}: ${words}`, column: col }
    : { code: "syntax", message: `syntax error: ${words}` };
}

/** Parse, check and compile an expression inside the sandbox. Never throws for bad input. */
export function compileSandboxed(source: string, options: SandboxOptions): SandboxResult {
  const limits = options.limits ?? DEFAULT_LIMITS;
  if (source.trim() === "")
    return { ok: false, problem: { code: "empty", message: "the expression is empty" } };
  if (source.length > limits.maxLength) {
    return {
      ok: false,
      problem: { code: "too-long", message: `the expression is longer than ${limits.maxLength} characters` },
    };
  }
  const brackets = bracketDepth(source);
  if (brackets.depth > limits.maxDepth) {
    return {
      ok: false,
      problem: {
        code: "too-deep",
        message: `brackets are nested too deeply (more than ${limits.maxDepth} levels)`,
        column: brackets.column,
      },
    };
  }
  let tree: MathNode;
  try {
    tree = parse(source);
  } catch (err) {
    return { ok: false, problem: syntaxProblem(err) };
  }
  const w: Walk = { source, options, limits, nodes: 0, used: new Set(), replacements: new Map() };
  try {
    check(tree, 0, w);
  } catch (err) {
    if (err instanceof Rejection) return { ok: false, problem: err.problem };
    throw err;
  }
  const final =
    w.replacements.size === 0
      ? tree
      : tree.transform((node) => {
          const symbol = w.replacements.get(node);
          return symbol === undefined ? node : new math.SymbolNode(symbol);
        });
  const code = final.compile();
  return {
    ok: true,
    compiled: { source, evaluate: (scope) => code.evaluate(scope) as unknown },
    symbolsUsed: w.used,
  };
}
