import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from "node-red";
import { DataCollError, errorMessage } from "../../src/core/errors";
import {
  formatPointAddress,
  parsePointAddress,
  type ModbusPointAddress,
} from "../../src/core/modbus/point-address";
import { writePoint } from "../../src/core/modbus/write-point";
import { runIec104Command, type Iec104CommandDef } from "../lib/iec104-command";
import { isModbusDeviceNode } from "../lib/modbus-device";
import { numberOr, scalingOf } from "./scaling";
import { connectionStatus, errorStatus, shorten } from "../lib/status";
import { registerNodeType } from "../lib/register";

interface CommandDef extends NodeDef, Iec104CommandDef {
  protocol: "modbus" | "iec104";
  modbus: string;
  unit: string;
  address: string;
  coefficient: string;
  base: string;
}

export = function register(RED: NodeAPI): void {
  function DataCollCommand(this: Node, def: CommandDef): void {
    RED.nodes.createNode(this, def);
    if (def.protocol === "iec104") {
      runIec104Command(RED, this, def);
      return;
    }
    const device = RED.nodes.getNode(def.modbus);
    let fixed: ModbusPointAddress | undefined;
    let unit: number;
    let scaling: { coefficient: number; base: number };
    try {
      if (!isModbusDeviceNode(device)) throw new Error(RED._("datacoll-command.errors.noDevice"));
      if (!device.settings) throw new Error(device.settingsError);
      unit = numberOr(def.unit, 1, "unit");
      if (!Number.isInteger(unit) || unit < 0 || unit > 255) throw new Error("unit must be 0..255");
      fixed = def.address?.trim() ? parsePointAddress(def.address) : undefined;
      scaling = scalingOf(def);
    } catch (err) {
      const reason = errorMessage(err);
      this.error(RED._("datacoll-command.errors.config", { reason }));
      this.status(errorStatus(reason));
      return;
    }
    const lease = device.connect();
    const client = lease.value;
    const stopWatching = client.onStateChange((c) => this.status(connectionStatus(c.state, c.reason)));
    this.status(connectionStatus(client.state));
    let writes = 0;

    this.on("input", (msg: NodeMessageInFlow & { address?: unknown; unit?: unknown }, send, done) => {
      const started = Date.now();
      let point: ModbusPointAddress;
      let target: number;
      try {
        // The node's address wins; without one, msg.address (or msg.topic) names the point.
        const text = typeof msg.address === "string" ? msg.address : msg.topic;
        if (fixed) point = fixed;
        else if (typeof text === "string" && text.trim() !== "") point = parsePointAddress(text);
        else throw new DataCollError("invalid", RED._("datacoll-command.errors.noAddress"), "address");
        target = msg.unit === undefined ? unit : numberOr(msg.unit, unit, "unit");
      } catch (err) {
        done(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      writePoint(client, target, point, msg.payload, { scaling })
        .then((req) => {
          writes++;
          this.status(connectionStatus("connected", `${writes} written`));
          send({
            ...msg,
            payload: {
              ok: true,
              device: device.deviceId,
              unit: target,
              address: formatPointAddress(point),
              value: msg.payload,
              fn: req.fn,
              written: "values" in req ? req.values : "value" in req ? req.value : undefined,
              ms: Date.now() - started,
            },
          });
          done();
        })
        .catch((err: unknown) => {
          this.status(errorStatus(shorten(errorMessage(err))));
          done(err instanceof Error ? err : new Error(String(err)));
        });
    });

    this.on("close", (_removed: boolean, done: () => void) => {
      stopWatching();
      void lease.release().then(done, done);
    });
  }
  registerNodeType(RED, "datacoll-command", DataCollCommand);
};
