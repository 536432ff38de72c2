/**
 * datacoll-iec104-server, version 1: the outstation closes masters that send nothing for `idleTimeout`
 * seconds (issue #21). Before the setting existed a silent master was dropped only by t3 and t1 together
 * (35 s); a live master answers the test frame sent after t3 and is never silent that long. An outstation
 * saved before it gets the default, 30 s, which is above the node's t3 (20 s) as the setting requires, so
 * every saved flow still deploys.
 */
import type { Migration } from "./types";

export const iec104ServerIdleTimeout: Migration = {
  version: 1,
  summary: "adds idleTimeout 30 (seconds), the default of the new idle-master timeout",
  up: (config) =>
    config.idleTimeout === undefined || config.idleTimeout === null || config.idleTimeout === ""
      ? { ...config, idleTimeout: 30 }
      : config,
};
