/**
 * A master that closes (a device run stopped at its lease deadline) acknowledges nothing on the way
 * out: the I-frames it read since its last S-frame were published, and those it never read stay the
 * outstation's, which an outstation with event buffering sends again on the next connection
 * (docs/scale-out.md, "What can be lost" (2)). An S-frame sent at close would acknowledge frames in
 * flight the master then drops with its socket.
 */
import assert from "node:assert/strict";
import { Iec104Master } from "../../../../src/core/iec104/master";
import { Iec104Simulator, parseSimPoints } from "../../../../src/core/iec104/simulator";
import { systemClock } from "../../../../src/transport/connection";
import { tcpSocketFactory } from "../../../../src/transport/socket";
import { until } from "../../../support/net";

/** Control field octet 1 of an S-frame (docs/protocols/iec104.md §1): `68 04 01 00 …`. */
const S_FRAME = /^tx 68040100/;

describe("IEC 104 master: close", function () {
  it("sends no S-frame for the I-frames read since its last acknowledgement", async function () {
    const sim = new Iec104Simulator({
      commonAddress: 1,
      points: parseSimPoints([{ ioa: 1, type: "M_ME_NC_1", value: 0 }]),
      commands: [],
      clock: systemClock,
    });
    const port = await sim.listen(0);
    // w = 8 and t2 = 10 s: three changes stay unacknowledged for as long as the test runs.
    const master = new Iec104Master({
      master: { commonAddress: 1, interrogateOnStart: false },
      frameLog: true,
      socketFactory: tcpSocketFactory({ host: "127.0.0.1", port }),
    });
    const frames: string[] = [];
    master.onFrameLog((l) => frames.push(l));
    const values: unknown[] = [];
    master.onData((asdu) => {
      for (const o of asdu.objects) if ("value" in o) values.push(o.value);
    });
    try {
      master.start();
      await until(() => master.started && sim.activeMasters === 1, 10_000, "data transfer started");
      for (const v of [1, 2, 3]) sim.set(1, v);
      await until(() => values.length === 3, 10_000, "three changes read");
      master.close();
      await until(() => sim.connections === 0, 10_000, "the outstation saw the close");
      assert.deepEqual(
        frames.filter((l) => S_FRAME.test(l)),
        [],
        "no acknowledgement sent",
      );
      assert.ok(
        frames.some((l) => l.startsWith("rx 68")),
        "the frame log saw the changes",
      );
    } finally {
      master.close();
      await sim.close();
    }
  });
});
