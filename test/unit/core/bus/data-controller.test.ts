/**
 * The data node's logic without Node-RED: DataController over a real embedded manager's bus, paced on a
 * manual clock, so "waits until the limit allows it" is held by moving the clock, not by waiting.
 */
import assert from "node:assert/strict";
import { DataController, type DataControllerOptions } from "../../../../src/core/bus/data-controller";
import { Manager, type ManagerState } from "../../../../src/core/manager";
import { parseManagerSettings } from "../../../../src/core/manager-config";
import type { DataPoint, Quality } from "../../../../src/core/model/datapoint";
import { ManualClock } from "../../../../src/transport/manual-clock";

const T0 = 1_763_700_000_000;

function dp(key: string, value: number, quality: Quality = {}): DataPoint {
  const [deviceId, termId, itemId] = key.split(":");
  return { key, deviceId, termId, itemId, value, ts: T0, quality, cause: "poll" };
}

interface Rig {
  readonly controller: DataController;
  readonly clock: ManualClock;
  /** What went out, message by message, as `key=value` of each message's points. */
  readonly sent: string[][];
  /** How many times onMessages was called: the messages of one call go out together. */
  calls: number;
  readonly states: ManagerState["kind"][];
}

describe("data controller", function () {
  let m: Manager;

  beforeEach(function () {
    m = new Manager(parseManagerSettings({ store: "embedded", namespace: "dc:", instanceId: "i1" }));
  });

  afterEach(async function () {
    await m.close();
  });

  function rig(opts: Partial<DataControllerOptions>): Rig {
    const clock = new ManualClock(T0);
    const r: Omit<Rig, "controller"> = { clock, sent: [], calls: 0, states: [] };
    const controller = new DataController({
      manager: m,
      pattern: "#",
      mode: "batch",
      maxRate: 0,
      clock,
      onMessages: (messages) => {
        r.calls++;
        for (const points of messages) r.sent.push(points.map((p) => `${p.key}=${String(p.value)}`));
      },
      onState: (state) => r.states.push(state.kind),
      ...opts,
    });
    return Object.assign(r, { controller });
  }

  it("passes on the points matching its pattern, a batch per message", async function () {
    const r = rig({ pattern: "plc1:*:power" });
    await m.publish([dp("plc1:m1:power", 1), dp("plc1:m1:energy", 2), dp("plc1:m2:power", 3)]);
    await m.publish([dp("plc2:m1:power", 4)]);
    await m.publish([dp("plc1:m3:power", 5)]);
    assert.deepEqual(r.sent, [["plc1:m1:power=1", "plc1:m2:power=3"], ["plc1:m3:power=5"]]);
    r.controller.close();
  });

  it("in point mode hands on one message per point, in one call per batch", async function () {
    const r = rig({ pattern: "plc1:m1", mode: "point" });
    await m.publish([dp("plc1:m1:a", 1), dp("plc1:m1:b", 2), dp("plc1:m2:a", 3)]);
    assert.deepEqual(r.sent, [["plc1:m1:a=1"], ["plc1:m1:b=2"]]);
    assert.equal(r.calls, 1);
    r.controller.close();
  });

  it("only on change leaves out samples whose value and quality did not change", async function () {
    const r = rig({ onlyChange: true });
    await m.publish([dp("d:t:a", 1), dp("d:t:b", 1)]);
    await m.publish([dp("d:t:a", 1), dp("d:t:b", 2)]);
    await m.publish([dp("d:t:a", 1), dp("d:t:b", 2)]);
    await m.publish([dp("d:t:a", 1, { invalid: true })]);
    assert.deepEqual(r.sent, [["d:t:a=1", "d:t:b=1"], ["d:t:b=2"], ["d:t:a=1"]]);
    assert.equal(r.calls, 3, "a batch with nothing left sends nothing");
    r.controller.close();
  });

  it("holds the excess over the limit and sends it, merged, when the clock reaches its turn", async function () {
    const r = rig({ maxRate: 2 });
    for (let i = 1; i <= 5; i++) await m.publish([dp("d:t:a", i), dp(`d:t:x${i}`, i)]);
    assert.deepEqual(r.sent, [
      ["d:t:a=1", "d:t:x1=1"],
      ["d:t:a=2", "d:t:x2=2"],
    ]);
    assert.equal(r.calls, 2, "samples that wait make no call");
    assert.equal(r.controller.status().waiting, 4, "a (newest sample), x3, x4 and x5");
    assert.equal(r.clock.pending, 1, "one timer for everything waiting");
    assert.equal(r.clock.nextAt, T0 + 500);
    r.clock.advance(499);
    assert.equal(r.sent.length, 2);
    r.clock.advance(1);
    assert.deepEqual(r.sent[2], ["d:t:a=5", "d:t:x3=3", "d:t:x4=4", "d:t:x5=5"]);
    assert.equal(r.controller.status().waiting, 0);
    assert.equal(r.clock.pending, 0, "no timer while nothing waits");
    r.controller.close();
  });

  it("in point mode sends the burst at once, then one point per token, oldest first", async function () {
    const r = rig({ mode: "point", maxRate: 20 });
    await m.publish(Array.from({ length: 25 }, (_, i) => dp(`d:t:p${i}`, i)));
    assert.equal(r.sent.length, 20);
    r.clock.advance(49);
    assert.equal(r.sent.length, 20);
    r.clock.advance(1);
    assert.deepEqual(r.sent.slice(20), [["d:t:p20=20"]]);
    r.clock.advance(200);
    assert.deepEqual(
      r.sent.map((s) => s[0]),
      Array.from({ length: 25 }, (_, i) => `d:t:p${i}=${i}`),
    );
    r.controller.close();
  });

  it("refuses a bad pattern in its constructor and leaves nothing subscribed", function () {
    assert.throws(() => rig({ pattern: "a:#:b" }), /'#' may only/);
    assert.equal(m.bus.listenerCount, 0);
  });

  it("reports the manager's state and its changes", async function () {
    const r = rig({});
    assert.deepEqual(r.controller.status(), { state: { kind: "connected" }, waiting: 0 });
    await m.close();
    assert.deepEqual(r.states, ["closed"]);
    assert.equal(r.controller.status().state.kind, "closed");
    r.controller.close();
  });

  it("close leaves the bus, stops the timer and drops what waits", async function () {
    const r = rig({ maxRate: 1 });
    await m.publish([dp("d:t:a", 1)]);
    await m.publish([dp("d:t:a", 2)]);
    assert.equal(r.clock.pending, 1);
    r.controller.close();
    assert.equal(r.clock.pending, 0);
    assert.equal(m.bus.listenerCount, 0);
    r.clock.advance(5000);
    await m.publish([dp("d:t:a", 3)]);
    await m.close();
    assert.deepEqual(r.sent, [["d:t:a=1"]]);
    assert.deepEqual(r.states, [], "the state listener is gone too");
  });
});
