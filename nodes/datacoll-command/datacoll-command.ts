/**
 * The command node: writes a value to a Modbus point or sends an IEC 104 command. The protocol's side
 * lives in nodes/lib (modbus-command.ts, iec104-command.ts); this file only picks one by the node's protocol.
 */
import type { Node, NodeAPI, NodeDef } from "node-red";
import { runIec104Command, type Iec104CommandDef } from "../lib/iec104-command";
import { runModbusCommand, type ModbusCommandDef } from "../lib/modbus-command";
import { registerNodeType } from "../lib/register";

interface CommandDef extends NodeDef, Iec104CommandDef, ModbusCommandDef {
  protocol: "modbus" | "iec104";
}

export = function register(RED: NodeAPI): void {
  function DataCollCommand(this: Node, def: CommandDef): void {
    RED.nodes.createNode(this, def);
    if (def.protocol === "iec104") runIec104Command(RED, this, def);
    else runModbusCommand(RED, this, def);
  }
  registerNodeType(RED, "datacoll-command", DataCollCommand);
};
