/**
 * The migrations of every node type, keyed by type: the one list the runtime (nodes/lib/register.ts) and
 * the editor (./workspace.ts) upgrade saved settings from. A type listed with none is at version 0. The REST
 * subflow module (datacoll-rest) is absent: its settings are subflow environment variables, not node
 * properties, and Node-RED builds its dialog.
 */
import { iec104WindowNames } from "./iec104-1-window-names";
import { iec104ServerIdleTimeout } from "./iec104-server-1-idle-timeout";
import { modbusTransport } from "./modbus-1-transport";
import { modbusServerIdleTimeout } from "./modbus-server-1-idle-timeout";
import { modbusServerTransport } from "./modbus-server-2-transport";
import { modbusServerUnknownUnit } from "./modbus-server-3-unknown-unit";
import type { MigrationTable } from "./types";

export const MIGRATIONS: MigrationTable = {
  "datacoll-manager": [],
  "datacoll-modbus": [modbusTransport],
  "datacoll-iec104": [iec104WindowNames],
  "datacoll-mysql": [],
  "datacoll-poll": [],
  "datacoll-data": [],
  "datacoll-command": [],
  "datacoll-check": [],
  "datacoll-formula": [],
  "datacoll-save": [],
  "datacoll-api": [],
  "datacoll-history": [],
  "datacoll-modbus-server": [modbusServerIdleTimeout, modbusServerTransport, modbusServerUnknownUnit],
  "datacoll-iec104-server": [iec104ServerIdleTimeout],
};
