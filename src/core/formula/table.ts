/**
 * The formula node's table and the registry's formulas as engine definitions, each either usable or
 * with everything wrong with it in plain words (checkFormula's messages), so one bad row never stops
 * the others. In core beside the engine, so the formula controller (and its tests) read rows without
 * Node-RED.
 */
import { errorMessage } from "../errors";
import { parseFormula, type Formula } from "../model/formula";
import { checkFormula } from "./check";
import type { FormulaDefinition } from "./engine";

/** A row as the editor saves it: params as text `p1=dev:term:item, p2=…` (or an object). */
export interface FormulaRow {
  readonly id?: unknown;
  readonly expression?: unknown;
  readonly params?: unknown;
  readonly result?: unknown;
}

export type Definition =
  | { readonly ok: true; readonly def: FormulaDefinition }
  | { readonly ok: false; readonly id: string; readonly problem: string };

/** `p1=a:b:c, p2=d:e:f` (commas, semicolons or new lines between) → {p1: "a:b:c", p2: "d:e:f"}. */
export function parseParams(text: unknown): unknown {
  if (typeof text !== "string") return text;
  const out: Record<string, string> = {};
  for (const part of text.split(/[,;\n]/)) {
    if (part.trim() === "") continue;
    const eq = part.indexOf("=");
    out[(eq < 0 ? part : part.slice(0, eq)).trim()] = eq < 0 ? "" : part.slice(eq + 1).trim();
  }
  return out;
}

/** A formula's engine definition, or why it cannot run. */
export function definitionOf(f: Formula, everyMs: number): Definition {
  const check = checkFormula(f.expression, f.params, () => true);
  if (!check.ok) return { ok: false, id: f.id, problem: check.problems.map((p) => p.message).join("; ") };
  const own = f.extra.everyMs;
  const every = typeof own === "number" && own > 0 ? own : everyMs;
  return {
    ok: true,
    def: { id: f.id, expression: f.expression, params: f.params, result: f.result, everyMs: every },
  };
}

export function definitionOfRow(row: FormulaRow, index: number, everyMs: number): Definition {
  const id = typeof row.id === "string" && row.id.trim() !== "" ? row.id.trim() : `row ${index + 1}`;
  try {
    const f = parseFormula({
      id: row.id,
      expression: row.expression,
      params: parseParams(row.params),
      result: row.result,
    });
    return definitionOf(f, everyMs);
  } catch (err) {
    return { ok: false, id, problem: errorMessage(err) };
  }
}
