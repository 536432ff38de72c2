/**
 * examples/12-history-query.json as users import it, on a database of the test's own holding rows like
 * those example 05 writes: its "buckets" inject gets the last 10 minutes in 1-minute buckets (checked
 * against aggregates computed here), and its "raw rows, paged" inject gets every row once, page after page
 * through the switch that sends the answer back while it carries a cursor. Inject, switch and comment are
 * Node-RED's own nodes; debug nodes are the helper's collectors.
 */
import assert from "node:assert/strict";
import type { NodeMessageInFlow } from "node-red";
import type { HistoryResult } from "../../src/core/history/query";
import { historyTableDdl } from "../../src/core/history/schema";
import { loadExample, readExample, type ExampleNode } from "../support/example-flow";
import { until } from "../support/net";
import { helper, useNodeRed } from "../support/node-red";
import { collect, errorsOf } from "../integration/save-node/flow";
import { expectedBuckets, insertHistoryRows, type Inserted } from "../support-history/history-rows";
import { createTestDatabase, type TestDatabase } from "../support-history/mysql";

const example = readExample("12-history-query.json");

function named(name: string): ExampleNode {
  const n = example.find((x) => x.name === name);
  assert.ok(n, `the example has a node named ${name}`);
  return n;
}

describe("example 12 (history query)", function () {
  useNodeRed();
  let db: TestDatabase;
  before(async function () {
    db = await createTestDatabase("dc_ex12");
    // The table as a save node (example 05's) makes it: this example only reads.
    await db.admin.query(historyTableDdl("dc_history"));
  });
  after(async function () {
    await db?.drop();
  });
  const history = (): ExampleNode => {
    const n = example.find((x) => x.type === "datacoll-history");
    assert.ok(n);
    return n;
  };

  it("says in a comment what it needs and reads what example 05 writes, with the tables save writes", function () {
    const comments = example.filter((n) => n.type === "comment");
    assert.equal(comments.length, 1);
    assert.match(String(comments[0].info), /MySQL or MariaDB/);
    assert.match(String(comments[0].info), /example 05/);
    const h = history();
    assert.equal(h.historyTable, "dc_history");
    const ex05 = readExample("05-mysql-history.json");
    const mysql05 = ex05.find((n) => n.type === "datacoll-mysql");
    const mysql12 = example.find((n) => n.type === "datacoll-mysql");
    assert.deepEqual({ ...mysql12, id: undefined }, { ...mysql05, id: undefined });
    const ids = example.map((n) => n.id);
    assert.equal(new Set(ids).size, ids.length);
  });

  it("answers buckets and every raw row page by page from rows like example 05's", async function () {
    const points = String(history().points).split(",");
    const now = Date.now();
    // Rows of the last minutes, one per point every 2 s: 240 per point, so a page of 100 is cut twice.
    const rows: Inserted[] = [];
    for (let i = 0; i < 240; i++)
      for (const [k, key] of points.entries())
        rows.push({
          key,
          ts: now - 490_000 + i * 2000 + k,
          value: (i % 37) + k * 100,
          text: null,
          quality: 0,
        });
    await insertHistoryRows(db.admin, "dc_history", rows);
    await loadExample(example, db.name);
    const out = collect(named("history").id);
    const errors = errorsOf(history().id);

    helper.getNode(named("buckets").id).receive({});
    await until(() => out.length + errors.length > 0, 10_000, "the buckets");
    assert.deepEqual(errors, []);
    const res = out[0].payload as HistoryResult;
    assert.equal(res.step, 60_000);
    assert.equal(res.to - res.from, 600_000);
    for (const s of res.series) {
      const want = expectedBuckets(rows, s.key, res.from, res.to, 60_000).map((w) => ({
        t: w.t,
        count: w.count,
        quality: w.quality,
        min: w.min,
        max: w.max,
        avg: w.avg,
      }));
      assert.equal(s.buckets?.length, want.length);
      (s.buckets ?? []).forEach((b, i) => {
        assert.deepEqual({ ...b, avg: undefined }, { ...want[i], avg: undefined });
        assert.ok(Math.abs((b.avg ?? Number.NaN) - (want[i].avg ?? Number.NaN)) < 1e-9);
      });
      assert.equal(
        (s.buckets ?? []).reduce((n, b) => n + b.count, 0),
        240,
      );
    }

    out.length = 0;
    helper.getNode(named("raw rows, paged").id).receive({});
    await until(
      () =>
        errors.length > 0 ||
        (out.length > 0 && (out.at(-1) as NodeMessageInFlow & { cursor?: string }).cursor === undefined),
      10_000,
      "the last page",
    );
    assert.deepEqual(errors, []);
    assert.equal(out.length, 3, "240 rows a point in pages of 100");
    for (const key of points) {
      const got = out.flatMap(
        (m) => (m.payload as HistoryResult).series.find((s) => s.key === key)?.rows ?? [],
      );
      assert.deepEqual(
        got.map((r) => r.ts),
        rows.filter((r) => r.key === key).map((r) => r.ts),
        `${key}: every row once, in order`,
      );
    }
  });
});
