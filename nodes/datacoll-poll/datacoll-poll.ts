/**
 * The poll node: reads one term of a Modbus or IEC 104 device and sends its points. The protocol's side
 * lives in nodes/lib (modbus-poll.ts, iec104-poll.ts, and modbus-flex-read.ts for a Modbus read whose
 * function code, unit, address and quantity come from the message); this file only picks one.
 */
import type { Node, NodeAPI, NodeDef } from "node-red";
import { runIec104Poll, type Iec104PollDef } from "../lib/iec104-poll";
import { runModbusFlexRead } from "../lib/modbus-flex-read";
import { runModbusPoll, type ModbusPollDef } from "../lib/modbus-poll";
import { registerNodeType } from "../lib/register";

interface PollDef extends NodeDef, Iec104PollDef, ModbusPollDef {
  protocol: "modbus" | "iec104";
  /** Modbus only: "term" polls the configured items; "message" reads what each message asks. Absent in
   * flows saved before the mode existed, which poll their term. */
  read?: "term" | "message";
}

export = function register(RED: NodeAPI): void {
  function DataCollPoll(this: Node, def: PollDef): void {
    RED.nodes.createNode(this, def);
    if (def.protocol === "iec104") runIec104Poll(RED, this, def);
    else if (def.read === "message") runModbusFlexRead(RED, this, def);
    else runModbusPoll(RED, this, def);
  }
  registerNodeType(RED, "datacoll-poll", DataCollPoll);
};
