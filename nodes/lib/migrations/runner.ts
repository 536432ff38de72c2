/**
 * Upgrades one node's saved settings to the version this release reads, one numbered migration at a
 * time. Pure: the same function runs in the runtime before a node's constructor reads its settings and in
 * the editor when a flow is loaded, so both see the same upgraded values.
 */
import type { MigrationTable, NodeConfig } from "./types";

/** The property every node's settings carry their version in; absent in flows saved before migrations. */
export const VERSION_PROPERTY = "version";

export type MigrationOutcome =
  /** Already at this release's version (or a type without migrations): the settings as given. */
  | { readonly kind: "current"; readonly config: NodeConfig; readonly version: number }
  | { readonly kind: "upgraded"; readonly config: NodeConfig; readonly from: number; readonly to: number }
  /**
   * Saved by a newer release, or with a version that is no version: left as given, since guessing back
   * from a future shape would lose settings; the node reads what it understands and the caller warns.
   */
  | {
      readonly kind: "unknown";
      readonly config: NodeConfig;
      readonly saved: unknown;
      readonly known: number;
    };

/** The version of the type's settings this release writes: its newest migration's, or 0. */
export function currentVersion(table: MigrationTable, type: string): number {
  return Math.max(0, ...(table[type] ?? []).map((step) => step.version));
}

/** The saved version: absent is 0; a whole number, or its digits as text (a hand-written flow); else undefined. */
export function savedVersion(config: NodeConfig): number | undefined {
  const v = config[VERSION_PROPERTY];
  if (v === undefined || v === null || v === "") return 0;
  const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

export function migrateConfig(table: MigrationTable, type: string, config: NodeConfig): MigrationOutcome {
  const known = currentVersion(table, type);
  const from = savedVersion(config);
  if (from === undefined || from > known) {
    return { kind: "unknown", config, saved: config[VERSION_PROPERTY], known };
  }
  if (from === known) return { kind: "current", config, version: known };
  let upgraded = config;
  // Each step sees the output of the one before it, in version order, starting after the saved version.
  for (const step of [...(table[type] ?? [])].sort((a, b) => a.version - b.version)) {
    if (step.version <= from) continue;
    upgraded = { ...step.up(upgraded), [VERSION_PROPERTY]: step.version };
  }
  return { kind: "upgraded", config: upgraded, from, to: known };
}

/** The warning an "unknown" outcome deserves, in the words of the log line; undefined for the others. */
export function warningOf(type: string, id: unknown, outcome: MigrationOutcome): string | undefined {
  if (outcome.kind !== "unknown") return undefined;
  return (
    `${type} ${String(id)}: settings version ${JSON.stringify(outcome.saved)} is not one this release ` +
    `knows (it knows up to ${outcome.known}); the settings are used as saved — was the flow saved by a newer release?`
  );
}
