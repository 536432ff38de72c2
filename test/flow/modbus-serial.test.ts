/**
 * Modbus on a serial line through a real flow (issue #20): a `datacoll-modbus-server` serving RTU or
 * ASCII on one end of a socat pty pair, a `datacoll-modbus` device on the other end, and the poll node
 * reading through it. Unloading the flow closes both ports: no descriptor of ours still points at either
 * pty (besides the leak check of timers and sockets every flow test makes). The editor's port list is
 * served at GET /datacoll/serial-ports.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { DataPoint } from "../../src/core/model/datapoint";
import { httpRequest, until } from "../support/net";
import { helper, nodeModule, useNodeRed } from "../support/node-red";
import { openPtyPair, type PtyPair } from "../support/pty-pair";

const nodes = ["datacoll-modbus", "datacoll-poll", "datacoll-modbus-server"].map(nodeModule);
const helperNode = (RED: Parameters<(typeof nodes)[number]>[0]): void => void RED;

/** Descriptors of this process open on `device` (a pty's /dev/pts path). */
function openOn(device: string): number {
  const real = fs.realpathSync(device);
  let n = 0;
  for (const fd of fs.readdirSync("/proc/self/fd")) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`) === real) n++;
    } catch {
      // closed while listing
    }
  }
  return n;
}

describe("datacoll-poll over a serial line (device and simulator nodes on a pty pair)", function () {
  useNodeRed();
  let pair: PtyPair;

  beforeEach(async () => {
    pair = await openPtyPair();
  });
  afterEach(() => pair.close());

  async function load(transport: "serial-rtu" | "serial-ascii"): Promise<DataPoint[][]> {
    const line = { baudRate: "19200", parity: "even", stopBits: "1" };
    await helper.load(
      [...nodes, helperNode],
      [
        {
          id: "srv",
          type: "datacoll-modbus-server",
          units: "1, 2",
          transport,
          serialPort: pair.a,
          ...line,
          generators: [],
          wires: [[]],
        },
        {
          id: "dev",
          type: "datacoll-modbus",
          name: "line",
          transport,
          serialPort: pair.b,
          ...line,
          timeout: "500",
        },
        {
          id: "poll1",
          type: "datacoll-poll",
          modbus: "dev",
          termId: "t1",
          unit: "1",
          interval: "100",
          items: [
            { item: "f", address: "HR10:float32:CDAB" },
            { item: "c", address: "C3" },
          ],
          output: "batch",
          wires: [["out"]],
        },
        {
          id: "poll2",
          type: "datacoll-poll",
          modbus: "dev",
          termId: "t2",
          unit: "2",
          interval: "100",
          items: [{ item: "i", address: "IR4:int16" }],
          output: "batch",
          wires: [["out"]],
        },
        { id: "out", type: "helper" },
      ],
    );
    helper.getNode("srv").receive({
      payload: [
        { unit: 1, address: "HR10:float32:CDAB", value: 1234.5 },
        { unit: 1, address: "C3", value: true },
        { unit: 2, address: "IR4:int16", value: -321 },
      ],
    });
    const batches: DataPoint[][] = [];
    helper.getNode("out").on("input", (msg: { payload: DataPoint[] }) => batches.push(msg.payload));
    return batches;
  }

  const value = (batches: DataPoint[][], item: string): unknown =>
    batches
      .flat()
      .filter((p) => p.itemId === item && Object.keys(p.quality).length === 0)
      .map((p) => p.value)
      .at(-1);

  for (const transport of ["serial-rtu", "serial-ascii"] as const) {
    it(`polls two units sharing one port (${transport}), and closing the flow closes both ports`, async () => {
      const batches = await load(transport);
      await until(
        () => value(batches, "f") === 1234.5 && value(batches, "c") === true && value(batches, "i") === -321,
        5000,
        "every value from both units",
      );
      assert.ok(openOn(pair.a) >= 1 && openOn(pair.b) >= 1, "both ports open while the flow runs");
      await helper.unload();
      await until(() => openOn(pair.a) === 0 && openOn(pair.b) === 0, 3000, "both ports closed");
    });
  }

  it("lists serial ports for the editor at GET /datacoll/serial-ports, and tests a serial device", async () => {
    await helper.load(nodes, [
      {
        id: "srv",
        type: "datacoll-modbus-server",
        units: "7",
        transport: "serial-rtu",
        serialPort: pair.a,
        generators: [],
        wires: [[]],
      },
    ]);
    const admin = http.createServer(helper._httpAdmin);
    await new Promise<void>((resolve) => admin.listen(0, "127.0.0.1", resolve));
    try {
      const port = (admin.address() as AddressInfo).port;
      const list = await httpRequest(port, "GET", "/datacoll/serial-ports");
      assert.equal(list.status, 200, list.text);
      const body = list.json() as { installed: boolean; ports: unknown };
      assert.equal(body.installed, true);
      assert.ok(Array.isArray(body.ports));
      const test = await httpRequest(port, "POST", "/datacoll/modbus/test", {
        transport: "serial-rtu",
        serialPort: pair.b,
        timeout: "1000",
        unit: "7",
      });
      const answer = test.json() as { ok: boolean; message: string };
      assert.equal(answer.ok, true, answer.message);
      assert.match(answer.message, new RegExp(`Connected to ${pair.b}; unit 7 answered`));
    } finally {
      await new Promise<void>((resolve) => admin.close(() => resolve()));
    }
  });
});
