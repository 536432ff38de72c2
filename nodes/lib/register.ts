/**
 * Every node type registers through here, so a flow saved by an older release has its node settings
 * upgraded (./migrations) before the node's constructor reads them: one hook for all node types rather
 * than a copy in each. The editor's half is ./migrations/workspace.ts.
 */
import type { Node, NodeAPI, NodeConstructor, NodeCredentials, NodeDef } from "node-red";
import { MIGRATIONS } from "./migrations/index";
import { migrateConfig, warningOf } from "./migrations/runner";
import type { MigrationTable, NodeConfig } from "./migrations/types";

export interface RegisterOptions<TCreds> {
  readonly credentials?: NodeCredentials<TCreds>;
}

/**
 * The upgraded settings with the saved object's hidden properties: Node-RED hands each node its flow,
 * module and path as non-enumerable properties of the settings (createNode reads them), which a copy of
 * the plain settings would lose.
 */
function withHidden(def: object, config: NodeConfig): object {
  const hidden = Object.entries(Object.getOwnPropertyDescriptors(def)).filter(([, d]) => !d.enumerable);
  return Object.defineProperties({ ...config }, Object.fromEntries(hidden));
}

/** RED.nodes.registerType, with the node's saved settings upgraded first; `table` is for tests. */
export function registerNodeType<TNode extends Node<TCreds>, TNodeDef extends NodeDef, TCreds extends object>(
  RED: NodeAPI,
  type: string,
  constructor: NodeConstructor<TNode, TNodeDef, TCreds>,
  options: RegisterOptions<TCreds> = {},
  table: MigrationTable = MIGRATIONS,
): void {
  function Migrated(this: TNode, def: TNodeDef): void {
    const outcome = migrateConfig(table, type, { ...(def as object) });
    const warning = warningOf(type, def.id, outcome);
    if (warning) RED.log.warn(warning);
    constructor.call(this, outcome.kind === "upgraded" ? (withHidden(def, outcome.config) as TNodeDef) : def);
  }
  RED.nodes.registerType<TNode, TNodeDef, Record<string, never>, TCreds>(type, Migrated, options);
}
