/**
 * The HTTP status the API answers for each error code. The checker and the formula engine once threw
 * "not_found" where the REST layer maps "not-found", so an unwatched alarm or an unknown formula answered
 * 500; these tests hold that the errors they throw now map to 404.
 */
import assert from "node:assert/strict";
import { Checker } from "../../../src/core/check/checker";
import { MemoryAlarmStateStore } from "../../../src/core/check/alarm-state";
import { DataCollError } from "../../../src/core/errors";
import { FormulaEngine } from "../../../src/core/formula/engine";
import { statusOf } from "../../../src/core/rest/errors";
import { rejection as thrownBy } from "../../support-history/rejection";
import { KEY } from "../check/helpers";

describe("statusOf", function () {
  it("answers 404 for the checker's unwatched alarm", async function () {
    const c = await Checker.open({
      store: new MemoryAlarmStateStore(),
      points: new Map([[KEY, { high: 100 }]]),
      now: 0,
    });
    for (const err of [
      thrownBy(() => c.acknowledge(KEY, "low", 1)),
      thrownBy(() => c.acknowledge("x:y:z", undefined, 1)),
      thrownBy(() => c.shelve("x:y:z", "high", 10, 1)),
    ]) {
      assert.equal(err.code, "not-found", err.message);
      assert.equal(statusOf(err), 404, err.message);
    }
  });

  it("answers 404 for the formula engine's unknown formula", function () {
    const err = thrownBy(() => new FormulaEngine().evaluateNow("nope", 10));
    assert.equal(err.code, "not-found");
    assert.equal(statusOf(err), 404);
  });

  it("answers the caller's faults with 4xx and unavailability with 503", function () {
    const expect = [
      ["invalid", 400],
      ["bad-message", 400],
      ["not-found", 404],
      ["conflict", 409],
      ["busy", 503],
      ["store-locked", 503],
      ["store-corrupt", 503],
      ["store-io", 503],
      ["store-write", 503],
      ["closed", 500],
      ["modbus-timeout", 500],
    ] as const;
    for (const [code, status] of expect) assert.equal(statusOf(new DataCollError(code, "x")), status, code);
  });
});
