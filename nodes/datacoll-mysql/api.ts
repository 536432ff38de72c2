/**
 * What save nodes see of a `datacoll-mysql` config node: `RED.nodes.getNode(config.mysql)` cast to this.
 * A node takes a pool share in its constructor and releases it in its close handler.
 */
import type { Node } from "node-red";
import type { MysqlSettings } from "../../src/core/history/mysql-settings";
import type { PoolShare } from "../../src/core/history/pool-share";

export interface MysqlCredentials {
  password?: string;
  /** The PEM private key of a TLS client certificate: a secret, so a credential too. */
  key?: string;
}

export interface MysqlConfigNode extends Node<MysqlCredentials> {
  settings: MysqlSettings | undefined;
  /** Why the settings were refused, for the nodes using it to show. */
  settingsError: string | undefined;
  /** A share of the pool; undefined when the settings are invalid. Release it on close. */
  acquirePool(): PoolShare | undefined;
}
