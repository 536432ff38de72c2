/**
 * The poll node's flex read against our simulator over real TCP: each function code read as the message
 * asks, bad requests refused with the field named and nothing sent, a Modbus exception reported by name.
 */
import assert from "node:assert/strict";
import type { NodeAPI } from "node-red";
import { freePort, until } from "../support/net";
import { helper, nodeModule, useNodeRed } from "../support/node-red";

const nodes = ["datacoll-modbus", "datacoll-poll", "datacoll-modbus-server"].map(nodeModule);
const catchNode = (RED: NodeAPI): void => void RED;

interface Answer {
  payload: unknown;
  modbus: unknown;
  tag?: string;
}

describe("datacoll-poll reading what the message asks (flex read)", function () {
  useNodeRed();
  let outs: Answer[];
  let errors: string[];

  beforeEach(async function () {
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
          wires: [[]],
        },
        {
          id: "dev",
          type: "datacoll-modbus",
          deviceId: "gw",
          host: "127.0.0.1",
          port: String(port),
          timeout: "500",
        },
        // A flow drawn in the editor has no term or items in this mode.
        {
          id: "flex",
          type: "datacoll-poll",
          protocol: "modbus",
          read: "message",
          modbus: "dev",
          wires: [["out"]],
        },
        { id: "c", type: "catch", scope: ["flex"], wires: [["err"]] },
        { id: "out", type: "helper" },
        { id: "err", type: "helper" },
      ],
    );
    outs = [];
    errors = [];
    helper.getNode("out").on("input", (m: Answer) => outs.push(m));
    helper.getNode("err").on("input", (m: { error: { message: string } }) => errors.push(m.error.message));
    helper.getNode("srv").receive({
      payload: [
        { unit: 1, address: "C5", value: true },
        { unit: 1, address: "C7", value: true },
        { unit: 1, address: "DI3", value: true },
        { unit: 1, address: "HR10:uint16", value: 0xbeef },
        { unit: 1, address: "HR11:uint16", value: 42 },
        { unit: 1, address: "IR20:int16", value: -2 },
        { unit: 1, address: "HR30:float32:CDAB", value: 1234.5 },
        { unit: 1, address: "HR32:float32:CDAB", value: -8 },
      ],
    });
  });

  it("reads coils, discrete inputs, holding and input registers raw, on the message that asked", async function () {
    const flex = helper.getNode("flex");
    const asks = [
      { fc: 1, unit: 1, address: 4, quantity: 4 },
      { fc: 2, unit: 1, address: 2, quantity: 3 },
      { fc: 3, unit: 1, address: 10, quantity: 3 },
      { fc: 4, unit: 1, address: 20, quantity: 1 },
    ];
    for (const [i, ask] of asks.entries()) {
      flex.receive({ payload: ask, tag: `ask${i}` });
      await until(() => outs.length === i + 1 || errors.length > 0, 3000, `the answer to FC ${ask.fc}`);
    }
    assert.deepEqual(errors, []);
    assert.deepEqual(
      outs.map((m) => m.payload),
      [[false, true, false, true], [false, true, false], [0xbeef, 42, 0], [0xfffe]],
    );
    assert.deepEqual(
      outs.map((m) => m.modbus),
      asks,
    );
    assert.deepEqual(
      outs.map((m) => m.tag),
      ["ask0", "ask1", "ask2", "ask3"],
    );
  });

  it("refuses a bad request with the field named, and sends nothing", async function () {
    const flex = helper.getNode("flex");
    const good = { fc: 3, unit: 1, address: 0, quantity: 1 };
    const bad: [unknown, string][] = [
      ["HR0", "payload"],
      [{ ...good, fc: 6 }, "fc"],
      [{ ...good, unit: 300 }, "unit"],
      [{ ...good, address: -1 }, "address"],
      [{ ...good, quantity: 126 }, "quantity"],
    ];
    for (const [i, [payload, field]] of bad.entries()) {
      flex.receive({ payload });
      await until(() => errors.length === i + 1, 3000, `the refusal of ${field}`);
      // The test runtime answers RED._ with the message key, the real one with the text; both name it.
      assert.match(errors[i], new RegExp(`\\b${field}\\b`), errors[i]);
      for (const other of bad.map(([, f]) => f).filter((f) => f !== field && f !== "payload"))
        assert.doesNotMatch(errors[i], new RegExp(`\\b${other}\\b`), errors[i]);
    }
    assert.equal(outs.length, 0);
  });

  it("reports a Modbus exception by name and sends nothing", async function () {
    // The simulator's tables hold 10,000 entries: a read beyond them is answered with exception 02.
    helper.getNode("flex").receive({ payload: { fc: 3, unit: 1, address: 20000, quantity: 2 } });
    await until(() => errors.length === 1, 3000, "the failure");
    assert.match(errors[0], /exception 02 \(illegal data address\)/i);
    assert.equal(outs.length, 0);
  });

  it("answers DataPoints when the message names a type, decoded and scaled as poll items are", async function () {
    const flex = helper.getNode("flex");
    const ask = {
      fc: 3,
      unit: 1,
      address: 30,
      quantity: 4,
      type: "float32",
      order: "CDAB",
      coefficient: 2,
      termId: "m1",
    };
    flex.receive({ payload: ask });
    await until(() => outs.length === 1 || errors.length > 0, 3000, "the typed answer");
    assert.deepEqual(errors, []);
    const [m] = outs as (Answer & { topic: string; values: number[] })[];
    const points = m.payload as {
      key: string;
      value: unknown;
      raw?: unknown;
      cause: string;
      quality: object;
    }[];
    assert.deepEqual(
      points.map((p) => [p.key, p.value, p.raw, p.cause, p.quality]),
      [
        ["gw:m1:HR30", 2469, 1234.5, "call", {}],
        ["gw:m1:HR32", -16, -8, "call", {}],
      ],
    );
    assert.equal(m.topic, "gw:m1");
    assert.equal(m.values.length, 4);
    // A bad typing field is refused with its name, and nothing is sent.
    flex.receive({ payload: { ...ask, type: "float" } });
    await until(() => errors.length === 1, 3000, "the refusal of type");
    assert.match(errors[0], /\btype\b/);
    assert.equal(outs.length, 1);
  });
});
