/**
 * Alarm records read back typed: what earlier versions stored as text (severity "500") and what another
 * program writes in the older system's manner (every value text) come back as numbers and booleans, and
 * a record no reader could use is refused rather than passed on.
 */
import assert from "node:assert/strict";
import { DataCollError } from "../../../../src/core/errors";
import { checkAlarm, readAlarm } from "../../../../src/core/store/records";
import { EARLIER_ALARM } from "../../../support/earlier-alarm";

const isCorrupt = (field: string) => (err: unknown) =>
  err instanceof DataCollError && err.code === "corrupt" && err.message.includes(field);

describe("stored alarm records", function () {
  it("reads an earlier version's text severity as a number and keeps every other field", function () {
    const a = readAlarm(JSON.stringify(EARLIER_ALARM));
    assert.deepEqual(a, { ...EARLIER_ALARM, severity: 500 });
  });

  it("reads numbers and booleans written as text, in JSON's or Python's spelling", function () {
    const a = readAlarm(
      JSON.stringify({
        key: "d:t:i",
        condition: "low",
        active: "True",
        acked: "false",
        ts: "5",
        severity: " 700 ",
        limit: "-1.5",
        shelvedUntil: "0",
        value: "12.5",
      }),
    );
    assert.deepEqual(
      [a.active, a.acked, a.ts, a.severity, a.limit, (a as { shelvedUntil?: unknown }).shelvedUntil],
      [true, false, 5, 700, -1.5, 0],
    );
    // A point's value may be text in its own right: it is left as written.
    assert.equal(a.value, "12.5");
  });

  it("leaves out an optional number that says none, and refuses a record without time or flags", function () {
    const base = { key: "d:t:i", condition: "high", active: true, acked: true, ts: 1 };
    const a = readAlarm(JSON.stringify({ ...base, severity: "major", limit: "" }));
    assert.equal("severity" in a, false);
    assert.equal("limit" in a, false);
    assert.throws(() => readAlarm(JSON.stringify({ ...base, ts: "yesterday" })), isCorrupt("ts"));
    assert.throws(() => readAlarm(JSON.stringify({ ...base, ts: undefined })), isCorrupt("ts"));
    assert.throws(() => readAlarm(JSON.stringify({ ...base, active: "yes" })), isCorrupt("active"));
    assert.throws(() => readAlarm(JSON.stringify({ ...base, key: 5 })), isCorrupt("key"));
    assert.throws(() => readAlarm("[1]"), isCorrupt("alarm"));
  });

  it("refuses to store a severity or limit that is not a number", function () {
    const base = { key: "d:t:i", condition: "high", active: true, acked: false, ts: 1 };
    assert.doesNotThrow(() => checkAlarm({ ...base, severity: 500, limit: 10 }));
    for (const [field, bad] of [
      ["severity", { ...base, severity: "500" }],
      ["limit", { ...base, limit: Number.NaN }],
      ["active", { ...base, active: "true" }],
    ] as const) {
      assert.throws(
        () => checkAlarm(bad as unknown as Parameters<typeof checkAlarm>[0]),
        (err: unknown) => err instanceof DataCollError && err.code === "invalid" && err.field === field,
      );
    }
  });
});
