/** What poll, command and other nodes get from a `datacoll-modbus` config node. */
import type { Node } from "node-red";
import type { ModbusClient } from "../../src/core/modbus/client";
import type { ModbusDeviceSettings } from "../../src/core/modbus/devices";
import type { PoolLease } from "../../src/core/runtime/shared-pool";

export interface ModbusDeviceNode extends Node {
  readonly type: "datacoll-modbus";
  /** The device id in point keys: the node's `deviceId`, else its name, else host_port. */
  deviceId: string;
  settings: ModbusDeviceSettings | undefined;
  settingsError: string | undefined;
  /** The shared connection to host:port; each user releases its own lease on close. */
  connect(): PoolLease<ModbusClient>;
}

export function isModbusDeviceNode(node: Node | null | undefined): node is ModbusDeviceNode {
  return node != null && node.type === "datacoll-modbus" && "connect" in node;
}
