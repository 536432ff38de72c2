import assert from "node:assert/strict";
import { MemoryBacklog } from "../../../src/core/history/backlog";
import type { HistoryRow } from "../../../src/core/history/rows";

function rows(from: number, n: number): HistoryRow[] {
  return Array.from({ length: n }, (_, i) => ({
    kind: "point",
    key: "d:t:i",
    deviceId: "d",
    termId: "t",
    itemId: "i",
    ts: from + i,
    value: from + i,
    valueText: null,
    quality: 0,
    cause: "poll",
  }));
}

const tsOf = (list: readonly HistoryRow[]) => list.map((r) => r.ts);

describe("memory backlog", function () {
  it("is first in, first out, and drops only after a peek", async function () {
    const b = new MemoryBacklog(100);
    assert.equal(await b.append(rows(0, 5)), 0);
    assert.equal(await b.append(rows(5, 3)), 0);
    assert.deepEqual(tsOf(await b.peek(3)), [0, 1, 2]);
    assert.deepEqual(tsOf(await b.peek(3)), [0, 1, 2]);
    await b.drop(3);
    assert.equal(await b.size(), 5);
    assert.deepEqual(tsOf(await b.peek(10)), [3, 4, 5, 6, 7]);
  });

  it("evicts the oldest rows at capacity and says how many", async function () {
    const b = new MemoryBacklog(4);
    await b.append(rows(0, 3));
    assert.equal(await b.append(rows(3, 3)), 2);
    assert.deepEqual(tsOf(await b.peek(10)), [2, 3, 4, 5]);
    assert.equal(await b.append(rows(6, 9)), 9);
    assert.deepEqual(tsOf(await b.peek(10)), [11, 12, 13, 14]);
  });

  it("never drops an unseen row when rows were evicted between peek and drop", async function () {
    const b = new MemoryBacklog(4);
    await b.append(rows(0, 4));
    assert.deepEqual(tsOf(await b.peek(2)), [0, 1]);
    await b.append(rows(4, 3)); // evicts 0, 1, 2
    await b.drop(2); // 0 and 1 are gone already: nothing more to remove
    assert.deepEqual(tsOf(await b.peek(10)), [3, 4, 5, 6]);
  });

  it("keeps working across the reclaiming of its dead space", async function () {
    const b = new MemoryBacklog(100_000);
    let next = 0;
    let expect = 0;
    for (let round = 0; round < 30; round++) {
      await b.append(rows(next, 1000));
      next += 1000;
      const got = await b.peek(700);
      assert.equal(got[0].ts, expect);
      await b.drop(got.length);
      expect += got.length;
    }
    assert.equal(await b.size(), next - expect);
    assert.equal((await b.peek(1))[0].ts, expect);
  });

  it("refuses a capacity below one", function () {
    assert.throws(() => new MemoryBacklog(0), RangeError);
  });
});
