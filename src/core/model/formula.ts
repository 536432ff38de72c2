/**
 * A formula: an expression over points whose result is a point too (docs/architecture.md §2). Parameters are
 * named p1, p2, … and each is bound to a point key; the expression's syntax belongs to the formula
 * engine (src/core/formula), the model checks the bindings.
 */
import { RecordReader, invalid, isPlainObject, normalizeId, type Extra } from "./fields";
import { pointKey, pointKeyParts, type PointKey } from "./datapoint";

export interface Formula {
  readonly id: string;
  readonly name: string;
  readonly expression: string;
  /** p1 … pn → point key. */
  readonly params: Readonly<Record<string, PointKey>>;
  /** The point the result is written to. */
  readonly result: PointKey;
  readonly enabled: boolean;
  readonly extra: Extra;
}

const PARAM_NAME = /^p[1-9][0-9]{0,2}$/;
const MAX_PARAMS = 256;

/** Check a point key as text: three ids joined by ':'. */
export function parsePointKey(raw: unknown, field: string): PointKey {
  if (typeof raw !== "string") throw invalid(field, "must be a point key deviceId:termId:itemId");
  const parts = pointKeyParts(raw);
  if (parts.length !== 3)
    throw invalid(field, `${JSON.stringify(raw)} must be a point key deviceId:termId:itemId`);
  return pointKey(normalizeId(parts[0], field), normalizeId(parts[1], field), normalizeId(parts[2], field));
}

export function parseFormula(raw: unknown): Formula {
  const r = RecordReader.of(raw, "formula");
  const id = r.id("id");
  const name = r.text("name", { max: 200, def: id });
  const expression = r.text("expression", { max: 4096 });
  if (expression.trim() === "") throw invalid("expression", "must not be empty");
  const rawParams: unknown = isPlainObject(raw) ? raw.params : undefined;
  r.json("params", 65536);
  if (!isPlainObject(rawParams)) throw invalid("params", "must be an object of p1, p2, … → point key");
  const names = Object.keys(rawParams);
  if (names.length > MAX_PARAMS) throw invalid("params", `must have at most ${MAX_PARAMS} parameters`);
  const params: Record<string, PointKey> = {};
  for (const n of names) {
    if (!PARAM_NAME.test(n)) throw invalid(`params.${n}`, "is not a parameter name (p1, p2, …)");
    params[n] = parsePointKey(rawParams[n], `params.${n}`);
  }
  const result = parsePointKey(
    r.has("result") ? (raw as Record<string, unknown>).result : undefined,
    "result",
  );
  r.text("result", { max: 200 });
  if (Object.values(params).includes(result))
    throw invalid("result", `${result} must not also be a parameter`);
  const enabled = r.bool("enabled", true);
  return { id, name, expression, params, result, enabled, extra: r.extra() };
}

/** Every point key a formula reads or writes. */
export function formulaPoints(f: Formula): PointKey[] {
  return [...new Set([...Object.values(f.params), f.result])];
}

export function formulaRecord(f: Formula): Record<string, unknown> {
  const { extra, ...known } = f;
  return { ...extra, ...known, params: { ...f.params } };
}
