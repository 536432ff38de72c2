import assert from "node:assert/strict";
import { classifyMysqlError, outageCause } from "../../../src/core/history/mysql-errors";

function err(props: Record<string, unknown>): Error {
  return Object.assign(new Error(String(props.code ?? "boom")), props);
}

describe("MySQL error classes", function () {
  it("treats unreachable servers, dropped links and transient locks as connection problems", function () {
    for (const e of [
      err({ code: "ECONNREFUSED" }),
      err({ code: "PROTOCOL_CONNECTION_LOST", fatal: true }),
      err({ code: "SOMETHING_NEW", fatal: true }),
      err({ code: "ER_LOCK_DEADLOCK", sqlState: "40001" }),
      err({ code: "ER_LOCK_WAIT_TIMEOUT", sqlState: "HY000" }),
      err({ code: "ER_NET_READ_ERROR", sqlState: "08S01" }),
      err({ code: "ER_CON_COUNT_ERROR", sqlState: "08004" }),
    ]) {
      assert.equal(classifyMysqlError(e).kind, "connection", String(e.message));
    }
  });

  it("treats data the server refuses as the rows' fault", function () {
    for (const e of [
      err({ code: "ER_DATA_TOO_LONG", sqlState: "22001" }),
      err({ code: "ER_TRUNCATED_WRONG_VALUE", sqlState: "22007" }),
      err({ code: "ER_TRUNCATED_WRONG_VALUE_FOR_FIELD", sqlState: "HY000" }),
      err({ code: "ER_BAD_NULL_ERROR", sqlState: "23000" }),
      err({ code: "ER_DUP_ENTRY", sqlState: "23000" }),
      err({ code: "ER_SOME_DATA_EXCEPTION", sqlState: "22999" }),
    ]) {
      assert.equal(classifyMysqlError(e).kind, "content", String(e.message));
    }
  });

  it("treats a wrong statement or missing privilege as needing a person", function () {
    for (const e of [
      err({ code: "ER_PARSE_ERROR", sqlState: "42000" }),
      err({ code: "ER_NO_SUCH_TABLE", sqlState: "42S02" }),
      err({ code: "ER_TABLEACCESS_DENIED_ERROR", sqlState: "42000" }),
      err({ code: "ER_BAD_FIELD_ERROR", sqlState: "42S22" }),
    ]) {
      assert.equal(classifyMysqlError(e).kind, "statement", String(e.message));
    }
  });

  it("keeps the code and message", function () {
    assert.deepEqual(classifyMysqlError(err({ code: "ER_DATA_TOO_LONG", sqlState: "22001" })), {
      kind: "content",
      code: "ER_DATA_TOO_LONG",
      message: "ER_DATA_TOO_LONG",
    });
    assert.deepEqual(classifyMysqlError("text"), { kind: "content", code: undefined, message: "text" });
  });

  describe("why rows wait", function () {
    const cause = (props: Record<string, unknown>): string => outageCause(classifyMysqlError(err(props)));

    it("says unreachable only when no server answered", function () {
      assert.equal(cause({ code: "ECONNREFUSED", fatal: true }), "unreachable");
      assert.equal(cause({ code: "ETIMEDOUT", fatal: true }), "unreachable");
      assert.equal(cause({ code: "PROTOCOL_SEQUENCE_TIMEOUT" }), "unreachable");
      assert.equal(cause({ code: "PROTOCOL_CONNECTION_LOST", fatal: true }), "unreachable");
    });

    it("says refused when a server answered and refused the connection", function () {
      // As mysql2 reports them at connect time (example 05 on a database that did not exist).
      assert.equal(cause({ code: "ER_BAD_DB_ERROR", errno: 1049, sqlState: "42000" }), "refused");
      assert.equal(cause({ code: "ER_ACCESS_DENIED_ERROR", errno: 1045, sqlState: "28000" }), "refused");
      assert.equal(cause({ code: "ER_DBACCESS_DENIED_ERROR", sqlState: "42000" }), "refused");
      assert.equal(cause({ code: "ER_CON_COUNT_ERROR", sqlState: "08004" }), "refused");
    });

    it("says statement when the server took the connection and refused the statement", function () {
      assert.equal(cause({ code: "ER_NO_SUCH_TABLE", sqlState: "42S02" }), "statement");
      assert.equal(cause({ code: "ER_PARSE_ERROR", sqlState: "42000" }), "statement");
      assert.equal(cause({ code: "ER_TABLEACCESS_DENIED_ERROR", sqlState: "42000" }), "statement");
    });
  });
});
