import type { Node, NodeAPI, NodeDef } from "node-red";
import { errorMessage } from "../../src/core/errors";
import { parseManagerSettings, type ManagerSettings } from "../../src/core/manager-config";

interface ManagerDef extends NodeDef {
  store: string;
  redisUrl: string;
  namespace: string;
  instanceId: string;
}

interface ManagerCredentials {
  password?: string;
}

interface ManagerNode extends Node<ManagerCredentials> {
  settings: ManagerSettings | undefined;
  settingsError: string | undefined;
}

export = function register(RED: NodeAPI): void {
  function DataCollManager(this: ManagerNode, def: ManagerDef): void {
    RED.nodes.createNode(this, def);
    try {
      this.settings = parseManagerSettings({
        store: def.store,
        redisUrl: def.redisUrl,
        redisPassword: this.credentials?.password,
        namespace: def.namespace,
        instanceId: def.instanceId,
      });
      this.settingsError = undefined;
    } catch (err) {
      this.settings = undefined;
      this.settingsError = errorMessage(err);
      this.error(RED._("datacoll-manager.errors.settings", { reason: this.settingsError }));
    }
  }
  RED.nodes.registerType<ManagerNode, ManagerDef, Record<string, never>, ManagerCredentials>(
    "datacoll-manager",
    DataCollManager,
    { credentials: { password: { type: "password" } } },
  );
};
