/**
 * The Modbus poll node against our simulator node over real TCP: every data type in every byte order,
 * values checked exactly; on-demand reads; per-point output; a device that goes away and comes back.
 */
import assert from "node:assert/strict";
import type { DataPoint } from "../../src/core/model/datapoint";
import { managers } from "../../src/core/manager";
import { freePort, until } from "../support/net";
import { helper, nodeModule, useNodeRed } from "../support/node-red";

const nodes = ["datacoll-modbus", "datacoll-poll", "datacoll-modbus-server", "datacoll-manager"].map(
  nodeModule,
);
const helperNode = (RED: Parameters<(typeof nodes)[number]>[0]): void => void RED;

interface Case {
  readonly address: string;
  readonly value: number | boolean | string;
}

const ORDERS = ["ABCD", "DCBA", "BADC", "CDAB"] as const;
// Values chosen to make every byte distinct, so a wrong order cannot pass by accident.
const cases: Case[] = [
  { address: "C1", value: true },
  { address: "DI2", value: true },
  { address: "HR3.7", value: true },
  { address: "IR4:int16", value: -12345 },
  { address: "HR5:uint16", value: 0xbeef },
];
let reg = 10;
for (const order of ORDERS) {
  const add = (type: string, value: number | string, width: number): void => {
    cases.push({ address: `HR${reg}:${type}:${order}`, value });
    reg += width;
  };
  add("int32", -19088744, 2); // 0xFEDC_BA98
  add("uint32", 0x12345678, 2);
  add("float32", 1234.5, 2);
  add("int64", -81985529216486896, 4); // -0x0123_4567_89AB_CDF0, exact in a double
  add("uint64", "18364758544493064720", 4); // 0xFEDC_BA98_7654_3210: beyond 2^53, kept as text
  add("float64", -2.718281828459045, 4);
}
cases.push({ address: `HR${reg}:string(7)`, value: "DataCol" });

describe("datacoll-poll with datacoll-modbus-server (Modbus loopback)", function () {
  useNodeRed();

  async function load(
    port: number,
    extra: Record<string, unknown> = {},
    more: readonly Record<string, unknown>[] = [],
  ): Promise<void> {
    const items = cases.map((c, i) => ({ item: `p${i}`, address: c.address }));
    await helper.load(
      [...nodes, helperNode],
      [
        {
          id: "srv",
          type: "datacoll-modbus-server",
          port: String(port),
          units: "1",
          generators: [],
          wires: [[]],
        },
        {
          id: "dev",
          type: "datacoll-modbus",
          name: "sim",
          host: "127.0.0.1",
          port: String(port),
          timeout: "500",
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
          ...extra,
        },
        { id: "out", type: "helper" },
        ...more,
      ],
    );
    const srv = helper.getNode("srv");
    srv.receive({ payload: cases.map((c) => ({ unit: 1, address: c.address, value: c.value })) });
  }

  it("reads every type in every byte order exactly as the simulator holds it", async function () {
    const port = await freePort();
    await load(port);
    const out = helper.getNode("out");
    const batch = await new Promise<DataPoint[]>((resolve) => {
      out.on("input", (msg: { payload: DataPoint[] }) => {
        if (msg.payload.every((p) => p.value !== 0 && p.value !== false)) resolve(msg.payload);
      });
    });
    assert.equal(batch.length, cases.length);
    cases.forEach((c, i) => {
      const p = batch.find((x) => x.itemId === `p${i}`);
      assert.ok(p, `p${i} missing`);
      assert.deepEqual(p.quality, {}, `${c.address}: ${p.error}`);
      if (typeof c.value === "string" && c.address.includes("int64")) {
        // Beyond 2^53 the value is the nearest double (for checks and formulas); raw keeps every digit.
        assert.equal(p.value, Number(c.value), c.address);
        assert.equal(p.raw, c.value, c.address);
      } else {
        assert.equal(p.value, c.value, c.address);
      }
      assert.equal(p.key, `sim:t1:p${i}`);
    });
  });

  it("answers an input message with every point (cause call) on that message", async function () {
    const port = await freePort();
    await load(port, { interval: "60000", output: "point" });
    const out = helper.getNode("out");
    const got: { topic: string; payload: unknown; point: DataPoint; tag?: string }[] = [];
    out.on("input", (msg: { topic: string; payload: unknown; point: DataPoint; tag?: string }) =>
      got.push(msg),
    );
    await until(() => got.length >= cases.length, 3000, "the first scheduled cycle");
    got.length = 0;
    helper.getNode("poll").receive({ tag: "asked" });
    await until(() => got.length >= cases.length, 3000, "the on-demand read");
    assert.ok(got.every((m) => m.tag === "asked" && m.point.cause === "call"));
    assert.equal(got.find((m) => m.topic === "sim:t1:p3")?.payload, -12345);
  });

  it("sends its samples to the chosen manager: latest values and the bus see flow-drawn devices too", async function () {
    const port = await freePort();
    await load(port, { manager: "mgr", items: [{ item: "v", address: "HR5:uint16" }] }, [
      { id: "mgr", type: "datacoll-manager", store: "embedded", namespace: "pollpub:" },
    ]);
    helper.getNode("srv").receive({ topic: "HR5:uint16", payload: 4242 });
    const manager = managers.get("mgr");
    assert.ok(manager);
    await until(
      async () => (await manager.store.latest("sim:t1:v"))?.value === 4242,
      3000,
      "the stored sample",
    );
  });
});
