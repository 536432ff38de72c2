import assert from "node:assert/strict";
import {
  DEFAULT_TABLES,
  historyInsertSql,
  historyTableDdl,
  validateTableName,
  validateTableNames,
} from "../../../src/core/history/schema";
import { rejection } from "../../support-history/rejection";

describe("history schema", function () {
  it("accepts plain identifiers and defaults both names", function () {
    assert.deepEqual(validateTableNames({}), DEFAULT_TABLES);
    assert.equal(validateTableName("plant_A$hist2", "historyTable"), "plant_A$hist2");
  });

  it("refuses names that are not plain identifiers, naming the field", function () {
    for (const bad of ["", "1abc", "a b", "hist`; DROP TABLE x; --", "db.table", "a".repeat(65), "tä", 7]) {
      assert.equal(rejection(() => validateTableNames({ history: bad })).field, "historyTable", String(bad));
    }
    assert.equal(rejection(() => validateTableNames({ alarms: "x-y" })).field, "alarmsTable");
    assert.equal(
      rejection(() => validateTableNames({ history: "Same", alarms: "same" })).field,
      "alarmsTable",
    );
  });

  it("quotes the table name and keys history by point and time", function () {
    assert.match(historyTableDdl("h"), /^CREATE TABLE IF NOT EXISTS `h` \(/);
    assert.match(historyTableDdl("h"), /PRIMARY KEY \(point_key, ts\)/);
    const sql = historyInsertSql("h");
    assert.match(sql, /^INSERT INTO `h` \(`point_key`, .*`cause`\) VALUES \? ON DUPLICATE KEY UPDATE /);
    // The key columns are what makes a replay a no-op; updating them would defeat it.
    assert.doesNotMatch(sql, /`point_key` = VALUES|`ts` = VALUES/);
    assert.match(sql, /`value` = VALUES\(`value`\)/);
  });
});
