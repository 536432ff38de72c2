/**
 * What the datacoll-history node makes of its settings and a message, without Node-RED or MySQL: message
 * properties over the node's defaults, `from` and `to` defaulted from the clock and the range, and the
 * REST route's checks (and words) for whatever is wrong.
 */
import assert from "node:assert/strict";
import { historyRequest, readHistoryNodeSettings } from "../../../src/core/history/flow-query";
import { readHistoryQuery } from "../../../src/core/history/query";
import { rejection } from "../../support-history/rejection";

const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);

describe("history node queries (flow-query)", function () {
  it("takes the node's defaults, the last `range` seconds up to now", function () {
    const s = readHistoryNodeSettings({
      points: " a:b:c , d:e:f ",
      range: "600",
      step: "60000",
      agg: "min,max",
    });
    assert.deepEqual(historyRequest(s, {}, NOW), {
      mode: "history",
      query: { points: ["a:b:c", "d:e:f"], from: NOW - 600_000, to: NOW, step: 60_000, agg: ["min", "max"] },
    });
  });

  it("lets each message property replace its default, and answers what the route's reader answers", function () {
    const s = readHistoryNodeSettings({ points: "a:b:c", step: "60000", agg: "avg", limit: "10" });
    const msg = {
      points: ["x:y:z"],
      from: "2026-12-01T00:00:00Z",
      to: String(Date.UTC(2026, 11, 2)),
      step: 3_600_000,
      agg: ["first", "last"],
      cursor: null,
      payload: "ignored",
    };
    const got = historyRequest(s, msg, NOW);
    assert.deepEqual(got.query, {
      ...readHistoryQuery({ ...msg, cursor: undefined, limit: "10" }),
    });
  });

  it("reaches `range` back from a `to` the message gives", function () {
    const s = readHistoryNodeSettings({ points: "a:b:c", range: "10" });
    assert.deepEqual(historyRequest(s, { to: "2026-12-01T00:00:10Z" }, NOW).query, {
      points: ["a:b:c"],
      from: Date.UTC(2026, 11, 1),
      to: Date.UTC(2026, 11, 1, 0, 0, 10),
    });
  });

  it("refuses what the route refuses, in its words, naming the field", function () {
    const s = readHistoryNodeSettings({ points: "a:b:c" });
    const relative = rejection(() => historyRequest(s, { from: "now-1h" }, NOW));
    assert.equal(relative.field, "from");
    assert.equal(relative.message, 'from must be epoch milliseconds or an ISO 8601 time (got "now-1h")');
    assert.equal(rejection(() => historyRequest(s, { to: "tomorrow" }, NOW)).field, "to");
    assert.equal(rejection(() => historyRequest(s, { from: NOW + 1 }, NOW)).field, "to");
    assert.equal(rejection(() => historyRequest(s, { agg: "median" }, NOW)).field, "agg");
    assert.equal(rejection(() => historyRequest(s, { cursor: "nonsense" }, NOW)).field, "cursor");
    const none = readHistoryNodeSettings({});
    assert.equal(rejection(() => historyRequest(none, {}, NOW)).field, "points");
  });

  it("checks the settings at deploy: mode, range, and defaults the route would refuse", function () {
    assert.equal(rejection(() => readHistoryNodeSettings({ mode: "chart" })).field, "mode");
    assert.equal(rejection(() => readHistoryNodeSettings({ range: "0" })).field, "range");
    assert.equal(rejection(() => readHistoryNodeSettings({ range: "an hour" })).field, "range");
    assert.equal(rejection(() => readHistoryNodeSettings({ step: "often" })).field, "step");
    assert.equal(rejection(() => readHistoryNodeSettings({ agg: "sum" })).field, "agg");
    // A day in 100 ms buckets is more than the route answers.
    assert.equal(rejection(() => readHistoryNodeSettings({ range: "86400", step: "100" })).field, "step");
  });

  it("reads the journal's fields in journal mode and none of the series' ones", function () {
    const s = readHistoryNodeSettings({
      mode: "journal",
      points: "ignored",
      step: "often",
      state: "raised",
      limit: "5",
    });
    assert.deepEqual(historyRequest(s, { point: "a:b:c", step: 1 }, NOW), {
      mode: "journal",
      query: { from: NOW - 3_600_000, to: NOW, point: "a:b:c", state: "raised", limit: 5 },
    });
  });
});
