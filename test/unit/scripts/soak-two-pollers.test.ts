/**
 * The soak's "no two owners" rule (soak/check.ts): a device's requests switching from one connection to
 * another once is a hand-over; a request on a connection already replaced means two pollers at once.
 */
import assert from "node:assert/strict";
import { lastBeforeHandOver, twoPollers } from "../../../soak/check";
import type { Produced } from "../../../soak/devices";

const req = (value: number, connection: number): Produced => ({
  deviceId: "m01",
  value,
  at: value,
  connection,
});

describe("soak: two pollers of one device", function () {
  it("takes hand-overs, reconnects and an unnumbered value as one poller at a time", function () {
    const seen = [
      req(1, 1),
      req(2, 1),
      req(3, 2),
      req(4, 2),
      req(5, 7),
      { deviceId: "m01", value: 6, at: 6 },
    ];
    assert.deepEqual(twoPollers(seen), []);
  });

  it("names each request on a connection that another had already taken over from", function () {
    const seen = [req(1, 1), req(2, 2), req(3, 1), req(4, 2), req(5, 2), req(6, 3)];
    assert.deepEqual(
      twoPollers(seen).map((p) => p.value),
      [3, 4],
    );
  });

  it("names the last request on each connection before another took over: the one a hand-over abandons", function () {
    const seen = [req(1, 1), req(2, 1), req(3, 2), req(4, 2), req(5, 3)];
    assert.deepEqual([...lastBeforeHandOver(seen)], [2, 4]);
  });
});
