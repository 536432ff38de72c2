import assert from "node:assert/strict";
import { enabledConditions, mergeSettings, parseCheckSettings } from "../../../src/core/check/settings";
import { renderMessage } from "../../../src/core/check/template";
import { DataCollError } from "../../../src/core/errors";

function fieldOf(raw: unknown): string | undefined {
  try {
    parseCheckSettings(raw);
  } catch (err) {
    assert.ok(err instanceof DataCollError, "expected a DataCollError");
    return err.field;
  }
  assert.fail("expected the settings to be rejected");
}

describe("check settings", function () {
  it("maps the old names down_limit, up_limit and warn_msg", function () {
    assert.deepEqual(
      parseCheckSettings({ down_limit: "10", up_limit: 900, warn_msg: "{key} out of range" }),
      {
        low: 10,
        high: 900,
        message: "{key} out of range",
      },
    );
  });

  it("reads every field and leaves absent ones out", function () {
    const s = parseCheckSettings({
      lowLow: 0,
      low: 1,
      high: 2,
      highHigh: 3,
      hysteresis: 0.5,
      ratePerSecond: 4,
      staleSeconds: 60,
      quality: true,
      verify: "value < 900",
      onDelayMs: 100,
      offDelayMs: 200,
      severity: { high: 700 },
      messages: { stale: "{key} silent" },
    });
    assert.deepEqual(enabledConditions(s), [
      "lowLow",
      "low",
      "high",
      "highHigh",
      "rate",
      "stale",
      "quality",
      "verify",
    ]);
    assert.deepEqual(parseCheckSettings({}), {});
    assert.deepEqual(parseCheckSettings(undefined), {});
  });

  it("names the field at fault", function () {
    assert.equal(fieldOf({ low: 10, high: 5 }), "high");
    assert.equal(fieldOf({ high: "abc" }), "high");
    assert.equal(fieldOf({ up_limit: 5, high: 5 }), "up_limit");
    assert.equal(fieldOf({ hysteresis: -1 }), "hysteresis");
    assert.equal(fieldOf({ ratePerSecond: 0 }), "ratePerSecond");
    assert.equal(fieldOf({ staleSeconds: 0 }), "staleSeconds");
    assert.equal(fieldOf({ quality: "yes" }), "quality");
    assert.equal(fieldOf({ verify: "value +" }), "verify");
    assert.equal(fieldOf({ severity: { high: 0 } }), "severity.high");
    assert.equal(fieldOf({ severity: { hot: 5 } }), "severity.hot");
    assert.equal(fieldOf({ messages: { high: 5 } }), "messages.high");
    assert.equal(fieldOf([1]), "check");
  });

  it("lets a point's own fields win over the defaults, but not its undefined ones", function () {
    const m = mergeSettings(
      { high: 100, staleSeconds: 30, severity: { high: 600 } },
      { high: 50, staleSeconds: undefined },
    );
    assert.equal(m.high, 50);
    assert.equal(m.staleSeconds, 30);
    assert.deepEqual(m.severity, { high: 600 });
  });

  it("renders templates and leaves unknown placeholders visible", function () {
    assert.equal(renderMessage("{a} and {b} and {c}", { a: 1, b: "x" }), "1 and x and {c}");
  });
});
