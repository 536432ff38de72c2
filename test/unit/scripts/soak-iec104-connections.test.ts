/**
 * The soak's simulated outstations (soak/devices.ts CountingOutstation) name the connection each value
 * went out on, as the Modbus devices name a request's: a master that stops at its lease deadline drops
 * its socket and any value sent on it that instant, and the checker tells that value — the last on a
 * connection another then took over from — from one a master received and lost (issue 19).
 */
import assert from "node:assert/strict";
import { counterSimulator, CountingOutstation, type Produced } from "../../../soak/devices";
import { lastBeforeHandOver } from "../../../soak/check";
import { Iec104Master } from "../../../src/core/iec104/master";
import { tcpSocketFactory } from "../../../src/transport/socket";
import { until } from "../../support/net";

describe("soak: IEC 104 values name their connection", function () {
  it("numbers each master's connection and marks the last value before a hand-over", async function () {
    const sim = counterSimulator(0);
    const counter = new CountingOutstation(sim, 0);
    const port = await sim.listen(0);
    const masters: Iec104Master[] = [];
    const connect = async (): Promise<Iec104Master> => {
      const master = new Iec104Master({
        master: { commonAddress: 1, interrogateOnStart: false },
        socketFactory: tcpSocketFactory({ host: "127.0.0.1", port }),
      });
      masters.push(master);
      master.start();
      await until(() => master.started && sim.activeMasters === 1, 10_000, "data transfer started");
      return master;
    };
    const produced: Produced[] = [];
    const step = (): void =>
      counter.step((made) =>
        produced.push({ deviceId: "r01", value: made.value, at: made.value, connection: made.connection }),
      );
    try {
      step();
      assert.equal(produced.length, 0, "nothing is produced while no master is started");
      const first = await connect();
      step();
      step();
      first.close();
      await until(() => sim.activeMasters === 0, 10_000, "the first connection gone");
      step();
      await connect();
      step();
      assert.deepEqual(
        produced.map((p) => [p.value, p.connection]),
        [
          [1, 1],
          [2, 1],
          [3, 2],
        ],
      );
      assert.deepEqual([...lastBeforeHandOver(produced)], [2]);
    } finally {
      for (const m of masters) m.close();
      await sim.close();
    }
  });
});
