import assert from "node:assert/strict";
import type { AlarmTransition } from "../../../src/core/check/checker";
import type { DataPoint } from "../../../src/core/model/datapoint";
import { GOOD } from "../../../src/core/model/datapoint";
import {
  alarmRow,
  asHistoryRow,
  pointRow,
  qualityBits,
  qualityFromBits,
  rowProblem,
  sqlTime,
} from "../../../src/core/history/rows";

function dp(value: DataPoint["value"], extra: Partial<DataPoint> = {}): DataPoint {
  return {
    key: "d1:t1:i1",
    deviceId: "d1",
    termId: "t1",
    itemId: "i1",
    value,
    ts: Date.UTC(2026, 10, 21, 14, 0, 0, 123),
    quality: GOOD,
    cause: "poll",
    ...extra,
  };
}

function transition(extra: Partial<AlarmTransition> = {}): AlarmTransition {
  return {
    key: "dev:term:item",
    condition: "high",
    severity: 700,
    text: "T > 90",
    ts: 5,
    state: "raised",
    previous: "normal",
    active: true,
    value: 91,
    ...extra,
  };
}

describe("history rows", function () {
  it("stores quality as the IEC 104 QDS byte and reads it back", function () {
    assert.equal(qualityBits(GOOD), 0);
    assert.equal(qualityBits({ invalid: true }), 0x80);
    assert.equal(qualityBits({ notTopical: true }), 0x40);
    assert.equal(qualityBits({ substituted: true }), 0x20);
    assert.equal(qualityBits({ blocked: true }), 0x10);
    assert.equal(qualityBits({ overflow: true }), 0x01);
    const all = { invalid: true, notTopical: true, substituted: true, blocked: true, overflow: true };
    assert.equal(qualityBits(all), 0xf1);
    assert.deepEqual(qualityFromBits(0xf1), all);
    assert.deepEqual(qualityFromBits(0), {});
  });

  it("splits values into the numeric and the text column", function () {
    const split = (v: DataPoint["value"]) => {
      const r = pointRow(dp(v));
      return [r.value, r.valueText];
    };
    assert.deepEqual(split(12.5), [12.5, null]);
    assert.deepEqual(split(true), [1, "true"]);
    assert.deepEqual(split(false), [0, "false"]);
    assert.deepEqual(split("RUN"), [null, "RUN"]);
    assert.deepEqual(split(null), [null, null]);
    assert.deepEqual(split(Number.NaN), [null, "NaN"]);
    assert.deepEqual(split(-Infinity), [null, "-Infinity"]);
  });

  it("formats time as UTC DATETIME(3) text", function () {
    assert.equal(sqlTime(Date.UTC(2026, 0, 2, 3, 4, 5, 67)), "2026-01-02 03:04:05.067");
    assert.equal(sqlTime(0), "1970-01-01 00:00:00.000");
    // Neighbours across second, day and year boundaries, in both directions, and before 1970.
    const seq = [
      Date.UTC(2026, 11, 31, 23, 59, 59, 999),
      Date.UTC(2027, 0, 1, 0, 0, 0, 0),
      Date.UTC(2027, 0, 1, 0, 0, 0, 5),
      Date.UTC(2027, 0, 1, 0, 0, 0, 50),
      Date.UTC(2026, 11, 31, 23, 59, 59, 998),
      Date.UTC(1969, 11, 31, 23, 59, 59, 1),
      Date.UTC(1000, 0, 1, 0, 0, 0, 0),
    ];
    for (const ts of seq) {
      const iso = new Date(ts).toISOString();
      assert.equal(sqlTime(ts), `${iso.slice(0, 10)} ${iso.slice(11, 23)}`, iso);
    }
  });

  it("refuses rows that no table can hold", function () {
    assert.equal(rowProblem(pointRow(dp(1))), undefined);
    assert.match(rowProblem(pointRow(dp(1, { ts: Number.NaN }))) ?? "", /time stamp/);
    assert.match(rowProblem(pointRow(dp(1, { ts: 1.5 }))) ?? "", /time stamp/);
    assert.match(rowProblem(pointRow(dp(1, { ts: Date.UTC(10000, 0, 1) }))) ?? "", /time stamp/);
    assert.match(rowProblem(pointRow(dp(1, { key: "" }))) ?? "", /key/);
    assert.match(rowProblem(alarmRow(transition({ ts: -1e15 }))) ?? "", /time stamp/);
  });

  it("turns a checker transition into an alarm row, ids taken from the point key", function () {
    assert.deepEqual(alarmRow(transition({ value: true, by: "jo" })), {
      kind: "alarm",
      key: "dev:term:item",
      deviceId: "dev",
      termId: "term",
      itemId: "item",
      condition: "high",
      state: "raised",
      previous: "normal",
      active: 1,
      severity: 700,
      text: "T > 90",
      ts: 5,
      value: 1,
      valueText: "true",
      by: "jo",
    });
    const cleared = alarmRow(transition({ state: "cleared-unacked", active: false, value: undefined }));
    assert.deepEqual([cleared.active, cleared.value, cleared.valueText, cleared.by], [0, null, null, null]);
  });

  it("reads back what it wrote through JSON and rejects anything else", function () {
    const p = pointRow(dp("x", { quality: { invalid: true } }));
    assert.deepEqual(asHistoryRow(JSON.parse(JSON.stringify(p))), p);
    const a = alarmRow(transition({ value: "HIGH", by: "jo" }));
    assert.deepEqual(asHistoryRow(JSON.parse(JSON.stringify(a))), a);
    assert.equal(asHistoryRow(null), undefined);
    assert.equal(asHistoryRow({ ...p, kind: "other" }), undefined);
    assert.equal(asHistoryRow({ ...p, ts: "1" }), undefined);
    assert.equal(asHistoryRow({ ...p, value: "1" }), undefined);
    assert.equal(asHistoryRow({ ...a, severity: "major" }), undefined);
  });
});
