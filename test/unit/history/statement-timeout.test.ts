import assert from "node:assert/strict";
import { withStatementTimeout } from "../../../src/core/history/statement-timeout";
import { classifyMysqlError } from "../../../src/core/history/mysql-errors";
import { expectNoLeaks, snapshotResources } from "../../support/leaks";

/** A connection stand-in that counts how often it was destroyed. */
function connection(): { destroy(): void; destroyed: number } {
  const c = {
    destroyed: 0,
    destroy(): void {
      c.destroyed++;
    },
  };
  return c;
}

describe("statement timeout", function () {
  it("passes the answer on, leaves the connection alone and its timer cleared", async function () {
    const base = snapshotResources();
    const conn = connection();
    const answer = new Promise<string>((resolve) => setTimeout(() => resolve("rows"), 10));
    assert.equal(await withStatementTimeout(conn, 60_000, answer), "rows");
    assert.equal(conn.destroyed, 0);
    await expectNoLeaks(base, 200);
  });

  it("passes a failure on as it is, with its timer cleared", async function () {
    const base = snapshotResources();
    const conn = connection();
    const failure = Object.assign(new Error("Connection lost: The server closed the connection."), {
      code: "PROTOCOL_CONNECTION_LOST",
    });
    await assert.rejects(withStatementTimeout(conn, 60_000, Promise.reject(failure)), failure);
    assert.equal(conn.destroyed, 0);
    // What mysql2's own timeout left behind when the connection died under a statement: a 30 s timer.
    await expectNoLeaks(base, 200);
  });

  it("gives up on a statement that never answers: destroys the connection, a connection-kind error", async function () {
    const conn = connection();
    const started = Date.now();
    const never = new Promise<never>(() => undefined);
    const err = await withStatementTimeout(conn, 50, never).then(
      () => assert.fail("resolved"),
      (e: unknown) => e,
    );
    assert.ok(Date.now() - started >= 45, "not before the timeout");
    assert.equal(conn.destroyed, 1);
    assert.match(String(err), /did not answer within 50 ms/);
    assert.equal(classifyMysqlError(err).kind, "connection");
  });

  it("a statement failing after the timeout is not an unhandled rejection", async function () {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => void unhandled.push(e);
    process.on("unhandledRejection", onUnhandled);
    try {
      let fail: (e: Error) => void = () => undefined;
      const late = new Promise<never>((_, reject) => (fail = reject));
      await assert.rejects(withStatementTimeout(connection(), 20, late), /did not answer/);
      fail(new Error("connection destroyed"));
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});
