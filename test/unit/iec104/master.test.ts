/**
 * The master against scripted station frames: what it sends is compared byte for byte with the frames
 * captured from a reference implementation (docs/protocols/iec104.md §6); the station's side typed by hand.
 */
import assert from "node:assert/strict";
import {
  encodeAsdu,
  encodeIFrame,
  encodeSFrame,
  encodeUFrame,
  GOOD,
  TypeId,
  type Asdu,
  type InformationObject,
} from "../../../src/protocols/iec104/codec";
import {
  MasterSession,
  type MasterEvent,
  type MasterOptions,
} from "../../../src/protocols/iec104/session/master";
import { sampleCause, samplesOf } from "../../../src/core/iec104/samples";
import { FakeClock, h, sentFrames } from "./helpers";

/** A station replying by hand: numbers its I-frames and acknowledges every I-frame the master sent. */
class ScriptedStation {
  private ns = 0;
  constructor(private readonly m: MasterSession) {}
  frame(asdu: Asdu): Buffer {
    return this.raw(encodeAsdu(asdu));
  }
  raw(asdu: Buffer): Buffer {
    return encodeIFrame(this.ns++, this.m.link.sendSequence, asdu);
  }
  ack(): Buffer {
    return encodeSFrame(this.m.link.sendSequence);
  }
}

const hex = (spaced: string): string => spaced.replace(/\s+/g, "");

function asduBytes(events: MasterEvent[]): string[] {
  return sentFrames(events).flatMap((a) => (a.format === "I" ? [a.asdu.toString("hex")] : []));
}

function results(events: MasterEvent[]): string[] {
  return events.flatMap((e) =>
    e.type === "result" ? [`${e.id} ${e.outcome}${e.final ? " final" : ""}`] : [],
  );
}

function started(
  clock: FakeClock,
  options: Partial<MasterOptions> = {},
): { m: MasterSession; st: ScriptedStation } {
  const m = new MasterSession(
    { commonAddress: 1, originator: 3, interrogateOnStart: false, ...options },
    clock,
  );
  m.start();
  m.receive(encodeUFrame("startdt-con"));
  return { m, st: new ScriptedStation(m) };
}

const mirror = (typeId: number, cot: number, obj: InformationObject, negative = false): Asdu => ({
  typeId,
  sequence: false,
  cot,
  negative,
  test: false,
  originator: 3,
  commonAddress: 1,
  objects: [obj],
});

describe("iec104 master: general interrogation", function () {
  it("interrogates on start with the captured C_IC_NA_1 frame", function () {
    const clock = new FakeClock();
    const m = new MasterSession({ commonAddress: 1, originator: 3 }, clock);
    assert.deepEqual(
      sentFrames(m.start()).map((a) => a.format),
      ["U"],
    );
    const evs = m.receive(encodeUFrame("startdt-con"));
    assert.deepEqual(sentFrames(evs)[0], {
      format: "I",
      sendSeq: 0,
      recvSeq: 0,
      asdu: h("64 01 06 03 01 00 00 00 00 14"),
    });
  });

  it("reports confirmation, data and termination", function () {
    const clock = new FakeClock();
    const { m, st } = started(clock);
    const { id } = m.request({ kind: "interrogation" });
    const gi = { kind: "interrogation", ioa: 0, qoi: 20 } as const;
    assert.deepEqual(results(m.receive(st.frame(mirror(TypeId.C_IC_NA_1, 7, gi)))), [`${id} confirmed`]);
    const data = m.receive(
      // The captured GI answer (docs/protocols/iec104.md §6), renumbered into this exchange.
      st.raw(h("0b 03 14 03 01 00 64 00 00 ff ff 00 65 00 00 17 00 00 66 00 00 fc 08 00")),
    );
    const d = data.find((e) => e.type === "data");
    assert.ok(d?.type === "data");
    assert.deepEqual(
      samplesOf(d.asdu, clock.t).map((s) => [s.ioa, s.value, s.cause]),
      [
        [100, -1, "interrogation"],
        [101, 23, "interrogation"],
        [102, 2300, "interrogation"],
      ],
    );
    assert.deepEqual(results(m.receive(st.frame(mirror(TypeId.C_IC_NA_1, 10, gi)))), [
      `${id} terminated final`,
    ]);
  });

  it("times out without confirmation, then without termination", function () {
    const clock = new FakeClock();
    const { m, st } = started(clock);
    m.request({ kind: "interrogation" });
    clock.advance(5_000);
    assert.deepEqual(results(m.tick()), ["1 timeout final"]);

    const { id } = m.request({ kind: "interrogation" });
    m.receive(st.frame(mirror(TypeId.C_IC_NA_1, 7, { kind: "interrogation", ioa: 0, qoi: 20 })));
    clock.advance(29_999);
    assert.deepEqual(results(m.tick()), []);
    clock.advance(1);
    const timeout = m.tick().find((e) => e.type === "result");
    assert.deepEqual(timeout?.type === "result" && [timeout.id, timeout.outcome, timeout.detail], [
      id,
      "timeout",
      "no activation termination within 30000 ms",
    ]);
  });

  it("repeats the interrogation on schedule and skips a turn while one runs", function () {
    const clock = new FakeClock();
    const { m, st } = started(clock, { interrogationIntervalMs: 60_000, actTermTimeoutMs: 120_000 });
    assert.equal(m.nextDeadline(), clock.t + 20_000, "t3 comes first");
    clock.advance(60_000);
    m.receive(encodeUFrame("testfr-con"));
    assert.deepEqual(asduBytes(m.tick()), [hex("64 01 06 03 01 00 00 00 00 14")]);
    m.receive(st.ack());
    clock.advance(60_000);
    // The first interrogation timed out at +5 s of its own; now a fresh one goes out.
    const evs = m.tick();
    assert.deepEqual(results(evs), ["1 timeout final"]);
    assert.equal(asduBytes(evs).length, 1);
  });
});

describe("iec104 master: requests", function () {
  it("selects, then executes, a single command with the captured frames", function () {
    const clock = new FakeClock();
    const { m, st } = started(clock);
    const cmd = { kind: "single-command", ioa: 5000, value: true, qualifier: 0, select: false } as const;
    const r = m.request({ kind: "command", command: cmd, selectBeforeOperate: true });
    assert.deepEqual(asduBytes(r.events), [hex("2d 01 06 03 01 00 88 13 00 81")]);
    const sel = m.receive(st.frame(mirror(TypeId.C_SC_NA_1, 7, { ...cmd, select: true })));
    assert.deepEqual(results(sel), [`${r.id} selected`]);
    assert.deepEqual(asduBytes(sel), [hex("2d 01 06 03 01 00 88 13 00 01")]);
    assert.deepEqual(results(m.receive(st.frame(mirror(TypeId.C_SC_NA_1, 7, cmd)))), [`${r.id} confirmed`]);
    clock.advance(30_000);
    const done = m.tick().find((e) => e.type === "result");
    assert.ok(done?.type === "result");
    assert.deepEqual([done.outcome, done.final], ["complete", true]);
    assert.match(done.detail, /no activation termination/);
  });

  it("reports a negative confirmation with the station's reason", function () {
    const clock = new FakeClock();
    const { m, st } = started(clock);
    const cmd = { kind: "double-command", ioa: 6000, value: 2, qualifier: 0, select: false } as const;
    const r = m.request({ kind: "command", command: cmd });
    const neg = m.receive(st.frame(mirror(TypeId.C_DC_NA_1, 44, cmd, true))).find((e) => e.type === "result");
    assert.ok(neg?.type === "result");
    assert.deepEqual([neg.id, neg.outcome, neg.final], [r.id, "negative", true]);
    assert.match(neg.detail, /does not know this type \(COT 44\)/);
  });

  it("sends setpoints, counter interrogation, read and clock sync as captured", function () {
    const clock = new FakeClock(Date.parse("2026-11-21T12:58:58.341Z"));
    const { m } = started(clock);
    const sp = { kind: "setpoint-float", ioa: 7000, value: 12.5, qualifier: 0, select: false } as const;
    assert.deepEqual(asduBytes(m.request({ kind: "command", command: sp }).events), [
      hex("32 01 06 03 01 00 58 1b 00 00 00 48 41 00"),
    ]);
    assert.deepEqual(asduBytes(m.request({ kind: "counter-interrogation" }).events), [
      hex("65 01 06 03 01 00 00 00 00 05"),
    ]);
    assert.deepEqual(asduBytes(m.request({ kind: "read", ioa: 110 }).events), [
      hex("66 01 05 03 01 00 6e 00 00"),
    ]);
    assert.deepEqual(asduBytes(m.request({ kind: "clock-sync" }).events), [
      hex("67 01 06 03 01 00 00 00 00 e5 e3 3a 0c 15 0b 1a"),
    ]);
  });

  it("completes a read when the object arrives with cause request", function () {
    const clock = new FakeClock();
    const { m, st } = started(clock);
    const r = m.request({ kind: "read", ioa: 110 });
    const reply = m.receive(
      st.frame({ ...mirror(TypeId.M_ME_NB_1, 5, { kind: "scaled", ioa: 110, value: 42, quality: GOOD }) }),
    );
    assert.deepEqual(
      reply.map((e) => e.type),
      ["data", "result"],
    );
    assert.deepEqual(results(reply), [`${r.id} confirmed final`]);
  });

  it("rejects a duplicate, a request while stopped and an impossible value without sending", function () {
    const clock = new FakeClock();
    const { m } = started(clock);
    m.request({ kind: "interrogation" });
    const dup = m.request({ kind: "interrogation" });
    assert.deepEqual(results(dup.events), [`${dup.id} rejected final`]);
    assert.deepEqual(asduBytes(dup.events), []);
    const bad = m.request({
      kind: "command",
      command: { kind: "setpoint-scaled", ioa: 1, value: 40_000, qualifier: 0, select: false },
    });
    const e = bad.events[0];
    assert.ok(e.type === "result" && e.outcome === "rejected");
    assert.match(e.detail, /40000 is outside -32768..32767/);

    // Checked before sending for every kind of request, not only commands.
    const qoi = m.request({ kind: "interrogation", qoi: 300, commonAddress: 2 });
    assert.deepEqual(results(qoi.events), [`${qoi.id} rejected final`]);
    const y1999 = m.request({ kind: "clock-sync", time: Date.parse("1999-06-01T00:00:00Z") });
    assert.match(y1999.events[0].type === "result" ? y1999.events[0].detail : "", /2000..2099/);

    const idle = new MasterSession({ commonAddress: 1 }, clock);
    const r = idle.request({ kind: "read", ioa: 1 });
    assert.ok(r.events[0].type === "result");
    assert.match(r.events[0].type === "result" ? r.events[0].detail : "", /data transfer is stopped/);
  });

  it("cancels what is in progress when the link closes", function () {
    const clock = new FakeClock();
    const { m } = started(clock);
    m.request({ kind: "interrogation" });
    m.request({ kind: "read", ioa: 9 });
    const evs = m.close("socket closed");
    assert.deepEqual(results(evs), ["1 cancelled final", "2 cancelled final"]);
    assert.equal(m.nextDeadline(), undefined);
  });

  it("warns about what it cannot use and keeps the link", function () {
    const clock = new FakeClock();
    const { m } = started(clock);
    const evs = m.receive(
      Buffer.concat([
        encodeIFrame(0, 0, h("7f 01 03 00 01 00 01 00 00 00")),
        encodeIFrame(1, 0, h("0b 02 03 00 01 00 01 00 00 00 00 00")),
        encodeIFrame(2, 0, h("64 01 0a 00 01 00 00 00 00 14")),
      ]),
    );
    assert.deepEqual(
      evs.flatMap((e) => (e.type === "warning" ? [e.message] : [])),
      [
        "ASDU of unsupported type 127 ignored",
        "malformed ASDU ignored: M_ME_NB_1 with 2 object(s) needs 12 octets of objects, got 6",
        "C_IC_NA_1 CA 1 IOA 0 with cause 10 matches no request in progress",
      ],
    );
    assert.equal(m.state, "started");
  });
});

describe("iec104 master: end of initialisation", function () {
  it("interrogates again when the station reports it restarted, unless one is running", function () {
    const clock = new FakeClock();
    const { m, st } = started(clock, { interrogateOnStart: true });
    const eoi = mirror(TypeId.M_EI_NA_1, 4, {
      kind: "end-of-init",
      ioa: 0,
      cause: 1,
      afterParameterChange: false,
    });
    // The start-up interrogation is still running: no second one.
    const first = m.receive(st.frame(eoi));
    assert.deepEqual(
      first.map((e) => e.type),
      ["initialized"],
    );
    const gi = { kind: "interrogation", ioa: 0, qoi: 20 } as const;
    m.receive(st.frame(mirror(TypeId.C_IC_NA_1, 7, gi)));
    m.receive(st.frame(mirror(TypeId.C_IC_NA_1, 10, gi)));
    const again = m.receive(st.frame(eoi));
    assert.deepEqual(asduBytes(again), [hex("64 01 06 03 01 00 00 00 00 14")]);
  });
});

describe("iec104 master: samples", function () {
  it("uses the station's valid time tag, else the time of receipt", function () {
    const t = Date.parse("2026-11-21T12:57:36.700Z");
    const asdu: Asdu = {
      typeId: TypeId.M_SP_TB_1,
      sequence: false,
      cot: 3,
      negative: false,
      test: false,
      originator: 0,
      commonAddress: 1,
      objects: [
        {
          kind: "single",
          ioa: 1,
          value: true,
          quality: GOOD,
          time: { epochMs: t, invalid: false, substituted: false, summerTime: false, dayOfWeek: 0 },
        },
        {
          kind: "single",
          ioa: 2,
          value: false,
          quality: { invalid: true },
          time: { epochMs: t, invalid: true, substituted: false, summerTime: false, dayOfWeek: 0 },
        },
      ],
    };
    assert.deepEqual(samplesOf(asdu, 99), [
      { ioa: 1, value: true, quality: GOOD, ts: t, timeInvalid: false, cause: "spontaneous", test: false },
      {
        ioa: 2,
        value: false,
        quality: { invalid: true },
        ts: 99,
        timeInvalid: true,
        cause: "spontaneous",
        test: false,
      },
    ]);
    assert.deepEqual(
      samplesOf({ ...asdu, test: true }, 99).map((s) => s.test),
      [true, true],
    );
  });

  it("maps causes of transmission to the DataPoint's causes", function () {
    assert.deepEqual([1, 2, 3, 5, 11, 20, 36, 37, 41].map(sampleCause), [
      "periodic",
      "poll",
      "spontaneous",
      "call",
      "control",
      "interrogation",
      "interrogation",
      "interrogation",
      "interrogation",
    ]);
  });
});
