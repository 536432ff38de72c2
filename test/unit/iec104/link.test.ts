/** The APCI link session with a fake clock: start/stop, k and w windows, t1/t2/t3, and the wrap at 32768. */
import assert from "node:assert/strict";
import { encodeIFrame, encodeSFrame, encodeUFrame } from "../../../src/protocols/iec104/codec";
import { LinkSession, type LinkEvent } from "../../../src/protocols/iec104/session/link";
import { checkMasterOptions, MasterSession } from "../../../src/protocols/iec104/session/master";
import { checkOutstationOptions, OutstationSession } from "../../../src/protocols/iec104/session/outstation";
import { checkLinkParameters, DEFAULT_LINK_PARAMETERS } from "../../../src/protocols/iec104/session/params";
import { seqDistance, seqNext } from "../../../src/protocols/iec104/session/seq";
import { FakeClock, h, sent } from "./helpers";

const ASDU = h("64 01 06 03 01 00 00 00 00 14");

function closeReason(events: LinkEvent[]): string | undefined {
  const c = events.find((e) => e.type === "close");
  return c?.type === "close" ? c.reason : undefined;
}

function received(events: LinkEvent[]): Buffer[] {
  return events.flatMap((e) => (e.type === "asdu" ? [e.asdu] : []));
}

function startedMaster(clock: FakeClock, params = {}): LinkSession {
  const m = new LinkSession("controlling", clock, params);
  m.start();
  m.receive(encodeUFrame("startdt-con"));
  assert.equal(m.state, "started");
  return m;
}

function startedOutstation(clock: FakeClock, params = {}): LinkSession {
  const o = new LinkSession("controlled", clock, params);
  o.receive(encodeUFrame("startdt-act"));
  assert.equal(o.state, "started");
  return o;
}

describe("iec104 link: start and stop", function () {
  it("controlling station sends STARTDT act and holds data until STARTDT con", function () {
    const clock = new FakeClock();
    const m = new LinkSession("controlling", clock);
    assert.deepEqual(m.send(ASDU), []);
    assert.equal(m.queued, 1);
    const start = m.start();
    assert.deepEqual(sent(start), ["U startdt-act"]);
    assert.deepEqual(start.at(-1), { type: "state", state: "starting" });
    const con = m.receive(encodeUFrame("startdt-con"));
    assert.deepEqual(sent(con), ["I 0/0"]);
    assert.deepEqual(con[0], { type: "state", state: "started" });
    assert.equal(m.queued, 0);
  });

  it("closes when STARTDT con does not come within t1", function () {
    const clock = new FakeClock();
    const m = new LinkSession("controlling", clock);
    m.start();
    assert.equal(m.nextDeadline(), clock.t + 15_000);
    clock.advance(14_999);
    assert.deepEqual(m.tick(), []);
    clock.advance(1);
    assert.equal(closeReason(m.tick()), "no STARTDT CON within t1 (15000 ms)");
    assert.equal(m.state, "closed");
    assert.equal(m.nextDeadline(), undefined);
  });

  it("controlled station confirms STARTDT and closes on an I-frame before it", function () {
    const clock = new FakeClock();
    const o = new LinkSession("controlled", clock);
    assert.match(
      closeReason(o.receive(encodeIFrame(0, 0, ASDU))) ?? "",
      /I-frame received while data transfer is stopped/,
    );

    const o2 = new LinkSession("controlled", clock);
    assert.deepEqual(sent(o2.receive(encodeUFrame("startdt-act"))), ["U startdt-con"]);
    assert.equal(o2.state, "started");
  });

  it("controlled station confirms STOPDT only after its I-frames are acknowledged", function () {
    const clock = new FakeClock();
    const o = startedOutstation(clock);
    o.receive(encodeIFrame(0, 0, ASDU));
    assert.deepEqual(sent(o.send(ASDU)), ["I 0/1"]);
    o.receive(encodeIFrame(1, 0, ASDU));
    const stop = o.receive(encodeUFrame("stopdt-act"));
    // The received I-frame is acknowledged at once; the con waits for the peer's ack of ours.
    assert.deepEqual(sent(stop), ["S 2"]);
    assert.equal(o.state, "stopping");
    const ack = o.receive(encodeSFrame(1));
    assert.deepEqual(sent(ack), ["U stopdt-con"]);
    assert.equal(o.state, "stopped");
    // Data handed over while stopped waits for the next STARTDT.
    assert.deepEqual(sent(o.send(ASDU)), []);
    assert.deepEqual(sent(o.receive(encodeUFrame("startdt-act"))), ["U startdt-con", "I 1/2"]);
  });

  it("controlling station stops with STOPDT act and reaches stopped on the con", function () {
    const clock = new FakeClock();
    const m = startedMaster(clock);
    m.receive(encodeIFrame(0, 0, ASDU));
    assert.deepEqual(sent(m.stop()), ["S 1", "U stopdt-act"]);
    assert.equal(m.state, "stopping");
    // The outstation may still deliver what it had sent before seeing STOPDT.
    assert.equal(received(m.receive(encodeIFrame(1, 0, ASDU))).length, 1);
    m.receive(encodeUFrame("stopdt-con"));
    assert.equal(m.state, "stopped");
  });

  it("closes on a U-format frame the role does not expect", function () {
    const clock = new FakeClock();
    assert.match(
      closeReason(new LinkSession("controlling", clock).receive(encodeUFrame("startdt-act"))) ?? "",
      /unexpected STARTDT ACT for the controlling station/,
    );
    assert.match(
      closeReason(new LinkSession("controlled", clock).receive(encodeUFrame("startdt-con"))) ?? "",
      /unexpected STARTDT CON/,
    );
  });

  it("answers TESTFR act in any state and closes on a malformed frame", function () {
    const clock = new FakeClock();
    const o = new LinkSession("controlled", clock);
    assert.deepEqual(sent(o.receive(encodeUFrame("testfr-act"))), ["U testfr-con"]);
    assert.match(closeReason(o.receive(h("67 04 07 00 00 00"))) ?? "", /malformed frame: start octet 0x67/);
    assert.deepEqual(o.receive(encodeUFrame("testfr-act")), []);
  });
});

describe("iec104 link: windows and acknowledgement", function () {
  it("stops at k unacknowledged I-frames and resumes on acknowledgement", function () {
    const clock = new FakeClock();
    const m = startedMaster(clock, { k: 3, w: 2 });
    const out: LinkEvent[] = [];
    for (let i = 0; i < 5; i++) out.push(...m.send(ASDU));
    assert.deepEqual(sent(out), ["I 0/0", "I 1/0", "I 2/0"]);
    assert.deepEqual([m.unacknowledged, m.queued], [3, 2]);
    assert.deepEqual(sent(m.receive(encodeSFrame(2))), ["I 3/0", "I 4/0"]);
    assert.deepEqual([m.unacknowledged, m.queued], [3, 0]);
  });

  it("acknowledges after w I-frames at the latest", function () {
    const clock = new FakeClock();
    const m = startedMaster(clock, { w: 3 });
    assert.deepEqual(
      sent(m.receive(Buffer.concat([encodeIFrame(0, 0, ASDU), encodeIFrame(1, 0, ASDU)]))),
      [],
    );
    const third = m.receive(encodeIFrame(2, 0, ASDU));
    assert.equal(received(third).length, 1);
    assert.deepEqual(sent(third), ["S 3"]);
  });

  it("acknowledges within t2 when no data goes the other way", function () {
    const clock = new FakeClock();
    const m = startedMaster(clock);
    m.receive(encodeIFrame(0, 0, ASDU));
    clock.advance(4_000);
    m.receive(encodeIFrame(1, 0, ASDU));
    // t2 runs from the first unacknowledged frame, not the last.
    assert.equal(m.nextDeadline(), clock.t - 4_000 + 10_000);
    clock.advance(5_999);
    assert.deepEqual(m.tick(), []);
    clock.advance(1);
    assert.deepEqual(sent(m.tick()), ["S 2"]);
  });

  it("acknowledges inside its own I-frames, so no S-frame follows", function () {
    const clock = new FakeClock();
    const m = startedMaster(clock);
    m.receive(encodeIFrame(0, 0, ASDU));
    assert.deepEqual(sent(m.send(ASDU)), ["I 0/1"]);
    clock.advance(10_000);
    assert.deepEqual(sent(m.tick()), []);
  });

  it("closes when an I-frame is not acknowledged within t1", function () {
    const clock = new FakeClock();
    const m = startedMaster(clock);
    m.send(ASDU);
    clock.advance(5_000);
    m.send(ASDU);
    m.receive(encodeSFrame(1));
    // The first frame is acknowledged; t1 now runs for the second, sent at +5 s.
    clock.advance(14_999);
    assert.equal(closeReason(m.tick()), undefined);
    clock.advance(1);
    assert.equal(closeReason(m.tick()), "no acknowledgement of I-frame N(S)=1 within t1 (15000 ms)");
  });

  it("closes on a sequence error and on an acknowledgement of frames never sent", function () {
    const clock = new FakeClock();
    const m = startedMaster(clock);
    assert.equal(
      closeReason(m.receive(encodeIFrame(1, 0, ASDU))),
      "sequence error: expected N(S)=0, received 1",
    );
    const m2 = startedMaster(clock);
    m2.send(ASDU);
    assert.equal(
      closeReason(m2.receive(encodeSFrame(2))),
      "peer acknowledged N(R)=2, but the unacknowledged I-frames are 0..1",
    );
  });
});

describe("iec104 link: t3 test frames", function () {
  it("sends TESTFR act after t3 idle and closes if its con misses t1", function () {
    const clock = new FakeClock();
    const m = startedMaster(clock);
    clock.advance(19_999);
    assert.deepEqual(m.tick(), []);
    clock.advance(1);
    assert.deepEqual(sent(m.tick()), ["U testfr-act"]);
    assert.deepEqual(sent(m.tick()), [], "one test frame at a time");
    assert.equal(m.nextDeadline(), clock.t + 15_000);
    clock.advance(15_000);
    assert.equal(closeReason(m.tick()), "no TESTFR CON within t1 (15000 ms)");
  });

  it("restarts t3 on any received frame", function () {
    const clock = new FakeClock();
    const m = startedMaster(clock);
    clock.advance(20_000);
    m.tick();
    clock.advance(1_000);
    m.receive(encodeUFrame("testfr-con"));
    assert.equal(m.nextDeadline(), clock.t + 20_000);
    clock.advance(19_000);
    m.receive(encodeSFrame(0));
    clock.advance(19_000);
    assert.deepEqual(m.tick(), []);
  });
});

describe("iec104 link: an incomplete APDU is held at most t1", function () {
  // Half a U-frame, then the rest: what a peer that stopped mid-frame leaves in the assembler.
  const test = encodeUFrame("testfr-act");

  for (const role of ["controlling", "controlled"] as const) {
    it(`closes the ${role} side when the start of an APDU waits for its end longer than t1`, function () {
      const clock = new FakeClock();
      const link = role === "controlling" ? startedMaster(clock) : startedOutstation(clock);
      assert.deepEqual(link.receive(test.subarray(0, 3)), []);
      assert.equal(link.nextDeadline(), clock.t + 15_000);
      clock.advance(10_000);
      // More octets of the same frame do not restart the clock.
      assert.deepEqual(link.receive(test.subarray(3, 4)), []);
      clock.advance(4_999);
      assert.deepEqual(link.tick(), []);
      clock.advance(1);
      assert.equal(
        closeReason(link.tick()),
        "an incomplete APDU (4 octets) was not completed within t1 (15000 ms)",
      );
      assert.equal(link.state, "closed");
      assert.equal(link.nextDeadline(), undefined);
    });
  }

  it("restarts the clock for each new APDU, however the stream is cut", function () {
    const clock = new FakeClock();
    const m = startedMaster(clock);
    // Every chunk ends one frame and starts the next: a busy peer, never one frame held long.
    const stream = Buffer.concat(Array.from({ length: 6 }, () => encodeSFrame(0)));
    for (let i = 0; i < 5; i++) {
      assert.equal(closeReason(m.receive(stream.subarray(i * 6 + (i === 0 ? 0 : 3), i * 6 + 9))), undefined);
      clock.advance(10_000);
      assert.equal(closeReason(m.tick()), undefined, `chunk ${i}`);
    }
    m.receive(stream.subarray(33));
    assert.equal(m.nextDeadline(), clock.t + 20_000, "only t3 is left once the last frame is whole");
  });

  it("uses the configured t1", function () {
    const clock = new FakeClock();
    const o = startedOutstation(clock, { t1Ms: 2_000, t2Ms: 1_000 });
    o.receive(test.subarray(0, 1));
    clock.advance(2_000);
    assert.equal(closeReason(o.tick()), "an incomplete APDU (1 octet) was not completed within t1 (2000 ms)");
  });
});

describe("iec104 link: sequence numbers wrap at 32768", function () {
  it("counts sent and received I-frames through the wrap", function () {
    const clock = new FakeClock();
    const o = startedOutstation(clock, { k: 32767, w: 32767 });
    const total = 32768 + 5;
    let ns = 0;
    let lastSent = "";
    for (let i = 0; i < total; i++) {
      // The peer's N(R) acknowledges the i frames we have sent so far.
      const evs = o.receive(encodeIFrame(ns, i % 32768, ASDU));
      assert.equal(received(evs).length, 1);
      ns = seqNext(ns);
      const s = o.send(ASDU);
      lastSent = sent(s)[0];
      o.receive(encodeSFrame(seqNext(i % 32768)));
    }
    assert.equal(o.state, "started");
    assert.equal(lastSent, `I 4/5`);
  });

  it("measures distances across the wrap", function () {
    assert.equal(seqNext(32767), 0);
    assert.equal(seqDistance(32766, 1), 3);
    assert.equal(seqDistance(5, 5), 0);
  });
});

describe("iec104 options are checked where the session is made", function () {
  it("names the field at fault", function () {
    assert.deepEqual(
      checkMasterOptions({ commonAddress: 0, originator: 300, link: { k: 0 }, actConTimeoutMs: 0 }).map(
        (p) => p.field,
      ),
      ["commonAddress", "originator", "link.k", "actConTimeoutMs"],
    );
    assert.deepEqual(
      checkOutstationOptions({ commonAddress: 65535, selectTimeoutMs: -1, maxBufferedChanges: 1.5 }).map(
        (p) => p.field,
      ),
      ["commonAddress", "selectTimeoutMs", "maxBufferedChanges"],
    );
    assert.deepEqual(checkMasterOptions({ commonAddress: 1 }), []);
    const clock = new FakeClock();
    assert.throws(
      () => new MasterSession({ commonAddress: 1, link: { t2Ms: 20_000 } }, clock),
      /link.t2Ms: t2/,
    );
    assert.throws(
      () => new OutstationSession({ commonAddress: 70_000 }, clock),
      /commonAddress: common address 70000/,
    );
    assert.throws(() => new LinkSession("controlled", clock, { w: 0 }), /link.w/);
  });
});

describe("iec104 link parameters", function () {
  it("accepts the defaults and explains what is wrong with bad ones", function () {
    assert.deepEqual(checkLinkParameters(DEFAULT_LINK_PARAMETERS), []);
    const bad = checkLinkParameters({ ...DEFAULT_LINK_PARAMETERS, k: 0, w: 13, t1Ms: 10_000, t2Ms: 10_000 });
    assert.deepEqual(
      bad.map((p) => p.field),
      ["k", "t2Ms"],
    );
    assert.match(bad[1].message, /t2 \(10000 ms\) must be shorter than t1 \(10000 ms\)/);
    assert.deepEqual(
      checkLinkParameters({ ...DEFAULT_LINK_PARAMETERS, w: 13 }).map((p) => p.message),
      ["w (13) must not exceed k (12); two thirds of k is recommended"],
    );
  });
});
