/**
 * The IEC 104 side of the command node: a command or setpoint to one IOA, direct or select-before-operate,
 * with or without time tag; the confirmation leaves as the message, a negative confirmation or a timeout
 * goes to done(err) with the station's cause.
 */
import type { Node, NodeAPI, NodeMessageInFlow } from "node-red";
import { DataCollError, errorMessage } from "../../src/core/errors";
import { commandObject, isCommandKind, sendCommand, type CommandKind } from "../../src/core/iec104/command";
import { numberOr, scalingOf } from "./command-scaling";
import { isIec104DeviceNode } from "./iec104-device";
import { connectionStatus, errorStatus, shorten, showConfigError } from "./status";

export interface Iec104CommandDef {
  iec104: string;
  commonAddress: string;
  ioa: string;
  commandType: string;
  withTime: boolean;
  sbo: boolean;
  qualifier: string;
  coefficient: string;
  base: string;
}

interface CommandMessage extends NodeMessageInFlow {
  ioa?: unknown;
  commandType?: unknown;
  select?: unknown;
  withTime?: unknown;
  commonAddress?: unknown;
}

export function runIec104Command(RED: NodeAPI, node: Node, def: Iec104CommandDef): void {
  const device = RED.nodes.getNode(def.iec104);
  let kind: CommandKind;
  let ca: number;
  let ioa: number | undefined;
  let qualifier: number;
  let scaling: { coefficient: number; base: number };
  try {
    if (!isIec104DeviceNode(device)) throw new Error(RED._("datacoll-command.errors.noIec104"));
    if (!device.settings) throw new Error(device.settingsError);
    const type = def.commandType || "single-command";
    if (!isCommandKind(type))
      throw new DataCollError("invalid", `unknown command type ${type}`, "commandType");
    kind = type;
    ca = numberOr(def.commonAddress, device.settings.master.commonAddress, "commonAddress");
    ioa = def.ioa === undefined || String(def.ioa).trim() === "" ? undefined : numberOr(def.ioa, 0, "ioa");
    qualifier = numberOr(def.qualifier, 0, "qualifier");
    scaling = scalingOf(def);
  } catch (err) {
    showConfigError(RED, node, "datacoll-command.errors.config", err);
    return;
  }
  const lease = device.connect();
  const master = lease.value;
  const stopWatching = master.onStateChange((c) => node.status(connectionStatus(c.state, c.reason)));
  node.status(connectionStatus(master.state));
  let sent = 0;

  node.on("input", (msg: CommandMessage, send, done) => {
    let run: Promise<unknown>;
    try {
      const type = msg.commandType ?? kind;
      if (!isCommandKind(type))
        throw new DataCollError("invalid", `unknown msg.commandType ${String(type)}`, "commandType");
      const target = ioa ?? (msg.ioa !== undefined ? Number(msg.ioa) : undefined);
      if (target === undefined)
        throw new DataCollError("invalid", RED._("datacoll-command.errors.noIoa"), "ioa");
      const command = commandObject(type, target, msg.payload, { qualifier, scaling });
      const opts = {
        commonAddress:
          msg.commonAddress === undefined ? ca : numberOr(msg.commonAddress, ca, "commonAddress"),
        withTime: typeof msg.withTime === "boolean" ? msg.withTime : def.withTime === true,
        selectBeforeOperate: typeof msg.select === "boolean" ? msg.select : def.sbo === true,
      };
      run = sendCommand(master, command, opts).then((confirmation) => {
        sent++;
        node.status(connectionStatus("connected", `${sent} confirmed`));
        send({ ...msg, payload: { ...confirmation, device: device.deviceId } });
        done();
      });
    } catch (err) {
      done(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    run.catch((err: unknown) => {
      node.status(errorStatus(shorten(errorMessage(err))));
      done(err instanceof Error ? err : new Error(String(err)));
    });
  });

  node.on("close", (_removed: boolean, done: () => void) => {
    stopWatching();
    void lease.release().then(done, done);
  });
}
