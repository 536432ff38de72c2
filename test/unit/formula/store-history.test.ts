import assert from "node:assert/strict";
import { historySourceOn } from "../../../src/core/formula/store-history";
import { GOOD, type DataPoint, type Quality } from "../../../src/core/model/datapoint";

const KEY = "d1:t1:a";

function pt(value: DataPoint["value"], ts: number, quality: Quality = GOOD): DataPoint {
  return { key: KEY, deviceId: "d1", termId: "t1", itemId: "a", value, ts, quality, cause: "poll" };
}

/** A store history of five samples, newest first as the Store returns them. */
const HISTORY: DataPoint[] = [
  pt(5, 5000),
  pt(4, 4000, { invalid: true }),
  pt(true, 3000),
  pt("text", 2000),
  pt(1, 1000),
];

describe("formula history over the shared store", function () {
  const asked: number[] = [];
  const source = historySourceOn(
    {
      history: async (_key, count) => {
        asked.push(count);
        return HISTORY.slice(0, count);
      },
    },
    50,
  );

  it("turns the newest N into oldest-first usable numbers", async function () {
    asked.length = 0;
    assert.deepEqual(await source.samples(KEY, { kind: "count", count: 3 }, 10_000), [
      { ts: 3000, value: 1 },
      { ts: 5000, value: 5 },
    ]);
    assert.deepEqual(asked, [3]);
  });

  it("asks for as many as a window may hold and keeps those in the duration", async function () {
    asked.length = 0;
    assert.deepEqual(await source.samples(KEY, { kind: "duration", ms: 3000 }, 5000), [
      { ts: 3000, value: 1 },
      { ts: 5000, value: 5 },
    ]);
    assert.deepEqual(asked, [50]);
    assert.deepEqual(await source.samples(KEY, { kind: "duration", ms: 1000 }, 4500), []);
  });
});
