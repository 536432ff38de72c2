/**
 * The older system stored every sample's value as a Python float written with str(): `datas` answers
 * them so. The expected texts are Python 3's own (`repr(x)` of each number, printed by python3).
 */
import assert from "node:assert/strict";
import { olderValue, pythonFloat } from "../../../src/core/rest/legacy";

describe("older values", function () {
  it("writes numbers as Python wrote its floats", function () {
    const cases: [number, string][] = [
      [230.0, "230.0"],
      [0.1, "0.1"],
      [1e-5, "1e-05"],
      [1e16, "1e+16"],
      [123456789012345.6, "123456789012345.6"],
      [0.0001, "0.0001"],
      [0.00012, "0.00012"],
      [-2.5, "-2.5"],
      [1e21, "1e+21"],
      [12.5, "12.5"],
      [100.0, "100.0"],
      [5e-324, "5e-324"],
      [1.7976931348623157e308, "1.7976931348623157e+308"],
      [0.3333333333333333, "0.3333333333333333"],
      [9007199254740992.0, "9007199254740992.0"],
      [-0, "-0.0"],
      [1000000000000000.0, "1000000000000000.0"],
      [999999999999999.9, "999999999999999.9"],
    ];
    for (const [n, python] of cases) assert.equal(pythonFloat(n), python, String(n));
    assert.deepEqual(
      [pythonFloat(NaN), pythonFloat(Infinity), pythonFloat(-Infinity)],
      ["nan", "inf", "-inf"],
    );
  });

  it("writes a switch as 1.0 or 0.0 and keeps text as it is", function () {
    assert.deepEqual(
      [olderValue(true), olderValue(false), olderValue("ON"), olderValue(null)],
      ["1.0", "0.0", "ON", ""],
    );
  });
});
