/** What poll and command nodes get from a `datacoll-iec104` config node. */
import type { Node } from "node-red";
import type { Iec104DeviceSettings } from "../../src/core/iec104/devices";
import type { Iec104Master } from "../../src/core/iec104/master";
import type { PoolLease } from "../../src/core/runtime/shared-pool";

export interface Iec104DeviceNode extends Node {
  readonly type: "datacoll-iec104";
  /** The device id in point keys: the node's `deviceId`, else its name, else host_port. */
  deviceId: string;
  settings: Iec104DeviceSettings | undefined;
  settingsError: string | undefined;
  /** The shared master connection to the outstation(s); each user releases its own lease on close. */
  connect(): PoolLease<Iec104Master>;
}

export function isIec104DeviceNode(node: Node | null | undefined): node is Iec104DeviceNode {
  return node != null && node.type === "datacoll-iec104" && "connect" in node;
}
