/**
 * Both simulators on real loopback sockets, with their connection limits (issue #21): a client beyond the
 * limit is admitted by closing the longest idle one, a silent client is closed after the idle timeout, and
 * a client that sent half a frame is closed after the partial-frame timeout (5 s for Modbus, t1 for IEC
 * 104). Time is a manual clock advanced by the test; every wait is for a condition.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { Iec104Simulator } from "../../src/core/iec104/simulator";
import { ModbusSimulator } from "../../src/core/modbus/simulator";
import { encodeUFrame } from "../../src/protocols/iec104/codec";
import { encodeMbap } from "../../src/protocols/modbus/codec/mbap";
import { ManualClock } from "../../src/transport/manual-clock";
import { expectNoLeaks, snapshotResources, type Snapshot } from "../support/leaks";
import { until } from "../support/net";

/** A raw client socket that records what it received and whether the server closed it. */
class RawClient {
  readonly socket: net.Socket;
  received = Buffer.alloc(0);
  closed = false;
  connected = false;

  constructor(port: number) {
    this.socket = net.connect({ host: "127.0.0.1", port });
    this.socket.on("connect", () => (this.connected = true));
    this.socket.on("data", (b: Buffer) => (this.received = Buffer.concat([this.received, b])));
    // The server resets connections it closes; the close event below is what the tests wait for.
    this.socket.on("error", () => undefined);
    this.socket.on("close", () => (this.closed = true));
  }

  /** Send a read of one holding register and wait for its 11-octet reply. */
  async read(tid: number): Promise<void> {
    const before = this.received.length;
    this.socket.write(encodeMbap(tid, 1, Buffer.from([0x03, 0, 0, 0, 1])));
    await until(() => this.received.length >= before + 11, 5000, `reply to transaction ${tid}`);
    assert.equal(this.received.readUInt16BE(before), tid);
  }
}

describe("simulator connection limits on real sockets", function () {
  let before: Snapshot;
  let clients: RawClient[];
  let clock: ManualClock;

  beforeEach(function () {
    before = snapshotResources();
    clients = [];
    clock = new ManualClock(1_000_000);
  });

  afterEach(async function () {
    for (const c of clients) c.socket.destroy();
    await expectNoLeaks(before);
  });

  function connect(port: number): RawClient {
    const c = new RawClient(port);
    clients.push(c);
    return c;
  }

  describe("modbus", function () {
    let sim: ModbusSimulator;

    afterEach(async function () {
      await sim.close();
    });

    it("admits a client beyond the 64 connections by closing the one idle longest", async function () {
      sim = new ModbusSimulator({ units: [1], clock });
      const port = await sim.listen(0);
      const open: RawClient[] = [];
      for (let i = 0; i < 64; i++) {
        open.push(connect(port));
        await until(() => sim.connections === i + 1, 5000, `connection ${i + 1} admitted`);
        clock.advance(100);
      }
      // The first client speaks, so the second is now the one quiet longest.
      await open[0].read(1);
      const late = connect(port);
      await until(() => late.connected, 5000, "the 65th client connected");
      await late.read(2);
      await until(() => open[1].closed, 5000, "the longest idle client closed");
      assert.equal(sim.connections, 64);
      assert.equal(open[0].closed, false);
      await open[0].read(3);
      assert.deepEqual(
        open.map((c, i) => (c.closed ? i : -1)).filter((i) => i >= 0),
        [1],
      );
    });

    it("closes a client that sent nothing for the idle timeout", async function () {
      sim = new ModbusSimulator({ units: [1], clock, idleTimeoutMs: 2_000 });
      const port = await sim.listen(0);
      const quiet = connect(port);
      const busy = connect(port);
      await until(() => sim.connections === 2, 5000, "both admitted");
      clock.advance(1_500);
      await busy.read(1);
      clock.advance(500);
      await until(() => quiet.closed, 5000, "the quiet client closed");
      assert.equal(sim.connections, 1);
      await busy.read(2);
    });

    it("closes a client holding half a request for 5 s and keeps serving the others", async function () {
      // Idle closing off, so the half frame is the only reason the connection can end.
      sim = new ModbusSimulator({ units: [1], clock, idleTimeoutMs: 0 });
      const port = await sim.listen(0);
      const half = connect(port);
      const whole = connect(port);
      await until(() => sim.connections === 2, 5000, "both admitted");
      const request = encodeMbap(9, 1, Buffer.from([0x03, 0, 0, 0, 1]));
      half.socket.write(request.subarray(0, 7));
      await whole.read(1);
      // The half frame reaches the server at some moment of its own; time moves until it is closed.
      await until(
        () => {
          clock.advance(1_000);
          return half.closed;
        },
        5000,
        "the client holding half a request closed",
      );
      assert.equal(half.received.length, 0, "half a request is never answered");
      assert.equal(sim.connections, 1);
      await whole.read(2);
    });
  });

  describe("iec104", function () {
    let sim: Iec104Simulator;

    afterEach(async function () {
      await sim.close();
    });

    it("admits a master beyond the limit by closing the one idle longest", async function () {
      sim = new Iec104Simulator({ commonAddress: 1, points: [], commands: [], clock });
      const port = await sim.listen(0);
      const open: RawClient[] = [];
      for (let i = 0; i < 16; i++) {
        open.push(connect(port));
        await until(() => sim.connections === i + 1, 5000, `master ${i + 1} admitted`);
        clock.advance(100);
      }
      open[0].socket.write(encodeUFrame("testfr-act"));
      await until(() => open[0].received.equals(encodeUFrame("testfr-con")), 5000, "TESTFR con");
      const late = connect(port);
      late.socket.write(encodeUFrame("startdt-act"));
      await until(() => late.received.equals(encodeUFrame("startdt-con")), 5000, "STARTDT con to the 17th");
      await until(() => open[1].closed, 5000, "the longest idle master closed");
      assert.equal(sim.connections, 16);
      assert.deepEqual(
        open.map((c, i) => (c.closed ? i : -1)).filter((i) => i >= 0),
        [1],
      );
    });

    it("closes a master that sent nothing for the idle timeout, before t3 + t1 would", async function () {
      const events: string[] = [];
      sim = new Iec104Simulator({ commonAddress: 1, points: [], commands: [], clock, idleTimeoutMs: 25_000 });
      sim.on((e) => {
        if (e.type === "disconnected") events.push(e.reason ?? "");
      });
      const port = await sim.listen(0);
      const quiet = connect(port);
      await until(() => sim.connections === 1, 5000, "admitted");
      clock.advance(25_000);
      await until(() => quiet.closed, 5000, "the quiet master closed");
      // t3 (20 s) sent it a test frame it never answered; the idle timeout, not t1, ended it.
      assert.deepEqual(events, ["closed: nothing received for 25 s"]);
    });

    it("closes a master holding half an APDU for t1", async function () {
      const events: string[] = [];
      sim = new Iec104Simulator({ commonAddress: 1, points: [], commands: [], clock, idleTimeoutMs: 0 });
      sim.on((e) => {
        if (e.type === "disconnected") events.push(e.reason ?? "");
      });
      const port = await sim.listen(0);
      const half = connect(port);
      half.socket.write(encodeUFrame("startdt-act").subarray(0, 3));
      await until(
        () => {
          clock.advance(1_000);
          return half.closed;
        },
        5000,
        "the master holding half an APDU closed",
      );
      assert.deepEqual(events, ["an incomplete APDU (3 octets) was not completed within t1 (15000 ms)"]);
    });

    it("refuses an idle timeout not longer than t3, which would close masters that answer test frames", function () {
      assert.throws(
        () =>
          new Iec104Simulator({
            commonAddress: 1,
            points: [],
            commands: [],
            clock,
            idleTimeoutMs: 20_000,
          }),
        /idle timeout 20 s must be 0 \(never\) or longer than t3 \(20 s\)/,
      );
      sim = new Iec104Simulator({ commonAddress: 1, points: [], commands: [], clock, idleTimeoutMs: 0 });
    });
  });
});
