/**
 * The soak's rebalance windows (soak/check.ts, `handOverOnly`): after an instance comes back the other
 * hands it its share, and each graceful hand-over may abandon the request in flight. Such a window excuses
 * that request only — the value produced last on a connection before another took over — and no other
 * loss inside it, so a sample the product dropped there still breaks the run.
 */
import assert from "node:assert/strict";
import type { LossWindow } from "../../../soak/check";
import { checkSequence, emptyVerdict, lastBeforeHandOver } from "../../../soak/check";
import type { Produced } from "../../../soak/devices";

describe("soak: rebalance windows excuse only the request a hand-over abandoned", function () {
  // m01 polled on connection 1 (values 1-4), then on connection 2 (5-8) after a rebalance at 400-500.
  const produced: Produced[] = [1, 2, 3, 4, 5, 6, 7, 8].map((value) => ({
    deviceId: "m01",
    value,
    at: value * 100,
    connection: value <= 4 ? 1 : 2,
  }));
  const rebalance: LossWindow = { what: "rebalance (hand-over)", from: 250, to: 700, handOverOnly: true };

  it("excuses the last value on the old connection and nothing else in the window", function () {
    // Lost: 4 (the last on connection 1) and 6 (polled by the new owner: not a hand-over's).
    const stored = [1, 2, 3, 5, 7, 8].map((value) => ({ value, ts: value * 100, cause: "poll" }));
    const v = emptyVerdict();
    checkSequence("m01", produced, stored, [rebalance], 0, 1000, v, lastBeforeHandOver(produced));
    assert.equal(v.allowed.get("rebalance (hand-over)"), 1);
    assert.deepEqual(
      v.unexplained.map((p) => p.value),
      [6],
    );
  });

  it("does not excuse the last value before a hand-over outside the window", function () {
    const stored = [1, 2, 3, 5, 6, 7, 8].map((value) => ({ value, ts: value * 100, cause: "poll" }));
    const v = emptyVerdict();
    const early = { ...rebalance, from: 450 };
    checkSequence("m01", produced, stored, [early], 0, 1000, v, lastBeforeHandOver(produced));
    assert.deepEqual(
      v.unexplained.map((p) => p.value),
      [4],
    );
  });
});
