import assert from "node:assert/strict";
import { mock } from "node:test";
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
    let answer: (rows: string) => void = () => undefined;
    const statement = withStatementTimeout(
      conn,
      60_000,
      new Promise<string>((resolve) => (answer = resolve)),
    );
    answer("rows"); // answered after the timer was armed, as a real statement is
    assert.equal(await statement, "rows");
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
    // On node:test's fake timers, so "not before the timeout" is a fact of the clock, not of a stopwatch.
    mock.timers.enable({ apis: ["setTimeout"] });
    try {
      const conn = connection();
      let settled = false;
      const never = new Promise<never>(() => undefined);
      const failed = withStatementTimeout(conn, 50, never).then(
        () => assert.fail("resolved"),
        (e: unknown) => ((settled = true), e),
      );
      mock.timers.tick(49);
      await Promise.resolve();
      assert.deepEqual([conn.destroyed, settled], [0, false], "not before the timeout");
      mock.timers.tick(1);
      const err = await failed;
      assert.equal(conn.destroyed, 1);
      assert.match(String(err), /did not answer within 50 ms/);
      assert.equal(classifyMysqlError(err).kind, "connection");
    } finally {
      mock.timers.reset();
    }
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
      // Node reports unhandled rejections once the microtasks of the current turn have run: one turn of
      // the event loop later, any would have been reported.
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});
