/**
 * The live view's history parameters: what a page address may carry beyond the history module's own
 * checks (unknown parameters, repeated ones, point keys, alarm states), each refusal naming its field.
 */
import assert from "node:assert/strict";
import { DataCollError } from "../../../../src/core/errors";
import {
  parseHistoryParams,
  parseJournalParams,
  sourceParam,
  type QueryParams,
} from "../../../../src/core/live/history-params";

function fieldOf(parse: (q: QueryParams) => unknown, q: QueryParams): string | undefined {
  try {
    parse(q);
  } catch (err) {
    assert.ok(err instanceof DataCollError, String(err));
    assert.equal(err.code, "invalid");
    return err.field;
  }
  assert.fail(`${JSON.stringify(q)} was accepted`);
}

describe("live view history parameters", function () {
  const range = { from: "1000", to: "2000" };

  it("reads a trend question into the history query", function () {
    assert.deepEqual(
      parseHistoryParams({
        source: "s1",
        points: "a:b:c,d:e:f,a:b:c",
        ...range,
        step: "100",
        agg: "min,avg",
      }),
      { points: ["a:b:c", "d:e:f"], from: 1000, to: 2000, step: 100, agg: ["min", "avg"] },
    );
    assert.equal(sourceParam({ source: "s1" }), "s1");
    assert.equal(sourceParam({ source: "" }), undefined);
    assert.equal(sourceParam({}), undefined);
  });

  it("names the field of each wrong trend parameter", function () {
    const cases: [QueryParams, string][] = [
      [{ points: "a:b:c", ...range, stpe: "10" }, "stpe"],
      [{ points: ["a:b:c", "d:e:f"], ...range }, "points"],
      [{ points: { toString: "x" }, ...range }, "points"],
      [{ points: "a:b", ...range }, "points"],
      [{ points: "a:b:c,::", ...range }, "points"],
      [{ points: "a:b:c", from: "2000", to: "1000" }, "to"],
      [{ points: "a:b:c", from: "soon", to: "1000" }, "from"],
      [{ points: "a:b:c", ...range, step: "0" }, "step"],
      [{ points: "a:b:c", ...range, step: "10", agg: "median" }, "agg"],
      [{ points: "a:b:c", ...range, source: ["x", "y"] }, "source"],
    ];
    for (const [q, field] of cases) {
      const got = q.source === undefined ? fieldOf(parseHistoryParams, q) : fieldOf(() => sourceParam(q), q);
      assert.equal(got, field, JSON.stringify(q));
    }
  });

  it("reads the journal's filters and refuses an unknown state or a malformed point", function () {
    assert.deepEqual(parseJournalParams({ ...range, point: "a:b:c", state: "cleared-unacked", limit: "5" }), {
      from: 1000,
      to: 2000,
      point: "a:b:c",
      state: "cleared-unacked",
      limit: 5,
    });
    // Empty filters mean "any", as the page's "any" choices send them.
    assert.deepEqual(parseJournalParams({ ...range, point: "", state: "" }), { from: 1000, to: 2000 });
    assert.equal(fieldOf(parseJournalParams, { ...range, state: "burning" }), "state");
    assert.equal(fieldOf(parseJournalParams, { ...range, point: "a:b" }), "point");
    assert.equal(fieldOf(parseJournalParams, { ...range, state: ["raised"] }), "state");
    assert.equal(fieldOf(parseJournalParams, { ...range, access_token: "t", sort: "ts" }), "sort");
  });
});
