/**
 * datacoll-modbus, version 1: the device names its transport. Until now TCP was the only one, so a device
 * saved without the setting is a TCP device; saying so lets the dialog offer RTU over TCP, UDP and serial
 * (issue #20) without a device saved today changing its meaning.
 */
import type { Migration } from "./types";

export const modbusTransport: Migration = {
  version: 1,
  summary: 'adds transport "tcp", the only transport before the setting existed',
  up: (config) => (config.transport === undefined ? { ...config, transport: "tcp" } : config),
};
