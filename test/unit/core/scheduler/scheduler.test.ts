import assert from "node:assert/strict";
import { ManualClock } from "../../../../src/transport/manual-clock";
import { Scheduler, spreadPhase } from "../../../../src/core/scheduler";

/** Let resolved promises' callbacks run (task bodies are async). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

describe("scheduler", function () {
  it("runs a task on a fixed grid from its phase", async function () {
    const clock = new ManualClock(0);
    const at: number[] = [];
    const s = new Scheduler(clock, undefined, () => 100);
    s.set({ id: "t1", intervalMs: 1000, run: async () => void at.push(clock.now()) });
    for (let i = 0; i < 4; i++) {
      clock.advance(1000);
      await settle();
    }
    assert.deepEqual(at, [100, 1100, 2100, 3100]);
    assert.equal(s.stats("t1")?.runs, 4);
    s.close();
    assert.equal(clock.pending, 0, "close clears the timer");
  });

  it("never overlaps a task with itself and counts the skipped ticks", async function () {
    const clock = new ManualClock(0);
    let release: () => void = () => undefined;
    let starts = 0;
    const s = new Scheduler(clock, undefined, () => 0);
    s.set({
      id: "slow",
      intervalMs: 100,
      run: () => {
        starts++;
        return new Promise<void>((r) => (release = r));
      },
    });
    clock.advance(0);
    await settle();
    assert.equal(starts, 1);
    clock.advance(350); // ticks at 100, 200, 300 fall while the first run hangs
    await settle();
    assert.equal(starts, 1);
    assert.equal(s.stats("slow")?.overruns, 3);
    release();
    await settle();
    clock.advance(50); // tick at 400
    await settle();
    assert.equal(starts, 2);
    s.close();
  });

  it("uses one timer for many tasks and re-arms for the earliest", async function () {
    const clock = new ManualClock(0);
    const s = new Scheduler(clock, undefined, (id) => (id === "a" ? 10 : 20));
    const ran: string[] = [];
    s.set({ id: "a", intervalMs: 100, run: async () => void ran.push(`a@${clock.now()}`) });
    s.set({ id: "b", intervalMs: 50, run: async () => void ran.push(`b@${clock.now()}`) });
    assert.equal(clock.pending, 1);
    for (let t = 0; t < 110; t += 10) {
      clock.advance(10); // in steps, so each run's promise settles before the next tick
      await settle();
    }
    assert.deepEqual(ran, ["a@10", "b@20", "b@70", "a@110"]);
    assert.equal(clock.pending, 1);
    s.delete("a");
    s.delete("b");
    assert.equal(clock.pending, 0, "no task, no timer");
  });

  it("counts failures, keeps the last error and keeps running", async function () {
    const clock = new ManualClock(0);
    const errors: string[] = [];
    const s = new Scheduler(
      clock,
      (id, err) => errors.push(`${id}: ${(err as Error).message}`),
      () => 0,
    );
    let n = 0;
    s.set({
      id: "flaky",
      intervalMs: 10,
      run: async () => {
        if (n++ === 0) throw new Error("timeout");
      },
    });
    clock.advance(0);
    await settle();
    assert.equal(s.stats("flaky")?.lastError, "timeout");
    clock.advance(10);
    await settle();
    assert.deepEqual(s.stats("flaky"), {
      runs: 2,
      overruns: 0,
      failures: 1,
      lastDurationMs: 0,
      lastError: undefined,
    });
    assert.deepEqual(errors, ["flaky: timeout"]);
    s.close();
  });

  it("shares a run in progress with an on-demand call", async function () {
    const clock = new ManualClock(0);
    let starts = 0;
    let release: () => void = () => undefined;
    const s = new Scheduler(clock, undefined, () => 5);
    s.set({
      id: "t",
      intervalMs: 1000,
      run: () => {
        starts++;
        return new Promise<void>((r) => (release = r));
      },
    });
    const a = s.runNow("t");
    const b = s.runNow("t");
    assert.equal(starts, 1);
    release();
    await Promise.all([a, b]);
    await assert.rejects(s.runNow("nope"), /no task nope/);
    s.close();
  });

  it("rejects intervals below the minimum and skips a stalled loop's missed ticks without a burst", async function () {
    const clock = new ManualClock(0);
    const s = new Scheduler(clock, undefined, () => 0);
    assert.throws(() => s.set({ id: "x", intervalMs: 1, run: async () => undefined }), /at least 10 ms/);
    let runs = 0;
    s.set({ id: "y", intervalMs: 100, run: async () => void runs++ });
    clock.advance(0);
    await settle();
    // A stall: the clock jumps 1 s without the timer firing in between.
    (clock as unknown as { time: number }).time = 1050;
    clock.advance(0);
    await settle();
    assert.equal(runs, 2);
    assert.equal(s.stats("y")?.overruns, 9);
    s.close();
  });

  it("spreads phases deterministically within the interval", function () {
    const p = spreadPhase("dev1:term1", 1000);
    assert.equal(p, spreadPhase("dev1:term1", 1000));
    assert.ok(p >= 0 && p < 1000);
    assert.notEqual(spreadPhase("dev1:term2", 1000), p);
  });
});
