/**
 * datacoll-modbus-server, version 2: the simulator names its transport, Modbus TCP (MBAP) or RTU over TCP
 * (issue #20). Until now it spoke MBAP only, so a simulator saved without the setting is a TCP one; saying
 * so keeps its meaning when the dialog offers the choice.
 */
import type { Migration } from "./types";

export const modbusServerTransport: Migration = {
  version: 2,
  summary: 'adds transport "tcp", the only transport before the setting existed',
  up: (config) =>
    config.transport === undefined || config.transport === null || config.transport === ""
      ? { ...config, transport: "tcp" }
      : config,
};
