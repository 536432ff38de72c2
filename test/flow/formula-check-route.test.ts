/**
 * The formula dialog checks each row as it is typed: POST /datacoll/formula/test over real HTTP (the test
 * runtime's admin app) answers with the check the node runs when deployed — OK, or what is wrong in the
 * words the deployed node would log — so a row that can never compute is seen before the deploy.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { helper, nodeModule, useNodeRed } from "../support/node-red";

interface Answer {
  ok: boolean;
  message: string;
}

describe("formula dialog", function () {
  useNodeRed();
  // Nested, so the admin server closes before the leak check of useNodeRed's afterEach runs.
  describe("row check", function () {
    let admin: http.Server;
    let base = "";

    beforeEach(async function () {
      await helper.load([nodeModule("datacoll-formula")], []);
      admin = http.createServer(helper._httpAdmin);
      await new Promise<void>((resolve) => admin.listen(0, "127.0.0.1", resolve));
      base = `http://127.0.0.1:${(admin.address() as AddressInfo).port}/datacoll/formula/test`;
    });
    afterEach(async function () {
      admin.closeAllConnections();
      await new Promise<void>((resolve) => admin.close(() => resolve()));
    });

    async function check(row: object): Promise<Answer> {
      const res = await fetch(base, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(row),
      });
      assert.equal(res.status, 200);
      return (await res.json()) as Answer;
    }

    it("answers OK for a row that can run, and why for one that cannot, before any deploy", async function () {
      const row = {
        id: "kw",
        expression: 'avg(p1, "5m") * p2',
        params: "p1=m:t:p, p2=m:t:pf",
        result: "c:t:kw",
      };
      assert.deepEqual(await check(row), { ok: true, message: "OK" });
      // No result point yet: the row is still being filled in, the expression is what is checked.
      assert.deepEqual(await check({ ...row, result: "" }), { ok: true, message: "OK" });
      const cases: [string, string, RegExp][] = [
        ["p1 +", "p1=m:t:p", /syntax error at column 5/],
        ["process.exit(1)", "", /^process\.exit\(…\) cannot be called: only a named function can be/],
        ['require("child_process")', "", /only a named function|unknown/],
        ["p1 * p3", "p1=m:t:p", /p3 is used but not bound/],
        ["p1 + 1", "p1=not-a-key", /must be a point key/],
      ];
      for (const [expression, params, words] of cases) {
        const a = await check({ id: "x", expression, params, result: "c:t:kw" });
        assert.equal(a.ok, false, expression);
        assert.match(a.message, words, expression);
      }
    });
  });
});
