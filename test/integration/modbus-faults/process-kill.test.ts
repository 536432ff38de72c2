/**
 * The server process killed outright (SIGKILL: no close handshake from the application, the kernel
 * tears its sockets down) and started again on the same port, while our client polls. The flow test
 * (test/flow/modbus-faults.test.ts) restarts an in-process server 50 times; this is the crash a
 * supervisor restarts, a few times since each start of a process costs a second.
 */
import assert from "node:assert/strict";
import { ModbusClient } from "../../../src/core/modbus/client";
import { spawnModbusSimulators, type SimulatorProcess } from "../../../bench/lib/modbus-sim-process";
import { expectNoLeaks, snapshotResources } from "../../support/leaks";
import { freePort, until } from "../../support/net";

const CAP_MS = 200;
const KILLS = 3;

describe("modbus client while its server process is killed and restarted", () => {
  it(`resumes reading within the reconnect cap after each of ${KILLS} kills`, async function () {
    this.timeout(40000);
    const baseline = snapshotResources();
    const port = await freePort();
    let sim: SimulatorProcess = await spawnModbusSimulators(1, [port]);
    const client = ModbusClient.tcp("127.0.0.1", port, {
      session: { timeoutMs: 200 },
      connection: { reconnectInitialMs: 20, reconnectMaxMs: CAP_MS },
    });
    client.start();
    let lastGood = 0;
    let reading = true;
    // A poll loop with no pause: every answer is a time stamp.
    const poller = (async () => {
      while (reading) {
        try {
          const regs = await client.readHoldingRegisters(1, 10, 5);
          assert.deepEqual(regs, [10, 11, 12, 13, 14]);
          lastGood = Date.now();
        } catch {
          // Failures while the server is down are the point of the test; resumption is checked below.
          await until(() => client.state === "connected" || !reading, 5000, "a connection");
        }
      }
    })();
    try {
      await until(() => lastGood > 0, 5000, "the first read");
      for (let i = 1; i <= KILLS; i++) {
        process.kill(sim.pid, "SIGKILL");
        await sim.exited;
        await until(() => client.state !== "connected", 2000, `kill ${i}: the client noticing`);
        sim = await spawnModbusSimulators(1, [port]);
        const up = Date.now();
        await until(() => lastGood > up, 3000, `kill ${i}: a read after the restart`);
      }
      // The restart takes long enough for the backoff to reach its cap. That the next attempt then comes
      // within the cap is held on a manual clock in test/unit/transport/connection.test.ts ("backs off
      // exponentially with jitter, capped, ..."); here, that a real crash is recovered from each time.
      assert.ok(client.stats.connects >= KILLS + 1);
    } finally {
      reading = false;
      client.close();
      await poller;
      await sim.stop();
    }
    // Nobody waits for a connection that will never come.
    await assert.rejects(client.whenConnected(), /client is closed/);
    await expectNoLeaks(baseline);
  });
});
