/**
 * Active/standby checkers: a standby one follows the samples but writes and reports nothing; the one
 * taking over adopts the store's state, and raises only what the store lacks. Two checkers here play two
 * instances sharing one store.
 */
import assert from "node:assert/strict";
import { MemoryAlarmStateStore, type StoredAlarm } from "../../../src/core/check/alarm-state";
import { Checker, type AlarmTransition } from "../../../src/core/check/checker";
import { CheckRunner } from "../../../src/core/check/runner";
import { ManualClock } from "../../../src/transport/manual-clock";
import type { DataPoint } from "../../../src/core/model/datapoint";
import { KEY, sample } from "./helpers";

const KEY2 = "d2:t1:i1";
const SETTINGS = { high: 100, hysteresis: 5 };

async function pair() {
  const store = new MemoryAlarmStateStore();
  const points = new Map([
    [KEY, SETTINGS],
    [KEY2, SETTINGS],
  ]);
  const active = await Checker.open({ store, points, now: 0 });
  const standby = await Checker.open({ store, points, now: 0 });
  return { store, active, standby };
}

const names = (ts: readonly AlarmTransition[]): string[] => ts.map((t) => `${t.key}|${t.state}@${t.ts}`);
const at = (v: DataPoint["value"], ts: number, key = KEY) => [sample(v, ts, undefined, key)];

describe("checker takeover (active/standby)", function () {
  it("adopts the store's alarms: no raise again for what the active one raised, acks kept", async function () {
    const { store, active, standby } = await pair();
    for (const c of [active, standby]) c.checkBatch(at(120, 1000), 1000);
    standby.dropUnsaved();
    await active.flush();
    active.acknowledge(KEY, "high", 1500, "op");
    await active.flush();
    assert.equal(standby.unsaved, 0);
    const raises = standby.adopt(await store.loadAll(), 2000);
    assert.deepEqual(raises, []);
    assert.equal(standby.summary(KEY)?.alarms[0]?.state, "acked");
    // The next sample below the clear limit clears it, stamped with that sample.
    assert.deepEqual(names(standby.checkBatch(at(90, 3000), 3000).transitions), [`${KEY}|normal@3000`]);
  });

  it("raises what it saw that the store does not hold (the active one died before writing it)", async function () {
    const { store, active, standby } = await pair();
    active.checkBatch(at(120, 1000), 1000); // raised, never flushed: the instance is killed
    standby.checkBatch(at(120, 1000), 1040);
    standby.dropUnsaved();
    const raises = standby.adopt(await store.loadAll(), 7000);
    assert.deepEqual(names(raises), [`${KEY}|raised@1000`], "stamped with the sample that raised it");
    assert.equal(standby.unsaved, 1, "and written from now on");
    await standby.flush();
    assert.deepEqual(
      (await store.loadAll()).map((a) => [a.key, a.state, a.since]),
      [[KEY, "raised", 1000]],
    );
  });

  it("a raise the standby missed is not repeated at a later sample after it takes over", async function () {
    const { store, active, standby } = await pair();
    for (const c of [active, standby]) c.checkBatch(at(95, 1000), 1000);
    active.checkBatch(at(120, 1500), 1500); // the standby misses this sample (Redis restart)
    await active.flush();
    standby.checkBatch(at(125, 2000), 2000);
    standby.dropUnsaved();
    assert.deepEqual(standby.adopt(await store.loadAll(), 2100), []);
    assert.deepEqual(names(standby.checkBatch(at(130, 2500), 2500).transitions), []);
    assert.deepEqual(names(standby.checkBatch(at(90, 3000), 3000).transitions), [
      `${KEY}|cleared-unacked@3000`,
    ]);
  });

  it("an alarm the store holds but this checker saw clear is cleared by the next sample, not dropped", async function () {
    const { store, active, standby } = await pair();
    active.checkBatch(at(120, 1000), 1000);
    await active.flush();
    standby.checkBatch(at(90, 1000), 1000); // saw a different value history (missed the raise)
    assert.deepEqual(standby.adopt(await store.loadAll(), 1100), []);
    assert.equal(standby.summary(KEY)?.alarms[0]?.state, "raised");
    assert.deepEqual(names(standby.checkBatch(at(80, 1500), 1500).transitions), [
      `${KEY}|cleared-unacked@1500`,
    ]);
  });

  it("reports an excursion that came and went while no checker was active, and keeps its own state", async function () {
    const { store, active, standby } = await pair();
    // The active one is gone (killed or handing over); the standby's copy sees raise and clear.
    const seen = [
      ...standby.checkBatch(at(120, 1000), 1000).transitions,
      ...standby.checkBatch(at(80, 2000), 2000).transitions,
    ];
    standby.dropUnsaved();
    void active;
    const out = standby.adopt(await store.loadAll(), 5000, seen);
    assert.deepEqual(names(out), [`${KEY}|raised@1000`, `${KEY}|cleared-unacked@2000`]);
    assert.equal(standby.summary(KEY)?.alarms[0]?.state, "cleared-unacked", "waits for an operator");
    await standby.flush();
    assert.deepEqual(
      (await store.loadAll()).map((a) => [a.key, a.state]),
      [[KEY, "cleared-unacked"]],
    );
  });

  it("does not report again what the store shows the active one handled", async function () {
    const { store, active, standby } = await pair();
    const seen: AlarmTransition[] = [];
    for (const [v, t] of [
      [120, 1000],
      [80, 2000],
    ] as const) {
      active.checkBatch(at(v, t), t);
      seen.push(...standby.checkBatch(at(v, t), t).transitions);
    }
    active.acknowledge(KEY, "high", 2500, "op"); // cleared-unacked → normal: the record is gone
    await active.flush();
    standby.dropUnsaved();
    // Only what the standby made after the active one was last seen counts (the node passes that).
    const out = standby.adopt(
      await store.loadAll(),
      5000,
      seen.filter((t) => t.ts >= 3000),
    );
    assert.deepEqual(out, []);
    assert.equal(standby.summary(KEY)?.alarms.length, 0, "normal, as the store says");
  });

  it("reports again, keeping the store's state, a transition the store holds: the holder may have lost it", async function () {
    // The active checker raised and wrote the state, then its instance was killed or redeployed before
    // the transition reached the save node: the store says raised, no row says so.
    const { store, active, standby } = await pair();
    active.checkBatch(at(120, 1000), 1000);
    await active.flush();
    active.acknowledge(KEY, "high", 1500, "op");
    await active.flush();
    const seen = standby.checkBatch(at(120, 1000), 1000).transitions;
    standby.dropUnsaved();
    const out = standby.adopt(await store.loadAll(), 5000, seen);
    assert.deepEqual(names(out), [`${KEY}|raised@1000`], "at least once, stamped with its sample");
    assert.equal(standby.summary(KEY)?.alarms[0]?.state, "acked", "the store's state stands");
    assert.equal(standby.unsaved, 0, "nothing of its own written over it");
  });

  it("reports again, as it was, a change the former holder made as it closed, and writes it unmarked", async function () {
    // The one instance alive was redeployed: its closing check node checked a sample on its way, wrote the
    // state and sent the transition to a closing save node, which refused it; no standby copy saw it.
    const store = new MemoryAlarmStateStore();
    const before = await Checker.open({ store, defaults: SETTINGS, now: 0 });
    before.checkBatch(at(120, 1000), 1000);
    before.acknowledge(KEY, "high", 1200, "op");
    await before.flush();
    const closing = before.checkBatch(at(120, 1300, KEY2), 1300).transitions;
    const acked = before.acknowledge(KEY, "high", 1300, "op"); // already acked: no change
    before.markUnreported([...closing, ...acked]);
    await before.flush();
    const fresh = await Checker.open({ store, defaults: SETTINGS, now: 1500 });
    const out = fresh.adopt(await store.loadAll(), 4000, []);
    assert.deepEqual(
      out.map((t) => `${t.key}|${t.previous}>${t.state}@${t.ts}`),
      [`${KEY2}|normal>raised@1300`],
      "only the change made as it closed, with the state before it",
    );
    assert.equal(fresh.unsaved, 1, "its record, written without the mark");
    await fresh.flush();
    assert.deepEqual(
      (await store.loadAll()).map((r) => [r.key, r.state, r.previous, r.by, r.unreported]),
      [
        [KEY, "acked", "raised", "op", undefined],
        [KEY2, "raised", "normal", undefined, undefined],
      ],
    );
    assert.deepEqual(fresh.checkBatch(at(125, 4500, KEY2), 4500).transitions, [], "not raised twice");
    const later = await Checker.open({ store, defaults: SETTINGS, now: 5000 });
    assert.deepEqual(later.adopt(await store.loadAll(), 5000, []), [], "reported once");
  });

  it("reports an unreported change once when its own copy also made it", async function () {
    const { store, active, standby } = await pair();
    active.markUnreported(active.checkBatch(at(120, 1000), 1000).transitions);
    await active.flush();
    const seen = standby.checkBatch(at(120, 1000), 1000).transitions;
    standby.dropUnsaved();
    assert.deepEqual(names(standby.adopt(await store.loadAll(), 2000, seen)), [`${KEY}|raised@1000`]);
  });

  it("does not report as new a raise the store holds from earlier: the same excursion, seen late", async function () {
    // The active checker raised at 1000; the standby's copy missed that sample (its flow was starting)
    // and raised at the next one.
    const { store, active, standby } = await pair();
    active.checkBatch(at(120, 1000), 1000);
    await active.flush();
    const seen = standby.checkBatch(at(125, 1500), 1500).transitions;
    standby.dropUnsaved();
    assert.deepEqual(names(standby.adopt(await store.loadAll(), 5000, seen)), []);
    assert.equal(standby.summary(KEY)?.alarms[0]?.state, "raised", "the store's raise stands");
    assert.equal(standby.unsaved, 0, "nothing of its own written over it");
    // A clear and a new raise after it are an excursion of their own, reported.
    const again = await pair();
    again.active.checkBatch(at(120, 1000), 1000);
    await again.active.flush();
    const made = [
      ...again.standby.checkBatch(at(125, 1500), 1500).transitions,
      ...again.standby.checkBatch(at(80, 2000), 2000).transitions,
      ...again.standby.checkBatch(at(130, 2500), 2500).transitions,
    ];
    again.standby.dropUnsaved();
    assert.deepEqual(names(again.standby.adopt(await again.store.loadAll(), 5000, made)), [
      `${KEY}|cleared-unacked@2000`,
      `${KEY}|raised@2500`,
    ]);
  });

  it("reports a raise once when it is both seen present and among the transitions it made", async function () {
    const { store, active, standby } = await pair();
    active.checkBatch(at(120, 1000), 1000);
    active.checkBatch(at(80, 2000), 2000); // the store says cleared since 2000
    await active.flush();
    const seen = standby.checkBatch(at(120, 1000), 1000).transitions; // missed the clear: present here
    standby.dropUnsaved();
    const out = standby.adopt(await store.loadAll(), 5000, seen);
    assert.deepEqual(names(out), [`${KEY}|raised@1000`]);
  });

  it("keeps the store's records of points it has not seen until their first sample", async function () {
    const store = new MemoryAlarmStateStore();
    const a = await Checker.open({ store, defaults: SETTINGS, now: 0 });
    a.checkBatch(at(120, 1000, "x:y:z"), 1000);
    await a.flush();
    const b = await Checker.open({ store: new MemoryAlarmStateStore(), defaults: SETTINGS, now: 0 });
    assert.deepEqual(b.adopt(await store.loadAll(), 1100), []);
    assert.deepEqual(names(b.checkBatch(at(130, 1200, "x:y:z"), 1200).transitions), []);
    assert.equal(b.summary("x:y:z")?.alarms[0]?.state, "raised");
  });
});

describe("check runner standing by", function () {
  it("writes nothing and reports no timer transitions while standing by, then takes over", async function () {
    const clock = new ManualClock(0);
    const store = new MemoryAlarmStateStore();
    const checker = await Checker.open({
      store,
      points: new Map([[KEY, { high: 100, staleSeconds: 5 }]]),
      now: 0,
    });
    const reported: string[] = [];
    const runner = new CheckRunner(
      checker,
      clock,
      { onTimerTransitions: (ts) => reported.push(...names(ts)), onStoreState: () => undefined },
      { standby: true },
    );
    assert.equal(runner.active, false);
    runner.seen(checker.checkBatch(at(120, 100), 100).transitions);
    runner.changed();
    clock.advance(6000); // stale fires on the standby's copy
    await Promise.resolve();
    assert.deepEqual(reported, []);
    assert.equal(store.size, 0, "a standby checker writes nothing");
    runner.seen(checker.checkBatch(at(80, 6500), 6500).transitions); // clears high while standing by
    const raises = await runner.activate();
    assert.equal(runner.active, true);
    assert.deepEqual(
      raises.map((t) => `${t.condition}:${t.state}@${t.ts}`),
      ["high:raised@100", "stale:raised@5100", "high:cleared-unacked@6500", "stale:cleared-unacked@6500"],
      "everything it saw while nobody wrote, in time order",
    );
    await runner.close();
    assert.equal(store.size, 2, "written once active");
  });

  it("reports a transition made while the takeover's read of the store was on its way", async function () {
    const shared = new MemoryAlarmStateStore();
    const active = await Checker.open({ store: shared, defaults: SETTINGS, now: 0 });
    active.checkBatch(at(120, 1000), 1000);
    await active.flush();
    // The standby's view of the store: answers at once, or, once `held`, when the test says so.
    let held = false;
    let answer = (): void => undefined;
    const gated = {
      loadAll: (): Promise<readonly StoredAlarm[]> =>
        held ? new Promise((r) => (answer = () => void shared.loadAll().then(r))) : shared.loadAll(),
      save: (c: readonly StoredAlarm[]) => shared.save(c),
    };
    const standby = await Checker.open({ store: gated, defaults: SETTINGS, now: 0 });
    const runner = new CheckRunner(
      standby,
      new ManualClock(10_000),
      { onTimerTransitions: () => undefined, onStoreState: () => undefined },
      { standby: true },
    );
    runner.seen(standby.checkBatch(at(120, 1000), 1000).transitions);
    held = true;
    const taking = runner.activate();
    // The clearing sample arrives while the read is on its way: the node still stands by.
    runner.seen(standby.checkBatch(at(80, 2000), 2000).transitions);
    answer();
    assert.deepEqual(names(await taking), [`${KEY}|cleared-unacked@2000`]);
    assert.equal(standby.summary(KEY)?.alarms[0]?.state, "cleared-unacked");
    await runner.close();
    assert.deepEqual(
      (await shared.loadAll()).map((a) => a.state),
      ["cleared-unacked"],
    );
  });

  it("a takeover overtaken by standing by again does not make it active, and keeps what the standby saw for the next", async function () {
    const clock = new ManualClock(10_000);
    const checker = await Checker.open({ store: new MemoryAlarmStateStore(), defaults: SETTINGS, now: 0 });
    const runner = new CheckRunner(
      checker,
      clock,
      { onTimerTransitions: () => undefined, onStoreState: () => undefined },
      { standby: true },
    );
    // An excursion that came and went while nobody was active: only what `seen` kept knows of it.
    runner.seen(checker.checkBatch(at(120, 9000), 9000).transitions);
    runner.seen(checker.checkBatch(at(80, 9500), 9500).transitions);
    const taking = runner.activate(); // the role is lost again before the store's answer
    runner.standBy();
    assert.deepEqual(await taking, []);
    assert.equal(runner.active, false);
    assert.deepEqual(names(await runner.activate()), [`${KEY}|raised@9000`, `${KEY}|cleared-unacked@9500`]);
    await runner.close();
  });
});
