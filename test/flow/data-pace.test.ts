/** The data node's pacing on an injected clock: only-on-change and the token-bucket rate limit. */
import assert from "node:assert/strict";
import { ChangeFilter, RateLimit } from "../../src/core/bus/pace";
import type { DataPoint, Quality } from "../../src/core/model/datapoint";

const T = 1_763_700_000_000;

function dp(key: string, value: number, quality: Quality = {}): DataPoint {
  const [deviceId, termId, itemId] = key.split(":");
  return { key, deviceId, termId, itemId, value, ts: T, quality, cause: "poll" };
}

const show = (msgs: (readonly DataPoint[])[]): string[][] =>
  msgs.map((m) => m.map((p) => `${p.itemId}=${String(p.value)}`));

describe("datacoll-data pacing", function () {
  it("only on change passes a batch of changes on as the same array", function () {
    const f = new ChangeFilter();
    const batch = [dp("d:t:a", 1), dp("d:t:b", 2)];
    assert.equal(f.filter(batch), batch);
    assert.deepEqual(
      f.filter([dp("d:t:a", 1), dp("d:t:b", 3), dp("d:t:a", 1)]).map((p) => p.value),
      [3],
    );
    assert.equal(f.filter([dp("d:t:a", 1, { substituted: true })]).length, 1, "a quality change is a change");
  });

  it("lets a burst of perSecond batches through, then one merged batch per token", function () {
    const r = new RateLimit(2, "batch", T);
    assert.deepEqual(show(r.offer([dp("d:t:a", 1)], T)), [["a=1"]]);
    assert.deepEqual(show(r.offer([dp("d:t:a", 2)], T)), [["a=2"]]);
    assert.deepEqual(show(r.offer([dp("d:t:a", 3), dp("d:t:b", 3)], T)), []);
    assert.deepEqual(show(r.offer([dp("d:t:a", 4)], T + 100)), []);
    assert.equal(r.superseded, 1);
    assert.equal(r.pending, 2);
    assert.equal(r.nextDue(), T + 500);
    assert.deepEqual(show(r.drain(T + 499)), []);
    assert.deepEqual(show(r.drain(T + 500)), [["a=4", "b=3"]]);
    assert.equal(r.nextDue(), undefined);
  });

  it("in point mode sends one point per token, oldest waiting first", function () {
    const r = new RateLimit(1, "point", T);
    assert.deepEqual(show(r.offer([dp("d:t:a", 1), dp("d:t:b", 1), dp("d:t:c", 1)], T)), [["a=1"]]);
    assert.deepEqual(show(r.offer([dp("d:t:c", 2), dp("d:t:d", 1)], T)), []);
    assert.deepEqual(show(r.drain(T + 1000)), [["b=1"]]);
    assert.deepEqual(show(r.drain(T + 5000)), [["c=2"]], "a quiet spell saves up no more than the burst");
    assert.equal(r.pending, 1);
  });

  it("below one message a second still lets one through, then waits", function () {
    const r = new RateLimit(0.5, "batch", T);
    assert.deepEqual(show(r.offer([dp("d:t:a", 1)], T)), [["a=1"]]);
    assert.deepEqual(show(r.offer([dp("d:t:a", 2)], T)), []);
    assert.equal(r.nextDue(), T + 2000);
    assert.deepEqual(show(r.drain(T + 2000)), [["a=2"]]);
  });

  it("with no limit passes everything at once", function () {
    const r = new RateLimit(0, "point", T);
    assert.deepEqual(show(r.offer([dp("d:t:a", 1), dp("d:t:b", 1)], T)), [["a=1"], ["b=1"]]);
    assert.equal(r.nextDue(), undefined);
  });
});
