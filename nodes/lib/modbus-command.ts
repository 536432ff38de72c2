/**
 * The Modbus side of the command node: a typed, scaled write of one point (the node's address, else
 * msg.address or msg.topic) to the device's shared client, or of consecutive points from an array
 * payload in one multiple write; the result leaves as the message. The IEC 104
 * side is iec104-command.ts; the node file only picks one.
 */
import type { Node, NodeAPI, NodeMessageInFlow } from "node-red";
import { DataCollError, errorMessage } from "../../src/core/errors";
import {
  formatPointAddress,
  parsePointAddress,
  type ModbusPointAddress,
} from "../../src/core/modbus/point-address";
import { writePoint, writePoints } from "../../src/core/modbus/write-point";
import { numberOr, scalingOf } from "./command-scaling";
import { isModbusDeviceNode } from "./modbus-device";
import { connectionStatus, errorStatus, shorten, showConfigError } from "./status";

export interface ModbusCommandDef {
  modbus: string;
  unit: string;
  address: string;
  coefficient: string;
  base: string;
}

export function runModbusCommand(RED: NodeAPI, node: Node, def: ModbusCommandDef): void {
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
    showConfigError(RED, node, "datacoll-command.errors.config", err);
    return;
  }
  const lease = device.connect();
  const client = lease.value;
  const stopWatching = client.onStateChange((c) => node.status(connectionStatus(c.state, c.reason)));
  node.status(connectionStatus(client.state));
  let writes = 0;

  node.on("input", (msg: NodeMessageInFlow & { address?: unknown; unit?: unknown }, send, done) => {
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
    const write = Array.isArray(msg.payload)
      ? writePoints(client, target, point, msg.payload, { scaling })
      : writePoint(client, target, point, msg.payload, { scaling });
    write
      .then((req) => {
        writes++;
        node.status(connectionStatus("connected", `${writes} written`));
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
        node.status(errorStatus(shorten(errorMessage(err))));
        done(err instanceof Error ? err : new Error(String(err)));
      });
  });

  node.on("close", (_removed: boolean, done: () => void) => {
    stopWatching();
    void lease.release().then(done, done);
  });
}
