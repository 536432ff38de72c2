/**
 * The migration runner over a made-up table, so each rule is shown on its own: steps run in version
 * order from the saved version, the version is stamped, current and future settings are left as given.
 */
import assert from "node:assert/strict";
import {
  currentVersion,
  migrateConfig,
  savedVersion,
  warningOf,
} from "../../../../nodes/lib/migrations/runner";
import type { Migration, MigrationTable, NodeConfig } from "../../../../nodes/lib/migrations/types";

/** A step that appends its version to `trail`, so the order the runner applied the steps shows. */
const step = (version: number): Migration => ({
  version,
  summary: `step ${version}`,
  up: (c) => ({ ...c, trail: [...((c.trail as readonly number[] | undefined) ?? []), version] }),
});

// Listed out of order on purpose: the runner goes by version, not by position.
const table: MigrationTable = { "test-node": [step(1), step(3), step(2)], "test-plain": [] };

describe("flow migration runner", function () {
  it("applies every step in version order to settings saved without a version", function () {
    const saved: NodeConfig = { id: "n1", type: "test-node", host: "h" };
    const out = migrateConfig(table, "test-node", saved);
    assert.deepEqual(out, {
      kind: "upgraded",
      from: 0,
      to: 3,
      config: { id: "n1", type: "test-node", host: "h", trail: [1, 2, 3], version: 3 },
    });
    assert.deepEqual(
      saved,
      { id: "n1", type: "test-node", host: "h" },
      "the saved settings were changed in place",
    );
  });

  it("starts after the saved version", function () {
    const out = migrateConfig(table, "test-node", { version: 1, trail: [] });
    assert.deepEqual(out.config, { version: 3, trail: [2, 3] });
  });

  it("leaves settings at the current version unchanged", function () {
    const saved: NodeConfig = { version: 3, host: "h" };
    const out = migrateConfig(table, "test-node", saved);
    assert.equal(out.kind, "current");
    assert.equal(out.config, saved);
  });

  it("leaves a type without migrations at version 0", function () {
    const saved: NodeConfig = { host: "h" };
    assert.equal(currentVersion(table, "test-plain"), 0);
    assert.deepEqual(migrateConfig(table, "test-plain", saved), {
      kind: "current",
      config: saved,
      version: 0,
    });
    assert.deepEqual(migrateConfig(table, "test-unlisted", saved), {
      kind: "current",
      config: saved,
      version: 0,
    });
  });

  it("leaves a version from a newer release alone, with a warning naming the node", function () {
    const saved: NodeConfig = { version: 4, host: "h" };
    const out = migrateConfig(table, "test-node", saved);
    assert.deepEqual(out, { kind: "unknown", config: saved, saved: 4, known: 3 });
    assert.equal(out.config, saved);
    const warning = warningOf("test-node", "n1", out);
    assert.match(
      warning ?? "",
      /^test-node n1: settings version 4 is not one this release knows \(it knows up to 3\)/,
    );
  });

  it("leaves a version that is no version alone, with a warning", function () {
    for (const version of [-1, 1.5, "two", true]) {
      const out = migrateConfig(table, "test-node", { version });
      assert.equal(out.kind, "unknown", String(version));
      assert.ok(warningOf("test-node", "n1", out), String(version));
    }
  });

  it("warns about nothing when settings were upgraded or current", function () {
    assert.equal(warningOf("test-node", "n1", migrateConfig(table, "test-node", {})), undefined);
    assert.equal(warningOf("test-node", "n1", migrateConfig(table, "test-node", { version: 3 })), undefined);
  });

  it("reads an absent or empty version as 0 and digits typed by hand as their number", function () {
    assert.equal(savedVersion({}), 0);
    assert.equal(savedVersion({ version: null }), 0);
    assert.equal(savedVersion({ version: "" }), 0);
    assert.equal(savedVersion({ version: 2 }), 2);
    assert.equal(savedVersion({ version: "2" }), 2);
    assert.equal(savedVersion({ version: "2a" }), undefined);
  });
});
