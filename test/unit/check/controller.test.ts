/**
 * The check node's logic without Node-RED: CheckController on a manual clock, alone (state kept in
 * memory per node id) and over a real embedded manager (its registry, its store, its alarm handlers), so
 * the timers, registry edits, operators' commands and the status are driven by the test instead of
 * waited for.
 */
import assert from "node:assert/strict";
import type { AlarmTransition } from "../../../src/core/check/checker";
import {
  CheckController,
  type CheckControllerOptions,
  type CheckNotice,
  type CheckStatus,
} from "../../../src/core/check/controller";
import { parseCheckForm, type CheckForm } from "../../../src/core/check/form";
import { Manager } from "../../../src/core/manager";
import { parseManagerSettings } from "../../../src/core/manager-config";
import type { DataPoint } from "../../../src/core/model/datapoint";
import { ManualClock } from "../../../src/transport/manual-clock";
import { until } from "../../support/net";
import { sample } from "./helpers";

const T0 = 1_763_700_000_000;

interface Rig {
  readonly controller: CheckController;
  readonly clock: ManualClock;
  /** Transitions reported outside any input, as `key condition:state`. */
  readonly reported: string[];
  readonly notices: CheckNotice[];
  changes: number;
  /** Check one value of `key` a second after the last one; resolves to its transitions as `condition:state`. */
  value(key: string, value: number): Promise<string[]>;
  command(topic: string, payload: unknown): Promise<string[]>;
}

const states = (ts: readonly AlarmTransition[]): string[] => ts.map((t) => `${t.condition}:${t.state}`);

let serial = 0;

function rig(form: CheckForm, opts: Partial<CheckControllerOptions> = {}): Rig {
  const clock = new ManualClock(T0);
  const r: Omit<Rig, "controller" | "value" | "command"> = { clock, reported: [], notices: [], changes: 0 };
  const controller = new CheckController({
    nodeId: `n${++serial}`,
    ...parseCheckForm(form),
    clock,
    onTransitions: (ts) => r.reported.push(...ts.map((t) => `${t.key} ${t.condition}:${t.state}`)),
    onNotice: (n) => r.notices.push(n),
    onChange: () => r.changes++,
    ...opts,
  });
  return Object.assign(r, {
    controller,
    value: async (key: string, value: number) => {
      clock.advance(1000);
      return states((await controller.input([sample(value, clock.now(), undefined, key)])).transitions);
    },
    command: async (topic: string, payload: unknown) => states(await controller.command(topic, payload)),
  });
}

/** The status's counts, or its kind when it has none. */
function counts(s: CheckStatus): string {
  return s.kind === "active"
    ? `${s.active} active, ${s.unacknowledged} unacked, ${s.toAcknowledge} to ack`
    : s.kind;
}

function embedded(namespace: string): Manager {
  return new Manager(parseManagerSettings({ store: "embedded", namespace, instanceId: "i1" }));
}

describe("check controller", function () {
  it("says it is starting until the alarm state is read, then counts alarms", async function () {
    const r = rig({ high: "10" });
    assert.equal(r.controller.status().kind, "starting");
    await r.controller.ready;
    assert.equal(counts(r.controller.status()), "0 active, 0 unacked, 0 to ack");
    await r.controller.close(true);
  });

  it("tells a cleared alarm waiting for acknowledgement from a present one", async function () {
    const r = rig({ high: "10" });
    assert.deepEqual(await r.value("d:t:v", 11), ["high:raised"]);
    assert.equal(counts(r.controller.status()), "1 active, 1 unacked, 1 to ack");
    assert.deepEqual(await r.value("d:t:v", 5), ["high:cleared-unacked"]);
    assert.equal(
      counts(r.controller.status()),
      "0 active, 0 unacked, 1 to ack",
      "cleared, still to acknowledge",
    );
    assert.deepEqual(await r.value("d:t:w", 12), ["high:raised"]);
    assert.deepEqual(await r.command("ack", { key: "d:t:w", condition: "high" }), ["high:acked"]);
    assert.equal(counts(r.controller.status()), "1 active, 0 unacked, 1 to ack", "acknowledged but present");
    assert.deepEqual(await r.command("ack", { key: "d:t:v" }), ["high:normal"]);
    assert.equal(counts(r.controller.status()), "1 active, 0 unacked, 0 to ack");
    assert.deepEqual(r.reported, [], "transitions of inputs and commands go to their caller only");
    await r.controller.close(true);
  });

  it("counts each condition of a point as an alarm of its own", async function () {
    const r = rig({ high: "10", highHigh: "20" });
    assert.deepEqual(await r.value("d:t:v", 25), ["high:raised", "highHigh:raised"]);
    assert.equal(counts(r.controller.status()), "2 active, 2 unacked, 2 to ack");
    await r.controller.close(true);
  });

  it("annotates the points in scope, passes the others unchanged, and counts the rate", async function () {
    const r = rig({ scope: "d:t:#", high: "10" });
    const inside = sample(11, T0, undefined, "d:t:v");
    const outside = sample(11, T0, undefined, "x:t:v");
    const { points, transitions } = await r.controller.input([inside, outside]);
    assert.equal(points[1], outside, "out of scope: the very sample");
    assert.equal((points[0] as { alarm?: { active: boolean } }).alarm?.active, true);
    assert.deepEqual(states(transitions), ["high:raised"]);
    const s = r.controller.status();
    assert.ok(s.kind === "active" && s.perSecond > 0, JSON.stringify(s));
    await r.controller.close(true);
  });

  it("gives each checked point every field it came with and its alarm summary, error and raw included", async function () {
    const r = rig({ high: "10" });
    const plain = sample(11, T0, undefined, "d:t:a");
    const failed = { ...sample(null, T0, { invalid: true }, "d:t:b"), error: "read timed out" };
    const scaled = { ...sample(12, T0, undefined, "d:t:c"), raw: 120 };
    const { points } = await r.controller.input([plain, failed, scaled]);
    for (const [i, p] of [plain, failed, scaled].entries()) {
      const out = points[i] as DataPoint & { alarm: { key: string } };
      assert.notEqual(out, p, "a copy: the message's own point is not changed");
      assert.deepEqual(out, { ...p, alarm: out.alarm });
      assert.equal(out.alarm.key, p.key);
    }
    assert.equal("alarm" in plain, false);
    await r.controller.close(true);
  });

  it("completes an on delay and a staleness on its timer, reporting to onTransitions", async function () {
    const r = rig({ high: "10", onDelay: "2", staleSeconds: "30" });
    assert.deepEqual(await r.value("d:t:v", 11), []);
    assert.equal(r.clock.nextAt, T0 + 3000, "one timer, at the on delay");
    const before = r.changes;
    r.clock.advance(2000);
    assert.deepEqual(r.reported, ["d:t:v high:raised"]);
    assert.ok(r.changes > before, "the status is to be shown again");
    r.clock.advance(30_000);
    assert.deepEqual(r.reported, ["d:t:v high:raised", "d:t:v stale:raised"]);
    await r.controller.close(true);
    assert.equal(r.clock.pending, 0, "close stops the timer");
  });

  it("refuses a bad command before waiting for anything", async function () {
    const r = rig({ high: "10" });
    assert.throws(() => r.controller.command("shelve", { key: "d:t:v", condition: "high" }), /until/);
    await r.controller.ready;
    await assert.rejects(r.command("ack", { key: "d:t:zz", condition: "high" }), /no high alarm is watched/);
    await r.controller.close(true);
  });

  it("keeps alarm state in memory per node id across a redeploy, and drops it when the node is removed", async function () {
    // An id no other test uses: the kept state is the process's, shared with the flow tests' nodes.
    const first = rig({ high: "10" }, { nodeId: "controller-test-kept" });
    assert.deepEqual(await first.value("d:t:v", 11), ["high:raised"]);
    await first.controller.close(false);
    const again = rig({ high: "10" }, { nodeId: "controller-test-kept" });
    assert.deepEqual(await again.value("d:t:v", 12), [], "not raised a second time");
    await again.controller.close(true);
    const fresh = rig({ high: "10" }, { nodeId: "controller-test-kept" });
    assert.deepEqual(await fresh.value("d:t:v", 12), ["high:raised"], "removed: nothing kept");
    await fresh.controller.close(true);
  });

  describe("over an embedded manager", function () {
    let m: Manager;
    beforeEach(async function () {
      m = embedded("cc:");
      const reg = m.registry;
      await reg.putDevice({ id: "d", protocol: "virtual" });
      await reg.putTerm({ id: "t", deviceId: "d" });
      for (const item of ["v", "w"]) await reg.putItem({ id: item });
      await reg.putPoint({ deviceId: "d", termId: "t", itemId: "v", limits: { high: 50 } });
    });
    afterEach(async function () {
      await m.close();
    });

    it("takes a registry point's own limits, and an edit without a restart", async function () {
      const r = rig({ high: "10" }, { manager: m });
      assert.deepEqual(await r.value("d:t:v", 20), [], "the point's own high (50) wins");
      assert.deepEqual(await r.value("d:t:w", 20), ["high:raised"], "the node's defaults for the rest");
      await m.registry.putPoint({ deviceId: "d", termId: "t", itemId: "v", limits: { high: 15 } });
      await until(async () => (await r.value("d:t:v", 20)).length > 0, 2000, "the edited limit applied");
      assert.deepEqual(r.notices, []);
      await r.controller.close(true);
    });

    it("checks only the registry's points when that is its scope, following deletions", async function () {
      const r = rig({ scopeMode: "registry", high: "10" }, { manager: m });
      const { points } = await r.controller.input([sample(99, T0, undefined, "x:y:z")]);
      assert.equal((points[0] as { alarm?: unknown }).alarm, undefined, "not a registry point");
      assert.deepEqual(await r.value("d:t:v", 60), ["high:raised"]);
      await m.registry.deletePoint("d:t:v");
      await until(
        () => counts(r.controller.status()) === "0 active, 0 unacked, 0 to ack",
        2000,
        "the point gone",
      );
      await r.controller.close(true);
    });

    it("writes its alarms to the store and acknowledges one asked for through the manager", async function () {
      const r = rig({ high: "10" }, { manager: m });
      assert.deepEqual(await r.value("d:t:w", 20), ["high:raised"]);
      await until(async () => (await m.store.alarms("d:t:w")).length === 1, 2000, "the alarm written");
      assert.equal(await m.acknowledgeAlarm("d:t:w", "high", "ann"), true);
      assert.deepEqual(r.reported, ["d:t:w high:acked"], "reported, since no message of the node made it");
      assert.equal(await m.acknowledgeAlarm("d:t:nope", "high", "ann"), false, "an alarm nobody holds");
      await until(async () => (await m.store.alarms("d:t:w"))[0]?.acked === true, 2000, "the ack written");
      assert.equal(counts(r.controller.status()), "1 active, 0 unacked, 0 to ack");
      await r.controller.close(true);
    });

    it("has the next node report again what it checked as it closed, and nothing it reported before", async function () {
      // A redeploy: a sample already on its way reaches the closing node, whose transition then goes out
      // to a save node closing too (CI's soak lost a raise row so).
      const r = rig({ high: "10" }, { manager: m });
      assert.deepEqual(await r.value("d:t:v", 60), ["high:raised"]);
      const closing = r.controller.close(false);
      assert.deepEqual(await r.value("d:t:w", 20), ["high:raised"], "still sent, to whoever hears it");
      await closing;
      const record = async (key: string) => (await m.store.alarms(key))[0] as { unreported?: boolean };
      await until(async () => (await record("d:t:w"))?.unreported === true, 2000, "the record marked");
      assert.equal((await record("d:t:v"))?.unreported, undefined, "reported before the close: not marked");
      const next = rig({ high: "10" }, { manager: m });
      await next.controller.ready;
      assert.deepEqual(next.reported, ["d:t:w high:raised"], "reported again, once");
      await until(async () => (await record("d:t:w"))?.unreported === undefined, 2000, "the mark taken off");
      assert.deepEqual(await next.value("d:t:w", 21), [], "and not raised a second time");
      await next.controller.close(false);
      const third = rig({ high: "10" }, { manager: m });
      await third.controller.ready;
      assert.deepEqual(third.reported, [], "a later start reports nothing again");
      await third.controller.close(true);
    });

    it("warns about a point whose own check settings do not hold, and applies the defaults to it", async function () {
      await m.registry.putPoint({ deviceId: "d", termId: "t", itemId: "w", verify: "value >" });
      const r = rig({ high: "100" }, { manager: m });
      await r.controller.ready;
      assert.deepEqual(
        r.notices.map((n) => (n.code === "point-settings" ? n.key : n.code)),
        ["d:t:w"],
      );
      assert.deepEqual(await r.value("d:t:w", 101), ["high:raised"], "the node's defaults");
      await r.controller.close(true);
    });
  });
});
