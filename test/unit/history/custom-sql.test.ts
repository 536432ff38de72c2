import assert from "node:assert/strict";
import { customSqlParams, placeholdersOf, validateCustomSql } from "../../../src/core/history/custom-sql";
import { pointRow } from "../../../src/core/history/rows";
import { rejection } from "../../support-history/rejection";

describe("custom SQL", function () {
  it("finds named placeholders outside quoted text", function () {
    const sql = "INSERT INTO t (a, b, c) VALUES (:key, ':value', DATE_FORMAT(:ts, '%H:%i')) -- it''s :cause";
    assert.deepEqual(placeholdersOf(sql), { named: ["key", "ts", "cause"], positional: 0 });
    assert.deepEqual(placeholdersOf("SELECT 'a\\':x', :value, ?"), { named: ["value"], positional: 1 });
  });

  it("accepts a statement using known placeholders and drops a trailing semicolon", function () {
    assert.equal(
      validateCustomSql(" INSERT INTO h VALUES (:key, :tsMs, :value); "),
      "INSERT INTO h VALUES (:key, :tsMs, :value)",
    );
  });

  it("names unknown placeholders, positional ones and empty statements", function () {
    assert.match(rejection(() => validateCustomSql("INSERT INTO h VALUES (:key, :vaule)")).message, /:vaule/);
    assert.equal(rejection(() => validateCustomSql("INSERT INTO h VALUES (?)")).field, "customSql");
    assert.equal(rejection(() => validateCustomSql("DELETE FROM h")).field, "customSql");
    assert.equal(rejection(() => validateCustomSql("")).field, "customSql");
    assert.equal(rejection(() => validateCustomSql(42)).field, "customSql");
  });

  it("offers every field of a row as a parameter", function () {
    const row = pointRow({
      key: "d:t:i",
      deviceId: "d",
      termId: "t",
      itemId: "i",
      value: 2,
      ts: Date.UTC(2026, 1, 3, 4, 5, 6, 7),
      quality: { blocked: true },
      cause: "spontaneous",
    });
    assert.deepEqual(customSqlParams(row), {
      key: "d:t:i",
      deviceId: "d",
      termId: "t",
      itemId: "i",
      ts: "2026-02-03 04:05:06.007",
      tsMs: Date.UTC(2026, 1, 3, 4, 5, 6, 7),
      value: 2,
      valueText: null,
      quality: 0x10,
      cause: "spontaneous",
    });
  });
});
