/**
 * The poll node's "read from message" mode: no configured term and no schedule; each input message names
 * a function code, unit, address and quantity, and the answer is the raw values read over the device's
 * shared client — or, when the message names a data type, DataPoints decoded as the poll mode decodes.
 * Checking, reading and decoding live in src/core/modbus/flex-read.ts; this file translates.
 */
import type { Node, NodeAPI, NodeMessageInFlow } from "node-red";
import { errorMessage } from "../../src/core/errors";
import { flexDataPoints, parseFlexRead, readFlex, type FlexProblem } from "../../src/core/modbus/flex-read";
import { batchTopic } from "./messages";
import { isModbusDeviceNode } from "./modbus-device";
import { connectionStatus, errorStatus, showConfigError } from "./status";

export interface ModbusFlexReadDef {
  modbus: string;
}

export function runModbusFlexRead(RED: NodeAPI, node: Node, def: ModbusFlexReadDef): void {
  const device = RED.nodes.getNode(def.modbus);
  try {
    if (!isModbusDeviceNode(device)) throw new Error(RED._("datacoll-poll.errors.noDevice"));
    if (!device.settings) throw new Error(device.settingsError);
  } catch (err) {
    showConfigError(RED, node, "datacoll-poll.errors.config", err);
    return;
  }

  const lease = device.connect();
  const client = lease.value;
  const stopWatching = client.onStateChange((c) => node.status(connectionStatus(c.state)));
  node.status(connectionStatus(client.state));

  // One message key per field, so the field is named in any language (and in the key itself).
  const refusal = (p: FlexProblem): string =>
    RED._(`datacoll-poll.errors.flex.${p.reason === "width" ? "width" : p.field}`, {
      min: p.min ?? "",
      max: p.max ?? "",
    });

  node.on("input", (msg: NodeMessageInFlow, send, done) => {
    const parsed = parseFlexRead(msg.payload);
    if (!parsed.ok) {
      done(new Error(refusal(parsed)));
      return;
    }
    const { read, typing } = parsed;
    readFlex(client, read)
      .then((values) => {
        if (client.state === "connected") node.status(connectionStatus("connected"));
        if (typing === undefined) {
          send({ ...msg, payload: values, modbus: { ...read } });
        } else {
          // As a poll batch: DataPoints in payload, `deviceId:termId` in topic; the words read beside them.
          const points = flexDataPoints(typing, values, device.deviceId, Date.now());
          send({ ...msg, topic: batchTopic(points), payload: points, values, modbus: { ...read } });
        }
        done();
      })
      .catch((err: unknown) => {
        // The reason (e.g. "Modbus exception 02 (illegal data address)") comes from the core as it is.
        const reason = errorMessage(err);
        node.status(errorStatus(reason));
        done(
          new Error(`${RED._("datacoll-poll.errors.flexFailed", { ...read })}: ${reason}`, { cause: err }),
        );
      });
  });

  node.on("close", (_removed: boolean, done: () => void) => {
    stopWatching();
    // A lease that fails to release leaves nothing for this node to undo; the device logs its own close.
    void lease.release().then(
      () => done(),
      () => done(),
    );
  });
}
