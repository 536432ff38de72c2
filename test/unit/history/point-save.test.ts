import assert from "node:assert/strict";
import { PointSaveSettings } from "../../../src/core/history/point-save";
import { MemoryStore } from "../../../src/core/store/memory-store";
import { until } from "../../support/net";
import { sample } from "../check/helpers";

describe("each registry point's own save settings", function () {
  let store: MemoryStore;
  let settings: PointSaveSettings | undefined;
  const errors: unknown[] = [];
  const open = async (): Promise<PointSaveSettings> => {
    settings = new PointSaveSettings(store.registry, (err) => errors.push(err));
    await settings.ready();
    return settings;
  };
  const keys = (s: PointSaveSettings, points: ReturnType<typeof sample>[]): string[] =>
    s.filter(points).map((p) => `${p.key}@${p.ts}`);

  beforeEach(async function () {
    store = new MemoryStore({ namespace: "ps:", instanceId: "i" });
    errors.length = 0;
    await store.registry.putDevice({ id: "d", protocol: "virtual" });
    await store.registry.putTerm({ id: "t", deviceId: "d" });
    for (const i of ["all", "off", "slow"]) await store.registry.putItem({ id: i });
  });
  afterEach(async function () {
    settings?.close();
    settings = undefined;
    await store.close();
    assert.deepEqual(errors, []);
  });

  it("keeps out a point saved off, thins one with an interval, passes the rest untouched", async function () {
    await store.registry.putPoint({ deviceId: "d", termId: "t", itemId: "all" });
    await store.registry.putPoint({ deviceId: "d", termId: "t", itemId: "off", save: { enabled: false } });
    await store.registry.putPoint({ deviceId: "d", termId: "t", itemId: "slow", save: { interval: 1000 } });
    const s = await open();
    const batch = (ts: number) =>
      ["d:t:all", "d:t:off", "d:t:slow", "x:y:notInRegistry"].map((k) => sample(1, ts, {}, k));
    assert.deepEqual(keys(s, batch(0)), ["d:t:all@0", "d:t:slow@0", "x:y:notInRegistry@0"]);
    assert.deepEqual(keys(s, batch(999)), ["d:t:all@999", "x:y:notInRegistry@999"]);
    assert.deepEqual(keys(s, batch(1000)), ["d:t:all@1000", "d:t:slow@1000", "x:y:notInRegistry@1000"]);
    // A source whose clock went back by more than the interval is saved again, not silenced.
    assert.deepEqual(keys(s, [sample(1, -5000, {}, "d:t:slow")]), ["d:t:slow@-5000"]);
  });

  it("gives a batch with nothing to leave out back as it is", async function () {
    await store.registry.putPoint({ deviceId: "d", termId: "t", itemId: "all" });
    const s = await open();
    const batch = [sample(1, 0, {}, "d:t:all")];
    assert.equal(s.filter(batch), batch);
  });

  it("follows registry changes without a restart", async function () {
    const s = await open();
    const off = [sample(1, 0, {}, "d:t:off")];
    assert.equal(s.filter(off).length, 1, "not in the registry yet: saved");
    await store.registry.putPoint({ deviceId: "d", termId: "t", itemId: "off", save: { enabled: false } });
    await until(() => s.filter(off).length === 0, 2000, "a point created with save off is left out");
    await store.registry.putPoint({ deviceId: "d", termId: "t", itemId: "off", save: { enabled: true } });
    await until(() => s.filter(off).length === 1, 2000, "saving switched back on");
    await store.registry.putPoint({ deviceId: "d", termId: "t", itemId: "off", save: { enabled: false } });
    await until(() => s.filter(off).length === 0, 2000, "off again");
    await store.registry.deletePoint("d:t:off");
    await until(() => s.filter(off).length === 1, 2000, "a deleted point's samples are saved like any other");
  });
});
