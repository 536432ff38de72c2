/**
 * Wire data never throws: corrupted copies of real frames (bit flips, truncation, length changes, random
 * octets) go through the decoders and both sessions. Each must answer with a result, a warning, a
 * negative reply or a close — never an exception — and a closed session stays quiet. The generator is
 * seeded so a failure reproduces.
 */
import assert from "node:assert/strict";
import {
  decodeApdu,
  decodeAsdu,
  encodeIFrame,
  encodeSFrame,
  encodeUFrame,
} from "../../../src/protocols/iec104/codec";
import { MasterSession, OutstationSession } from "../../../src/protocols/iec104/session";
import { FakeClock, h, mutate, rng, SEEDS } from "./helpers";

describe("iec104 fuzz: corrupted input never throws", function () {
  it("decodeAsdu and decodeApdu answer every corrupted copy with a result", function () {
    const rand = rng(104);
    const kinds = new Map<string, number>();
    for (let n = 0; n < 20_000; n++) {
      const asdu = mutate(SEEDS[n % SEEDS.length], rand);
      const r = decodeAsdu(asdu);
      kinds.set(r.kind, (kinds.get(r.kind) ?? 0) + 1);
      const frame = mutate(asdu.length > 0 ? encodeIFrame(n % 32768, 0, asdu) : h("68 04 43 00 00 00"), rand);
      decodeApdu(frame);
    }
    // The corruption reaches every outcome, so the loop really exercised the checks.
    assert.ok((kinds.get("asdu") ?? 0) > 1000, JSON.stringify([...kinds]));
    assert.ok((kinds.get("malformed") ?? 0) > 1000, JSON.stringify([...kinds]));
    assert.ok((kinds.get("unknown-type") ?? 0) > 100, JSON.stringify([...kinds]));
  });

  it("the outstation answers or warns about every corrupted ASDU and keeps the link", function () {
    const rand = rng(2404);
    const clock = new FakeClock();
    const station = new OutstationSession({ commonAddress: 1 }, clock);
    station.definePoint({ kind: "scaled", ioa: 110, value: 1, quality: {} });
    station.defineCommand({ ioa: 5000, kind: "single-command" });
    station.receive(encodeUFrame("startdt-act"));
    let replies = 0;
    for (let n = 0; n < 5_000; n++) {
      const asdu = mutate(SEEDS[n % SEEDS.length], rand);
      if (asdu.length === 0 || asdu.length > 249) continue;
      const events = station.receive(
        encodeIFrame(station.link.receiveSequence, station.link.sendSequence, asdu),
      );
      replies += events.filter((e) => e.type === "send").length;
      assert.equal(station.state, "started", `closed on ${asdu.toString("hex")}`);
      // Acknowledge the replies as a master would, so the k window never fills.
      station.receive(encodeSFrame(station.link.sendSequence));
    }
    assert.ok(replies > 1000, `only ${replies} replies`);
  });

  it("a session fed random octets closes cleanly and then stays quiet", function () {
    const rand = rng(60870);
    for (let n = 0; n < 500; n++) {
      const clock = new FakeClock();
      const m = new MasterSession({ commonAddress: 1 }, clock);
      m.start();
      m.receive(encodeUFrame("startdt-con"));
      for (let i = 0; i < 20 && m.state !== "closed"; i++) {
        const chunk = Buffer.from(
          Array.from({ length: 1 + Math.floor(rand() * 30) }, () => Math.floor(rand() * 256)),
        );
        // Half the chunks start like a frame so the parser goes deeper than the start octet.
        if (rand() < 0.5) chunk[0] = 0x68;
        m.receive(chunk);
        clock.advance(Math.floor(rand() * 20_000));
        m.tick();
      }
      if (m.state === "closed") {
        assert.deepEqual(m.receive(encodeUFrame("testfr-act")), []);
        assert.deepEqual(m.tick(), []);
        assert.equal(m.nextDeadline(), undefined);
      }
    }
  });
});

describe("iec104 fuzz: values the codec can read but not write", function () {
  it("refuses a clock sync and executes a timed command with year octet 127, without throwing", function () {
    const clock = new FakeClock();
    const station = new OutstationSession({ commonAddress: 1 }, clock);
    station.defineCommand({ ioa: 5000, kind: "single-command" });
    station.receive(encodeUFrame("startdt-act"));
    const before = station.stationTime();
    const cs = h("67 01 06 03 01 00 00 00 00 e5 e3 3a 0c 15 0b 7f");
    const con = station.receive(encodeIFrame(0, 0, cs)).find((e) => e.type === "send");
    assert.ok(con?.type === "send");
    // Refused (P/N, cause 7), the rest of the octets as received; the station keeps its own clock.
    assert.equal(con.bytes.subarray(6).toString("hex"), cs.toString("hex").replace(/^(.{4})06/, "$147"));
    assert.equal(station.stationTime(), before);
    const sc = h("3a 01 06 03 01 00 88 13 00 01 e5 e3 3a 0c 15 0b 7f");
    const replies = station.receive(encodeIFrame(1, 0, sc)).filter((e) => e.type === "send");
    assert.equal(replies.length, 2, "ActCon and ActTerm");
  });
});
