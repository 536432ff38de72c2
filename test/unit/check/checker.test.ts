import assert from "node:assert/strict";
import { Checker, type AlarmTransition } from "../../../src/core/check/checker";
import {
  MemoryAlarmStateStore,
  type AlarmStateStore,
  type StoredAlarm,
} from "../../../src/core/check/alarm-state";
import type { CheckSettings } from "../../../src/core/check/settings";
import { DataCollError } from "../../../src/core/errors";
import type { DataPoint } from "../../../src/core/model/datapoint";
import { KEY, sample } from "./helpers";

async function checkerWith(
  settings: CheckSettings,
  store: AlarmStateStore = new MemoryAlarmStateStore(),
  now = 0,
) {
  return Checker.open({ store, points: new Map([[KEY, settings]]), now });
}

/** Run one value at time `ts` and return "condition:state" for each transition. */
function feed(c: Checker, value: DataPoint["value"], ts: number, quality = {}): string[] {
  return names(c.checkBatch([sample(value, ts, quality)], ts).transitions);
}

function names(ts: readonly AlarmTransition[]): string[] {
  return ts.map((t) => `${t.condition}:${t.state}`);
}

describe("checker", function () {
  describe("limits", function () {
    it("raises high strictly above the limit, with the full transition record", async function () {
      const c = await checkerWith({ high: 100 });
      assert.deepEqual(feed(c, 100, 1000), []);
      const r = c.checkBatch([sample(101, 2000)], 2000);
      assert.deepEqual(r.transitions, [
        {
          key: KEY,
          condition: "high",
          severity: 500,
          text: "d1:t1:i1 high: 101 above 100",
          ts: 2000,
          state: "raised",
          previous: "normal",
          active: true,
          value: 101,
        },
      ]);
      assert.equal(r.alarms[0].active, true);
      assert.equal(r.alarms[0].unacked, true);
      assert.equal(r.alarms[0].severity, 500);
    });

    it("stamps a transition the sample causes with the sample's time, so two instances write one row", async function () {
      // Two checkers (two Node-RED instances running one flow) see the same samples at different times.
      const a = await checkerWith({ high: 100, hysteresis: 5 });
      const b = await checkerWith({ high: 100, hysteresis: 5 });
      const raise = sample(101, 5000);
      const clear = sample(90, 6000);
      const ra = [...a.checkBatch([raise], 5003).transitions, ...a.checkBatch([clear], 6004).transitions];
      const rb = [...b.checkBatch([raise], 5250).transitions, ...b.checkBatch([clear], 6400).transitions];
      assert.deepEqual(
        ra.map((t) => [t.state, t.ts]),
        [
          ["raised", 5000],
          ["cleared-unacked", 6000],
        ],
      );
      assert.deepEqual(rb, ra);
      // A transition that waited for a delay happened when the delay ran out: the checker's clock.
      const d = await checkerWith({ high: 100, onDelayMs: 2000 });
      d.checkBatch([sample(150, 100)], 120);
      assert.deepEqual(
        d.checkBatch([sample(150, 2100)], 2130).transitions.map((t) => t.ts),
        [2130],
      );
    });

    it("keeps the raise's words through clear and acknowledge, with a 32-bit float shown as it was written", async function () {
      const c = await checkerWith({ high: 240, hysteresis: 5 });
      const f32 = Math.fround(241.7); // what a float32 register holding 241.7 decodes to
      assert.notEqual(String(f32), "241.7");
      const raise = c.checkBatch([sample(f32, 1000)], 1000).transitions;
      assert.deepEqual(
        raise.map((t) => t.text),
        ["d1:t1:i1 high: 241.7 above 240"],
      );
      const clear = c.checkBatch([sample(Math.fround(231.3), 2000)], 2000).transitions;
      assert.deepEqual(
        clear.map((t) => [t.state, t.text, t.value]),
        [["cleared-unacked", "d1:t1:i1 high: 241.7 above 240", Math.fround(231.3)]],
        "the clear names the alarm it clears; its value field says what cleared it",
      );
      const ack = c.acknowledge(KEY, "high", 3000, "op");
      assert.deepEqual(
        ack.map((t) => [t.state, t.text]),
        [["normal", "d1:t1:i1 high: 241.7 above 240"]],
      );
      // Raised again: new words with the new value.
      assert.deepEqual(
        c.checkBatch([sample(0.1 + 0.2 + 250, 4000)], 4000).transitions.map((t) => t.text),
        ["d1:t1:i1 high: 250.3 above 240"],
      );
    });

    it("high with hysteresis 5 at 100: stays raised down to 95 exclusive, clears exactly at 95", async function () {
      const c = await checkerWith({ high: 100, hysteresis: 5 });
      assert.deepEqual(feed(c, 100.01, 1), ["high:raised"]);
      assert.deepEqual(feed(c, 100, 2), []);
      assert.deepEqual(feed(c, 95.01, 3), []);
      assert.deepEqual(feed(c, 95, 4), ["high:cleared-unacked"]);
      // Back below the raise limit: nothing until the value is above 100 again.
      assert.deepEqual(feed(c, 99, 5), []);
      assert.deepEqual(feed(c, 100, 6), []);
      assert.deepEqual(feed(c, 100.5, 7), ["high:raised"]);
    });

    it("follows the newest value: a late sample (older than one checked) moves no alarm", async function () {
      // The 30-minute soak, m20 after a Redis restart: raised at 91, cleared by a newer 2 polled here,
      // then the 98, 99, 0 polled meanwhile by the other instance arrived — and raised a second time.
      const c = await checkerWith({ high: 90, hysteresis: 5 });
      assert.deepEqual(feed(c, 91, 10_000), ["high:raised"]);
      assert.deepEqual(feed(c, 2, 15_000), ["high:cleared-unacked"]);
      assert.deepEqual(feed(c, 98, 12_500), []);
      assert.deepEqual(feed(c, 99, 13_000), []);
      assert.deepEqual(feed(c, 0, 13_500), []);
      assert.deepEqual(feed(c, 2, 15_000), [], "the same sample again");
      assert.equal(c.checkBatch([sample(98, 14_000)], 16_000).alarms[0].active, false);
      // Newer samples are checked as before.
      assert.deepEqual(feed(c, 95, 15_500), ["high:raised"]);
    });

    it("checks a sample older than the newest by more than ten minutes: the source's clock was set back", async function () {
      const c = await checkerWith({ high: 90, hysteresis: 5 });
      const t = 3_600_000;
      assert.deepEqual(feed(c, 2, t), []);
      assert.deepEqual(feed(c, 95, t - 10 * 60_000), [], "ten minutes back: late");
      assert.deepEqual(feed(c, 95, t - 10 * 60_000 - 1), ["high:raised"]);
      // From there on, the clock set back is the reference.
      assert.deepEqual(feed(c, 0, t - 10 * 60_000 + 500), ["high:cleared-unacked"]);
    });

    it("low with hysteresis 2 at 10: raises below 10, clears exactly at 12", async function () {
      const c = await checkerWith({ low: 10, hysteresis: 2 });
      assert.deepEqual(feed(c, 10, 1), []);
      assert.deepEqual(feed(c, 9.99, 2), ["low:raised"]);
      assert.deepEqual(feed(c, 11.99, 3), []);
      assert.deepEqual(feed(c, 12, 4), ["low:cleared-unacked"]);
    });

    it("without hysteresis clears at the limit itself", async function () {
      const c = await checkerWith({ high: 100 });
      feed(c, 101, 1);
      assert.deepEqual(feed(c, 100, 2), ["high:cleared-unacked"]);
    });

    it("raises high and highHigh (and low and lowLow) as separate alarms with their severities", async function () {
      const c = await checkerWith({ lowLow: 0, low: 10, high: 90, highHigh: 100 });
      const r = c.checkBatch([sample(150, 1)], 1);
      assert.deepEqual(
        r.transitions.map((t) => [t.condition, t.severity]),
        [
          ["high", 500],
          ["highHigh", 800],
        ],
      );
      assert.equal(r.alarms[0].severity, 800);
      assert.deepEqual(feed(c, -1, 2), [
        "lowLow:raised",
        "low:raised",
        "high:cleared-unacked",
        "highHigh:cleared-unacked",
      ]);
    });

    it("treats a boolean as 0/1 and holds limits for text and null values", async function () {
      const c = await checkerWith({ high: 0.5 });
      assert.deepEqual(feed(c, true, 1), ["high:raised"]);
      assert.deepEqual(feed(c, "ON", 2), []);
      assert.deepEqual(feed(c, null, 3), []);
      assert.deepEqual(feed(c, false, 4), ["high:cleared-unacked"]);
    });
  });

  describe("rate of change", function () {
    it("raises when the change per second exceeds the limit, measured on sample time", async function () {
      const c = await checkerWith({ ratePerSecond: 10 });
      assert.deepEqual(feed(c, 0, 0), []);
      assert.deepEqual(feed(c, 10, 1000), []); // exactly 10/s is not above the limit
      assert.deepEqual(feed(c, 30.1, 2000), ["rate:raised"]); // 20.1/s
      assert.deepEqual(feed(c, 25, 2500), []); // 10.2/s: still above
      assert.deepEqual(feed(c, 27, 3500), ["rate:cleared-unacked"]); // 2/s
    });

    it("ignores a sample older than the last one and a falling rate counts too", async function () {
      const c = await checkerWith({ ratePerSecond: 1 });
      feed(c, 0, 10_000);
      assert.deepEqual(feed(c, 500, 9_000), []);
      assert.deepEqual(feed(c, -5, 11_000), ["rate:raised"]);
    });
  });

  describe("stale", function () {
    it("is raised by the timer when nothing arrives, even before the first sample", async function () {
      const c = await checkerWith({ staleSeconds: 5 }, new MemoryAlarmStateStore(), 1000);
      assert.equal(c.nextDeadline(), 6000);
      assert.deepEqual(names(c.tick(5999)), []);
      const t = c.tick(6000);
      assert.deepEqual(names(t), ["stale:raised"]);
      assert.equal(t[0].text, "d1:t1:i1 no update for 5 s");
      assert.equal(c.nextDeadline(), undefined);
      assert.deepEqual(names(c.tick(7000)), []);
    });

    it("clears on the next sample, whatever its quality, and re-arms from its arrival", async function () {
      const c = await checkerWith({ staleSeconds: 5 });
      feed(c, 1, 0);
      c.tick(5000);
      assert.deepEqual(feed(c, 2, 8000, { invalid: true }), ["stale:cleared-unacked"]);
      assert.equal(c.nextDeadline(), 13_000);
    });
  });

  describe("quality", function () {
    it("raises on invalid, not topical, overflow and blocked but not on substituted", async function () {
      const c = await checkerWith({ quality: true });
      assert.deepEqual(feed(c, 1, 1, { substituted: true }), []);
      for (const [i, q] of [
        { invalid: true },
        { notTopical: true },
        { overflow: true },
        { blocked: true },
      ].entries()) {
        assert.deepEqual(feed(c, 1, 10 + i * 2, q), ["quality:raised"], JSON.stringify(q));
        assert.deepEqual(feed(c, 1, 11 + i * 2), ["quality:cleared-unacked"]);
        c.acknowledge(KEY, "quality", 11 + i * 2);
      }
    });

    it("holds limit alarms while the value is not usable", async function () {
      const c = await checkerWith({ high: 100, quality: true });
      assert.deepEqual(feed(c, 500, 1, { invalid: true }), ["quality:raised"]);
      assert.deepEqual(feed(c, 150, 2), ["high:raised", "quality:cleared-unacked"]);
      assert.deepEqual(feed(c, 0, 3, { invalid: true }), ["quality:raised"]);
      assert.equal(c.summary(KEY)?.alarms.find((a) => a.condition === "high")?.state, "raised");
    });
  });

  describe("expression rule", function () {
    it("raises while the old system's do_verify expression is false, with down_limit as an alias", async function () {
      const c = await checkerWith({ low: 10, verify: "value >= down_limit and value <= 900" });
      assert.deepEqual(feed(c, 900, 1), []);
      assert.deepEqual(feed(c, 900.5, 2), ["verify:raised"]);
      assert.deepEqual(feed(c, 500, 3), ["verify:cleared-unacked"]);
      c.acknowledge(KEY, "verify", 3);
      // Below down_limit: the rule and the low limit both fire.
      assert.deepEqual(feed(c, 5, 4), ["low:raised", "verify:raised"]);
    });

    it("sees the previous value and holds when the rule cannot be evaluated", async function () {
      const c = await checkerWith({ verify: "abs(value - prev) < 50" });
      assert.deepEqual(feed(c, 0, 1), []); // the first sample is its own previous value
      assert.deepEqual(feed(c, 100, 2), ["verify:raised"]);
      assert.deepEqual(feed(c, 120, 3), ["verify:cleared-unacked"]);
      const errors: string[] = [];
      const t = await Checker.open({
        store: new MemoryAlarmStateStore(),
        points: new Map([[KEY, { verify: "value > 5" }]]),
        onRuleError: (key, message) => errors.push(`${key} ${message}`),
        now: 0,
      });
      assert.deepEqual(feed(t, 1, 1), ["verify:raised"]);
      assert.deepEqual(feed(t, "ON", 2), []);
      assert.deepEqual(feed(t, "ON", 3), []);
      assert.equal(t.summary(KEY)?.alarms[0]?.state, "raised");
      assert.equal(errors.length, 1, "reported once while the reason stays the same");
      assert.match(errors[0], /^d1:t1:i1 verify cannot be evaluated: /);
    });

    it("rejects a rule outside the sandbox, naming the field", async function () {
      await assert.rejects(checkerWith({ verify: 'evaluate("1")' }), (e: unknown) => {
        assert.ok(e instanceof DataCollError);
        assert.equal(e.field, "verify");
        return true;
      });
      const c = await checkerWith({});
      assert.throws(() => c.setPoint(KEY, { verify: "value.constructor" }, 0), DataCollError);
    });
  });

  describe("on and off delay", function () {
    it("raises only after the condition held for the on-delay, through the timer", async function () {
      const c = await checkerWith({ high: 100, onDelayMs: 2000 });
      assert.deepEqual(feed(c, 150, 0), []);
      assert.equal(c.nextDeadline(), 2000);
      assert.deepEqual(feed(c, 160, 1000), []);
      assert.deepEqual(names(c.tick(1999)), []);
      assert.deepEqual(names(c.tick(2000)), ["high:raised"]);
      assert.equal(c.nextDeadline(), undefined);
    });

    it("raises on a sample that arrives when the on-delay has run out, not before", async function () {
      const c = await checkerWith({ high: 100, onDelayMs: 2000 });
      feed(c, 150, 0);
      assert.deepEqual(feed(c, 150, 1999), []);
      assert.deepEqual(feed(c, 150, 2000), ["high:raised"]);
    });

    it("forgets a condition that went away before the on-delay ran out", async function () {
      const c = await checkerWith({ high: 100, onDelayMs: 2000 });
      feed(c, 150, 0);
      assert.deepEqual(feed(c, 100, 1000), []);
      assert.equal(c.nextDeadline(), undefined);
      assert.deepEqual(names(c.tick(2000)), []);
      // A new excursion starts its own delay.
      feed(c, 150, 3000);
      assert.deepEqual(names(c.tick(4999)), []);
      assert.deepEqual(names(c.tick(5000)), ["high:raised"]);
    });

    it("clears only after the condition was gone for the off-delay", async function () {
      const c = await checkerWith({ high: 100, offDelayMs: 3000 });
      assert.deepEqual(feed(c, 150, 0), ["high:raised"]);
      assert.deepEqual(feed(c, 50, 10_000), []);
      assert.equal(c.nextDeadline(), 13_000);
      assert.deepEqual(feed(c, 150, 11_000), []); // back: the pending clear is cancelled
      assert.equal(c.nextDeadline(), undefined);
      assert.deepEqual(feed(c, 50, 12_000), []);
      assert.deepEqual(names(c.tick(14_999)), []);
      assert.deepEqual(names(c.tick(15_000)), ["high:cleared-unacked"]);
    });
  });

  describe("acknowledge and shelve", function () {
    it("raised → acked → normal when it clears", async function () {
      const c = await checkerWith({ high: 100 });
      feed(c, 150, 1);
      const t = c.acknowledge(KEY, "high", 2, "operator1");
      assert.deepEqual(names(t), ["high:acked"]);
      assert.equal(t[0].by, "operator1");
      assert.equal(t[0].previous, "raised");
      assert.equal(c.summary(KEY)?.unacked, false);
      assert.equal(c.summary(KEY)?.active, true);
      assert.deepEqual(feed(c, 50, 3), ["high:normal"]);
      assert.deepEqual(c.summary(KEY)?.alarms, []);
    });

    it("raised → cleared-unacked → normal on acknowledge; raised again if it returns before", async function () {
      const c = await checkerWith({ high: 100 });
      feed(c, 150, 1);
      feed(c, 50, 2);
      assert.deepEqual(feed(c, 150, 3), ["high:raised"]);
      feed(c, 50, 4);
      assert.deepEqual(names(c.acknowledge(KEY, undefined, 5)), ["high:normal"]);
      assert.deepEqual(names(c.acknowledge(KEY, undefined, 6)), []);
    });

    it("refuses to acknowledge a condition that is not watched", async function () {
      const c = await checkerWith({ high: 100 });
      assert.throws(() => c.acknowledge(KEY, "low", 1), DataCollError);
      assert.throws(() => c.acknowledge("x:y:z", undefined, 1), DataCollError);
    });

    it("shelves until a time, tracks the condition silently, and unshelves to the truth", async function () {
      const c = await checkerWith({ high: 100 });
      feed(c, 150, 1);
      assert.deepEqual(names(c.shelve(KEY, "high", 10_000, 2)), ["high:shelved"]);
      assert.equal(c.nextDeadline(), 10_000);
      assert.deepEqual(feed(c, 50, 3), []);
      assert.deepEqual(feed(c, 150, 4), []);
      assert.deepEqual(feed(c, 50, 5), []);
      assert.deepEqual(names(c.tick(9_999)), []);
      assert.deepEqual(names(c.tick(10_000)), ["high:normal"]);
      assert.equal(c.nextDeadline(), undefined);

      c.shelve(KEY, "high", 20_000, 11_000);
      feed(c, 150, 12_000);
      assert.deepEqual(names(c.unshelve(KEY, "high", 13_000)), ["high:raised"]);
      assert.throws(() => c.shelve(KEY, "high", 13_000, 13_000), DataCollError);
    });
  });

  describe("batches", function () {
    it("returns the same summary object when nothing changed, and no transitions", async function () {
      const c = await checkerWith({ high: 100, low: 0 });
      const a = c.checkBatch([sample(50, 1)], 1);
      const b = c.checkBatch([sample(51, 2)], 2);
      assert.equal(a.alarms[0], b.alarms[0]);
      assert.equal(b.transitions.length, 0);
      const d = c.checkBatch([sample(150, 3)], 3);
      assert.notEqual(d.alarms[0], b.alarms[0]);
    });

    it("annotates each point of a batch in order, with defaults for points without own settings", async function () {
      const c = await Checker.open({
        store: new MemoryAlarmStateStore(),
        defaults: { high: 100 },
        points: new Map([["d1:t1:i2", { high: 10 }]]),
        now: 0,
      });
      const r = c.checkBatch([sample(50, 1, {}, "d1:t1:i1"), sample(50, 1, {}, "d1:t1:i2")], 1);
      assert.deepEqual(
        r.alarms.map((a) => [a.key, a.active]),
        [
          ["d1:t1:i1", false],
          ["d1:t1:i2", true],
        ],
      );
      assert.deepEqual(
        c.activeAlarms().map((a) => a.key),
        ["d1:t1:i2"],
      );
    });

    it("counts alarms and deadlines from the points that hold them, following raises, clears, acks and removals", async function () {
      const c = await Checker.open({ store: new MemoryAlarmStateStore(), defaults: { high: 100 }, now: 0 });
      const keys = (list: readonly { key: string }[]): string[] => list.map((a) => a.key).sort();
      const both = (): [string[], string[]] => [keys(c.alarmed()), keys(c.activeAlarms())];
      c.checkBatch([sample(150, 1), sample(50, 1, {}, "d1:t1:i2"), sample(150, 1, {}, "d1:t1:i3")], 1);
      assert.deepEqual(both(), [
        [KEY, "d1:t1:i3"],
        [KEY, "d1:t1:i3"],
      ]);
      c.checkBatch([sample(50, 2)], 2); // cleared, still waiting for an acknowledgement
      assert.deepEqual(both()[0], [KEY, "d1:t1:i3"]);
      c.acknowledge(KEY, undefined, 3);
      assert.deepEqual(both(), [["d1:t1:i3"], ["d1:t1:i3"]]);
      assert.equal(c.nextDeadline(), undefined);
      c.setDefaults({ high: 100, staleSeconds: 10 }, 4);
      assert.deepEqual(both(), [["d1:t1:i3"], ["d1:t1:i3"]], "rebuilt points keep their alarms");
      assert.equal(c.nextDeadline(), 10_001);
      for (const key of [KEY, "d1:t1:i2", "d1:t1:i3"]) c.removePoint(key, 5);
      assert.deepEqual(both(), [[], []]);
      assert.equal(c.nextDeadline(), undefined, "a removed point goes stale no more");
    });

    it("keeps each point's alarms its own when many points share the defaults, whatever changes them", async function () {
      // Points without settings of their own share the conditions' first state until one changes: every
      // way a condition changes (a sample, a delay, a shelve, an acknowledgement, the stale timer) must
      // change that point only.
      const c = await Checker.open({
        store: new MemoryAlarmStateStore(),
        defaults: { high: 100, offDelayMs: 5, staleSeconds: 60 },
        now: 0,
      });
      const keys = ["d1:t1:a", "d1:t1:b", "d1:t1:c", "d1:t1:d"];
      c.checkBatch(
        keys.map((k) => sample(50, 1, {}, k)),
        1,
      );
      assert.deepEqual(names(c.checkBatch([sample(150, 2, {}, "d1:t1:a")], 2).transitions), ["high:raised"]);
      c.shelve("d1:t1:b", "high", 1000, 3);
      c.checkBatch([sample(150, 4, {}, "d1:t1:c"), sample(50, 4, {}, "d1:t1:a")], 4); // a: off delay pending
      const states = (): string[] =>
        keys.map(
          (k) =>
            `${k.slice(-1)}:${c
              .summary(k)
              ?.alarms.map((s) => s.state)
              .join(",")}`,
        );
      assert.deepEqual(states(), ["a:raised", "b:shelved", "c:raised", "d:"]);
      assert.deepEqual(names(c.tick(9)), ["high:cleared-unacked"]);
      c.acknowledge("d1:t1:a", undefined, 10);
      assert.deepEqual(states(), ["a:", "b:shelved", "c:raised", "d:"]);
      // d never changed: the stale timer raises it, and only the points that stopped reporting.
      c.checkBatch([sample(50, 30_000, {}, "d1:t1:a")], 30_000);
      assert.deepEqual(
        c.tick(60_004).map((t) => `${t.key.slice(-1)}:${t.condition}:${t.state}`),
        // b's shelve ran out with its high never present: back to normal.
        ["b:stale:raised", "b:high:normal", "c:stale:raised", "d:stale:raised"],
      );
      const r = c.checkBatch([sample(150, 60_005, {}, "d1:t1:d")], 60_005);
      assert.deepEqual(names(r.transitions), ["high:raised"]);
      assert.equal(r.transitions[0].text, "d1:t1:d high: 150 above 100");
      assert.deepEqual(
        c.tick(60_010).map((t) => `${t.key.slice(-1)}:${t.condition}:${t.state}`),
        ["d:stale:cleared-unacked"],
        "the stale clears after the off delay, on d alone",
      );
      assert.deepEqual(states(), ["a:", "b:raised", "c:raised,raised", "d:raised,cleared-unacked"]);
    });

    it("applies new defaults to every point, keeping the state of conditions that remain", async function () {
      const c = await Checker.open({ store: new MemoryAlarmStateStore(), defaults: { high: 100 }, now: 0 });
      c.checkBatch([sample(150, 1), sample(50, 1, {}, "d1:t1:i2")], 1);
      c.setDefaults({ high: 100, staleSeconds: 10 }, 2);
      assert.equal(c.summary(KEY)?.active, true);
      assert.equal(c.nextDeadline(), 10_001, "stale counts from the last sample, under the new settings");
      assert.deepEqual(names(c.tick(10_000)), []);
      assert.deepEqual(names(c.tick(10_001)).sort(), ["stale:raised", "stale:raised"]);
    });

    it("renders the old warn_msg style template", async function () {
      const c = await checkerWith({
        high: 100,
        message: "{deviceId}/{itemId} = {value} > {up_limit} ({nope})",
      });
      const r = c.checkBatch([sample(150, 1)], 1);
      assert.equal(r.transitions[0].text, "d1/i1 = 150 > 100 ({nope})");
    });

    it("keeps the state of remaining conditions when settings change and forgets removed ones", async function () {
      const store = new MemoryAlarmStateStore();
      const c = await checkerWith({ high: 100, low: 0 }, store);
      feed(c, 150, 1);
      c.setPoint(KEY, { high: 120, low: 0 }, 2);
      assert.deepEqual(feed(c, 130, 3), []);
      assert.deepEqual(feed(c, 120, 4), ["high:cleared-unacked"]);
      c.setPoint(KEY, { low: 0 }, 5);
      await c.flush();
      assert.equal(store.size, 0);
    });
  });

  describe("persistence", function () {
    it("a restarted checker neither raises an alarm twice nor loses one", async function () {
      const store = new MemoryAlarmStateStore();
      const first = await checkerWith({ high: 100, low: 0 }, store);
      assert.deepEqual(feed(first, 150, 1), ["high:raised"]);
      assert.deepEqual(feed(first, -5, 2), ["low:raised", "high:cleared-unacked"]);
      first.acknowledge(KEY, "low", 3);
      await first.flush();

      const second = await checkerWith({ high: 100, low: 0 }, store, 10);
      assert.deepEqual(
        second.activeAlarms()[0].alarms.map((a) => `${a.condition}:${a.state}`),
        ["low:acked", "high:cleared-unacked"],
      );
      assert.deepEqual(feed(second, -6, 11), []);
      assert.deepEqual(feed(second, 50, 12), ["low:normal"]);
      assert.deepEqual(names(second.acknowledge(KEY, "high", 13)), ["high:normal"]);
      await second.flush();
      assert.equal(store.size, 0);
    });

    it("a shelved alarm returns on time after a restart", async function () {
      const store = new MemoryAlarmStateStore();
      const first = await checkerWith({ high: 100 }, store);
      feed(first, 150, 1);
      first.shelve(KEY, "high", 60_000, 2);
      await first.flush();
      const second = await checkerWith({ high: 100 }, store, 30_000);
      assert.equal(second.nextDeadline(), 60_000);
      assert.deepEqual(names(second.tick(60_000)), ["high:raised"]);
    });

    it("drops a stored alarm whose condition the settings no longer switch on", async function () {
      const store = new MemoryAlarmStateStore();
      const first = await checkerWith({ high: 100 }, store);
      feed(first, 150, 1);
      await first.flush();
      assert.equal(store.size, 1);
      const second = await checkerWith({ low: 0 }, store, 10);
      assert.deepEqual(second.activeAlarms(), []);
      await second.flush();
      assert.equal(store.size, 0);
    });

    it("restores alarms of points known only from the store, under the defaults", async function () {
      const store = new MemoryAlarmStateStore();
      const first = await Checker.open({ store, defaults: { high: 100 }, now: 0 });
      first.checkBatch([sample(150, 1)], 1);
      await first.flush();
      const second = await Checker.open({ store, defaults: { high: 100 }, now: 5 });
      assert.deepEqual(
        second.activeAlarms().map((a) => a.key),
        [KEY],
      );
      assert.deepEqual(feed(second, 150, 6), []);
    });

    it("keeps unsaved changes when the store fails, for the next flush", async function () {
      const saved: StoredAlarm[][] = [];
      let fail = true;
      const store: AlarmStateStore = {
        loadAll: async () => [],
        save: async (changes) => {
          if (fail) throw new Error("store away");
          saved.push([...changes]);
        },
      };
      const c = await checkerWith({ high: 100 }, store);
      feed(c, 150, 1);
      await assert.rejects(c.flush(), /store away/);
      assert.equal(c.unsaved, 1);
      fail = false;
      feed(c, 50, 2);
      await c.flush();
      assert.deepEqual(
        saved[0].map((s) => s.state),
        ["raised", "cleared-unacked"],
      );
      assert.equal(c.unsaved, 0);
    });
  });
});
