/**
 * The embedded store's capped log keeps values only and derives sequence numbers from their position:
 * across trimming and the compaction of its array, every entry must keep the number it got on push,
 * so a consumer group's position (a sequence number) still finds the entries after it.
 */
import assert from "node:assert/strict";
import { CappedLog } from "../../../../src/core/store/capped-log";

describe("capped log", function () {
  it("keeps each entry's sequence number through trimming and compaction", function () {
    const log = new CappedLog<string>();
    const capacity = 1500;
    // Far past the compaction threshold, so the array is compacted several times.
    for (let i = 1; i <= 10_000; i++) assert.equal(log.push(`v${i}`, capacity), i);
    assert.equal(log.length, capacity);
    assert.equal(log.lastSeq, 10_000);
    assert.deepEqual(log.newest(3), ["v10000", "v9999", "v9998"]);
    assert.deepEqual(log.get(9000), { seq: 9000, value: "v9000" });
    assert.equal(log.get(10_000 - capacity), undefined, "trimmed");
    assert.equal(log.get(10_001), undefined, "not written yet");
    assert.deepEqual(log.after(9997, 10), [
      { seq: 9998, value: "v9998" },
      { seq: 9999, value: "v9999" },
      { seq: 10_000, value: "v10000" },
    ]);
    // A reader behind the trimmed part resumes at the oldest entry kept.
    assert.deepEqual(log.after(5, 2), [
      { seq: 10_000 - capacity + 1, value: `v${10_000 - capacity + 1}` },
      { seq: 10_000 - capacity + 2, value: `v${10_000 - capacity + 2}` },
    ]);
    assert.deepEqual(log.after(10_000, 5), []);
  });

  it("answers an empty log like an empty stream", function () {
    const log = new CappedLog<string>();
    assert.equal(log.length, 0);
    assert.equal(log.lastSeq, 0);
    assert.deepEqual(log.after(0, 10), []);
    assert.equal(log.get(1), undefined);
    assert.deepEqual(log.newest(5), []);
  });
});
