/**
 * The check node's editor form as checker settings: blank fields mean "not set", delays are seconds,
 * one severity applies to every condition, and the scope is a pattern or the manager's registry.
 */
import assert from "node:assert/strict";
import { parseCheckForm } from "../../../src/core/check/form";
import { CONDITIONS } from "../../../src/core/check/settings";
import { DataCollError } from "../../../src/core/errors";

describe("check form", function () {
  it("leaves blank fields out and reads delays in seconds", function () {
    const { defaults } = parseCheckForm({
      low: "",
      high: "10",
      hysteresis: "",
      onDelay: "1.5",
      offDelay: "",
      verify: "",
      message: "  ",
      quality: false,
    });
    assert.deepEqual(defaults, { high: 10, onDelayMs: 1500 });
  });

  it("gives every condition the form's one severity", function () {
    const { defaults } = parseCheckForm({ high: "10", severity: "900", quality: true });
    assert.deepEqual(defaults.severity, Object.fromEntries(CONDITIONS.map((c) => [c, 900])));
    assert.equal(defaults.quality, true);
  });

  it("checks a pattern's points, all points when blank, or the registry's", function () {
    const pattern = parseCheckForm({ scope: "plc1:meter1:#" }).scope;
    assert.ok(pattern.kind === "pattern");
    assert.equal(pattern.matcher.matches({ deviceId: "plc1", termId: "meter1", itemId: "v" }), true);
    assert.equal(pattern.matcher.matches({ deviceId: "plc2", termId: "meter1", itemId: "v" }), false);
    const blank = parseCheckForm({}).scope;
    assert.ok(blank.kind === "pattern" && blank.matcher.all);
    assert.deepEqual(parseCheckForm({ scopeMode: "registry", scope: "ignored:#" }).scope, {
      kind: "registry",
    });
  });

  it("names the field at fault", function () {
    assert.throws(
      () => parseCheckForm({ low: "10", high: "5" }),
      (err: unknown) => err instanceof DataCollError && /high \(5\) must not be below low/.test(err.message),
    );
  });
});
