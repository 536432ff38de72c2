/**
 * datacoll-modbus-server, version 1: the simulator closes clients that send nothing for `idleTimeout`
 * seconds (issue #21). Before the setting existed it never did, and 63 clients that went away without
 * closing kept every new one out. A simulator saved before it gets the default, 30 s: the old behaviour
 * was the fault being fixed, and no client of a simulator depends on staying connected while silent.
 */
import type { Migration } from "./types";

export const modbusServerIdleTimeout: Migration = {
  version: 1,
  summary: "adds idleTimeout 30 (seconds), the default of the new idle-client timeout",
  up: (config) =>
    config.idleTimeout === undefined || config.idleTimeout === null || config.idleTimeout === ""
      ? { ...config, idleTimeout: 30 }
      : config,
};
