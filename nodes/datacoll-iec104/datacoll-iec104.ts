import type { NodeAPI, NodeDef } from "node-red";
import { errorMessage } from "../../src/core/errors";
import { acquireIec104Master, parseIec104DeviceSettings } from "../../src/core/iec104/devices";
import type { Iec104DeviceNode } from "../lib/iec104-device";
import { deviceIdFor } from "../../src/core/model/device";
import { registerIec104Test } from "../lib/device-test-endpoints";
import { registerNodeType } from "../lib/register";

interface Iec104Def extends NodeDef {
  deviceId: string;
  host: string;
  port: string;
  commonAddress: string;
  originator: string;
  /** Older flows name them k and w; migration 1 (nodes/lib/migrations) renames those. */
  windowK?: string;
  windowW?: string;
  t0: string;
  t1: string;
  t2: string;
  t3: string;
  giOnStart: boolean;
  giInterval: string;
  ciInterval: string;
  clockSyncOnStart: boolean;
  clockSyncInterval: string;
  frameLog: boolean;
}

export = function register(RED: NodeAPI): void {
  registerIec104Test(RED);
  function DataCollIec104(this: Iec104DeviceNode, def: Iec104Def): void {
    RED.nodes.createNode(this, def);
    this.deviceId = deviceIdFor({ ...def, host: def.host?.split(/[\s,;]+/)[0], port: def.port ?? 2404 });
    try {
      this.settings = parseIec104DeviceSettings({ ...def, k: def.windowK, w: def.windowW });
      this.settingsError = undefined;
    } catch (err) {
      this.settings = undefined;
      this.settingsError = errorMessage(err);
      this.error(RED._("datacoll-iec104.errors.settings", { reason: this.settingsError }));
    }
    this.connect = () => {
      if (!this.settings) throw new Error(this.settingsError ?? "invalid settings");
      const lease = acquireIec104Master(this.settings);
      if (this.settings.frameLog) {
        // The frame log goes to the debug sidebar's system log, one line per frame, while a user holds it.
        const off = lease.value.onFrameLog((line) => this.log(line));
        return { value: lease.value, release: () => (off(), lease.release()) };
      }
      return lease;
    };
  }
  registerNodeType(RED, "datacoll-iec104", DataCollIec104);
};
