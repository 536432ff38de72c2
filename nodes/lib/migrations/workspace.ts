/**
 * The editor's half of flow migrations: every node type's dialog saves its settings version, and a node
 * loaded or imported from an older flow is upgraded as it enters the workspace, so its dialog shows the
 * upgraded values and the next deploy writes them. The build bundles this folder into each node's editor
 * script and calls `prepareType` after the node's registerType (scripts/build.mjs), so no node's
 * editor.js carries a copy. The node is not marked changed: the runtime upgrades the same settings on its
 * own, so an untouched old node runs the same whether or not it is deployed again.
 */
import { MIGRATIONS } from "./index";
import { currentVersion, migrateConfig, VERSION_PROPERTY, warningOf } from "./runner";
import type { MigrationTable } from "./types";

/** The parts of the editor's RED this file uses. */
export interface EditorRed {
  readonly nodes: { getType(type: string): { defaults?: Record<string, { value: unknown }> } | undefined };
  readonly events: { on(event: "nodes:add", handler: (node: EditorNode) => void): void };
}

/** A node in the workspace: its settings are the properties its definition's defaults name. */
export interface EditorNode {
  readonly id: string;
  readonly type: string;
  readonly _def?: { readonly defaults?: Readonly<Record<string, unknown>> };
  [property: string]: unknown;
}

export type Warn = (message: string) => void;

/**
 * Give the type's dialog a `version` setting whose default is this release's, so a node dropped from the
 * palette starts current and every saved node says which settings it has. Call after registerType.
 */
export function prepareType(red: EditorRed, type: string, table: MigrationTable = MIGRATIONS): void {
  const defaults = table[type] ? red.nodes.getType(type)?.defaults : undefined;
  if (defaults && !(VERSION_PROPERTY in defaults)) {
    defaults[VERSION_PROPERTY] = { value: currentVersion(table, type) };
  }
}

/** Upgrade `node` in place if its saved settings are older than this release's. */
export function upgradeNode(node: EditorNode, warn: Warn, table: MigrationTable = MIGRATIONS): void {
  const names = Object.keys(node._def?.defaults ?? {});
  if (!table[node.type] || !names.includes(VERSION_PROPERTY)) return;
  // The editor keeps only the properties the defaults name, so those are the node's saved settings.
  const saved = Object.fromEntries(names.map((name) => [name, node[name]]));
  const outcome = migrateConfig(table, node.type, saved);
  const warning = warningOf(node.type, node.id, outcome);
  if (warning) warn(warning);
  if (outcome.kind === "unknown") return;
  // A type without migrations is current at version 0; saying so makes the next save self-describing.
  const upgraded =
    outcome.kind === "upgraded" ? outcome.config : { ...saved, [VERSION_PROPERTY]: outcome.version };
  try {
    for (const name of names) {
      if (upgraded[name] !== node[name]) node[name] = upgraded[name];
    }
  } catch (err) {
    // A node on a locked flow refuses changes; the runtime still upgrades its settings when it runs.
    // Only a refused upgrade is worth a word: a version-0 stamp changes no setting.
    if (outcome.kind === "upgraded")
      warn(
        `${node.type} ${node.id}: not upgraded in the editor: ${err instanceof Error ? err.message : String(err)}`,
      );
  }
}

/** Upgrade every node as it is added to the workspace: on load, import, paste and undo. */
export function installEditorMigrations(
  red: EditorRed,
  warn: Warn,
  table: MigrationTable = MIGRATIONS,
): void {
  red.events.on("nodes:add", (node) => upgradeNode(node, warn, table));
}
