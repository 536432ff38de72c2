import type { NodeAPI, NodeDef } from "node-red";
import { errorMessage } from "../../src/core/errors";
import { acquireModbusClient, parseModbusDeviceSettings } from "../../src/core/modbus/devices";
import type { RawSerialLineSettings } from "../../src/core/modbus/serial-line";
import { deviceIdFor } from "../../src/core/model/device";
import type { ModbusDeviceNode } from "../lib/modbus-device";
import { registerModbusTest } from "../lib/device-test-endpoints";
import { registerNodeType } from "../lib/register";
import { registerSerialPortsRoute } from "../lib/serial-ports-route";

// The serial line's fields (serialPort, baudRate, ...) are read only by the serial transports; flows saved
// before them are TCP and never read them.
interface ModbusDef extends NodeDef, RawSerialLineSettings {
  deviceId: string;
  host: string;
  port: string;
  timeout: string;
  inFlight: string;
  queueSize: string;
  backoff: string;
  backoffMax: string;
  acceptRewrittenUnit: boolean;
  /**
   * "tcp", "rtu-over-tcp", "udp", "rtu-over-udp", "serial-rtu" or "serial-ascii"; flows saved before the
   * setting get "tcp" (migration 1).
   */
  transport?: string;
  /** Resends after a timeout; absent or blank = the transport's default (2 over UDP, else 0). */
  retries?: string;
}

export = function register(RED: NodeAPI): void {
  registerModbusTest(RED);
  registerSerialPortsRoute(RED);
  function DataCollModbus(this: ModbusDeviceNode, def: ModbusDef): void {
    RED.nodes.createNode(this, def);
    this.deviceId = deviceIdFor(def);
    try {
      this.settings = parseModbusDeviceSettings(def);
      this.settingsError = undefined;
    } catch (err) {
      this.settings = undefined;
      this.settingsError = errorMessage(err);
      this.error(RED._("datacoll-modbus.errors.settings", { reason: this.settingsError }));
    }
    this.connect = () => {
      if (!this.settings) throw new Error(this.settingsError ?? "invalid settings");
      return acquireModbusClient(this.settings);
    };
  }
  registerNodeType(RED, "datacoll-modbus", DataCollModbus);
};
