/**
 * A reply that arrives after its request timed out fails no later request, over real loopback TCP with
 * the real clock: the peer holds back one reply on purpose until well past the timeout, while a stream
 * of reads goes on, one and eight in flight. jsmodbus rejects every queued request as OutOfSync in
 * this case (docs/protocols/modbus.md §5); here exactly the one late request fails, and every other read gets
 * its own registers (each asks for different addresses, so a reply matched to the wrong request would
 * show).
 */
import assert from "node:assert/strict";
import { ModbusClient, ModbusRequestError } from "../../../src/core/modbus/client";
import { expectNoLeaks, snapshotResources } from "../../support/leaks";
import { until } from "../../support/net";
import { FaultyPeer, registerValue } from "./peer";

const TIMEOUT_MS = 100;
// A bound on the stream, far more than the ~0.4 s until the late reply takes on loopback.
const READS = 200_000;
const LATE = 20;

for (const inFlight of [1, 8]) {
  describe(`modbus client, ${inFlight} in flight: a reply after its timeout`, () => {
    it("fails only its own request and is counted as late", async () => {
      const baseline = snapshotResources();
      const peer = new FaultyPeer();
      // The 21st request's reply comes three timeouts late: by then later requests are on the wire.
      peer.holdMs = (_frame, n) => (n === LATE ? 3 * TIMEOUT_MS : 0);
      const port = await peer.listen();
      const client = ModbusClient.tcp("127.0.0.1", port, {
        // Per-unit backoff off: it would fail the unit's next requests fast after the timeout on
        // purpose (session header), which is not what this test is about.
        session: { maxInFlight: inFlight, timeoutMs: TIMEOUT_MS, unitBackoffMs: 0 },
      });
      client.start();
      try {
        await client.whenConnected();
        const outcomes: string[] = [];
        const lateArrived = (): boolean => client.stats.lateReplies > 0;
        // Reads keep going until the late reply has come in and a few more were answered after it.
        let next = 0;
        let afterLate = 0;
        const worker = async (): Promise<void> => {
          while (next < READS && afterLate < 50) {
            const i = next++;
            const address = (i * 7) % 900;
            try {
              const regs = await client.readHoldingRegisters(1, address, 3);
              const want = [0, 1, 2].map((k) => registerValue(1, address + k));
              outcomes[i] = regs.every((v, k) => v === want[k]) ? "ok" : `wrong values ${regs.join(",")}`;
              if (lateArrived()) afterLate++;
            } catch (err) {
              outcomes[i] = err instanceof ModbusRequestError ? err.failure.kind : String(err);
            }
          }
        };
        await Promise.all(Array.from({ length: inFlight }, worker));
        await until(lateArrived, 2000, "the late reply");
        const failed = outcomes.filter((o) => o !== "ok");
        assert.deepEqual(failed, ["timeout"], `outcomes other than ok: ${failed.join(", ")}`);
        assert.equal(outcomes[LATE], "timeout");
        assert.ok(afterLate >= 1, "reads went on after the late reply arrived");
        assert.equal(client.stats.lateReplies, 1);
        assert.equal(client.stats.timeouts, 1);
        assert.equal(client.stats.connects, 1, "the late reply did not cost the connection");
      } finally {
        client.close();
        await peer.close();
      }
      await expectNoLeaks(baseline);
    });
  });
}
