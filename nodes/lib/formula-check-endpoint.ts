/**
 * The formula dialog's check of each row as it is typed (POST /datacoll/formula/test; see test-route.ts):
 * the same check the node runs when deployed — syntax, names, parameters bound and used, what the
 * sandbox refuses — answered `{ ok, message }`, so a row that could never compute says why before the
 * deploy, not after. Points are not looked up: the dialog does not know which registry they belong to.
 */
import type { NodeAPI } from "node-red";
import { definitionOfRow, type FormulaRow } from "../../src/core/formula/table";
import { registerTestRoute } from "./test-route";

export function registerFormulaCheck(RED: NodeAPI): void {
  registerTestRoute<FormulaRow>(RED, {
    kind: "formula",
    parse: (body) => ({
      id: body.id === undefined || body.id === "" ? "row" : body.id,
      expression: body.expression,
      params: body.params,
      // The result point is checked as the rest; an empty one is the row's to fill, said by the dialog.
      result: body.result === undefined || body.result === "" ? "calc:check:result" : body.result,
    }),
    test: (row) => {
      const d = definitionOfRow(row, 0, 0);
      return Promise.resolve(d.ok ? { ok: true, message: "OK" } : { ok: false, message: d.problem });
    },
  });
}
