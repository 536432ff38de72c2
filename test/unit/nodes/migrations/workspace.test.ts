/**
 * The editor's half of flow migrations (nodes/lib/migrations/workspace.ts) against a stand-in for the
 * editor's RED: the parts it calls are few (getType, events.on), and the built editor bundle is proven
 * in the browser by test/browser/editor.test.ts.
 */
import assert from "node:assert/strict";
import type { MigrationTable } from "../../../../nodes/lib/migrations/types";
import {
  installEditorMigrations,
  prepareType,
  upgradeNode,
  type EditorNode,
  type EditorRed,
} from "../../../../nodes/lib/migrations/workspace";

const table: MigrationTable = {
  "test-node": [{ version: 1, summary: "adds mode", up: (c) => ({ ...c, mode: "a" }) }],
};

function editor(): {
  red: EditorRed;
  defaults: Record<string, { value: unknown }>;
  added: ((n: EditorNode) => void)[];
} {
  const defaults: Record<string, { value: unknown }> = { host: { value: "h" }, mode: { value: "a" } };
  const added: ((n: EditorNode) => void)[] = [];
  const red: EditorRed = {
    nodes: { getType: (type) => (type === "test-node" ? { defaults } : undefined) },
    events: { on: (_event, handler) => void added.push(handler) },
  };
  return { red, defaults, added };
}

/** A node as the editor holds one loaded from a flow: the properties its defaults name, absent ones undefined. */
function loaded(defaults: Record<string, unknown>, saved: Record<string, unknown>): EditorNode {
  const node: EditorNode = { id: "n1", type: "test-node", _def: { defaults } };
  for (const name of Object.keys(defaults)) node[name] = saved[name];
  return node;
}

describe("flow migrations in the editor", function () {
  it("gives a type's dialog a version setting whose default is the current version", function () {
    const { red, defaults } = editor();
    prepareType(red, "test-node", table);
    assert.deepEqual(defaults.version, { value: 1 });
  });

  it("leaves types outside the table alone", function () {
    const { red } = editor();
    assert.doesNotThrow(() => prepareType(red, "test-other", table));
  });

  it("upgrades a node loaded from a flow saved without a version", function () {
    const { red, defaults } = editor();
    prepareType(red, "test-node", table);
    const node = loaded(defaults, { host: "plc" });
    const warnings: string[] = [];
    upgradeNode(node, (m) => warnings.push(m), table);
    assert.equal(node.version, 1);
    assert.equal(node.mode, "a");
    assert.equal(node.host, "plc");
    assert.deepEqual(warnings, []);
  });

  it("stamps version 0 on a node of a type without migrations, and nothing else", function () {
    const table0: MigrationTable = { "test-node": [] };
    const { red, defaults } = editor();
    prepareType(red, "test-node", table0);
    const node = loaded(defaults, { host: "plc" });
    upgradeNode(node, () => undefined, table0);
    assert.equal(node.version, 0);
    assert.equal(node.host, "plc");
    assert.equal(node.mode, undefined);
  });

  it("leaves a current node unchanged and warns about one from a newer release", function () {
    const { red, defaults } = editor();
    prepareType(red, "test-node", table);
    const current = loaded(defaults, { host: "plc", mode: "b", version: 1 });
    const newer = loaded(defaults, { host: "plc", mode: "z", version: 2 });
    const warnings: string[] = [];
    upgradeNode(current, (m) => warnings.push(m), table);
    upgradeNode(newer, (m) => warnings.push(m), table);
    assert.equal(current.mode, "b");
    assert.equal(newer.mode, "z");
    assert.equal(newer.version, 2);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /test-node n1: settings version 2/);
  });

  it("warns instead of failing when the editor refuses the change (a locked flow)", function () {
    const { red, defaults } = editor();
    prepareType(red, "test-node", table);
    const node = new Proxy(loaded(defaults, { host: "plc" }), {
      set: () => {
        throw new Error("Cannot modified property of locked object");
      },
    });
    const warnings: string[] = [];
    upgradeNode(node, (m) => warnings.push(m), table);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /not upgraded in the editor: Cannot modified property/);
  });

  it("upgrades every node the editor adds, once installed", function () {
    const { red, defaults, added } = editor();
    prepareType(red, "test-node", table);
    installEditorMigrations(red, () => undefined, table);
    const node = loaded(defaults, { host: "plc" });
    for (const handler of added) handler(node);
    assert.equal(added.length, 1);
    assert.equal(node.version, 1);
  });
});
