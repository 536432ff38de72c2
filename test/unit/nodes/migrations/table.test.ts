/**
 * The table of every node type's migrations (nodes/lib/migrations/index.ts): it lists each node type the
 * package registers, and each type's versions run 1, 2, … without a gap or a repeat, so a new migration
 * cannot be skipped or shadowed.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { MIGRATIONS } from "../../../../nodes/lib/migrations/index";
import { currentVersion } from "../../../../nodes/lib/migrations/runner";

const root = path.resolve(__dirname, "../../../..");

describe("flow migration table", function () {
  it("lists every node type but the REST subflow module, whose settings are not node properties", function () {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
      "node-red": { nodes: Record<string, string> };
    };
    const types = Object.keys(pkg["node-red"].nodes).filter((t) => t !== "datacoll-rest");
    assert.deepEqual(Object.keys(MIGRATIONS).sort(), types.sort());
  });

  it("numbers each type's migrations 1, 2, … in order", function () {
    for (const [type, steps] of Object.entries(MIGRATIONS)) {
      assert.deepEqual(
        steps.map((s) => s.version),
        steps.map((_, i) => i + 1),
        type,
      );
      for (const s of steps) assert.ok(s.summary.length > 0, `${type} ${s.version} has no summary`);
    }
  });

  it("puts the devices and the IEC 104 simulator at version 1, the Modbus simulator at 2, the others at 0", function () {
    assert.equal(currentVersion(MIGRATIONS, "datacoll-modbus"), 1);
    assert.equal(currentVersion(MIGRATIONS, "datacoll-iec104"), 1);
    assert.equal(currentVersion(MIGRATIONS, "datacoll-modbus-server"), 3);
    assert.equal(currentVersion(MIGRATIONS, "datacoll-iec104-server"), 1);
    assert.equal(currentVersion(MIGRATIONS, "datacoll-poll"), 0);
  });
});
