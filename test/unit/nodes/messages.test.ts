import assert from "node:assert/strict";
import { DataCollError } from "../../../src/core/errors";
import type { DataPoint } from "../../../src/core/model/datapoint";
import { batchTopic, messagesFor, pointsFromMessage } from "../../../nodes/lib/messages";

const NOW = 1_763_700_000_000;

function dp(key: string, value: number): DataPoint {
  const [deviceId, termId, itemId] = key.split(":");
  return { key, deviceId, termId, itemId, value, ts: NOW - 5, quality: {}, cause: "poll" };
}

function rejects(msg: Record<string, unknown>, field: string, text: RegExp): void {
  assert.throws(
    () => pointsFromMessage(msg, NOW),
    (err: unknown) => err instanceof DataCollError && err.field === field && text.test(err.message),
  );
}

describe("flow messages", function () {
  it("reads a batch of DataPoints from msg.payload", function () {
    const points = [dp("d1:t1:i1", 1), dp("d1:t1:i2", 2)];
    assert.deepEqual(pointsFromMessage({ topic: "d1:t1", payload: points }, NOW), points);
  });

  it("reads one point from topic + value, stamped now with cause manual and good quality", function () {
    assert.deepEqual(pointsFromMessage({ topic: "d1:t1:i1", payload: 42.5 }, NOW), [
      {
        key: "d1:t1:i1",
        deviceId: "d1",
        termId: "t1",
        itemId: "i1",
        value: 42.5,
        ts: NOW,
        quality: {},
        cause: "manual",
      },
    ]);
  });

  it("takes a point's ids from its key when the ids beside it say otherwise", function () {
    const [p] = pointsFromMessage(
      { payload: [{ key: "d1:t1:i1", deviceId: "other", termId: "t1", itemId: "i1", value: 1 }] },
      NOW,
    );
    assert.deepEqual([p.key, p.deviceId, p.termId, p.itemId], ["d1:t1:i1", "d1", "t1", "i1"]);
    const [q] = pointsFromMessage({ payload: [{ key: "d1:t1:i1", value: 1 }] }, NOW);
    assert.deepEqual([q.key, q.deviceId, q.termId, q.itemId], ["d1:t1:i1", "d1", "t1", "i1"]);
  });

  it("takes the ids beside a key only when they make that key exactly, else the key's own", function () {
    // Ids that differ from the key's parts only where a comparison in place could slip: the separator
    // inside an id, a shifted boundary, an empty id, a longer or shorter key.
    const cases: [string, string, string, string][] = [
      ["d1:t1:i1", "d1:t1", "i1", ""],
      ["d1:t1:i1", "d1", "t1:i1", ""],
      ["d:1t1:i1", "d:1", "t1", "i1"],
      ["d1:t1:i1", "d1:", "t1", "i1"],
      ["d1:t1:i1", "d", "1:t1", "i1"],
      ["d1:t1:i1", "d1", "t", "1:i1"],
      ["d1:t1:i1", "d1", "t1", "i2"],
      ["d1:t1:i1", "d2", "t1", "i1"],
      ["d1:t1:i1", "d1", "t2", "i1"],
      ["d1:t1:i1x", "d1", "t1", "i1"],
      ["a:b:c:d", "a:b", "c", "d"], // a key of four parts, which ids with the separator would make
    ];
    for (const [key, deviceId, termId, itemId] of cases) {
      const read = (): DataPoint[] =>
        pointsFromMessage({ payload: [{ key, deviceId, termId, itemId, value: 1 }] }, NOW);
      const parts = key.split(":");
      if (parts.length !== 3) {
        assert.throws(read, DataCollError, key);
        continue;
      }
      const [p] = read();
      assert.deepEqual(
        [p.key, p.deviceId, p.termId, p.itemId],
        [key, ...parts],
        `${key} ${deviceId}|${termId}|${itemId}`,
      );
    }
    const [same] = pointsFromMessage(
      { payload: [{ key: "dev:term:item", deviceId: "dev", termId: "term", itemId: "item", value: 1 }] },
      NOW,
    );
    assert.deepEqual(
      [same.key, same.deviceId, same.termId, same.itemId],
      ["dev:term:item", "dev", "term", "item"],
    );
  });

  it("lets msg.payload override the value of msg.point", function () {
    const [p] = pointsFromMessage({ topic: "d1:t1:i1", payload: 7, point: dp("d1:t1:i1", 3) }, NOW);
    assert.equal(p.value, 7);
    assert.equal(p.ts, NOW - 5);
    assert.equal(p.cause, "poll");
  });

  it("keeps only known quality flags", function () {
    const [p] = pointsFromMessage(
      { payload: [{ key: "a:b:c", value: 1, quality: { invalid: true, bogus: true } }] },
      NOW,
    );
    assert.deepEqual(p.quality, { invalid: true });
  });

  it("names what is wrong with a bad message", function () {
    rejects({ payload: 5 }, "payload", /msg.topic = deviceId:termId:itemId/);
    rejects({ topic: "a:b", payload: 5 }, "payload", /expected/);
    rejects({ payload: [{ key: "a:b", value: 1 }] }, "key", /msg.payload\[0\].key/);
    rejects({ payload: [dp("a:b:c", 1), { key: "a:b:c", value: {} }] }, "value", /msg.payload\[1\].value/);
    rejects({ payload: [{ key: "a:b:c", value: 1, ts: "yesterday" }] }, "ts", /epoch milliseconds/);
    rejects({ payload: [{ key: "a:b:c", value: 1, cause: "magic" }] }, "cause", /cause must be one of/);
    rejects({ payload: [{ key: "a:b:c", value: 1, quality: "bad" }] }, "quality", /object of flags/);
  });

  it("emits a batch as one message with a common topic, or one message per point", function () {
    const points = [dp("d1:t1:i1", 1), dp("d1:t1:i2", 2)];
    assert.deepEqual(messagesFor(points, "batch", { _msgid: "x" }), [
      { _msgid: "x", topic: "d1:t1", payload: points },
    ]);
    assert.deepEqual(messagesFor(points, "point"), [
      { topic: "d1:t1:i1", payload: 1, point: points[0] },
      { topic: "d1:t1:i2", payload: 2, point: points[1] },
    ]);
    assert.deepEqual(messagesFor([], "batch"), []);
  });

  it("names a batch by what its points share", function () {
    assert.equal(batchTopic([dp("d1:t1:i1", 1), dp("d1:t2:i1", 1)]), "d1");
    assert.equal(batchTopic([dp("d1:t1:i1", 1), dp("d2:t1:i1", 1)]), "");
  });
});
