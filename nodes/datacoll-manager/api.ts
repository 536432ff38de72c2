/**
 * What flow nodes see of a manager config node: `RED.nodes.getNode(config.manager)` cast to this. A node
 * takes a handle in its constructor and releases it in its close handler.
 */
import type { Node } from "node-red";
import type { Manager, ManagerHandle } from "../../src/core/manager";
import type { ManagerSettings } from "../../src/core/manager-config";

export interface ManagerCredentials {
  password?: string;
  /** The private key of the Redis TLS client certificate. */
  redisKey?: string;
  /** The Redis Sentinels' own password (Sentinel mode). */
  sentinelPassword?: string;
}

export interface ManagerConfigNode extends Node<ManagerCredentials> {
  settings: ManagerSettings | undefined;
  /** Why the settings were refused, for the nodes using it to show. */
  settingsError: string | undefined;
  /** The config node's own share of the manager; undefined when the settings are invalid. */
  manager: Manager | undefined;
  /** The lease time for work shared among instances (devices, the active check node), ms. */
  leaseMs: number;
  /** A share for a flow node; undefined when the settings are invalid. Release it on close. */
  acquireManager(): ManagerHandle | undefined;
}
