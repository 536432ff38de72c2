import assert from "node:assert/strict";
import { MemoryStore } from "../../../src/core/store/memory-store";
import { LatestView } from "../../../src/core/rest/latest-view";
import { GOOD, type DataPoint } from "../../../src/core/model/datapoint";
import { ENVELOPE_VERSION } from "../../../src/core/bus/envelope";

function sample(itemId: string, value: number): DataPoint {
  return {
    key: `d:t:${itemId}`,
    deviceId: "d",
    termId: "t",
    itemId,
    value,
    ts: 1,
    quality: GOOD,
    cause: "poll",
  };
}

describe("LatestView", function () {
  let store: MemoryStore;
  let listeners: ((points: readonly DataPoint[]) => void)[];
  let reads: number;
  let view: LatestView;
  let seq = 0;

  const feed = (points: DataPoint[]): void => listeners.forEach((l) => l(points));
  const ingest = (points: DataPoint[]): Promise<void> =>
    store.ingest({ v: ENVELOPE_VERSION, instance: "other", id: `x-${seq++}`, ts: 1, points });
  const values = async (now: number, keys = ["d:t:a", "d:t:b"]): Promise<unknown[]> =>
    (JSON.parse(await view.jsonOf(keys, now)) as DataPoint[]).map((p) => [p.itemId, p.value]);

  beforeEach(async function () {
    store = new MemoryStore({ namespace: "lv:", instanceId: "i" });
    await store.registry.putDevice({ id: "d", protocol: "virtual" });
    await store.registry.putTerm({ id: "t", deviceId: "d" });
    for (const i of ["a", "b"]) {
      await store.registry.putItem({ id: i });
      await store.registry.putPoint({ deviceId: "d", termId: "t", itemId: i });
    }
    await ingest([sample("a", 1)]);
    const latestMany = store.latestMany.bind(store);
    reads = 0;
    store.latestMany = (keys) => {
      reads++;
      return latestMany(keys);
    };
    listeners = [];
    view = new LatestView(
      store,
      (l) => {
        listeners.push(l);
        return () => (listeners = listeners.filter((x) => x !== l));
      },
      1000,
    );
  });

  afterEach(async function () {
    view.close();
    await store.close();
  });

  it("reads the store once, then follows the feed without reading it again", async function () {
    assert.deepEqual(await values(0), [["a", 1]]);
    feed([sample("b", 2), sample("a", 3)]);
    assert.deepEqual(await values(10), [
      ["a", 3],
      ["b", 2],
    ]);
    assert.deepEqual(await values(20, ["d:t:b"]), [["b", 2]]);
    assert.equal(reads, 1);
  });

  it("reads the store again after maxAge, so a sample the feed missed is late by that much at most", async function () {
    await values(0);
    await ingest([sample("b", 5)]);
    assert.deepEqual(await values(999), [["a", 1]]);
    assert.deepEqual(await values(1000), [
      ["a", 1],
      ["b", 5],
    ]);
    assert.equal(reads, 2);
  });

  it("reads the store again after a registry change", async function () {
    await values(0);
    await store.registry.deletePoint("d:t:a");
    await store.registry.putPoint({ deviceId: "d", termId: "t", itemId: "a" });
    assert.deepEqual(await values(1), []);
    assert.equal(reads, 2);
  });

  it("keeps a value the feed brought while the store was being read", async function () {
    const latestMany = store.latestMany;
    store.latestMany = async (keys) => {
      const stored = await latestMany(keys);
      feed([sample("a", 99)]);
      return stored;
    };
    assert.deepEqual(await values(0), [["a", 99]]);
  });

  it("reuses the answer for a pattern until a sample, a store read or a registry change", async function () {
    const keys = ["d:t:a", "d:t:b"];
    let listed = 0;
    const keysOf = (list: readonly string[]) => async (): Promise<readonly string[]> => {
      listed++;
      return list;
    };
    const text = (a: { bytes: Buffer }): string => a.bytes.toString("utf8");
    const first = await view.answer("d", 0, keysOf(keys));
    assert.match(text(first), /"value":1/);
    // Nothing changed: the kept answer comes back as it was, the key list is not asked for again.
    assert.equal(await view.answer("d", 10, keysOf([])), first);
    assert.equal(listed, 1);
    const other = await view.answer("other", 10, keysOf([]));
    assert.equal(text(other), "[]", "another pattern has its own answer");
    assert.notEqual(other.etag, first.etag, "and its own entity tag");
    feed([sample("b", 7)]);
    const second = await view.answer("d", 20, keysOf(keys));
    assert.match(text(second), /"value":7/);
    assert.notEqual(second.etag, first.etag, "new bytes, a new entity tag");
    await store.registry.putItem({ id: "c" });
    assert.equal(text(await view.answer("d", 30, keysOf([]))), "[]", "a registry change starts afresh");
    feed([sample("a", 8)]);
    assert.match(text(await view.answer("d", 31, keysOf(keys))), /"value":8/, "a sample starts afresh");
    assert.equal(listed, 5);
  });

  it("asks for the key list only once the view is seeded, so registry points are not taken as feed-only", async function () {
    // Before the first store read every key the feed brought looks feed-only; after it, d:t:a is known
    // as a registry point.
    feed([sample("a", 5)]);
    const a = await view.answer("*", 0, async () => view.feedOnlyKeys());
    assert.equal(a.bytes.toString("utf8"), "[]");
  });

  it("stops following the feed when closed", function () {
    view.close();
    assert.equal(listeners.length, 0);
  });

  it("keeps points known only from the feed (flow-drawn devices) across store reads and lists them", async function () {
    await values(0);
    feed([{ ...sample("x", 7), key: "flow:dev:x", deviceId: "flow", termId: "dev" }]);
    assert.deepEqual(view.feedOnlyKeys(), ["flow:dev:x"]);
    const text = await view.jsonOf(["flow:dev:x"], 5000); // past maxAge: the store is read again
    assert.ok(reads >= 2);
    assert.deepEqual(
      (JSON.parse(text) as DataPoint[]).map((p) => p.value),
      [7],
    );
    assert.deepEqual(view.feedOnlyKeys(), ["flow:dev:x"]);
  });
});
