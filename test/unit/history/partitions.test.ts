/**
 * Reading a table's partitioning from `SHOW CREATE TABLE` (partitions.ts layoutOfCreateTable): MariaDB's
 * and MySQL 8's forms of our RANGE COLUMNS(ts) layout are read whole; anything it cannot read plainly
 * answers undefined, so information_schema is asked instead (test/integration/history/partitions.test.ts
 * reads real tables of each kind).
 */
import assert from "node:assert/strict";
import { layoutOfCreateTable } from "../../../src/core/history/partitions";

const COLUMNS =
  "CREATE TABLE `h` (\n  `ts` datetime(3) NOT NULL,\n  `v` int(11) NOT NULL,\n  PRIMARY KEY (`v`,`ts`),\n  KEY `ts` (`ts`)\n)";

// As MariaDB 10.11 printed it for a table made by partitionClause.
const MARIADB =
  `${COLUMNS} ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci\n` +
  " PARTITION BY RANGE  COLUMNS(`ts`)\n" +
  "(PARTITION `p20261101` VALUES LESS THAN ('2026-11-02 00:00:00') ENGINE = InnoDB,\n" +
  " PARTITION `p20261102` VALUES LESS THAN ('2026-11-03 00:00:00') ENGINE = InnoDB,\n" +
  " PARTITION `pmax` VALUES LESS THAN (MAXVALUE) ENGINE = InnoDB)";

// MySQL 8's form: the clause inside a versioned comment, names bare.
const MYSQL8 =
  `${COLUMNS} ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci\n` +
  "/*!50500 PARTITION BY RANGE  COLUMNS(ts)\n" +
  "(PARTITION p20261101 VALUES LESS THAN ('2026-11-02 00:00:00') ENGINE = InnoDB,\n" +
  " PARTITION pmax VALUES LESS THAN (MAXVALUE) ENGINE = InnoDB) */";

describe("history partitions: the layout from SHOW CREATE TABLE", function () {
  it("reads MariaDB's form of our layout, every partition with its bound", function () {
    assert.deepEqual(layoutOfCreateTable(MARIADB), {
      kind: "ranges",
      parts: [
        { name: "p20261101", lessThan: Date.UTC(2026, 10, 2) },
        { name: "p20261102", lessThan: Date.UTC(2026, 10, 3) },
        { name: "pmax", lessThan: "max" },
      ],
    });
  });

  it("reads MySQL 8's form (versioned comment, bare names)", function () {
    assert.deepEqual(layoutOfCreateTable(MYSQL8), {
      kind: "ranges",
      parts: [
        { name: "p20261101", lessThan: Date.UTC(2026, 10, 2) },
        { name: "pmax", lessThan: "max" },
      ],
    });
  });

  it("reads a quoted name with a backtick in it", function () {
    const ddl = MARIADB.replace("`p20261102`", "`p``odd`");
    const layout = layoutOfCreateTable(ddl);
    assert.equal(layout?.kind, "ranges");
    assert.deepEqual(layout?.kind === "ranges" ? layout.parts.map((p) => p.name) : [], [
      "p20261101",
      "p`odd",
      "pmax",
    ]);
  });

  it("tells a table with no partitioning", function () {
    assert.deepEqual(layoutOfCreateTable(`${COLUMNS} ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`), {
      kind: "unpartitioned",
    });
  });

  it("leaves every other partitioning to information_schema", function () {
    const others = {
      "RANGE on an expression": `${COLUMNS} ENGINE=InnoDB\n PARTITION BY RANGE (to_days(\`ts\`))\n(PARTITION \`p0\` VALUES LESS THAN (740000) ENGINE = InnoDB)`,
      HASH: `${COLUMNS} ENGINE=InnoDB\n PARTITION BY HASH (\`v\`)\nPARTITIONS 4`,
      "RANGE COLUMNS on another column": MARIADB.replace("COLUMNS(`ts`)", "COLUMNS(`v`)"),
      subpartitions: MARIADB.replace(
        " ENGINE = InnoDB,\n PARTITION `p20261102`",
        " (SUBPARTITION `s0` ENGINE = InnoDB),\n PARTITION `p20261102`",
      ).replace("COLUMNS(`ts`)\n", "COLUMNS(`ts`)\nSUBPARTITION BY HASH (`v`)\n"),
      "a bound it cannot read": MARIADB.replace("('2026-11-03 00:00:00')", "('next week')"),
      "a partition it cannot read": MARIADB.replace(
        " PARTITION `p20261102` VALUES LESS THAN ('2026-11-03 00:00:00')",
        " PARTITION `p20261102` VALUES LESS THAN ('2026-11-03 00:00:00', 7)",
      ),
      "a comment naming partitions, no clause": `${COLUMNS} ENGINE=InnoDB COMMENT='PARTITION BY day soon'`,
    };
    for (const [what, ddl] of Object.entries(others)) assert.equal(layoutOfCreateTable(ddl), undefined, what);
  });
});
