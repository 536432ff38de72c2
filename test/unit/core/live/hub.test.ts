import assert from "node:assert/strict";
import { Manager } from "../../../../src/core/manager";
import { parseManagerSettings } from "../../../../src/core/manager-config";
import type { DataPoint } from "../../../../src/core/model/datapoint";
import { LiveHub, type LivePoint, type LiveSnapshot } from "../../../../src/core/live/hub";
import { ManualClock } from "../../../../src/transport/manual-clock";
import { Checker } from "../../../../src/core/check/checker";
import { alarmStateStoreOn } from "../../../../src/core/check/store-adapter";

function dp(key: string, value: number, ts: number): DataPoint {
  const [deviceId, termId, itemId] = key.split(":");
  return { key, deviceId, termId, itemId, value, ts, quality: {}, cause: "poll" };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}

describe("live view hub", function () {
  let manager: Manager;
  beforeEach(async function () {
    manager = new Manager(parseManagerSettings({ namespace: "live:" }));
    const r = manager.registry;
    await r.putDevice({ id: "d", protocol: "virtual" });
    await r.putTerm({ id: "t", deviceId: "d" });
    await r.putItem({ id: "v" });
    await r.putPoint({ deviceId: "d", termId: "t", itemId: "v" });
    await manager.publish([dp("d:t:v", 1, 10), dp("d:t:v", 2, 20)]);
  });
  afterEach(async function () {
    await manager.close();
  });

  it("sends a snapshot with registry points, their trend and devices, then coalesced changes", async function () {
    const clock = new ManualClock(0);
    const hub = new LiveHub(manager, { clock, flushMs: 500, statusMs: 2000 });
    const events: [string, unknown][] = [];
    const detach = hub.attach((e, d) => events.push([e, d]));
    await settle();
    const snap = events[0][1] as LiveSnapshot;
    assert.equal(events[0][0], "snapshot");
    assert.deepEqual(
      snap.points.map((p) => [p.key, p.value, p.trend]),
      [["d:t:v", 2, [1, 2]]],
    );
    assert.deepEqual(
      snap.devices.map((d) => d.id),
      ["d"],
    );
    await manager.publish([dp("flowdev:t:x", 5, 25)]);
    await manager.publish([dp("d:t:v", 3, 30), dp("x:y:z", 9, 30), dp("d:t:v", 4, 40)]);
    clock.advance(500);
    const changes = events.filter(([e]) => e === "points").map(([, d]) => d as LivePoint[]);
    assert.equal(changes.length, 1, "one coalesced event");
    assert.deepEqual(
      changes[0].map((p) => [p.key, p.value, p.trend]),
      [
        ["flowdev:t:x", 5, [5]],
        ["d:t:v", 4, [1, 2, 3, 4]],
        ["x:y:z", 9, [9]],
      ],
    );
    clock.advance(500);
    assert.equal(events.filter(([e]) => e === "points").length, 1, "nothing new, nothing sent");
    const devices = (await hub.snapshot()).devices;
    assert.deepEqual(
      devices.map((d) => [d.id, d.protocol, d.status?.online, d.status?.lastSeen]),
      [
        ["d", "virtual", undefined, undefined],
        ["flowdev", "flow", true, 25],
        ["x", "flow", true, 30],
      ],
      "devices known only from their samples are listed after the registry's",
    );
    detach();
    assert.equal(clock.pending, 0, "no viewer, no timer");
    assert.equal(hub.viewers, 0);
  });

  it("follows the bus from its start: the first viewer gets flow-drawn devices' points with their trend", async function () {
    const clock = new ManualClock(0);
    const hub = new LiveHub(manager, { clock, flushMs: 500 });
    // Samples of a device the registry does not know (a poll node drawn in the flow), before any viewer.
    await manager.publish([dp("flowdev:t:x", 5, 25)]);
    await manager.publish([dp("flowdev:t:x", 6, 26)]);
    const events: [string, unknown][] = [];
    const detach = hub.attach((e, d) => events.push([e, d]));
    await settle();
    const snap = events[0][1] as LiveSnapshot;
    assert.deepEqual(
      snap.points.map((p) => [p.key, p.value, p.trend]),
      [
        ["d:t:v", 2, [1, 2]],
        ["flowdev:t:x", 6, [5, 6]],
      ],
    );
    assert.deepEqual(
      snap.devices.map((d) => [d.id, d.protocol]),
      [
        ["d", "virtual"],
        ["flowdev", "flow"],
      ],
    );
    clock.advance(500);
    assert.deepEqual(
      events.filter(([e]) => e === "points"),
      [],
      "what came before the snapshot is not sent again as a change",
    );
    detach();
    hub.close();
    await manager.publish([dp("flowdev:t:x", 7, 27)]);
    assert.equal(
      (await hub.snapshot()).points.find((p) => p.key === "flowdev:t:x")?.value,
      6,
      "closed, it follows nothing",
    );
  });

  it("forgets the least recently updated points beyond its bound", async function () {
    const clock = new ManualClock(0);
    const hub = new LiveHub(manager, { clock, maxPoints: 2 });
    const detach = hub.attach(() => undefined);
    await settle();
    await manager.publish([dp("a:a:a", 1, 1), dp("b:b:b", 1, 1)]);
    const snap = await hub.snapshot();
    assert.deepEqual(
      snap.points.map((p) => p.key),
      ["a:a:a", "b:b:b"],
    );
    detach();
  });
});

describe("live view hub alarms", function () {
  it("sends the checker's alarms with severity and time as numbers and flags as booleans", async function () {
    const manager = new Manager(parseManagerSettings({ namespace: "livealarm:" }));
    try {
      const checker = await Checker.open({
        store: alarmStateStoreOn(manager.store),
        points: new Map([["d:t:v", { high: 10 }]]),
        defaults: { severity: { high: 650 } },
        now: 0,
      });
      checker.checkBatch([dp("d:t:v", 50, 1)], 1);
      await checker.flush();
      const hub = new LiveHub(manager, { clock: new ManualClock(0), statusMs: 1000 });
      const events: [string, unknown][] = [];
      const detach = hub.attach((e, d) => events.push([e, d]));
      await settle();
      const [alarm] = (events[0][1] as LiveSnapshot).alarms as unknown as Record<string, unknown>[];
      assert.deepEqual(
        [alarm.condition, alarm.severity, alarm.ts, alarm.active, alarm.acked],
        ["high", 650, 1, true, false],
      );
      detach();
      hub.close();
    } finally {
      await manager.close();
    }
  });
});
