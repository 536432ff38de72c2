/**
 * Our master against our outstation in one process (see harness.ts). Exercises the outstation's answers and the
 * master's procedures together, including flow control through the k window.
 */
import assert from "node:assert/strict";
import {
  cp56,
  encodeAsdu,
  encodeIFrame,
  GOOD,
  TypeId,
  type Asdu,
  type MonitorObject,
} from "../../../src/protocols/iec104/codec";
import { commandKindOf, type OutstationOptions } from "../../../src/protocols/iec104/session";
import { samplesOf } from "../../../src/core/iec104/samples";
import { h } from "./helpers";
import { Loopback } from "./harness";

const sp = (ioa: number, value: boolean): MonitorObject => ({ kind: "single", ioa, value, quality: GOOD });
const fl = (ioa: number, value: number): MonitorObject => ({ kind: "float", ioa, value, quality: GOOD });

describe("iec104 loopback: interrogation and data", function () {
  it("answers the start-up interrogation with every point, without time tags, byte by byte", function () {
    const lb = new Loopback({ interrogateOnStart: true }, {}, true);
    lb.station.definePoint(sp(1, true));
    lb.station.definePoint(fl(100, 12.5));
    lb.station.definePoint(fl(101, -3));
    lb.station.definePoint({ kind: "double", ioa: 2, value: 2, quality: { invalid: true } });
    // Counters answer counter interrogation, not the general one.
    lb.station.definePoint({
      kind: "totals",
      ioa: 300,
      value: 1,
      sequence: 0,
      carry: false,
      adjusted: false,
      quality: GOOD,
    });
    lb.start();
    assert.deepEqual(lb.outcomes(1), ["confirmed", "terminated"]);
    const data = lb.data();
    assert.deepEqual(
      data.map((a) => [a.typeId, a.cot, a.objects.length]),
      [
        [TypeId.M_SP_NA_1, 20, 1],
        [TypeId.M_DP_NA_1, 20, 1],
        [TypeId.M_ME_NC_1, 20, 2],
      ],
    );
    assert.deepEqual(
      data.flatMap((a) => samplesOf(a, 0).map((s) => [s.ioa, s.value, s.quality])),
      [
        [1, true, GOOD],
        [2, 2, { invalid: true }],
        [100, 12.5, GOOD],
        [101, -3, GOOD],
      ],
    );
  });

  it("answers a group interrogation with the group's points only, and refuses a bad QOI", function () {
    const lb = new Loopback();
    lb.station.definePoint(sp(1, true), { groups: [1] });
    lb.station.definePoint(sp(2, false), { groups: [2] });
    lb.start();
    const id = lb.request({ kind: "interrogation", qoi: 21 });
    assert.deepEqual(lb.outcomes(id), ["confirmed", "terminated"]);
    assert.deepEqual(
      lb.data().map((a) => [a.cot, a.objects.map((o) => o.ioa)]),
      [[21, [1]]],
    );
    const bad = lb.request({ kind: "interrogation", qoi: 50 });
    assert.deepEqual(lb.outcomes(bad), ["negative"]);
  });

  it("moves a thousand points through a k window of 12 without losing one", function () {
    const lb = new Loopback({ link: { k: 12, w: 8 } }, { link: { k: 12, w: 8 } });
    for (let i = 0; i < 1000; i++) lb.station.definePoint(fl(1000 + i, i / 4));
    lb.start();
    const id = lb.request({ kind: "interrogation" });
    assert.deepEqual(lb.outcomes(id), ["confirmed", "terminated"]);
    const ioas = lb.data().flatMap((a) => a.objects.map((o) => o.ioa));
    assert.equal(ioas.length, 1000);
    assert.deepEqual(
      ioas,
      [...ioas].sort((a, b) => a - b),
    );
    assert.equal(lb.station.link.queued, 0);
  });

  it("sends spontaneous changes with the station's time, queued while data transfer is stopped", function () {
    const lb = new Loopback();
    lb.station.definePoint(fl(100, 0));
    lb.fromStation(lb.station.update(fl(100, 1)));
    assert.equal(lb.data().length, 0, "nothing flows before STARTDT");
    lb.start();
    const [a] = lb.data();
    assert.deepEqual([a.typeId, a.cot], [TypeId.M_ME_TF_1, 3]);
    assert.deepEqual(samplesOf(a, 0)[0].ts, lb.clock.t);
    lb.fromStation(lb.station.update(fl(100, 2), { timed: false }));
    assert.equal(lb.data()[1].typeId, TypeId.M_ME_NC_1);
    assert.throws(() => lb.station.update(sp(100, true)), /float point, not single/);
    assert.throws(() => lb.station.update(fl(7, 1)), /IOA 7 is not a point/);
  });

  it("keeps at most maxBufferedChanges while stopped, but the point table stays current", function () {
    const lb = new Loopback({}, { maxBufferedChanges: 3 });
    lb.station.definePoint(fl(100, 0));
    for (let v = 1; v <= 5; v++) lb.fromStation(lb.station.update(fl(100, v)));
    assert.equal(lb.station.link.queued, 3);
    assert.equal(lb.stationEvents.filter((e) => e.type === "warning").length, 2);
    assert.deepEqual(lb.station.point(100), fl(100, 5));
    lb.start();
    assert.deepEqual(
      lb.data().map((a) => samplesOf(a, 0)[0].value),
      [1, 2, 3],
    );
  });

  it("reads one point, and refuses an unknown IOA with COT 47", function () {
    const lb = new Loopback();
    lb.station.definePoint({ kind: "scaled", ioa: 110, value: 42, quality: GOOD });
    lb.start();
    const ok = lb.request({ kind: "read", ioa: 110 });
    assert.deepEqual(lb.outcomes(ok), ["confirmed"]);
    assert.equal(samplesOf(lb.data()[0], 0)[0].cause, "call");
    const missing = lb.request({ kind: "read", ioa: 111 });
    assert.deepEqual(lb.outcomes(missing), ["negative"]);
    assert.match(lb.detail(missing), /COT 47/);
  });

  it("answers counter interrogation with the counters, and resets them on request", function () {
    const lb = new Loopback();
    const counter: MonitorObject = {
      kind: "totals",
      ioa: 300,
      value: 1234,
      sequence: 3,
      carry: false,
      adjusted: false,
      quality: GOOD,
    };
    lb.station.definePoint(counter);
    lb.station.definePoint(sp(1, true));
    lb.start();
    const id = lb.request({ kind: "counter-interrogation" });
    assert.deepEqual(lb.outcomes(id), ["confirmed", "terminated"]);
    assert.deepEqual(
      lb.data().map((a) => [a.typeId, a.cot, a.objects]),
      [[TypeId.M_IT_NA_1, 37, [counter]]],
    );
    // A group request reads only that group's counters, with the group's cause (38 = group 1).
    lb.station.definePoint({ ...counter, ioa: 301 }, { groups: [2] });
    const g2 = lb.request({ kind: "counter-interrogation", request: 2 });
    assert.deepEqual(lb.outcomes(g2), ["confirmed", "terminated"]);
    assert.deepEqual(
      lb
        .data()
        .slice(1)
        .map((a) => [a.cot, a.objects.map((o) => o.ioa)]),
      [[39, [301]]],
    );
    const reset = lb.request({ kind: "counter-interrogation", freeze: 2 });
    assert.deepEqual(lb.outcomes(reset), ["confirmed", "terminated"]);
    assert.deepEqual(lb.station.point(300), { ...counter, value: 0, sequence: 4 });
  });

  it("refuses a request to another common address with COT 46", function () {
    const lb = new Loopback();
    lb.start();
    const id = lb.request({ kind: "interrogation", commonAddress: 2 });
    assert.deepEqual(lb.outcomes(id), ["negative"]);
    assert.match(lb.detail(id), /common address \(COT 46\)/);
    // The global address 65535 reaches every station for interrogation.
    const all = lb.request({ kind: "interrogation", commonAddress: 0xffff });
    assert.deepEqual(lb.outcomes(all), ["confirmed", "terminated"]);
  });

  it("mirrors an unknown type back with COT 44 and P/N", function () {
    const lb = new Loopback();
    lb.start();
    const events = lb.station.receive(encodeIFrame(0, 0, h("7f 01 06 00 01 00 00 00 00 00")));
    const reply = events.find((e) => e.type === "send");
    assert.ok(reply?.type === "send");
    assert.equal(reply.bytes.subarray(6, 9).toString("hex"), "7f016c");
  });

  it("synchronises the station's clock", function () {
    const lb = new Loopback();
    lb.start();
    const target = lb.clock.t + 3_600_000;
    const id = lb.request({ kind: "clock-sync", time: target });
    assert.deepEqual(lb.outcomes(id), ["confirmed"]);
    assert.equal(lb.station.stationTime(), target);
    assert.deepEqual(
      lb.stationEvents.filter((e) => e.type === "clock-sync"),
      [{ type: "clock-sync", time: target }],
    );
  });

  it("sends end of initialisation at the first start when asked to", function () {
    const lb = new Loopback({}, { endOfInitialization: true });
    lb.start();
    assert.deepEqual(
      lb.masterEvents
        .filter((e) => e.type === "initialized")
        .map((e) => (e.type === "initialized" ? e.asdu.cot : 0)),
      [4],
    );
  });
});

describe("iec104 loopback: commands", function () {
  function withBreaker(stationOptions: Partial<OutstationOptions> = {}): Loopback {
    const lb = new Loopback({}, stationOptions);
    lb.station.defineCommand({ ioa: 5000, kind: "single-command", selectRequired: true });
    lb.station.defineCommand({ ioa: 6000, kind: "setpoint-float" });
    lb.start();
    return lb;
  }
  const on = { kind: "single-command", ioa: 5000, value: true, qualifier: 0, select: false } as const;

  it("selects and executes, and the station executes once", function () {
    const lb = withBreaker();
    const id = lb.request({ kind: "command", command: on, selectBeforeOperate: true });
    assert.deepEqual(lb.outcomes(id), ["selected", "confirmed", "terminated"]);
    const executed = lb.stationEvents.filter((e) => e.type === "command");
    assert.equal(executed.length, 1);
    assert.deepEqual(executed[0].type === "command" && executed[0].command, on);
  });

  it("refuses a direct execute where select is required", function () {
    const lb = withBreaker();
    const id = lb.request({ kind: "command", command: on });
    assert.deepEqual(lb.outcomes(id), ["negative"]);
    assert.ok(lb.stationEvents.some((e) => e.type === "warning" && /not selected/.test(e.message)));
    assert.equal(lb.stationEvents.filter((e) => e.type === "command").length, 0);
  });

  it("refuses an execute after the select timed out", function () {
    const lb = withBreaker({ selectTimeoutMs: 2_000 });
    const sel: Asdu = {
      typeId: TypeId.C_SC_NA_1,
      sequence: false,
      cot: 6,
      negative: false,
      test: false,
      originator: 0,
      commonAddress: 1,
      objects: [{ ...on, select: true }],
    };
    lb.fromStation(lb.station.receive(encodeIFrame(0, 0, encodeAsdu(sel))));
    lb.clock.advance(2_001);
    const events = lb.station.receive(encodeIFrame(1, 0, encodeAsdu({ ...sel, objects: [on] })));
    assert.ok(events.some((e) => e.type === "warning" && /select timed out/.test(e.message)));
    assert.equal(events.filter((e) => e.type === "command").length, 0);
  });

  it("sends a time-tagged setpoint directly, and refuses one that is too old", function () {
    const lb = withBreaker({ maxCommandAgeMs: 10_000 });
    const setpoint = { kind: "setpoint-float", ioa: 6000, value: 50.5, qualifier: 0, select: false } as const;
    const id = lb.request({ kind: "command", command: setpoint, withTime: true });
    assert.deepEqual(lb.outcomes(id), ["confirmed", "terminated"]);
    const executed = lb.stationEvents.find((e) => e.type === "command");
    assert.equal(executed?.type === "command" && executed.asdu.typeId, TypeId.C_SE_TC_1);

    // The station's clock runs an hour ahead of the master's time tags.
    lb.request({ kind: "clock-sync", time: lb.clock.t + 3_600_000 });
    const late = lb.request({ kind: "command", command: setpoint, withTime: true });
    assert.deepEqual(lb.outcomes(late), ["negative"]);
    assert.ok(lb.stationEvents.some((e) => e.type === "warning" && /older than 10000 ms/.test(e.message)));
    // A time tag marked invalid cannot prove its age either.
    const invalid: Asdu = {
      typeId: TypeId.C_SE_TC_1,
      sequence: false,
      cot: 6,
      negative: false,
      test: false,
      originator: 0,
      commonAddress: 1,
      objects: [{ ...setpoint, time: { ...cp56(lb.station.stationTime()), invalid: true } }],
    };
    const evs = lb.station.receive(
      encodeIFrame(lb.master.link.sendSequence, lb.station.link.sendSequence, encodeAsdu(invalid)),
    );
    assert.ok(evs.some((e) => e.type === "warning" && /time tag is invalid/.test(e.message)));
  });

  it("refuses an unknown IOA with COT 47 and lets the station veto an execute", function () {
    const lb = withBreaker({
      onCommand: (c) => (c.kind === "setpoint-float" && c.value > 100 ? "above the limit of 100" : true),
    });
    const unknown = lb.request({
      kind: "command",
      command: { kind: "double-command", ioa: 7777, value: 2, qualifier: 0, select: false },
    });
    assert.match(lb.detail(unknown), /information object address \(COT 47\)/);
    const vetoed = lb.request({
      kind: "command",
      command: { kind: "setpoint-float", ioa: 6000, value: 150, qualifier: 0, select: false },
    });
    assert.deepEqual(lb.outcomes(vetoed), ["negative"]);
    assert.ok(lb.stationEvents.some((e) => e.type === "warning" && /above the limit of 100/.test(e.message)));
  });

  it("names the command kind of a type id for configuration", function () {
    assert.equal(commandKindOf(TypeId.C_SC_TA_1), "single-command");
    assert.equal(commandKindOf(TypeId.C_SE_NB_1), "setpoint-scaled");
    assert.equal(commandKindOf(TypeId.M_SP_NA_1), undefined);
  });
});

describe("iec104 loopback: link supervision", function () {
  it("keeps an idle link alive with test frames for hours", function () {
    const lb = new Loopback();
    lb.start();
    for (let i = 0; i < 3 * 3600; i++) lb.advance(1_000);
    assert.equal(lb.master.state, "started");
    assert.equal(lb.station.state, "started");
  });

  it("runs the scheduled clock sync and counter interrogation", function () {
    const lb = new Loopback({
      clockSyncIntervalMs: 60_000,
      counterInterrogationIntervalMs: 30_000,
      clockSyncOnStart: true,
    });
    lb.start();
    for (let i = 0; i < 60; i++) lb.advance(1_000);
    const kinds = lb.masterEvents.flatMap((e) =>
      e.type === "result" && e.final ? [`${e.request} ${e.outcome}`] : [],
    );
    assert.deepEqual(kinds, [
      "clock-sync confirmed",
      "counter-interrogation terminated",
      "counter-interrogation terminated",
      "clock-sync confirmed",
    ]);
  });
});
