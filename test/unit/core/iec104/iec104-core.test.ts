/**
 * The IEC 104 core pieces without sockets: device settings validated with the field named, the term's
 * mapping of ASDUs to DataPoints (scaling, type check, deadband on periodic data, other stations ignored),
 * the item table and its CSV, command objects from engineering values, and the simulator's tables and
 * generators on a manual clock.
 */
import assert from "node:assert/strict";
import { DataCollError } from "../../../../src/core/errors";
import { commandObject } from "../../../../src/core/iec104/command";
import { parseIec104DeviceSettings } from "../../../../src/core/iec104/devices";
import { Iec104Simulator, parseSimCommands, parseSimPoints } from "../../../../src/core/iec104/simulator";
import {
  Iec104Term,
  iec104ItemsFromCsv,
  parseIec104Address,
  parseIec104Items,
} from "../../../../src/core/iec104/term";
import { cp56, GOOD, TypeId, type Asdu, type MonitorObject } from "../../../../src/protocols/iec104/codec";
import { ManualClock } from "../../../../src/transport/manual-clock";

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DataCollError, String(err));
    return err.field;
  }
  assert.fail("no error");
}

function asdu(typeId: number, cot: number, objects: MonitorObject[], commonAddress = 1): Asdu {
  return {
    typeId,
    sequence: false,
    cot,
    negative: false,
    test: false,
    originator: 0,
    commonAddress,
    objects,
  };
}

describe("IEC 104 device settings", function () {
  it("takes the editor's text cells with the standard's defaults, times in seconds", function () {
    const s = parseIec104DeviceSettings({ host: "10.0.0.5, 10.0.0.6", commonAddress: "3", t1: "20" });
    assert.deepEqual(s.hosts, ["10.0.0.5", "10.0.0.6"]);
    assert.equal(s.port, 2404);
    assert.equal(s.master.commonAddress, 3);
    assert.deepEqual(s.master.link, { k: 12, w: 8, t0Ms: 30_000, t1Ms: 20_000, t2Ms: 10_000, t3Ms: 20_000 });
    assert.equal(s.connection.connectTimeoutMs, 30_000, "t0 is the transport's connect timeout");
    assert.equal(s.master.interrogateOnStart, true);
  });

  it("names the field at fault, using the stack's own checks", function () {
    assert.equal(
      fieldOf(() => parseIec104DeviceSettings({ host: "" })),
      "host",
    );
    assert.equal(
      fieldOf(() => parseIec104DeviceSettings({ host: "a b;c,d,e,f,g,h,i" })),
      "host",
    );
    assert.equal(
      fieldOf(() => parseIec104DeviceSettings({ host: "h", port: "70000" })),
      "port",
    );
    assert.equal(
      fieldOf(() => parseIec104DeviceSettings({ host: "h", commonAddress: "65535" })),
      "commonAddress",
    );
    assert.equal(
      fieldOf(() => parseIec104DeviceSettings({ host: "h", t2: "15" })),
      "t2",
    );
    assert.equal(
      fieldOf(() => parseIec104DeviceSettings({ host: "h", w: "20" })),
      "w",
    );
    assert.equal(
      fieldOf(() => parseIec104DeviceSettings({ host: "h", giInterval: "-1" })),
      "giInterval",
    );
    assert.equal(
      fieldOf(() => parseIec104DeviceSettings({ host: "h", k: "x" })),
      "k",
    );
  });
});

describe("IEC 104 term", function () {
  const items = parseIec104Items([
    { item: "f", ioa: "100", type: "M_ME_NC_1", coefficient: "2", base: "1", deadband: "0.5" },
    { item: "s", ioa: "1", type: "single" },
    { item: "any", ioa: "7" },
  ]);

  it("maps (common address, IOA) to items with scaling, the station's time and the cause", function () {
    const term = new Iec104Term("dev", "t", 1, items);
    const at = Date.parse("2026-11-21T12:00:00Z");
    const time = cp56(at - 5000);
    const points = term.accept(
      asdu(TypeId.M_ME_TF_1, 3, [
        { kind: "float", ioa: 100, value: 10, quality: { substituted: true }, time },
        { kind: "float", ioa: 999, value: 1, quality: GOOD, time },
      ]),
      at,
    );
    assert.deepEqual(points, [
      {
        key: "dev:t:f",
        deviceId: "dev",
        termId: "t",
        itemId: "f",
        value: 21,
        raw: 10,
        ts: at - 5000,
        quality: { substituted: true },
        cause: "spontaneous",
      },
    ]);
    // The fields in the order every protocol's terms write them (so points keep one shape in the flow).
    assert.deepEqual(Object.keys(points[0]), [
      "key",
      "deviceId",
      "termId",
      "itemId",
      "value",
      "raw",
      "ts",
      "quality",
      "cause",
    ]);
    assert.deepEqual(
      term.accept(asdu(TypeId.M_ME_NC_1, 20, [{ kind: "float", ioa: 100, value: 1, quality: GOOD }], 2), at),
      [],
    );
  });

  it("reports an item that arrives as another type as invalid, naming both types", function () {
    const term = new Iec104Term("dev", "t", 1, items);
    const [p] = term.accept(
      asdu(TypeId.M_DP_NA_1, 20, [{ kind: "double", ioa: 1, value: 2, quality: GOOD }]),
      0,
    );
    assert.equal(p.value, null);
    assert.deepEqual(p.quality, { invalid: true });
    assert.match(p.error ?? "", /M_DP_NA_1, expected M_SP_NA_1/);
    assert.deepEqual(Object.keys(p), [
      "key",
      "deviceId",
      "termId",
      "itemId",
      "value",
      "ts",
      "quality",
      "cause",
      "error",
    ]);
    assert.equal(term.stats.typeMismatches, 1);
    // An item without a type takes any.
    const [q] = term.accept(
      asdu(TypeId.M_DP_NA_1, 20, [{ kind: "double", ioa: 7, value: 2, quality: GOOD }]),
      0,
    );
    assert.equal(q.value, 2);
  });

  it("marks every item's last value not topical once when the link is lost, until the station reports", function () {
    const term = new Iec104Term("dev", "t", 1, items);
    const at = 1_000;
    term.accept(asdu(TypeId.M_ME_NC_1, 20, [{ kind: "float", ioa: 100, value: 10, quality: GOOD }]), at);
    term.accept(
      asdu(TypeId.M_SP_NA_1, 3, [{ kind: "single", ioa: 1, value: true, quality: { blocked: true } }]),
      at,
    );
    const lost = term.linkLost(2_000, "connect ECONNREFUSED 127.0.0.1:2404");
    assert.deepEqual(
      lost.map((p) => [p.itemId, p.value, p.raw, p.quality, p.ts, p.cause, p.error]),
      [
        [
          "f",
          21,
          10,
          { notTopical: true },
          2_000,
          "interrogation",
          "link to the station lost: connect ECONNREFUSED 127.0.0.1:2404",
        ],
        [
          "s",
          true,
          undefined,
          { blocked: true, notTopical: true },
          2_000,
          "spontaneous",
          "link to the station lost: connect ECONNREFUSED 127.0.0.1:2404",
        ],
      ],
    );
    assert.deepEqual(term.linkLost(3_000, "again"), [], "said once per item");
    // The interrogation after the link is back makes the value topical again.
    const [back] = term.accept(
      asdu(TypeId.M_ME_NC_1, 20, [{ kind: "float", ioa: 100, value: 10, quality: GOOD }]),
      4_000,
    );
    assert.deepEqual([back.quality, back.error], [{}, undefined]);
    assert.deepEqual(
      term.linkLost(5_000, "lost").map((p) => p.itemId),
      ["f"],
    );
  });

  it("leaves periodic data within the deadband out, but never interrogation answers", function () {
    const term = new Iec104Term("dev", "t", 1, items);
    const f = (v: number, cot: number): number =>
      term.accept(asdu(TypeId.M_ME_NC_1, cot, [{ kind: "float", ioa: 100, value: v, quality: GOOD }]), 0)
        .length;
    assert.equal(f(10, 1), 1);
    assert.equal(f(10.2, 1), 0, "0.4 after scaling is within 0.5");
    assert.equal(f(10.2, 20), 1, "interrogation answers always pass");
    assert.equal(f(11, 1), 1);
  });

  it("validates the item table and reads it from CSV in any column order", function () {
    assert.equal(
      fieldOf(() => parseIec104Items([{ item: "a", ioa: "0" }])),
      "ioa",
    );
    assert.equal(
      fieldOf(() => parseIec104Items([{ item: "a", ioa: "1", type: "C_SC_NA_1" }])),
      "type",
    );
    assert.equal(
      fieldOf(() =>
        parseIec104Items([
          { item: "a", ioa: "1" },
          { item: "b", ioa: "1" },
        ]),
      ),
      "ioa",
    );
    const rows = iec104ItemsFromCsv("item;ioa;type\nvolts;1001;M_ME_NC_1\namps;1002;\n");
    assert.deepEqual(
      parseIec104Items(rows).map((p) => [p.itemId, p.ioa, p.typeId]),
      [
        ["volts", 1001, 13],
        ["amps", 1002, undefined],
      ],
    );
    assert.deepEqual(parseIec104Address("1001:36"), { ioa: 1001, typeId: 13 });
    assert.deepEqual(parseIec104Address("5"), { ioa: 5 });
    assert.throws(() => parseIec104Address("0"), /IOA from 1 to 16777215/);
    // The older code_type names the command a point takes as well as the type its data arrives as.
    assert.deepEqual(parseIec104Address("200:63"), {
      ioa: 200,
      command: { kind: "setpoint-float", withTime: true },
    });
    assert.deepEqual(parseIec104Address("200:C_SC_NA_1"), {
      ioa: 200,
      command: { kind: "single-command", withTime: false },
    });
    for (const bad of ["1:", "1:99", "1:102", "1:51", "1:M_XX_1"])
      assert.throws(() => parseIec104Address(bad), DataCollError, bad);
  });
});

describe("IEC 104 command objects", function () {
  it("turns engineering values into each command's wire value", function () {
    assert.equal(commandObject("single-command", 1, "on").value, true);
    assert.equal(commandObject("double-command", 1, false).value, 1);
    assert.equal(commandObject("double-command", 1, 2).value, 2);
    assert.equal(commandObject("step-command", 1, "higher").value, 2);
    assert.equal(
      commandObject("setpoint-scaled", 1, 100, { scaling: { coefficient: 0.5, base: 0 } }).value,
      200,
    );
    assert.equal(commandObject("setpoint-float", 1, "12.5").value, 12.5);
    assert.throws(() => commandObject("setpoint-normalized", 1, 2), /outside -1\.\.1/);
    assert.throws(() => commandObject("setpoint-scaled", 1, 40000), /outside -32768\.\.32767/);
    assert.throws(() => commandObject("single-command", 1, "maybe"), /true\/false/);
    assert.throws(() => commandObject("single-command", 0, true), /ioa 0/);
  });
});

describe("IEC 104 simulator tables", function () {
  it("checks point and command rows, naming the row and field", function () {
    assert.equal(
      fieldOf(() => parseSimPoints([{ ioa: 1, type: "M_ME_NB_1", value: 40000 }])),
      "value",
    );
    assert.equal(
      fieldOf(() => parseSimPoints([{ ioa: 1, generator: "chaos" }])),
      "generator",
    );
    assert.equal(
      fieldOf(() => parseSimPoints([{ ioa: 1, type: "M_IT_NA_1", group: 5 }])),
      "group",
    );
    assert.equal(
      fieldOf(() => parseSimCommands([{ ioa: 1, type: "M_SP_NA_1" }])),
      "type",
    );
    assert.throws(
      () =>
        new Iec104Simulator({
          commonAddress: 1,
          points: [],
          commands: parseSimCommands([{ ioa: 5, feedback: 9 }]),
          clock: new ManualClock(0),
        }),
      /feedback IOA 9 is not a point/,
    );
  });

  it("moves ramp, sine, random-walk and toggle generators with the clock", async function () {
    const clock = new ManualClock(0);
    const sim = new Iec104Simulator({
      commonAddress: 1,
      points: parseSimPoints([
        { ioa: 1, type: "M_ME_NC_1", generator: "ramp", min: 0, max: 100, period: 10 },
        { ioa: 2, type: "M_ME_NC_1", generator: "sine", min: -1, max: 1, period: 4 },
        { ioa: 3, type: "M_ME_NB_1", generator: "random-walk", min: 0, max: 10, value: 5, step: 2 },
        { ioa: 4, type: "M_SP_NA_1", generator: "toggle", period: 2 },
      ]),
      commands: [],
      updateMs: 500,
      clock,
      random: () => 1,
    });
    await sim.listen(0);
    try {
      clock.advance(1000);
      assert.equal(sim.point(1)?.value, 10);
      assert.equal(sim.point(2)?.value, 1);
      assert.equal(sim.point(3)?.value, 9, "two steps of +2, rounded for scaled");
      assert.equal(sim.point(4)?.value, true, "second half of the period at max");
      clock.advance(1000);
      assert.equal(sim.point(4)?.value, false);
      assert.equal(sim.point(3)?.value, 10, "kept within max");
    } finally {
      await sim.close();
    }
    assert.equal(clock.pending, 0, "no timer left");
  });
});
