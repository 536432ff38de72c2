/**
 * The store contract: what every Store does, run against the memory store and the Redis store alike.
 * A factory opens stores on namespaces it makes; two stores opened on one namespace are two instances
 * sharing it.
 */
import assert from "node:assert/strict";
import { DataCollError } from "../../../src/core/errors";
import type { DataPoint } from "../../../src/core/model/datapoint";
import type { RegistryChange } from "../../../src/core/model/change";
import { ENVELOPE_VERSION, EventIds, type PointsEnvelope } from "../../../src/core/bus/envelope";
import type { Store, StoreBounds } from "../../../src/core/store/store";
import { BatchStepError } from "../../../src/core/store/registry";

export interface StoreFactory {
  open(namespace: string, opts?: { instanceId?: string; bounds?: Partial<StoreBounds> }): Promise<Store>;
  namespace(): string;
  /** Remove every key of the namespace. */
  cleanup(namespace: string): Promise<void>;
  /** Let pub/sub messages already sent arrive (a round trip to the server, or a turn of the event loop). */
  settle(store: Store): Promise<void>;
}

export function dp(key: string, value: number | boolean | string | null, ts = 1_700_000_000_000): DataPoint {
  const [deviceId, termId, itemId] = key.split(":");
  return { key, deviceId, termId, itemId, value, ts, quality: {}, cause: "poll" };
}

const envIds = new EventIds("contract");
export function envelope(points: readonly DataPoint[], instance = "contract"): PointsEnvelope {
  return { v: ENVELOPE_VERSION, instance, id: envIds.next(), ts: Date.now(), points };
}

async function rejects(
  p: Promise<unknown>,
  code: string,
  field: string | undefined,
  message?: RegExp,
): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof DataCollError, `expected a DataCollError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.field, field, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

/** Wait for `n` deliveries without a wall-clock sleep: resolve when the counter reaches it. */
function collector<T>(): { items: T[]; push: (t: T) => void; until: (n: number) => Promise<T[]> } {
  const items: T[] = [];
  let waiter: { n: number; resolve: () => void } | undefined;
  return {
    items,
    push(t) {
      items.push(t);
      if (waiter && items.length >= waiter.n) waiter.resolve();
    },
    until(n) {
      if (items.length >= n) return Promise.resolve(items);
      return new Promise((resolve) => {
        waiter = { n, resolve: () => resolve(items) };
      });
    },
  };
}

/** plc1 (modbus) with term t1 (unit 1), items ua/ub, points plc1:t1:ua and :ub; calc (formula) with c1/sum. */
export async function plantOn(s: Store): Promise<void> {
  const r = s.registry;
  await r.putDevice({ id: "plc1", protocol: "modbus-tcp", host: "10.0.0.5" });
  await r.putDevice({ id: "calc", protocol: "formula" });
  await r.putTerm({ id: "t1", deviceId: "plc1", address: 1 });
  await r.putTerm({ id: "c1", deviceId: "calc", address: 0, pollInterval: 0 });
  for (const id of ["ua", "ub", "sum"]) await r.putItem({ id, unit: "V" });
  await r.putPoint({ deviceId: "plc1", termId: "t1", itemId: "ua", address: "HR40001" });
  await r.putPoint({ deviceId: "plc1", termId: "t1", itemId: "ub", address: "HR40003" });
  await r.putPoint({ deviceId: "calc", termId: "c1", itemId: "sum" });
}

export function storeContract(name: string, factory: StoreFactory): void {
  describe(`${name}: store contract`, function () {
    let ns: string;
    let store: Store;
    const opened: Store[] = [];

    async function open(opts?: Parameters<StoreFactory["open"]>[1], namespace = ns): Promise<Store> {
      const s = await factory.open(namespace, opts);
      opened.push(s);
      return s;
    }

    function plant(s: Store = store): Promise<void> {
      return plantOn(s);
    }

    beforeEach(async function () {
      ns = factory.namespace();
      store = await open({ instanceId: "a" });
    });

    afterEach(async function () {
      for (const s of opened.splice(0)) await s.close();
      await factory.cleanup(ns);
    });

    describe("registry", function () {
      it("creates, reads, lists, updates and refuses duplicates or unknown ids", async function () {
        const r = store.registry;
        assert.deepEqual(await r.putDevice({ id: "plc1", protocol: "modbus-tcp", host: "h" }, "create"), [
          { kind: "device", id: "plc1", op: "create" },
        ]);
        await rejects(
          r.putDevice({ id: "plc1", protocol: "modbus-tcp", host: "h" }, "create"),
          "conflict",
          "id",
          /plc1 already exists/,
        );
        await rejects(
          r.putDevice({ id: "plc9", protocol: "virtual" }, "update"),
          "not-found",
          "id",
          /device plc9 does not exist/,
        );
        assert.deepEqual(await r.putDevice({ id: "plc1", protocol: "modbus-tcp", host: "h2" }, "update"), [
          { kind: "device", id: "plc1", op: "update" },
        ]);
        assert.equal((await r.getDevice("plc1"))?.host, "h2");
        assert.equal(await r.getDevice("nope"), undefined);
        await r.putItem({ id: 5, name: "Voltage" });
        assert.deepEqual(
          (await r.listItems()).map((i) => i.id),
          ["5"],
        );
        assert.deepEqual(
          (await r.listDevices()).map((d) => d.id),
          ["plc1"],
        );
        assert.deepEqual(await r.deleteDevice("nope"), [], "deleting what is not there changes nothing");
      });

      it("keeps extra fields a client sent and returns them as given", async function () {
        await store.registry.putDevice({ id: "d", protocol: "virtual", vendor: "ACME", rack: 4 });
        const d = await store.registry.getDevice("d");
        assert.deepEqual(d?.extra, { vendor: "ACME", rack: 4 });
      });

      it("checks references and protocol rules, naming the field", async function () {
        const r = store.registry;
        await rejects(
          r.putTerm({ id: "t1", deviceId: "ghost" }),
          "not-found",
          "deviceId",
          /device ghost does not exist/,
        );
        await r.putDevice({ id: "plc1", protocol: "modbus-tcp", host: "h" });
        await r.putDevice({ id: "rtu", protocol: "iec104", host: "h" });
        await rejects(
          r.putTerm({ id: "t1", deviceId: "plc1", address: 300 }),
          "invalid",
          "address",
          /Modbus unit id from 0 to 255/,
        );
        await rejects(
          r.putTerm({ id: "r1", deviceId: "rtu", address: 65535 }),
          "invalid",
          "address",
          /common address from 1 to 65534/,
        );
        await r.putTerm({ id: "t1", deviceId: "plc1", address: 1 });
        await r.putTerm({ id: "r1", deviceId: "rtu", address: 7 });
        await rejects(
          r.putTerm({ id: "t1", deviceId: "rtu", address: 1 }),
          "invalid",
          "deviceId",
          /cannot change/,
        );
        await rejects(
          r.putPoint({ deviceId: "plc1", termId: "t9", itemId: "ua", address: "HR1" }),
          "not-found",
          "termId",
        );
        await rejects(
          r.putPoint({ deviceId: "plc1", termId: "t1", itemId: "ua", address: "HR1" }),
          "not-found",
          "itemId",
        );
        await r.putItem({ id: "ua" });
        await rejects(
          r.putPoint({ deviceId: "rtu", termId: "t1", itemId: "ua", address: "1" }),
          "invalid",
          "termId",
          /belongs to device plc1, not rtu/,
        );
        await rejects(
          r.putPoint({ deviceId: "plc1", termId: "t1", itemId: "ua" }),
          "invalid",
          "address",
          /required for a point on a modbus-tcp device/,
        );
        await rejects(
          r.putPoint({ deviceId: "rtu", termId: "r1", itemId: "ua", address: "0" }),
          "invalid",
          "address",
          /IOA from 1 to 16777215/,
        );
        await rejects(
          r.putDevice({ id: "plc1", protocol: "iec104", host: "h" }),
          "invalid",
          "protocol",
          /while device plc1 has terms/,
        );
      });

      it("maps protocol addresses to points, refuses a taken address, follows moves", async function () {
        await plant();
        const r = store.registry;
        assert.equal(await r.pointByAddress("modbus:plc1:1:HR40001"), "plc1:t1:ua");
        await rejects(
          r.putPoint({ deviceId: "plc1", termId: "t1", itemId: "sum", address: "HR40001" }),
          "conflict",
          "address",
          /already used by point plc1:t1:ua/,
        );
        await r.putPoint({ deviceId: "plc1", termId: "t1", itemId: "ua", address: "HR40011" });
        assert.equal(await r.pointByAddress("modbus:plc1:1:HR40001"), undefined);
        assert.equal(await r.pointByAddress("modbus:plc1:1:HR40011"), "plc1:t1:ua");
        await r.putTerm({ id: "t1", deviceId: "plc1", address: 2 });
        assert.equal(await r.pointByAddress("modbus:plc1:1:HR40011"), undefined);
        assert.equal(await r.pointByAddress("modbus:plc1:2:HR40011"), "plc1:t1:ua");
        assert.equal(await r.pointByAddress("modbus:plc1:2:HR40003"), "plc1:t1:ub");
        await r.putDevice({ id: "rtu", protocol: "iec104", host: "h" });
        await r.putTerm({ id: "r1", deviceId: "rtu", address: 7 });
        await r.putPoint({ deviceId: "rtu", termId: "r1", itemId: "ua", address: "1001:M_ME_NC_1" });
        assert.equal(await r.pointByAddress("iec104:rtu:7:1001"), "rtu:r1:ua");
      });

      it("lists points by device, term and item", async function () {
        await plant();
        const keys = async (f: Parameters<Store["registry"]["listPoints"]>[0]): Promise<string[]> =>
          (await store.registry.listPoints(f)).map((p) => p.key).sort();
        assert.deepEqual(await keys({}), ["calc:c1:sum", "plc1:t1:ua", "plc1:t1:ub"]);
        assert.deepEqual(await keys({ deviceId: "plc1" }), ["plc1:t1:ua", "plc1:t1:ub"]);
        assert.deepEqual(await keys({ termId: "c1" }), ["calc:c1:sum"]);
        assert.deepEqual(await keys({ itemId: "ub" }), ["plc1:t1:ub"]);
        assert.deepEqual(
          (await store.registry.listTerms("plc1")).map((t) => t.id),
          ["t1"],
        );
      });

      it("checks formula bindings and indexes formulas by point", async function () {
        await plant();
        const r = store.registry;
        const f = {
          id: "f1",
          expression: "p1 + p2",
          params: { p1: "plc1:t1:ua", p2: "plc1:t1:ub" },
          result: "calc:c1:sum",
        };
        await rejects(
          r.putFormula({ ...f, params: { p1: "plc1:t1:zz" } }),
          "not-found",
          "params.p1",
          /point plc1:t1:zz does not exist/,
        );
        await rejects(
          r.putFormula({ ...f, params: { p1: "calc:c1:sum" }, result: "plc1:t1:ub" }),
          "invalid",
          "result",
          /formula or virtual device/,
        );
        await r.putFormula(f);
        assert.deepEqual(
          (await r.formulasUsing("plc1:t1:ua")).map((x) => x.id),
          ["f1"],
        );
        await r.putFormula({ ...f, params: { p1: "plc1:t1:ub" } });
        assert.deepEqual(await r.formulasUsing("plc1:t1:ua"), [], "an update drops the old bindings");
        assert.equal((await r.formulasUsing("calc:c1:sum")).length, 1);
      });

      it("cascades deletes: device → terms → points → formulas, with their data", async function () {
        await plant();
        const r = store.registry;
        await r.putFormula({
          id: "f1",
          expression: "p1*2",
          params: { p1: "plc1:t1:ua" },
          result: "calc:c1:sum",
        });
        await store.ingest(envelope([dp("plc1:t1:ua", 1)]));
        await store.putAlarm({ key: "plc1:t1:ua", condition: "high", active: true, acked: false, ts: 1 });
        await store.setDeviceStatus("plc1", { online: true, ts: 1 });
        await store.appendFrames("plc1", [{ ts: 1, dir: "rx", data: "00" }]);
        const changes = await r.deleteDevice("plc1");
        const sorted = (cs: readonly RegistryChange[]): string[] =>
          cs.map((c) => `${c.op} ${c.kind} ${c.id}`).sort();
        assert.deepEqual(sorted(changes), [
          "delete device plc1",
          "delete formula f1",
          "delete point plc1:t1:ua",
          "delete point plc1:t1:ub",
          "delete term t1",
        ]);
        assert.deepEqual(
          (await r.listPoints()).map((p) => p.key),
          ["calc:c1:sum"],
        );
        assert.deepEqual(await r.listTerms("plc1"), []);
        assert.equal(await r.pointByAddress("modbus:plc1:1:HR40001"), undefined);
        assert.equal(await store.latest("plc1:t1:ua"), undefined);
        assert.equal(await store.historyLength("plc1:t1:ua"), 0);
        assert.deepEqual(await store.alarms(), []);
        assert.equal(await store.deviceStatus("plc1"), undefined);
        assert.equal(await store.framesLength("plc1"), 0);
        assert.deepEqual(
          await r.formulasUsing("calc:c1:sum"),
          [],
          "the formula's index entries went with it",
        );
        assert.equal((await r.listItems()).length, 3, "items are a catalogue: they stay");
      });

      it("deleting a term deletes its points; deleting an item deletes the points binding it", async function () {
        await plant();
        const r = store.registry;
        assert.deepEqual(
          (await r.deleteItem("ub")).map((c) => `${c.kind} ${c.id}`),
          ["point plc1:t1:ub", "item ub"],
        );
        assert.equal(await r.getPoint("plc1:t1:ub"), undefined);
        assert.deepEqual(
          (await r.deleteTerm("t1")).map((c) => `${c.kind} ${c.id}`),
          ["point plc1:t1:ua", "term t1"],
        );
        assert.deepEqual(
          (await r.listPoints()).map((p) => p.key),
          ["calc:c1:sum"],
        );
        assert.ok(await r.getDevice("plc1"), "the device stays");
      });

      it("announces changes here and to another instance of the namespace, once each", async function () {
        const other = await open({ instanceId: "b" });
        const here = collector<RegistryChange>();
        const there = collector<RegistryChange>();
        store.registry.onChange((cs) => cs.forEach(here.push));
        other.registry.onChange((cs) => cs.forEach(there.push));
        await store.registry.putItem({ id: "ua" });
        assert.deepEqual(
          here.items,
          [{ kind: "item", id: "ua", op: "create" }],
          "local listeners hear it at once",
        );
        await other.registry.deleteItem("ua");
        await there.until(2);
        await here.until(2);
        await factory.settle(store);
        await factory.settle(other);
        assert.deepEqual(there.items, [
          { kind: "item", id: "ua", op: "create" },
          { kind: "item", id: "ua", op: "delete" },
        ]);
        assert.deepEqual(here.items, there.items, "no echo of one's own change");
      });

      it("stays consistent with two instances writing at once", async function () {
        const other = await open({ instanceId: "b" });
        await store.registry.putDevice({ id: "plc1", protocol: "modbus-tcp", host: "h" });
        const writes: Promise<unknown>[] = [];
        for (let i = 0; i < 40; i++) {
          writes.push(store.registry.putTerm({ id: `a${i}`, deviceId: "plc1", address: 1 }));
          writes.push(other.registry.putTerm({ id: `b${i}`, deviceId: "plc1", address: 2 }));
        }
        await Promise.all(writes);
        assert.equal((await other.registry.listTerms("plc1")).length, 80);
        const race = await Promise.allSettled([
          store.registry.putItem({ id: "x", name: "from a" }, "create"),
          other.registry.putItem({ id: "x", name: "from b" }, "create"),
        ]);
        assert.deepEqual(
          race.map((r) => r.status).sort(),
          ["fulfilled", "rejected"],
          "exactly one create wins",
        );
        // A term created while its device is deleted must not survive as an orphan.
        await Promise.allSettled([
          store.registry.deleteDevice("plc1"),
          other.registry.putTerm({ id: "late", deviceId: "plc1", address: 3 }),
        ]);
        assert.equal(await store.registry.getDevice("plc1"), undefined);
        assert.deepEqual(await store.registry.listTerms(), []);
      });
    });

    describe("registry batches", function () {
      it("writes steps that build on each other as one change, announced once", async function () {
        const other = await open({ instanceId: "b" });
        const there = collector<readonly RegistryChange[]>();
        other.registry.onChange((cs) => there.push(cs));
        const changes = await store.registry.batch([
          {
            op: "put",
            kind: "device",
            raw: { id: "plc1", protocol: "modbus-tcp", host: "h" },
            mode: "create",
          },
          { op: "put", kind: "term", raw: { id: "t1", deviceId: "plc1", address: 1 } },
          { op: "put", kind: "item", raw: { id: "ua" } },
          {
            op: "put",
            kind: "point",
            raw: { deviceId: "plc1", termId: "t1", itemId: "ua", address: "HR40001" },
          },
          { op: "put", kind: "item", raw: { id: "ua", name: "phase A" } },
        ]);
        assert.deepEqual(
          changes.map((c) => `${c.kind} ${c.id} ${c.op}`),
          [
            "device plc1 create",
            "term t1 create",
            "item ua create",
            "point plc1:t1:ua create",
            "item ua update",
          ],
        );
        assert.equal(await store.registry.pointByAddress("modbus:plc1:1:HR40001"), "plc1:t1:ua");
        assert.equal((await store.registry.getItem("ua"))?.name, "phase A");
        await there.until(1);
        assert.equal(there.items.length, 1, "one announcement for the whole batch");
      });

      it("writes nothing when any step fails, and names the step", async function () {
        await plant();
        const before = await Promise.all([
          store.registry.listDevices(),
          store.registry.listTerms(),
          store.registry.listItems(),
          store.registry.listPoints(),
        ]);
        await assert.rejects(
          store.registry.batch([
            { op: "put", kind: "device", raw: { id: "plc2", protocol: "modbus-tcp", host: "h" } },
            { op: "delete", kind: "device", id: "plc1" },
            { op: "put", kind: "term", raw: { id: "t2", deviceId: "plc2", address: 1 } },
            // plc1 is deleted by the step before last: its term cannot be written.
            { op: "put", kind: "term", raw: { id: "t9", deviceId: "plc1", address: 1 } },
          ]),
          (err: unknown) => {
            assert.ok(err instanceof BatchStepError, String(err));
            assert.equal(err.index, 3);
            assert.ok(err.reason instanceof DataCollError);
            assert.deepEqual([err.reason.code, err.reason.field], ["not-found", "deviceId"]);
            return true;
          },
        );
        const after = await Promise.all([
          store.registry.listDevices(),
          store.registry.listTerms(),
          store.registry.listItems(),
          store.registry.listPoints(),
        ]);
        assert.deepEqual(after, before);
      });

      it("sees its own deletes and cascades: a deleted entity's parts are gone for later steps", async function () {
        await plant();
        await store.registry.batch([
          { op: "delete", kind: "term", id: "t1" },
          // The address the deleted point held is free again within the same batch.
          { op: "put", kind: "term", raw: { id: "t2", deviceId: "plc1", address: 1 } },
          {
            op: "put",
            kind: "point",
            raw: { deviceId: "plc1", termId: "t2", itemId: "ua", address: "HR40001" },
          },
          { op: "delete", kind: "point", id: "plc1:t1:ub" },
        ]);
        assert.deepEqual(
          (await store.registry.listPoints({ deviceId: "plc1" })).map((p) => p.key),
          ["plc1:t2:ua"],
        );
        assert.equal(await store.registry.pointByAddress("modbus:plc1:1:HR40001"), "plc1:t2:ua");
      });
    });

    describe("data", function () {
      it("keeps the latest value and the history of each point, newest first", async function () {
        await store.ingest(envelope([dp("d:t:a", 1, 1), dp("d:t:b", true, 1)]));
        await store.ingest(envelope([dp("d:t:a", 2, 2)]));
        assert.equal((await store.latest("d:t:a"))?.value, 2);
        assert.deepEqual(
          (await store.latestMany(["d:t:b", "d:t:zz"])).map((p) => p?.value),
          [true, undefined],
        );
        assert.deepEqual(
          (await store.history("d:t:a", 10)).map((p) => p.value),
          [2, 1],
        );
        assert.deepEqual(await store.history("d:t:a", 0), []);
        assert.deepEqual(await store.latest("d:t:b"), dp("d:t:b", true, 1), "a sample reads back as written");
        assert.equal(await store.eventsLength(), 2);
        await store.ingest(envelope([]));
        assert.equal(await store.eventsLength(), 2, "an empty batch is no event");
      });

      it("keeps history, frames and events at their bound", async function () {
        const s = await open({
          instanceId: "bounded",
          bounds: { history: 5, frames: 3, events: 4, trim: "exact" },
        });
        for (let i = 0; i < 20; i++) await s.ingest(envelope([dp("d:t:a", i)]));
        await s.appendFrames(
          "d",
          Array.from({ length: 10 }, (_, i) => ({ ts: i, dir: "rx" as const, data: "0a0b", note: `#${i}` })),
        );
        assert.equal(await s.historyLength("d:t:a"), 5);
        assert.deepEqual(
          (await s.history("d:t:a", 100)).map((p) => p.value),
          [19, 18, 17, 16, 15],
        );
        assert.equal(await s.framesLength("d"), 3);
        assert.deepEqual(
          (await s.frames("d", 2)).map((f) => f.note),
          ["#9", "#8"],
        );
        assert.equal(await s.eventsLength(), 4);
        await rejects(s.appendFrames("d", [{ ts: 1, dir: "rx", data: "zz" }]), "invalid", "data");
      });

      it("sends batches to other instances, never back to the sender", async function () {
        const other = await open({ instanceId: "b" });
        const there = collector<PointsEnvelope>();
        const here = collector<PointsEnvelope>();
        other.onRemotePoints(there.push);
        store.onRemotePoints(here.push);
        const env = envelope([dp("d:t:a", 1), dp("d:t:b", 2)]);
        await store.ingest(env);
        const [got] = await there.until(1);
        assert.equal(got.id, env.id);
        assert.deepEqual(got.points, env.points);
        await other.ingest(envelope([dp("d:t:a", 3)]));
        await here.until(1);
        await factory.settle(store);
        assert.equal(here.items.length, 1, "the sender only hears the other instance");
        assert.equal(here.items[0].points[0].value, 3);
      });

      it("takes batches from two instances at once without losing one", async function () {
        const other = await open({ instanceId: "b" });
        await store.ensureEventGroup("saver", "end");
        const writes: Promise<void>[] = [];
        for (let i = 0; i < 50; i++) {
          writes.push(store.ingest(envelope([dp("d:t:a", i), dp("d:t:b", i)])));
          writes.push(other.ingest(envelope([dp("d:t:a", 100 + i)])));
        }
        await Promise.all(writes);
        assert.equal(await store.historyLength("d:t:a"), 100);
        assert.equal(await other.historyLength("d:t:b"), 50);
        const values = (await other.history("d:t:a", 100)).map((p) => Number(p.value)).sort((x, y) => x - y);
        assert.deepEqual(values, [
          ...Array.from({ length: 50 }, (_, i) => i),
          ...Array.from({ length: 50 }, (_, i) => 100 + i),
        ]);
        const events = await store.readEvents("saver", "c1", 1000, 0);
        assert.equal(events.length, 100, "the saver's group sees every batch of both instances");
      });

      it("keeps alarm states per point and condition, with an index of points in alarm", async function () {
        const high = {
          key: "d:t:a",
          condition: "high",
          active: true,
          acked: false,
          ts: 5,
          value: 12,
          limit: 10,
        };
        await store.putAlarm(high);
        await store.putAlarm({ ...high, condition: "stale" });
        await store.putAlarm({ ...high, key: "d:t:b" });
        assert.equal((await store.alarms("d:t:a")).length, 2);
        assert.equal((await store.alarms()).length, 3);
        await store.deleteAlarm("d:t:a", "high");
        await store.deleteAlarm("d:t:a", "stale");
        assert.deepEqual(
          (await store.alarms()).map((a) => a.key),
          ["d:t:b"],
        );
        await rejects(store.putAlarm({ ...high, condition: "a b" }), "invalid", "condition");
      });

      it("keeps device status", async function () {
        await store.setDeviceStatus("plc1", { online: false, ts: 3, lastError: "timeout", owner: "a" });
        assert.deepEqual(await store.deviceStatus("plc1"), {
          online: false,
          ts: 3,
          lastError: "timeout",
          owner: "a",
        });
        assert.equal((await store.allDeviceStatus()).size, 1);
        assert.equal(await store.deviceStatus("x"), undefined);
      });
    });

    describe("durable events stream", function () {
      it("delivers entries to a consumer group until acknowledged", async function () {
        await store.ingest(envelope([dp("d:t:a", 0)]));
        await store.ensureEventGroup("saver", "start");
        await store.ensureEventGroup("saver", "start");
        await store.ensureEventGroup("late", "end");
        await store.ingest(envelope([dp("d:t:a", 1)]));
        const first = await store.readEvents("saver", "c1", 10, 0);
        assert.deepEqual(
          first.map((e) => (e.ok ? e.envelope.points[0].value : e.reason)),
          [0, 1],
        );
        assert.equal(
          (await store.readEvents("late", "c1", 10, 0)).length,
          1,
          "a group from the end sees new entries only",
        );
        assert.deepEqual(
          await store.readEvents("saver", "c1", 10, 0),
          [],
          "delivered entries are not new any more",
        );
        assert.equal((await store.readPendingEvents("saver", "c1", 10)).length, 2);
        assert.equal((await store.readPendingEvents("saver", "other", 10)).length, 0);
        assert.equal(await store.ackEvents("saver", [first[0].id]), 1);
        const pending = await store.readPendingEvents("saver", "c1", 10);
        assert.deepEqual(
          pending.map((e) => e.id),
          [first[1].id],
        );
        await rejects(store.readEvents("nobody", "c1", 1, 0), "not-found", "group");
      });

      it("wakes a blocked reader when an entry arrives", async function () {
        await store.ensureEventGroup("saver", "end");
        const other = await open({ instanceId: "b" });
        const read = store.readEvents("saver", "c1", 10, 5000);
        await factory.settle(store);
        await other.ingest(envelope([dp("d:t:a", 7)]));
        const got = await read;
        assert.equal(got.length, 1);
        assert.ok(got[0].ok && got[0].envelope.points[0].value === 7);
      });

      it("returns nothing from a blocked read when the time is up", async function () {
        await store.ensureEventGroup("saver", "end");
        assert.deepEqual(await store.readEvents("saver", "c1", 10, 30), []);
      });
    });

    describe("namespaces", function () {
      it("two namespaces on one server never see each other", async function () {
        const otherNs = factory.namespace();
        try {
          const other = await open({ instanceId: "b" }, otherNs);
          const heard = collector<unknown>();
          other.registry.onChange(heard.push);
          other.onRemotePoints(heard.push);
          await plant();
          await store.ingest(envelope([dp("plc1:t1:ua", 1)]));
          await store.ensureEventGroup("saver", "start");
          await other.ensureEventGroup("saver", "start");
          await factory.settle(other);
          assert.deepEqual(await other.registry.listDevices(), []);
          assert.equal(await other.latest("plc1:t1:ua"), undefined);
          assert.equal(await other.eventsLength(), 0);
          assert.deepEqual(await other.readEvents("saver", "c", 10, 0), []);
          assert.equal(heard.items.length, 0);
          await other.registry.putDevice({ id: "plc1", protocol: "virtual" });
          assert.equal((await store.registry.getDevice("plc1"))?.protocol, "modbus-tcp");
        } finally {
          await factory.cleanup(otherNs);
        }
      });
    });

    it("closes once, and refuses work afterwards", async function () {
      const s = await open();
      const states: string[] = [];
      s.onState((st) => states.push(st.kind));
      await s.close();
      await s.close();
      assert.equal(s.state.kind, "closed");
      assert.deepEqual(states, ["closed"]);
      await assert.rejects(s.latest("d:t:a"));
    });
  });
}
