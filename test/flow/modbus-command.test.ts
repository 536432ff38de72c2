/** The command node writing to our simulator over TCP: every kind of write, and failures a Catch node sees. */
import assert from "node:assert/strict";
import type { NodeAPI } from "node-red";
import { freePort, until } from "../support/net";
import { helper, nodeModule, useNodeRed } from "../support/node-red";

const nodes = ["datacoll-modbus", "datacoll-command", "datacoll-modbus-server"].map(nodeModule);
const catchNode = (RED: NodeAPI): void => void RED;

interface Write {
  unit: number;
  table: string;
  address: number;
  values: (number | boolean)[];
}

describe("datacoll-command writing to datacoll-modbus-server", function () {
  useNodeRed();
  let writes: Write[];
  let outs: { payload: Record<string, unknown> }[];
  let errors: string[];

  async function load(command: Record<string, unknown>): Promise<void> {
    const port = await freePort();
    await helper.load(
      [...nodes, catchNode],
      [
        {
          id: "srv",
          type: "datacoll-modbus-server",
          port: String(port),
          units: "1",
          generators: [],
          wires: [["w"]],
        },
        { id: "dev", type: "datacoll-modbus", host: "127.0.0.1", port: String(port), timeout: "500" },
        { id: "cmd", type: "datacoll-command", modbus: "dev", unit: "1", wires: [["out"]], ...command },
        { id: "c", type: "catch", scope: ["cmd"], wires: [["err"]] },
        { id: "w", type: "helper" },
        { id: "out", type: "helper" },
        { id: "err", type: "helper" },
      ],
    );
    writes = [];
    outs = [];
    errors = [];
    helper.getNode("w").on("input", (m: { payload: Write }) => writes.push(m.payload));
    helper.getNode("out").on("input", (m: { payload: Record<string, unknown> }) => outs.push(m));
    helper.getNode("err").on("input", (m: { error: { message: string } }) => errors.push(m.error.message));
  }

  it("writes a scaled float32 with write multiple registers and confirms it", async function () {
    await load({ address: "HR10:float32:CDAB", coefficient: "0.5" });
    helper.getNode("cmd").receive({ payload: 25 });
    await until(() => outs.length === 1, 3000, "the confirmation");
    // raw = 25 / 0.5 = 50 → 0x4248_0000, CDAB puts the low word first.
    assert.deepEqual(writes, [
      { unit: 1, table: "holdingRegisters", address: 10, count: 2, values: [0x0000, 0x4248] },
    ]);
    assert.equal(outs[0].payload.fn, "writeMultipleRegisters");
    assert.equal(outs[0].payload.address, "HR10:float32:CDAB");
    assert.deepEqual(outs[0].payload.written, [0x0000, 0x4248]);
  });

  it("writes a msg.payload array with one multiple write: 15 for coils, 16 for typed registers", async function () {
    await load({});
    const cmd = helper.getNode("cmd");
    cmd.receive({ address: "C20", payload: [true, false, true] });
    await until(() => outs.length === 1, 3000, "the coils write");
    cmd.receive({ address: "HR30:int32", payload: [-1, 65536] });
    await until(() => outs.length === 2, 3000, "the registers write");
    assert.deepEqual(
      outs.map((o) => [o.payload.fn, o.payload.written]),
      [
        ["writeMultipleCoils", [true, false, true]],
        ["writeMultipleRegisters", [0xffff, 0xffff, 0x0001, 0x0000]],
      ],
    );
    assert.deepEqual(writes, [
      { unit: 1, table: "coils", address: 20, count: 3, values: [true, false, true] },
      { unit: 1, table: "holdingRegisters", address: 30, count: 4, values: [0xffff, 0xffff, 1, 0] },
    ]);
    cmd.receive({ address: "HR3.1", payload: [true] });
    await until(() => errors.length === 1, 3000, "the refused bit array");
    assert.match(errors[0], /bits of a register/);
  });

  it("writes a coil, a single register and a bit of a register from msg.address", async function () {
    await load({});
    const cmd = helper.getNode("cmd");
    cmd.receive({ address: "C7", payload: true });
    await until(() => outs.length === 1, 3000, "the coil write");
    cmd.receive({ address: "HR3:int16", payload: -2 });
    await until(() => outs.length === 2, 3000, "the register write");
    cmd.receive({ address: "HR3.15", payload: false });
    await until(() => outs.length === 3, 3000, "the bit write");
    assert.deepEqual(
      outs.map((o) => o.payload.fn),
      ["writeSingleCoil", "writeSingleRegister", "writeSingleRegister"],
    );
    // -2 is 0xFFFE; clearing bit 15 leaves 0x7FFE.
    assert.deepEqual(writes.at(-1)?.values, [0x7ffe]);
  });

  it("fails out-of-range values, read-only tables, missing points and exceptions to the Catch node", async function () {
    await load({});
    const cmd = helper.getNode("cmd");
    cmd.receive({ address: "HR1:uint16", payload: 70000 });
    cmd.receive({ address: "IR1", payload: 1 });
    cmd.receive({ payload: 1 });
    cmd.receive({ address: "HR9999:float64", payload: 1 }); // beyond the simulator's table: exception 02
    await until(() => errors.length === 4, 3000, "four failures");
    assert.match(errors.join("\n"), /outside uint16 range/);
    assert.match(errors.join("\n"), /read-only/);
    // The test runtime answers RED._ with the message key; the real one with the en-US text.
    assert.match(errors.join("\n"), /errors.noAddress|no point to write/);
    assert.match(errors.join("\n"), /02|illegal data address/i);
    assert.equal(outs.length, 0);
    assert.equal(writes.length, 0, "nothing was written");
  });
});
