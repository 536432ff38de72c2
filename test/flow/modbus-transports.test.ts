/**
 * The network transports through a real flow (issue #20): the poll node reads through a `datacoll-modbus`
 * device set to RTU over TCP, Modbus UDP or RTU over UDP from a `datacoll-modbus-server` serving the same
 * on a real port, and the leak check after each test proves the device's socket (a UDP one too) is
 * closed when the flow stops. A device left on Modbus TCP against the RTU simulator gets no good value,
 * so the setting is what makes it work.
 */
import assert from "node:assert/strict";
import type { DataPoint } from "../../src/core/model/datapoint";
import { freePort, until } from "../support/net";
import { helper, nodeModule, useNodeRed } from "../support/node-red";

const nodes = ["datacoll-modbus", "datacoll-poll", "datacoll-modbus-server"].map(nodeModule);
const helperNode = (RED: Parameters<(typeof nodes)[number]>[0]): void => void RED;

const values = [
  { address: "C1", value: true },
  { address: "IR4:int16", value: -12345 },
  { address: "HR10:float32:CDAB", value: 1234.5 },
  { address: "HR20:uint64", value: "18364758544493064720" },
  { address: "HR30:string(7)", value: "DataCol" },
];

describe("datacoll-poll over RTU over TCP, Modbus UDP and RTU over UDP (device and simulator nodes)", function () {
  useNodeRed();

  async function load(
    port: number,
    deviceTransport: string | undefined,
    serverTransport = "rtu-over-tcp",
  ): Promise<DataPoint[][]> {
    const items = [
      ...values.map((c, i) => ({ item: `p${i}`, address: c.address })),
      { item: "missing", address: "HR20000" },
    ];
    await helper.load(
      [...nodes, helperNode],
      [
        {
          id: "srv",
          type: "datacoll-modbus-server",
          port: String(port),
          units: "1",
          transport: serverTransport,
          generators: [],
          wires: [[]],
        },
        {
          id: "dev",
          type: "datacoll-modbus",
          name: "gw",
          host: "127.0.0.1",
          port: String(port),
          timeout: "300",
          // An in-flight setting left from MBAP does not matter: RTU sends one request at a time.
          inFlight: "4",
          ...(deviceTransport === undefined ? {} : { transport: deviceTransport }),
        },
        {
          id: "poll",
          type: "datacoll-poll",
          modbus: "dev",
          termId: "t1",
          unit: "1",
          interval: "100",
          items,
          output: "batch",
          wires: [["out"]],
        },
        { id: "out", type: "helper" },
      ],
    );
    helper
      .getNode("srv")
      .receive({ payload: values.map((c) => ({ unit: 1, address: c.address, value: c.value })) });
    const batches: DataPoint[][] = [];
    helper.getNode("out").on("input", (msg: { payload: DataPoint[] }) => batches.push(msg.payload));
    return batches;
  }

  for (const transport of ["rtu-over-tcp", "udp", "rtu-over-udp"]) {
    it(`polls every point over ${transport}, an out-of-range register as an exception`, async function () {
      await pollsEveryPoint(transport);
    });
  }

  async function pollsEveryPoint(transport: string): Promise<void> {
    const port = await freePort();
    const batches = await load(port, transport, transport);
    const byItem = (b: DataPoint[], id: string): DataPoint | undefined => b.find((p) => p.itemId === id);
    // The first cycle may run before the values are set: wait for one that holds them all.
    const complete = (b: DataPoint[]): boolean =>
      values.every((_, i) => byItem(b, `p${i}`)?.value !== 0 && byItem(b, `p${i}`)?.value !== false);
    await until(() => batches.some(complete), 5000, "a batch with every value set");
    const batch = batches.find(complete);
    assert.ok(batch);
    values.forEach((c, i) => {
      const p = byItem(batch, `p${i}`);
      assert.ok(p, `p${i} missing`);
      assert.deepEqual(p.quality, {}, `${c.address}: ${p.error}`);
      if (c.address.includes("uint64")) assert.equal(p.raw, c.value, c.address);
      else assert.equal(p.value, c.value, c.address);
    });
    const missing = byItem(batch, "missing");
    assert.deepEqual(missing?.quality, { invalid: true });
    assert.match(missing?.error ?? "", /exception 02/);
  }

  it("gets no good value when the device is left on Modbus TCP against the RTU simulator", async function () {
    const port = await freePort();
    const batches = await load(port, undefined);
    await until(() => batches.length >= 1, 5000, "a batch");
    // The simulator drops the MBAP octets as garbage, so every read times out: not topical, no value.
    // A read after the first timeout may meet the unit's pause instead ("not answering"): the same cause.
    for (const p of batches[0]) {
      assert.deepEqual(p.quality, { notTopical: true }, p.itemId);
      assert.match(p.error ?? "", /no reply|is not answering/);
    }
  });
});
