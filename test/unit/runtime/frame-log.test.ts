import assert from "node:assert/strict";
import { FrameLogWriter, wantsFrameLog } from "../../../src/core/runtime/frame-log";
import type { FrameRecord } from "../../../src/core/store/store";
import { ManualClock } from "../../../src/transport/manual-clock";

/** A store whose writes are recorded and, when `hold` is set, wait until released. */
class Recorder {
  readonly writes: { deviceId: string; frames: readonly FrameRecord[] }[] = [];
  hold = false;
  private release: (() => void)[] = [];

  appendFrames = (deviceId: string, frames: readonly FrameRecord[]): Promise<void> => {
    this.writes.push({ deviceId, frames });
    if (!this.hold) return Promise.resolve();
    return new Promise((resolve) => this.release.push(resolve));
  };

  releaseAll(): void {
    this.hold = false;
    for (const r of this.release.splice(0)) r();
  }
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

describe("FrameLogWriter", function () {
  let clock: ManualClock;
  let store: Recorder;
  let errors: unknown[];
  let log: FrameLogWriter;

  beforeEach(function () {
    clock = new ManualClock(1000);
    store = new Recorder();
    errors = [];
    log = new FrameLogWriter("d1", store, clock, (e) => errors.push(e), { flushMs: 200, maxPending: 3 });
  });

  it("writes the frames of a flush period in one store write, as hex with time and direction", async function () {
    log.add("tx", bytes(0, 1, 0, 0, 0, 6, 1, 3), 1000);
    log.add("rx", bytes(0xab, 0xcd), 1005);
    clock.advance(199);
    assert.equal(store.writes.length, 0);
    clock.advance(1);
    assert.deepEqual(store.writes, [
      {
        deviceId: "d1",
        frames: [
          { ts: 1000, dir: "tx", data: "0001000000060103" },
          { ts: 1005, dir: "rx", data: "abcd" },
        ],
      },
    ]);
    await turn();
    log.add("tx", bytes(1), 1300);
    clock.advance(200);
    assert.equal(store.writes.length, 2);
  });

  it("hexes only a view's own bytes, not the rest of its buffer", function () {
    const whole = bytes(9, 9, 1, 2, 9);
    log.add("rx", whole.subarray(2, 4), 1);
    clock.advance(200);
    assert.equal(store.writes[0].frames[0].data, "0102");
  });

  it("writes one batch at a time; while the store is slow it keeps the newest frames and counts the rest", async function () {
    store.hold = true;
    log.add("tx", bytes(1), 1);
    clock.advance(200);
    for (let i = 2; i <= 6; i++) log.add("tx", bytes(i), i);
    clock.advance(200);
    clock.advance(200);
    assert.equal(store.writes.length, 1, "no second write while the first is in flight");
    assert.equal(log.dropped, 2);
    store.releaseAll();
    await turn();
    clock.advance(200);
    assert.deepEqual(
      store.writes[1].frames.map((f) => f.data),
      ["04", "05", "06"],
    );
  });

  it("writes what is pending when closed, then takes no more and leaves no timer", async function () {
    log.add("rx", bytes(7), 1);
    await log.close();
    assert.deepEqual(
      store.writes.map((w) => w.frames.length),
      [1],
    );
    log.add("rx", bytes(8), 2);
    clock.advance(1000);
    assert.equal(store.writes.length, 1);
    assert.equal(clock.pending, 0);
  });

  it("reports a failed write and carries on", async function () {
    const failing = new FrameLogWriter(
      "d1",
      { appendFrames: () => Promise.reject(new Error("store away")) },
      clock,
      (e) => errors.push(e),
      { flushMs: 200, maxPending: 3 },
    );
    failing.add("tx", bytes(1), 1);
    clock.advance(200);
    await turn();
    assert.deepEqual(
      errors.map((e) => String(e)),
      ["Error: store away"],
    );
    failing.add("tx", bytes(2), 2);
    clock.advance(200);
    await turn();
    assert.equal(errors.length, 2);
    await failing.close();
  });

  it("follows the device option frameLog, as a boolean or as text", function () {
    assert.deepEqual(
      [{ frameLog: true }, { frameLog: "true" }, { frameLog: false }, { frameLog: "yes" }, {}].map(
        wantsFrameLog,
      ),
      [true, true, false, false, false],
    );
  });
});
