/** The check node's runner on a fake clock: the one deadline timer and the serialised, retried writes. */
import assert from "node:assert/strict";
import { MemoryAlarmStateStore, type StoredAlarm } from "../../src/core/check/alarm-state";
import { Checker, type AlarmTransition } from "../../src/core/check/checker";
import { CheckRunner } from "../../src/core/check/runner";
import type { Clock, TimerHandle } from "../../src/transport/connection";
import type { DataPoint } from "../../src/core/model/datapoint";

const T0 = 1_763_700_000_000;

class FakeClock implements Clock {
  t = T0;
  timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;
  now(): number {
    return this.t;
  }
  setTimer(fn: () => void, ms: number): TimerHandle {
    const id = this.next++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id as unknown as TimerHandle;
  }
  clearTimer(h: TimerHandle): void {
    this.timers.delete(h as unknown as number);
  }
  /** Move time on, firing what falls due in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers.entries()]
        .filter(([, v]) => v.at <= end)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.timers.delete(due[0]);
      this.t = due[1].at;
      due[1].fn();
    }
    this.t = end;
  }
}

/** A store that can be made to fail, recording what it was asked to write. */
class FlakyStore extends MemoryAlarmStateStore {
  failing = false;
  writes = 0;
  override async save(changes: readonly StoredAlarm[]): Promise<void> {
    this.writes++;
    if (this.failing) throw new Error("store away");
    await super.save(changes);
  }
}

function dp(value: number, ts: number): DataPoint {
  return { key: "d:t:v", deviceId: "d", termId: "t", itemId: "v", value, ts, quality: {}, cause: "poll" };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("check runner", function () {
  it("runs one timer on the next deadline and reports what it raised", async function () {
    const clock = new FakeClock();
    const store = new FlakyStore();
    const checker = await Checker.open({ store, defaults: { staleSeconds: 10 }, now: T0 });
    const got: AlarmTransition[] = [];
    const runner = new CheckRunner(checker, clock, {
      onTimerTransitions: (t) => got.push(...t),
      onStoreState: () => undefined,
    });
    checker.checkBatch([dp(1, T0)], T0);
    runner.changed();
    assert.equal(clock.timers.size, 1);
    clock.advance(9_999);
    assert.deepEqual(got, []);
    clock.advance(1);
    assert.deepEqual(
      got.map((t: AlarmTransition) => `${t.condition}:${t.state}`),
      ["stale:raised"],
    );
    assert.equal(clock.timers.size, 0, "nothing timed while the stale alarm is present");
    await runner.close();
    assert.equal(store.size, 1, "the raised alarm was written");
  });

  it("writes one flush at a time, reports each failed write and the recovery, and retries", async function () {
    const clock = new FakeClock();
    const store = new FlakyStore();
    const checker = await Checker.open({ store, defaults: { high: 10 }, now: T0 });
    const states: string[] = [];
    const runner = new CheckRunner(checker, clock, {
      onTimerTransitions: () => undefined,
      onStoreState: (err) => states.push(err === undefined ? "ok" : String(err)),
    });
    store.failing = true;
    checker.checkBatch([dp(11, T0)], T0);
    runner.changed();
    runner.changed();
    await settle();
    assert.equal(store.writes, 1, "coalesced into one write");
    assert.deepEqual(states, ["Error: store away"]);
    runner.retry();
    await settle();
    assert.equal(store.writes, 2);
    assert.equal(checker.unsaved, 1, "the checker still holds the change");
    store.failing = false;
    runner.retry();
    await settle();
    assert.deepEqual(states, ["Error: store away", "Error: store away", "ok"]);
    assert.equal(store.size, 1);
    runner.retry();
    await settle();
    assert.equal(store.writes, 3, "nothing left to write: no write");
    await runner.close();
  });
});
