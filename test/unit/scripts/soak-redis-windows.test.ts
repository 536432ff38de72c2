/**
 * The soak's Redis windows (soak/check.ts): a sample lost inside a Redis restart or failover window is
 * listed against that window (the run fails on it), unless another documented window — a redeploy's
 * hand-over — explains it too, or it was the request a lease hand-over abandoned.
 */
import assert from "node:assert/strict";
import type { LossWindow } from "../../../soak/check";
import { checkSequence, emptyVerdict, HAND_OVER_AT_REDIS_FAULT } from "../../../soak/check";
import type { Produced } from "../../../soak/devices";

const made = (value: number): Produced => ({ deviceId: "r01", value, at: value * 100 });

describe("soak: losses inside Redis windows", function () {
  const redis: LossWindow = { what: "Redis restart", from: 1000, to: 3000 };
  const redeploy: LossWindow = {
    what: "redeploy (hand-over)",
    from: 2400,
    to: 2600,
    devices: new Set(["r01"]),
  };
  // Lost: 2 outside every window, 4 inside the Redis window only, 6 inside it and inside a redeploy of
  // the instance that held r01.
  const at = new Map([
    [2, 500],
    [4, 1500],
    [6, 2500],
  ]);
  const produced = [1, 2, 3, 4, 5, 6, 7].map((value) => ({
    ...made(value),
    at: at.get(value) ?? value * 100,
  }));
  const stored = [1, 3, 5, 7].map((value) => ({ value, ts: value * 100, cause: "spontaneous" }));

  it("lists a loss inside a Redis window only against that window; a redeploy explains its own", function () {
    const v = emptyVerdict();
    checkSequence("r01", produced, stored, [redis, redeploy], 0, 5000, v);
    assert.deepEqual(
      v.inRedis.map((x) => [x.sample.value, x.window.what]),
      [[4, "Redis restart"]],
    );
    assert.equal(v.allowed.get("redeploy (hand-over)"), 1);
    assert.deepEqual(
      v.unexplained.map((p) => p.value),
      [2],
    );
  });

  it("counts the request a lease hand-over abandoned at a Redis fault apart, not as a Redis loss", function () {
    const v = emptyVerdict();
    checkSequence("r01", produced, stored, [redis], 0, 5000, v, new Set([4]));
    assert.deepEqual(
      v.inRedis.map((x) => x.sample.value),
      [6],
    );
    assert.equal(v.allowed.get(HAND_OVER_AT_REDIS_FAULT), 1);
    assert.deepEqual(
      v.handedOver.map((p) => p.value),
      [4],
    );
  });
});
