import assert from "node:assert/strict";
import { Checker } from "../../../src/core/check/checker";
import { alarmStateStoreOn, fromStoreRecord } from "../../../src/core/check/store-adapter";
import { MemoryDatabase, MemoryStore } from "../../../src/core/store/memory-store";
import { KEY, sample } from "./helpers";

describe("checker on the shared store", function () {
  const stores: MemoryStore[] = [];
  function storeOn(database: MemoryDatabase): MemoryStore {
    const s = new MemoryStore({ namespace: "t:", instanceId: `i${stores.length}`, database });
    stores.push(s);
    return s;
  }
  afterEach(async function () {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  it("survives a restart with the exact states, shelving included", async function () {
    const database = new MemoryDatabase();
    const settings = new Map([[KEY, { high: 100, low: 0 }]]);
    const first = await Checker.open({
      store: alarmStateStoreOn(storeOn(database)),
      points: settings,
      now: 0,
    });
    first.checkBatch([sample(150, 1)], 1);
    first.shelve(KEY, "high", 60_000, 2);
    first.checkBatch([sample(-1, 3)], 3);
    await first.flush();

    const shared = storeOn(database);
    const records = await shared.alarms(KEY);
    assert.deepEqual(records.map((r) => [r.condition, r.active, r.acked, r.message]).sort(), [
      ["high", false, true, "d1:t1:i1 high: 150 above 100"],
      ["low", true, false, "d1:t1:i1 low: -1 below 0"],
    ]);

    const second = await Checker.open({ store: alarmStateStoreOn(shared), points: settings, now: 10 });
    assert.deepEqual(
      second.summary(KEY)?.alarms.map((a) => `${a.condition}:${a.state}`),
      ["low:raised", "high:shelved"],
    );
    assert.deepEqual(second.checkBatch([sample(-1, 11)], 11).transitions, []);
    assert.equal(second.nextDeadline(), 60_000);
    assert.deepEqual(
      second.tick(60_000).map((t) => `${t.condition}:${t.state}`),
      ["high:normal"],
    );
    second.acknowledge(KEY, "low", 60_001);
    second.checkBatch([sample(50, 60_002)], 60_002);
    await second.flush();
    assert.deepEqual(await shared.alarms(), []);
  });

  it("keeps the last change's previous state and who made it", async function () {
    const database = new MemoryDatabase();
    const first = await Checker.open({
      store: alarmStateStoreOn(storeOn(database)),
      points: new Map([[KEY, { high: 100 }]]),
      now: 0,
    });
    first.checkBatch([sample(150, 1)], 1);
    first.acknowledge(KEY, "high", 2, "op");
    await first.flush();
    const [record] = await alarmStateStoreOn(storeOn(database)).loadAll();
    assert.deepEqual([record.state, record.previous, record.by], ["acked", "raised", "op"]);
  });

  it("reads a record without the checker's fields by active/acked and skips unknown conditions", function () {
    const base = { key: KEY, ts: 5, severity: 700, message: "m" };
    assert.equal(
      fromStoreRecord({ ...base, condition: "high", active: true, acked: false })?.state,
      "raised",
    );
    assert.equal(fromStoreRecord({ ...base, condition: "high", active: true, acked: true })?.state, "acked");
    assert.equal(
      fromStoreRecord({ ...base, condition: "high", active: false, acked: false })?.state,
      "cleared-unacked",
    );
    assert.equal(fromStoreRecord({ ...base, condition: "high", active: false, acked: true })?.severity, 700);
    assert.equal(fromStoreRecord({ ...base, condition: "flood", active: true, acked: false }), undefined);
  });
});
