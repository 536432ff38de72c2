/**
 * datacoll-modbus-server, version 3: the "other units" setting gains "auto" as the default for new
 * simulators (exception 0B in RTU-over-TCP/UDP gateway mode, silence on Modbus TCP; issue #20). A
 * simulator saved before the setting existed answered nobody else, so it is given "silent" and keeps
 * doing so whatever its transport; one that already names its choice keeps it.
 */
import type { Migration } from "./types";

export const modbusServerUnknownUnit: Migration = {
  version: 3,
  summary: 'adds "other units: silent", what every simulator did before the setting existed',
  up: (config) =>
    config.unknownUnit === undefined || config.unknownUnit === null || config.unknownUnit === ""
      ? { ...config, unknownUnit: "silent" }
      : config,
};
