import assert from "node:assert/strict";
import { ChangeFilter } from "../../../src/core/history/change-filter";
import type { DataPoint, Quality } from "../../../src/core/model/datapoint";

function dp(key: string, value: DataPoint["value"], quality: Quality = {}): DataPoint {
  return { key, deviceId: "d", termId: "t", itemId: "i", value, ts: 0, quality, cause: "poll" };
}

describe("save only on change", function () {
  it("passes everything when unchanged samples are saved", function () {
    const f = new ChangeFilter({ saveUnchanged: true, deadband: 5 });
    assert.deepEqual(
      [1, 1, 1].map((v) => f.accept(dp("a", v))),
      [true, true, true],
    );
  });

  it("saves the first sample, then only changes beyond the deadband from the last saved value", function () {
    const f = new ChangeFilter({ saveUnchanged: false, deadband: 1 });
    const seen = [10, 10.5, 11, 11.2, 8.9, 8.9].map((v) => f.accept(dp("a", v)));
    // 11.2 is 1.2 from the saved 10 (drift adds up); 8.9 is 2.3 from the saved 11.2.
    assert.deepEqual(seen, [true, false, false, true, true, false]);
  });

  it("saves any change with a zero deadband, and keeps points apart", function () {
    const f = new ChangeFilter({ saveUnchanged: false, deadband: 0 });
    assert.deepEqual(
      [dp("a", 1), dp("b", 1), dp("a", 1), dp("a", 1.0001), dp("b", 1)].map((p) => f.accept(p)),
      [true, true, false, true, false],
    );
  });

  it("saves a quality change even when the value holds", function () {
    const f = new ChangeFilter({ saveUnchanged: false, deadband: 10 });
    assert.deepEqual(
      [dp("a", 1), dp("a", 1, { notTopical: true }), dp("a", 1, { notTopical: true }), dp("a", 1)].map((p) =>
        f.accept(p),
      ),
      [true, true, false, true],
    );
  });

  it("compares text, booleans, nulls and NaN by identity of value", function () {
    const f = new ChangeFilter({ saveUnchanged: false, deadband: 100 });
    const values: DataPoint["value"][] = [
      "RUN",
      "RUN",
      "STOP",
      true,
      true,
      false,
      null,
      null,
      Number.NaN,
      Number.NaN,
      3,
    ];
    assert.deepEqual(
      values.map((v) => f.accept(dp("a", v))),
      [true, false, true, true, false, true, true, false, true, false, true],
    );
  });

  it("takes a deadband per point and forgets a point on request", function () {
    const f = new ChangeFilter({ saveUnchanged: false, deadband: (key) => (key === "wide" ? 10 : 0) });
    assert.deepEqual(
      [
        f.accept(dp("wide", 0)),
        f.accept(dp("wide", 5)),
        f.accept(dp("narrow", 0)),
        f.accept(dp("narrow", 5)),
      ],
      [true, false, true, true],
    );
    f.forget("wide");
    assert.equal(f.accept(dp("wide", 0)), true);
  });
});
