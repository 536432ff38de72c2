/**
 * datacoll-iec104, version 1: the k and w windows are saved as windowK and windowW. The editor reserves
 * the property names k and w (it drops them on import), so the dialog was given the longer names; older
 * and hand-written flows still say k and w. Moving them here lets the node read one spelling only.
 */
import type { Migration, NodeConfig } from "./types";

function rename(config: NodeConfig, from: string, to: string): NodeConfig {
  const { [from]: old, ...rest } = config;
  // The saved new name wins, as the node did before this migration (windowK ?? k).
  return rest[to] === undefined || rest[to] === null
    ? old === undefined
      ? rest
      : { ...rest, [to]: old }
    : rest;
}

export const iec104WindowNames: Migration = {
  version: 1,
  summary: "renames the windows k and w to windowK and windowW, the names the dialog saves",
  up: (config) => rename(rename(config, "k", "windowK"), "w", "windowW"),
};
