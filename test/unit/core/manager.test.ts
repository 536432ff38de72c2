import assert from "node:assert/strict";
import { Manager, ManagerPool } from "../../../src/core/manager";
import { parseManagerSettings } from "../../../src/core/manager-config";
import { DataCollError } from "../../../src/core/errors";
import type { DataPoint } from "../../../src/core/model/datapoint";

const embedded = parseManagerSettings({ store: "embedded", namespace: "u:", instanceId: "i1" });

function dp(key: string, value: number): DataPoint {
  const [deviceId, termId, itemId] = key.split(":");
  return { key, deviceId, termId, itemId, value, ts: 1, quality: {}, cause: "poll" };
}

describe("Manager (embedded store)", function () {
  it("delivers a published batch to subscribers and stores it", async function () {
    const m = new Manager(embedded);
    try {
      assert.equal(m.state.kind, "connected");
      const got: number[] = [];
      m.subscribe("d:t", (pts) => pts.forEach((p) => got.push(Number(p.value))));
      await m.publish([dp("d:t:a", 1), dp("x:t:a", 2), dp("d:t:b", 3)]);
      assert.deepEqual(got, [1, 3]);
      assert.equal((await m.store.latest("x:t:a"))?.value, 2);
      assert.equal(await m.store.eventsLength(), 1);
      await m.registry.putItem({ id: "ua" });
      assert.ok(await m.registry.getItem("ua"));
    } finally {
      await m.close();
    }
  });

  it("keeps the history length the settings give, the newest samples", async function () {
    const m = new Manager(
      parseManagerSettings({ store: "embedded", namespace: "u:", instanceId: "i1", historyLength: "3" }),
    );
    try {
      for (let v = 1; v <= 5; v++) await m.publish([dp("d:t:a", v)]);
      assert.equal(await m.store.historyLength("d:t:a"), 3);
      assert.deepEqual((await m.store.history("d:t:a", 10)).map((p) => p.value).sort(), [3, 4, 5]);
    } finally {
      await m.close();
    }
  });

  it("reports a failing listener and keeps delivering", async function () {
    const errors: string[] = [];
    const m = new Manager(embedded, { onError: (e) => errors.push(e.message) });
    try {
      let n = 0;
      m.subscribe("#", () => {
        throw new Error("bad node");
      });
      m.subscribe("#", () => n++);
      await m.publish([dp("d:t:a", 1)]);
      assert.equal(n, 1);
      assert.match(errors[0], /a listener for "#" failed: Error: bad node/);
    } finally {
      await m.close();
    }
  });

  it("closes everything once and refuses work afterwards", async function () {
    const m = new Manager(embedded);
    m.subscribe("#", () => undefined);
    await Promise.all([m.close(), m.close()]);
    assert.equal(m.state.kind, "closed");
    assert.equal(m.bus.listenerCount, 0);
    await assert.rejects(
      m.publish([dp("d:t:a", 1)]),
      (e: unknown) => e instanceof DataCollError && e.code === "closed",
    );
  });
});

describe("ManagerPool", function () {
  it("shares one manager per config node and closes it with the last release", async function () {
    const pool = new ManagerPool();
    const a = pool.acquire("cfg1", embedded);
    const b = pool.acquire("cfg1");
    assert.equal(a.manager, b.manager);
    assert.equal(pool.size, 1);
    await a.release();
    await a.release();
    assert.equal(b.manager.state.kind, "connected", "a second release of one handle does not count");
    await b.release();
    assert.equal(b.manager.state.kind, "closed");
    assert.equal(pool.size, 0);
  });

  it("makes a new manager when the settings changed, closing the old one with its last handle", async function () {
    const pool = new ManagerPool();
    const old = pool.acquire("cfg1", embedded);
    const fresh = pool.acquire("cfg1", { ...embedded, namespace: "v:" });
    assert.notEqual(old.manager, fresh.manager);
    assert.equal(pool.get("cfg1"), fresh.manager);
    await old.release();
    assert.equal(old.manager.state.kind, "closed");
    assert.equal(pool.get("cfg1"), fresh.manager, "releasing the old handle leaves the new manager alone");
    await fresh.release();
    assert.equal(pool.size, 0);
  });

  it("refuses to share a manager that is not running", function () {
    const pool = new ManagerPool();
    assert.throws(
      () => pool.acquire("nope"),
      (e: unknown) => e instanceof DataCollError && e.code === "not-found" && e.field === "manager",
    );
  });
});

describe("Manager alarm handlers", function () {
  it("routes acknowledge and shelve to whichever handler holds the alarm, until it unregisters", async function () {
    const m = new Manager(parseManagerSettings({ namespace: "alarm:" }));
    const calls: string[] = [];
    const off = m.addAlarmHandler({
      acknowledge: async (key, condition, by) => {
        calls.push(`ack ${key} ${condition ?? "*"} ${by}`);
        return key === "d:t:i";
      },
      shelve: async (key, condition, until, by) => {
        calls.push(`shelve ${key} ${condition} ${until} ${by}`);
        return true;
      },
    });
    assert.equal(await m.acknowledgeAlarm("d:t:i", "high", "op"), true);
    assert.equal(await m.acknowledgeAlarm("x:y:z", undefined, "op"), false);
    assert.equal(await m.shelveAlarm("d:t:i", "high", 99, "op"), true);
    off();
    assert.equal(await m.acknowledgeAlarm("d:t:i", "high", "op"), false, "no handler after unregistering");
    assert.deepEqual(calls, ["ack d:t:i high op", "ack x:y:z * op", "shelve d:t:i high 99 op"]);
    await m.close();
  });
});
