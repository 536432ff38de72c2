import assert from "node:assert/strict";
import { EventBus } from "../../../../src/core/bus/event-bus";
import { compilePattern } from "../../../../src/core/bus/pattern";
import {
  EventIds,
  envelopeIdHint,
  decodeChanges,
  decodePoints,
  envelopeJson,
  pointJson,
  RecentIds,
} from "../../../../src/core/bus/envelope";
import type { DataPoint } from "../../../../src/core/model/datapoint";
import { DataCollError } from "../../../../src/core/errors";

function dp(key: string, value: number): DataPoint {
  const [deviceId, termId, itemId] = key.split(":");
  return { key, deviceId, termId, itemId, value, ts: 1000, quality: {}, cause: "poll" };
}

const batch = [dp("plc1:t1:ua", 1), dp("plc1:t1:ub", 2), dp("plc1:t2:ua", 3), dp("rtu:t1:ua", 4)];

function keysFor(pattern: string): string[] {
  const m = compilePattern(pattern);
  return batch.filter((p) => m.matches(p)).map((p) => p.key);
}

describe("point patterns", function () {
  it("matches ids, single-segment wildcards and a trailing #", function () {
    assert.deepEqual(keysFor("plc1:t1:ua"), ["plc1:t1:ua"]);
    assert.deepEqual(keysFor("plc1:t1"), ["plc1:t1:ua", "plc1:t1:ub"]);
    assert.deepEqual(keysFor("plc1"), ["plc1:t1:ua", "plc1:t1:ub", "plc1:t2:ua"]);
    assert.deepEqual(keysFor("plc1:#"), keysFor("plc1"));
    assert.deepEqual(keysFor("*:*:ua"), ["plc1:t1:ua", "plc1:t2:ua", "rtu:t1:ua"]);
    assert.deepEqual(keysFor("+:t1:+"), ["plc1:t1:ua", "plc1:t1:ub", "rtu:t1:ua"]);
    assert.equal(keysFor("").length, 4);
    assert.equal(keysFor("#").length, 4);
    assert.ok(compilePattern("*").all);
    assert.ok(!compilePattern("plc1").all);
  });

  it("rejects malformed patterns, naming the rule", function () {
    for (const [p, msg] of [
      ["a:b:c:d", /more than three segments/],
      ["#:t1", /'#' may only be the last segment/],
      ["a::c", /segment 2 must be an id/],
      ["pl*c", /segment 1 must be an id/],
    ] as const) {
      assert.throws(
        () => compilePattern(p),
        (err: unknown) => err instanceof DataCollError && err.field === "pattern" && msg.test(err.message),
      );
    }
  });
});

describe("event bus", function () {
  it("hands a match-all listener the published array itself", function () {
    const bus = new EventBus({ instanceId: "a" });
    const got: (readonly DataPoint[])[] = [];
    bus.subscribe("#", (pts) => got.push(pts));
    bus.subscribe("plc1", (pts) => got.push(pts));
    const all = batch.slice(0, 3);
    bus.publish(all);
    assert.equal(got[0], all);
    assert.equal(got[1], all, "a filter matching every point also gets the array as it is");
  });

  it("filters a partly matched batch and skips listeners with no match", function () {
    const bus = new EventBus({ instanceId: "a" });
    const got: string[][] = [];
    bus.subscribe("*:t2", (pts) => got.push(pts.map((p) => p.key)));
    bus.subscribe("nobody", () => assert.fail("no point matches"));
    bus.publish(batch);
    assert.deepEqual(got, [["plc1:t2:ua"]]);
  });

  it("stops delivering after unsubscribe, also from inside a listener", function () {
    const bus = new EventBus({ instanceId: "a" });
    let n = 0;
    const sub = bus.subscribe("#", () => {
      n++;
      sub.unsubscribe();
    });
    bus.publish(batch);
    bus.publish(batch);
    assert.equal(n, 1);
    assert.equal(bus.listenerCount, 0);
  });

  it("keeps delivering when a listener throws, and reports it", function () {
    const errors: string[] = [];
    const bus = new EventBus({
      instanceId: "a",
      onListenerError: (err, p) => errors.push(`${p}: ${String(err)}`),
    });
    let delivered = 0;
    bus.subscribe("plc1", () => {
      throw new Error("boom");
    });
    bus.subscribe("#", () => delivered++);
    bus.publish(batch);
    assert.equal(delivered, 1);
    assert.deepEqual(errors, ["plc1: Error: boom"]);
  });

  it("drops its own events coming back and duplicates from others", function () {
    const a = new EventBus({ instanceId: "same-host", now: () => 5 });
    const b = new EventBus({ instanceId: "same-host" });
    let aGot = 0;
    let bGot = 0;
    a.subscribe("#", () => aGot++);
    b.subscribe("#", () => bGot++);
    const env = a.publish(batch);
    assert.equal(env.ts, 5);
    assert.equal(a.receive(env), false, "an echo of a's own event");
    assert.equal(b.receive(env), true, "same instance name, different bus: delivered");
    assert.equal(b.receive(env), false, "the same event twice");
    assert.deepEqual([aGot, bGot], [1, 1]);
  });
});

describe("envelopes", function () {
  it("round-trips points through JSON, bigints as text", function () {
    const ids = new EventIds("tok");
    const p: DataPoint = { ...dp("plc1:t1:ua", 1), raw: 2n ** 63n, quality: { invalid: true }, error: "x" };
    const text = envelopeJson({ v: 1, instance: "i1", id: ids.next(), ts: 7 }, [pointJson(p)]);
    const d = decodePoints(text);
    assert.ok(d.ok);
    assert.equal(d.envelope.id, "tok-0");
    assert.deepEqual(d.envelope.points[0], { ...p, raw: "9223372036854775808" });
    assert.ok(ids.isOwn("tok-0") && !ids.isOwn("tok0-1") && !ids.isOwn("other-1"));
  });

  it("writes every point as JSON.stringify does, from the cached head or not", function () {
    const base = dp("plc1:t1:ua", 1);
    // A point with a raw value as the Modbus term makes it: raw right after the value.
    const withRaw = (raw: DataPoint["raw"]): DataPoint => {
      const { key, deviceId, termId, itemId, value, ts, quality, cause } = base;
      return { key, deviceId, termId, itemId, value, raw, ts, quality, cause };
    };
    const shapes: DataPoint[] = [
      base,
      { ...base, value: -0 },
      { ...base, value: 0.1 + 0.2 },
      { ...base, value: Number.NaN },
      { ...base, value: Number.POSITIVE_INFINITY },
      { ...base, value: 1e21 },
      { ...base, value: null },
      { ...base, value: true },
      { ...base, value: 'quote " back\\ slash\n and \u2028' },
      { ...base, ts: Number.NaN },
      { ...base, quality: { invalid: true, notTopical: true } },
      { ...base, quality: Object.freeze({}) },
      { ...base, cause: "spontaneous" },
      // The same key with other ids (a point made by hand): the cached head must not be used for it.
      { ...base, deviceId: "plc2" },
      withRaw(5),
      withRaw("0x1f"),
      withRaw(false),
      withRaw(2n ** 63n),
      withRaw(undefined),
      { ...base, raw: 5 },
      { ...base, error: "Modbus exception 02" },
      { ...base, raw: 2n ** 63n },
      // Fields in another order, an extra field, and one left undefined: JSON.stringify's own rules.
      { cause: "poll", key: "a:b:c", deviceId: "a", termId: "b", itemId: "c", value: 1, ts: 2, quality: {} },
      { ...base, unit: "kW" } as DataPoint,
      { ...base, value: undefined } as unknown as DataPoint,
      dp('d"q:t:i', 2),
    ];
    for (const p of [...shapes, ...shapes]) {
      const expected = JSON.stringify(p, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v));
      assert.equal(pointJson(p), expected);
    }
  });

  it("fills what a minimal foreign publisher leaves out", function () {
    const d = decodePoints(
      '{"v":1,"instance":"py","id":"e1","ts":99,"points":[{"key":"a:b:c","value":1.5}]}',
    );
    assert.ok(d.ok);
    assert.deepEqual(d.envelope.points[0], {
      key: "a:b:c",
      deviceId: "a",
      termId: "b",
      itemId: "c",
      value: 1.5,
      ts: 99,
      quality: {},
      cause: "manual",
    });
  });

  it("rejects malformed envelopes with a reason", function () {
    const bad: [string, RegExp][] = [
      ["nope", /not JSON/],
      ["[]", /not a JSON object/],
      ['{"v":2,"instance":"x","id":"1","ts":1,"points":[]}', /version 2/],
      ['{"v":1,"id":"1","ts":1,"points":[]}', /instance/],
      ['{"v":1,"instance":"x","ts":1,"points":[]}', /id must/],
      ['{"v":1,"instance":"x","id":"1","points":[]}', /ts must/],
      ['{"v":1,"instance":"x","id":"1","ts":1}', /points must be a list/],
      [
        '{"v":1,"instance":"x","id":"1","ts":1,"points":[{"key":"a:b","value":1}]}',
        /not deviceId:termId:itemId/,
      ],
      ['{"v":1,"instance":"x","id":"1","ts":1,"points":[{"key":"a:b:c","value":{}}]}', /value must be/],
      [
        '{"v":1,"instance":"x","id":"1","ts":1,"points":[{"key":"a:b:c","value":1,"cause":"x"}]}',
        /unknown cause/,
      ],
      ['{"v":1,"instance":"x","id":"1","ts":1,"points":[{"key":"a:b:c","value":1,"ts":"x"}]}', /ts must/],
      ['{"v":1,"instance":"x","id":"1","ts":1,"points":[{"key":"a:b:c","value":1,"quality":3}]}', /quality/],
    ];
    for (const [text, reason] of bad) {
      const d = decodePoints(text);
      assert.ok(!d.ok, text);
      assert.match(d.reason, reason, text);
    }
    assert.ok(
      !decodeChanges(
        '{"v":1,"instance":"x","id":"1","ts":1,"changes":[{"kind":"pump","id":"a","op":"create"}]}',
      ).ok,
    );
    assert.ok(
      !decodeChanges('{"v":1,"instance":"x","id":"1","ts":1,"changes":[{"kind":"item","id":"a","op":"zap"}]}')
        .ok,
    );
    assert.ok(
      decodeChanges(
        '{"v":1,"instance":"x","id":"1","ts":1,"changes":[{"kind":"item","id":"a","op":"delete"}]}',
      ).ok,
    );
  });

  it("remembers a bounded window of ids", function () {
    const r = new RecentIds(2);
    assert.equal(r.seen("a"), false);
    assert.equal(r.seen("a"), true);
    r.seen("b");
    r.seen("c");
    assert.equal(r.seen("a"), false, "a fell out of the window");
  });
});

describe("envelope id hint", function () {
  it("reads the id of an envelope we wrote, and nothing from other layouts", function () {
    const text = envelopeJson({ v: 1, instance: 'we"ird', id: "tok-9", ts: 1 }, []);
    assert.equal(envelopeIdHint(text), "tok-9");
    assert.equal(envelopeIdHint('{"id":"x","v":1,"instance":"a","ts":1,"points":[]}'), undefined);
  });
});
