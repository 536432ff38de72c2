/**
 * The embedded store on disk (src/core/store/journal.ts): the store contract once more with a directory
 * given, then what only a file can get wrong — a close and reopen, two stores of one process on one file
 * opened and closed in either order (a Full deploy), a torn last line, damage before it, another process
 * holding the lock, and compaction.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DataCollError } from "../../../src/core/errors";
import { MemoryStore, dropRestingDatabases } from "../../../src/core/store/memory-store";
import { crc32, crc32Js, journalFileName } from "../../../src/core/store/journal";
import type { AlarmState, Store } from "../../../src/core/store/store";
import { uniqueNamespace } from "../../support/services";
import { dp, envelope, plantOn, storeContract } from "./contract";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "datacoll-durable-"));
after(function () {
  fs.rmSync(dir, { recursive: true, force: true });
});

storeContract("MemoryStore on disk", {
  async open(namespace, opts) {
    return new MemoryStore({ namespace, instanceId: opts?.instanceId ?? "test", dir, bounds: opts?.bounds });
  },
  namespace: () => uniqueNamespace(),
  async cleanup(namespace) {
    fs.rmSync(path.join(dir, journalFileName(namespace)), { force: true });
  },
  settle: () => new Promise<void>((resolve) => setImmediate(resolve)),
});

/** Everything the file must keep, read through the store's own API. */
async function durableView(s: Store): Promise<unknown> {
  const r = s.registry;
  const byId = <T extends { id: string }>(xs: T[]): T[] => [...xs].sort((a, b) => a.id.localeCompare(b.id));
  const points = (await r.listPoints()).sort((a, b) => a.key.localeCompare(b.key));
  return {
    devices: byId(await r.listDevices()),
    terms: byId(await r.listTerms()),
    items: byId(await r.listItems()),
    points,
    formulas: byId(await r.listFormulas()),
    addresses: await Promise.all(
      points.map(async (p) => {
        const device = await r.getDevice(p.deviceId);
        const term = await r.getTerm(p.termId);
        const key = device && term ? r.addressKeyFor(device, term, p.address) : undefined;
        return key === undefined ? null : await r.pointByAddress(key);
      }),
    ),
    alarms: (await s.alarms()).sort((a, b) =>
      `${a.key}/${a.condition}`.localeCompare(`${b.key}/${b.condition}`),
    ),
  };
}

/** The contract's plant and a formula over it. */
async function plant(s: Store): Promise<void> {
  await plantOn(s);
  await s.registry.putFormula({
    id: "f1",
    expression: "p1 + p2",
    params: { p1: "plc1:t1:ua", p2: "plc1:t1:ub" },
    result: "calc:c1:sum",
  });
}

function alarm(key: string, condition: string): AlarmState {
  return { key, condition, active: true, acked: false, ts: 1_700_000_000_000, value: 250, limit: 240 };
}

function failure(s: MemoryStore): Promise<DataCollError> {
  return s.registry.listDevices().then(
    () => assert.fail("the store should refuse"),
    (err: unknown) => {
      assert.ok(err instanceof DataCollError, String(err));
      return err;
    },
  );
}

describe("MemoryStore on disk: durability", function () {
  let ns: string;
  const opened: MemoryStore[] = [];
  function open(namespace = ns): MemoryStore {
    const s = new MemoryStore({ namespace, instanceId: "test", dir });
    opened.push(s);
    return s;
  }
  const file = (): string => path.join(dir, journalFileName(ns));

  beforeEach(function () {
    ns = uniqueNamespace("dur");
  });
  afterEach(async function () {
    for (const s of opened.splice(0)) await s.close();
  });

  it("keeps the registry and alarm state across a restart, and not the samples", async function () {
    const a = open();
    await plant(a);
    await a.putAlarm(alarm("plc1:t1:ua", "high"));
    await a.putAlarm(alarm("plc1:t1:ua", "stale"));
    await a.putAlarm(alarm("plc1:t1:ub", "high"));
    await a.deleteAlarm("plc1:t1:ua", "stale");
    await a.ingest(envelope([dp("plc1:t1:ua", 231)]));
    await a.registry.deletePoint("plc1:t1:ub");
    const before = await durableView(a);
    await a.close();
    assert.equal(fs.existsSync(`${file()}.lock`), false, "the lock is given back on close");
    // A new process has only the file: what memory kept for a successor in this one goes.
    dropRestingDatabases();

    const b = open();
    assert.equal(b.state.kind, "connected");
    assert.deepEqual(await durableView(b), before);
    assert.deepEqual(
      (await b.alarms()).map((x) => `${x.key}/${x.condition}`),
      ["plc1:t1:ua/high"],
      "the deleted point's alarm went with it",
    );
    assert.equal(await b.latest("plc1:t1:ua"), undefined, "samples are not kept");
    // The reopened registry is live: writes go on from where the file stopped.
    await b.registry.putItem({ id: "uc" });
    assert.ok(await b.registry.getItem("uc"));
  });

  it("hands what it keeps in memory to the next store of this process that opens the file (a deploy)", async function () {
    const a = open();
    await plant(a);
    await a.ingest(envelope([dp("plc1:t1:ua", 230), dp("plc1:t1:ub", 5)]));
    await a.ingest(envelope([dp("plc1:t1:ua", 231)]));
    await a.setDeviceStatus("plc1", { online: true, ts: 1 });
    await a.ensureEventGroup("saver", "start");
    const delivered = await a.readEvents("saver", "c1", 10, 0);
    assert.equal(delivered.length, 2);
    await a.ackEvents("saver", [delivered[0].id]);
    await a.close();

    // The deploy's new store: latest values, history, status and the saver's unacknowledged entry.
    const b = open();
    assert.equal((await b.latest("plc1:t1:ua"))?.value, 231);
    assert.deepEqual(
      (await b.history("plc1:t1:ua", 10)).map((p) => p.value),
      [231, 230],
    );
    assert.equal((await b.deviceStatus("plc1"))?.online, true);
    assert.deepEqual(
      (await b.readPendingEvents("saver", "c1", 10)).map((e) => e.id),
      [delivered[1].id],
    );
    assert.deepEqual(await b.readEvents("saver", "c1", 10, 0), [], "nothing delivered twice as new");
    // Its registry is the file's, and it writes on.
    await b.registry.putItem({ id: "after-deploy" });
    await b.ingest(envelope([dp("plc1:t1:ua", 232)]));
    assert.equal((await b.readEvents("saver", "c1", 10, 0)).length, 1);
    await b.close();

    // Once the flows have started, what no store took is dropped: only the file is left.
    dropRestingDatabases();
    const c = open();
    assert.equal(await c.latest("plc1:t1:ua"), undefined);
    assert.deepEqual(await c.history("plc1:t1:ua", 10), []);
    assert.ok(await c.registry.getItem("after-deploy"));
  });

  it("shares one file between two stores of one process, opened and closed in either order", async function () {
    // A Full deploy: the new config node may open before the old one has closed, or after.
    const old = open();
    await plant(old);
    const fresh = open();
    assert.deepEqual(await durableView(fresh), await durableView(old));
    await old.close();
    await fresh.registry.putItem({ id: "after-old-closed" });
    await fresh.close();
    assert.equal(fs.existsSync(`${file()}.lock`), false);
    const third = open();
    assert.ok(await third.registry.getItem("after-old-closed"));
    assert.ok(await third.registry.getFormula("f1"));
  });

  it("drops a torn last line and keeps every whole one", async function () {
    const a = open();
    await plant(a);
    await a.registry.putItem({ id: "last-whole" });
    const before = await durableView(a);
    await a.close();
    // A crash in the middle of an append: the start of a record, no checksum match, no newline.
    fs.appendFileSync(file(), '0badc0de {"t":"batch","rev":99,"ops":[{"op":"hset","key":"items","fi');
    const b = open();
    assert.equal(b.state.kind, "connected", b.state.kind === "error" ? b.state.message : "");
    assert.deepEqual(await durableView(b), before);
    await b.close();
    assert.ok(
      !fs.readFileSync(file(), "utf8").includes("0badc0de"),
      "reopening compacted the torn line away",
    );
  });

  it("refuses a file damaged before its last line, naming the file but not its path", async function () {
    const a = open();
    await plant(a);
    await a.close();
    // Reopen once more so the file holds a snapshot and batches after it, then damage a middle batch.
    const b = open();
    await b.registry.putItem({ id: "x1" });
    await b.registry.putItem({ id: "x2" });
    await b.close();
    const lines = fs.readFileSync(file(), "utf8").split("\n");
    assert.equal(lines.length, 4, "snapshot, two batches, and the empty piece after the last newline");
    lines[1] = lines[1].replace('"x1"', '"y1"');
    fs.writeFileSync(file(), lines.join("\n"));

    const c = open();
    assert.equal(c.state.kind, "error");
    const err = await failure(c);
    assert.equal(err.code, "store-corrupt");
    assert.match(err.message, new RegExp(journalFileName(ns).replace(/\./g, "\\.")));
    assert.match(err.message, /line 2/);
    assert.ok(!err.message.includes(dir), "no absolute path in the message");
  });

  it("refuses a file another live process holds, and takes over one a killed process left", async function () {
    const a = open();
    await plant(a);
    await a.close();
    // The parent of this test process is alive and is not us: it stands for a second Node-RED.
    fs.writeFileSync(`${file()}.lock`, JSON.stringify({ pid: process.ppid, host: os.hostname() }));
    const b = open();
    const err = await failure(b);
    assert.equal(err.code, "store-locked");
    assert.match(err.message, new RegExp(`pid ${process.ppid}`));
    await b.close();
    assert.ok(fs.existsSync(`${file()}.lock`), "a refused store leaves the other process's lock alone");

    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    const pid = child.pid;
    await new Promise((resolve) => child.once("exit", resolve));
    assert.ok(pid !== undefined);
    fs.writeFileSync(`${file()}.lock`, JSON.stringify({ pid, host: os.hostname() }));
    const c = open();
    assert.equal(c.state.kind, "connected");
    assert.ok(await c.registry.getFormula("f1"));
    assert.equal(
      (JSON.parse(fs.readFileSync(`${file()}.lock`, "utf8")) as { pid: number }).pid,
      process.pid,
      "the lock now names this process",
    );
  });

  it("compacts the journal into a snapshot once it outgrows it, losing nothing", async function () {
    const a = new MemoryStore({ namespace: ns, instanceId: "test", dir, compactAfterBytes: 1 << 20 });
    opened.push(a);
    const text = "x".repeat(400);
    // One batch of about 1.3 MB: more than the snapshot before it and than the least worth compacting.
    await a.registry.batch(
      Array.from({ length: 3000 }, (_, i) => ({
        op: "put" as const,
        kind: "item" as const,
        raw: { id: `i${i}`, description: text },
      })),
    );
    const lines = fs.readFileSync(file(), "utf8").split("\n").filter(Boolean);
    assert.equal(lines.length, 1, "the batch was folded into the snapshot");
    assert.ok(lines[0].includes('"t":"snapshot"'));
    await a.registry.deleteItem("i7");
    const before = await durableView(a);
    await a.close();
    const b = open();
    assert.deepEqual(await durableView(b), before);
    assert.equal((await b.registry.listItems()).length, 2999);
  });

  it("writes an alarm storm with one flush, each alarm seeing the ones before it", async function () {
    const a = open();
    await plant(a);
    const lines = (): number => fs.readFileSync(file(), "utf8").split("\n").filter(Boolean).length;
    const before = lines();
    // A comm loss: every point goes stale at once; one of them comes back in the same turn.
    const keys = Array.from({ length: 500 }, (_, i) => `plc1:t1:p${i}`);
    await Promise.all([
      ...keys.map((k) => a.putAlarm(alarm(k, "stale"))),
      a.deleteAlarm("plc1:t1:p7", "stale"),
    ]);
    assert.equal(lines(), before + 1, "one batch line for the whole group");
    const held = (await a.alarms()).map((x) => x.key).sort();
    await a.close();
    const b = open();
    const after = (await b.alarms()).map((x) => x.key).sort();
    assert.deepEqual(after, held);
    assert.equal(after.length, 499);
    assert.ok(!after.includes("plc1:t1:p7"), "the delete planned after its put");
  });

  it("leaves memory as it was when the disk refuses a write, and goes on after", async function () {
    const a = open();
    await plant(a);
    const before = await durableView(a);
    // The disk fails once (a full disk): the fake stands for the file system, not for our code.
    const real = fs.writevSync;
    let fail = 2;
    fs.writevSync = ((...args: Parameters<typeof fs.writevSync>) => {
      if (fail-- > 0)
        throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
      return real(...args);
    }) as typeof fs.writevSync;
    try {
      await assert.rejects(a.registry.putDevice({ id: "lost", protocol: "virtual" }), (err: unknown) => {
        assert.ok(err instanceof DataCollError);
        assert.equal(err.code, "store-write");
        assert.match(err.message, /ENOSPC/);
        return true;
      });
      await assert.rejects(a.putAlarm(alarm("plc1:t1:ua", "high")), /ENOSPC/);
    } finally {
      fs.writevSync = real;
    }
    assert.deepEqual(await durableView(a), before, "nothing of the refused writes in memory");
    await a.registry.putDevice({ id: "kept", protocol: "virtual" });
    await a.close();
    const b = open();
    const devices = (await b.registry.listDevices()).map((d) => d.id).sort();
    assert.deepEqual(devices, ["calc", "kept", "plc1"]);
    assert.deepEqual(await b.alarms(), []);
  });

  it("computes CRC-32 the same with and without zlib (older Node 20 releases have none)", function () {
    const check = Buffer.from("123456789", "ascii");
    assert.equal(crc32Js(check), 0xcbf43926, "the standard check value");
    assert.equal(crc32(check), 0xcbf43926);
    const text = Buffer.from(JSON.stringify({ name: "C相电压", bytes: [...Array(300).keys()] }), "utf8");
    assert.equal(crc32Js(text), crc32(text));
  });
});
