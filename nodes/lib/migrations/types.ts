/**
 * What a flow migration is. Node settings are saved in flow files that outlive the release that wrote
 * them; a migration upgrades one node type's saved settings by one numbered step, so a flow saved by any
 * earlier release opens with the settings this release reads. The files in this folder import nothing
 * outside it, because the build also bundles them into the editor (scripts/build.mjs).
 */

/** A node's settings as a flow file holds them: plain JSON, never changed in place. */
export type NodeConfig = Readonly<Record<string, unknown>>;

export interface Migration {
  /** The settings version this step produces: migration N upgrades version N-1 to N. */
  readonly version: number;
  /** What changed and why, in one line (docs/migrations-of-flows.md lists them). */
  readonly summary: string;
  /** The upgraded copy; the runner stamps the new version on it, so `up` need not. */
  readonly up: (config: NodeConfig) => NodeConfig;
}

/** Each node type's migrations, version 1 first; a type with none is at version 0. */
export type MigrationTable = Readonly<Record<string, readonly Migration[]>>;
