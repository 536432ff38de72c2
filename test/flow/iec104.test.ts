/**
 * Acceptance of IEC 104 through the nodes over real TCP: a datacoll-iec104 device, poll and command nodes
 * against the datacoll-iec104-server node. Interrogation returns every point with its type, value, quality
 * and time; spontaneous changes arrive; every command type round-trips direct and with select-before-
 * operate; refusals reach a Catch node naming the cause; counter interrogation returns the counters.
 */
import assert from "node:assert/strict";
import net from "node:net";
import type { NodeAPI } from "node-red";
import type { DataPoint } from "../../src/core/model/datapoint";
import { encodeAsdu, encodeIFrame, encodeUFrame, TypeId } from "../../src/protocols/iec104/codec";
import { Iec104Simulator, parseSimPoints } from "../../src/core/iec104/simulator";
import { systemClock } from "../../src/transport/connection";
import { freePort, until } from "../support/net";
import { helper, nodeModule, statusesOf, untilStatus, useNodeRed } from "../support/node-red";

const nodes = ["datacoll-iec104", "datacoll-poll", "datacoll-command", "datacoll-iec104-server"].map(
  nodeModule,
);
const catchNode = (RED: NodeAPI): void => void RED;

/** Every monitor type with a value that its encoding carries exactly. */
const POINTS = [
  { ioa: 1, type: "M_SP_NA_1", value: "1", expect: true },
  { ioa: 2, type: "M_DP_NA_1", value: "2", expect: 2 },
  { ioa: 3, type: "M_ST_NA_1", value: "-5", expect: -5 },
  { ioa: 4, type: "M_BO_NA_1", value: "2779096485", expect: 0xa5a5a5a5 },
  { ioa: 5, type: "M_ME_NA_1", value: "-0.5", expect: -0.5 },
  { ioa: 6, type: "M_ME_NB_1", value: "1234", expect: 1234 },
  { ioa: 7, type: "M_ME_NC_1", value: "12.5", expect: 12.5 },
  { ioa: 8, type: "M_IT_NA_1", value: "99999", expect: 99999, group: "1" },
];

interface Confirmation {
  ioa: number;
  type: string;
  value: unknown;
  steps: string[];
  selectBeforeOperate: boolean;
  withTime: boolean;
}

describe("IEC 104 through the nodes (master ↔ outstation over TCP)", function () {
  useNodeRed();
  let polled: DataPoint[];
  let called: { tag?: string; payload: DataPoint[] }[];
  let confirmations: Confirmation[];
  let executed: { ioa: number; value: unknown; kind: string; select: boolean }[];
  let errors: string[];

  async function load(
    device: Record<string, unknown> = {},
    server: Record<string, unknown> = {},
    more: (port: number) => Record<string, unknown>[] = () => [],
  ): Promise<void> {
    const port = await freePort();
    await helper.load(
      [...nodes, catchNode],
      [
        {
          id: "srv",
          type: "datacoll-iec104-server",
          port: String(port),
          commonAddress: "7",
          points: POINTS.map((p) => ({ ...p, generator: "constant" })),
          commands: [
            { ioa: 100, type: "single-command" },
            { ioa: 101, type: "double-command" },
            { ioa: 102, type: "step-command" },
            { ioa: 103, type: "setpoint-normalized" },
            { ioa: 104, type: "setpoint-scaled" },
            { ioa: 105, type: "setpoint-float", feedback: "7" },
            { ioa: 110, type: "single-command", accept: "false" },
            { ioa: 111, type: "single-command", sbo: "true" },
          ],
          wires: [["exec"]],
          ...server,
        },
        {
          id: "dev",
          type: "datacoll-iec104",
          name: "rtu",
          host: "127.0.0.1",
          port: String(port),
          commonAddress: "7",
          ...device,
        },
        {
          id: "poll",
          type: "datacoll-poll",
          protocol: "iec104",
          iec104: "dev",
          termId: "st7",
          iecItems: POINTS.map((p) => ({ item: `p${p.ioa}`, ioa: String(p.ioa), type: p.type })),
          output: "batch",
          wires: [["out"]],
        },
        { id: "cmd", type: "datacoll-command", protocol: "iec104", iec104: "dev", wires: [["conf"]] },
        { id: "c", type: "catch", scope: ["cmd", "poll"], wires: [["err"]] },
        { id: "out", type: "helper" },
        { id: "conf", type: "helper" },
        { id: "exec", type: "helper" },
        { id: "err", type: "helper" },
        ...more(port),
      ],
    );
    polled = [];
    called = [];
    confirmations = [];
    executed = [];
    errors = [];
    helper.getNode("out").on("input", (m: { tag?: string; payload: DataPoint[] }) => {
      if (m.tag !== undefined) called.push(m);
      else polled.push(...m.payload);
    });
    helper.getNode("conf").on("input", (m: { payload: Confirmation }) => confirmations.push(m.payload));
    helper
      .getNode("exec")
      .on(
        "input",
        (m: { topic: string; payload: { ioa: number; value: unknown; kind: string; select: boolean } }) => {
          if (m.topic.startsWith("command/")) executed.push(m.payload);
        },
      );
    helper.getNode("err").on("input", (m: { error: { message: string } }) => errors.push(m.error.message));
  }

  const byItem = (points: readonly DataPoint[], item: string): DataPoint | undefined =>
    [...points].reverse().find((p) => p.itemId === item);

  it("interrogation at start returns every point with its type, value, quality and time", async function () {
    const t0 = Date.now();
    await load();
    const wanted = POINTS.filter((p) => p.type !== "M_IT_NA_1");
    await until(() => wanted.every((p) => byItem(polled, `p${p.ioa}`)), 5000, "the interrogation answer");
    for (const p of wanted) {
      const dp = byItem(polled, `p${p.ioa}`);
      assert.ok(dp);
      assert.equal(dp.key, `rtu:st7:p${p.ioa}`);
      assert.equal(dp.value, p.expect, p.type);
      assert.deepEqual(dp.quality, {}, p.type);
      assert.equal(dp.cause, "interrogation");
      // Interrogation answers carry no time tag: the time is that of receipt.
      assert.ok(dp.ts >= t0 && dp.ts <= Date.now(), `${p.type} ts`);
    }
    assert.equal(byItem(polled, "p8"), undefined, "totals come only with counter interrogation");
  });

  it("switches to the next redundant outstation when one fails", async function () {
    // 127.0.0.2 is loopback too, but nothing listens there: the master must move on to 127.0.0.1.
    await load({ host: "127.0.0.2, 127.0.0.1", backoff: "10", backoffMax: "50" });
    await until(() => byItem(polled, "p7") !== undefined, 5000, "data from the second host");
    assert.equal(byItem(polled, "p7")?.value, 12.5);
  });

  it("serves several masters at once, each with spontaneous and periodic data", async function () {
    // A second device on the same station through another address list is a second master connection.
    await load({}, { periodic: "0.2" }, (port) => [
      {
        id: "dev2",
        type: "datacoll-iec104",
        name: "rtu2",
        commonAddress: "7",
        host: "127.0.0.2, 127.0.0.1",
        port: String(port),
        backoff: "10",
      },
      {
        id: "poll2",
        type: "datacoll-poll",
        protocol: "iec104",
        iec104: "dev2",
        termId: "st7",
        iecItems: [{ item: "f", ioa: "7" }],
        output: "point",
        wires: [["out2"]],
      },
      { id: "out2", type: "helper" },
    ]);
    const second: DataPoint[] = [];
    helper.getNode("out2").on("input", (m: { point: DataPoint }) => second.push(m.point));
    await until(
      () => polled.some((p) => p.cause === "periodic") && second.some((p) => p.cause === "periodic"),
      5000,
      "periodic data at both masters",
    );
    helper.getNode("srv").receive({ topic: "7", payload: -1.5 });
    await until(
      () =>
        byItem(polled, "p7")?.value === -1.5 &&
        second.some((p) => p.value === -1.5 && p.cause === "spontaneous"),
      3000,
      "the change at both masters",
    );
    assert.ok(second.every((p) => p.key === "rtu2:st7:f"));
  });

  it("delivers spontaneous changes with the station's time tag and quality", async function () {
    await load();
    await until(() => byItem(polled, "p7") !== undefined, 5000, "the interrogation answer");
    const before = Date.now();
    helper.getNode("srv").receive({ topic: "7", payload: 99.25, quality: { substituted: true } });
    helper.getNode("srv").receive({ topic: "1", payload: false });
    await until(() => byItem(polled, "p1")?.cause === "spontaneous", 3000, "spontaneous p1");
    const f = byItem(polled, "p7");
    assert.equal(f?.cause, "spontaneous");
    assert.equal(f?.value, 99.25);
    assert.deepEqual(f?.quality, { substituted: true });
    assert.ok(f && f.ts >= before - 5 && f.ts <= Date.now(), "CP56Time2a of the station's clock");
    assert.equal(byItem(polled, "p1")?.value, false);
  });

  it("round-trips every command type, direct and with select-before-operate, with and without time tag", async function () {
    await load();
    await until(() => byItem(polled, "p7") !== undefined, 5000, "the link started");
    const cases = [
      { commandType: "single-command", ioa: 100, payload: true, value: true },
      { commandType: "double-command", ioa: 101, payload: "on", value: 2 },
      { commandType: "step-command", ioa: 102, payload: "lower", value: 1 },
      { commandType: "setpoint-normalized", ioa: 103, payload: 0.25, value: 0.25 },
      { commandType: "setpoint-scaled", ioa: 104, payload: -300, value: -300 },
      { commandType: "setpoint-float", ioa: 105, payload: 49.5, value: 49.5 },
    ];
    let n = 0;
    for (const c of cases) {
      for (const select of [false, true]) {
        for (const withTime of [false, true]) {
          helper.getNode("cmd").receive({ ...c, select, withTime });
          n++;
          await until(
            () => confirmations.length === n || errors.length > 0,
            3000,
            `${c.commandType} confirmed`,
          );
          assert.deepEqual(errors, []);
          const conf = confirmations[n - 1];
          assert.equal(conf.ioa, c.ioa);
          assert.equal(conf.selectBeforeOperate, select);
          assert.equal(conf.withTime, withTime);
          assert.deepEqual(
            conf.steps,
            select ? ["selected", "confirmed", "terminated"] : ["confirmed", "terminated"],
          );
          assert.match(conf.type, withTime ? /_T[ABC]_1$/ : /_N[ABC]_1$/);
          const ex = executed[executed.length - 1];
          assert.equal(ex.ioa, c.ioa);
          assert.equal(ex.kind, c.commandType);
          assert.equal(ex.select, false, "the station executes, after the select when there was one");
          if (c.commandType === "setpoint-normalized") assert.ok(Math.abs(Number(ex.value) - 0.25) < 1e-4);
          else assert.equal(ex.value, c.value);
        }
      }
    }
    assert.equal(executed.length, n);
    // The float setpoint feeds back into IOA 7, which comes back spontaneously.
    await until(() => byItem(polled, "p7")?.value === 49.5, 3000, "feedback of the setpoint");
  });

  it("sends refusals to a Catch node naming the cause", async function () {
    await load();
    await until(() => byItem(polled, "p7") !== undefined, 5000, "the link started");
    const cmd = helper.getNode("cmd");
    cmd.receive({ commandType: "single-command", ioa: 110, payload: true });
    await until(() => errors.length === 1, 3000, "refused command");
    assert.match(errors[0], /negative/);
    cmd.receive({ commandType: "single-command", ioa: 4242, payload: true });
    await until(() => errors.length === 2, 3000, "unknown IOA");
    assert.match(errors[1], /information object address \(COT 47\)/);
    cmd.receive({ commandType: "single-command", ioa: 111, payload: true, select: false });
    await until(() => errors.length === 3, 3000, "execute without select");
    assert.match(errors[2], /negative/);
    cmd.receive({ commandType: "setpoint-normalized", ioa: 103, payload: 3 });
    await until(() => errors.length === 4, 3000, "out of range");
    assert.match(errors[3], /outside -1\.\.1/);
    cmd.receive({ commandType: "single-command", ioa: 111, payload: true, select: true });
    await until(() => confirmations.length === 1, 3000, "select then execute accepted");
    assert.equal(executed.length, 1);
  });

  it("reports a station that never confirms a command as a timeout a Catch node sees", async function () {
    this.timeout(20_000);
    // A station that starts data transfer and then stays silent; the master's start-up interrogation
    // (an I-frame) shows the link has started.
    const sockets = new Set<net.Socket>();
    let iFrames = 0;
    const mute = net.createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => undefined);
      socket.on("data", (b: Buffer) => {
        if (b.subarray(0, 6).equals(encodeUFrame("startdt-act"))) socket.write(encodeUFrame("startdt-con"));
        else if (b[0] === 0x68 && (b[2] & 1) === 0) iFrames++;
      });
    });
    await new Promise<void>((resolve) => mute.listen(0, "127.0.0.1", resolve));
    const port = (mute.address() as net.AddressInfo).port;
    try {
      await helper.load(
        [...nodes, catchNode],
        [
          { id: "dev", type: "datacoll-iec104", host: "127.0.0.1", port: String(port) },
          { id: "cmd", type: "datacoll-command", protocol: "iec104", iec104: "dev", ioa: "5", wires: [[]] },
          { id: "c", type: "catch", scope: ["cmd"], wires: [["err"]] },
          { id: "err", type: "helper" },
        ],
      );
      const got: string[] = [];
      helper.getNode("err").on("input", (m: { error: { message: string } }) => got.push(m.error.message));
      await until(() => iFrames === 1, 3000, "data transfer started");
      helper.getNode("cmd").receive({ payload: true });
      await until(() => got.length === 1, 8000, "the failure");
      assert.match(got[0], /timeout: no activation confirmation within 5000 ms/);
    } finally {
      await helper.unload();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => mute.close(() => resolve()));
    }
  });

  it("sends the points of ASDUs that arrive together as one batch, in order", async function () {
    this.timeout(20_000);
    // A station that starts data transfer, then sends spontaneous floats three ASDUs to a write and two
    // to the next: each write is one read of the link for the master.
    const sockets = new Set<net.Socket>();
    let sent = 0;
    const frame = (ioa: number, value: number): Buffer =>
      encodeIFrame(
        sent++,
        0,
        encodeAsdu({
          typeId: TypeId.M_ME_NC_1,
          sequence: false,
          cot: 3,
          negative: false,
          test: false,
          originator: 0,
          commonAddress: 7,
          objects: [{ kind: "float", ioa, value, quality: {} }],
        }),
      );
    let started: net.Socket | undefined;
    const station = net.createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => undefined);
      socket.on("data", (b: Buffer) => {
        if (b.subarray(0, 6).equals(encodeUFrame("startdt-act"))) {
          socket.write(encodeUFrame("startdt-con"));
          started = socket;
        }
      });
    });
    await new Promise<void>((resolve) => station.listen(0, "127.0.0.1", resolve));
    const port = (station.address() as net.AddressInfo).port;
    try {
      await helper.load(
        [...nodes, catchNode],
        [
          { id: "dev", type: "datacoll-iec104", host: "127.0.0.1", port: String(port), commonAddress: "7" },
          {
            id: "poll",
            type: "datacoll-poll",
            protocol: "iec104",
            iec104: "dev",
            termId: "st7",
            iecItems: [
              { item: "a", ioa: "5", type: "M_ME_NC_1" },
              { item: "b", ioa: "7", type: "M_ME_NC_1" },
            ],
            output: "batch",
            wires: [["out"]],
          },
          { id: "out", type: "helper" },
        ],
      );
      const batches: DataPoint[][] = [];
      helper.getNode("out").on("input", (m: { payload: DataPoint[] }) => batches.push(m.payload));
      await until(() => started !== undefined, 5000, "data transfer started");
      started?.write(Buffer.concat([frame(5, 1.5), frame(7, 2.5), frame(5, 3.5)]));
      await until(() => batches.length === 1, 5000, "the first write's points");
      started?.write(Buffer.concat([frame(7, 4.5), frame(5, 5.5)]));
      await until(() => batches.flat().length === 5, 5000, "the second write's points");
      assert.deepEqual(
        batches.map((b) => b.map((p) => [p.itemId, p.value, p.cause])),
        [
          [
            ["a", 1.5, "spontaneous"],
            ["b", 2.5, "spontaneous"],
            ["a", 3.5, "spontaneous"],
          ],
          [
            ["b", 4.5, "spontaneous"],
            ["a", 5.5, "spontaneous"],
          ],
        ],
      );
    } finally {
      await helper.unload();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => station.close(() => resolve()));
    }
  });

  it("answers counter interrogation, read and general interrogation asked by an input message", async function () {
    await load();
    await until(() => byItem(polled, "p7") !== undefined, 5000, "the link started");
    const poll = helper.getNode("poll");
    poll.receive({ tag: "ci", request: "counter" });
    await until(() => called.length === 1, 3000, "counter interrogation");
    assert.equal(called[0].payload.length, 1);
    assert.equal(called[0].payload[0].itemId, "p8");
    assert.equal(called[0].payload[0].value, 99999);
    assert.equal(called[0].payload[0].cause, "interrogation");
    poll.receive({ tag: "read", ioa: 6 });
    await until(() => called.length === 2, 3000, "read");
    assert.deepEqual(
      called[1].payload.map((p) => [p.itemId, p.value, p.cause]),
      [["p6", 1234, "call"]],
    );
    poll.receive({ tag: "gi" });
    await until(() => called.length === 3, 3000, "interrogation");
    assert.equal(called[2].payload.length, 7);
    poll.receive({ tag: "bad", ioa: 999 });
    await until(() => errors.length === 1, 3000, "read of an unknown IOA");
    assert.match(errors[0], /COT 47/);
  });
});

describe("datacoll-iec104 window settings", function () {
  useNodeRed();

  it("reads k and w from windowK/windowW (the editor's names) and from k/w of older flows", async function () {
    await helper.load(nodes, [
      { id: "a", type: "datacoll-iec104", host: "127.0.0.1", port: "2404", windowK: "20", windowW: "10" },
      { id: "b", type: "datacoll-iec104", host: "127.0.0.1", port: "2405", k: "6", w: "4" },
    ]);
    const link = (id: string): unknown =>
      (helper.getNode(id) as unknown as { settings: { master: { link: unknown } } }).settings.master.link;
    assert.deepEqual(
      [link("a"), link("b")].map((l) => [(l as { k: number }).k, (l as { w: number }).w]),
      [
        [20, 10],
        [6, 4],
      ],
    );
  });
});

describe("datacoll-poll on an IEC 104 station it cannot reach", function () {
  useNodeRed();

  /** A device on `port` of loopback and a poll node of IOA 1 there, one message per point to "out". */
  const pollOn = (port: number): Record<string, unknown>[] => [
    { id: "dev", type: "datacoll-iec104", host: "127.0.0.1", port: String(port), commonAddress: "1" },
    {
      id: "poll",
      type: "datacoll-poll",
      protocol: "iec104",
      iec104: "dev",
      termId: "t1",
      iecItems: [{ item: "v", ioa: "1" }],
      output: "point",
      wires: [["out"]],
    },
    { id: "out", type: "helper" },
  ];

  it("marks the station's last values not topical when the link is lost, saying why", async function () {
    const port = await freePort();
    const sim = new Iec104Simulator({
      commonAddress: 1,
      points: parseSimPoints([{ ioa: 1, type: "M_ME_NC_1", value: 12.5 }]),
      commands: [],
      clock: systemClock,
    });
    await sim.listen(port);
    await helper.load(nodes, pollOn(port));
    const points: DataPoint[] = [];
    helper.getNode("out").on("input", (m: { point: DataPoint }) => points.push(m.point));
    await until(() => points.some((p) => p.value === 12.5 && !p.quality.notTopical), 10_000, "the value");
    await sim.close();
    await until(() => points.some((p) => p.quality.notTopical === true), 10_000, "a not topical point");
    const lost = points.find((p) => p.quality.notTopical === true);
    assert.equal(lost?.value, 12.5, "the last value is kept");
    assert.match(lost?.error ?? "", /^link to the station lost: /);
  });

  it("says why in its status: the refused connection, not a bare 'reconnecting'", async function () {
    await helper.load(nodes, pollOn(await freePort()));
    await untilStatus(
      statusesOf("poll"),
      (s) => s.fill === "red" && /^reconnecting: .*ECONNREFUSED/.test(String(s.text)),
      "a red status naming the refusal",
    );
  });
});
