/**
 * Redis outages cost nothing (issue 19, item 4), against a redis-server of the test's own (never the
 * shared one) with an append-only file, so a SIGKILL and restart keeps the data as a real server's would.
 * A manager runtime polls the counting Modbus device — every answer is a new value — through the outage;
 * once Redis is back the history holds every value the device produced, in order, the latest value is
 * the newest, and another instance heard each sample exactly once and in order. With a buffer too small
 * for the outage the oldest samples are dropped, and exactly as many as the manager reports.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Manager, type OutageEvent } from "../../../src/core/manager";
import { parseManagerSettings } from "../../../src/core/manager-config";
import { startManagerRuntime, type ManagerRuntime } from "../../../src/core/manager-runtime";
import { RecordingSimulator } from "../../support/recording-simulator";
import { until } from "../../support/net";
import { sparePort, startRedis, stopRedis } from "./redis-server";

const KEY = "d:t:seq";

describe("outage buffer: a Redis restart while polling", function () {
  this.timeout(60_000);
  let redis: ChildProcess | undefined;
  let dir: string;
  let sim: RecordingSimulator | undefined;
  const managers: Manager[] = [];
  let runtime: ManagerRuntime | undefined;

  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "datacoll-outage-"));
  });

  afterEach(async function () {
    await runtime?.close();
    runtime = undefined;
    for (const m of managers.splice(0)) await m.close();
    await sim?.close();
    sim = undefined;
    if (redis) await stopRedis(redis);
    redis = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Redis with an append-only file synced on every write, in the test's own directory. */
  const redisArgs = (): string[] => ["--appendonly", "yes", "--appendfsync", "always", "--dir", dir];

  async function plant(
    outageBuffer: string,
  ): Promise<{ port: number; produced: number[]; events: OutageEvent[] }> {
    const port = await sparePort();
    redis = await startRedis(port, redisArgs());
    const produced: number[] = [];
    sim = new RecordingSimulator({ keepRecords: false, onRequest: (seq) => produced.push(seq) });
    const simPort = await sim.listen(0);
    const events: OutageEvent[] = [];
    const open = (instanceId: string): Manager => {
      const m = new Manager(
        parseManagerSettings({
          store: "redis",
          redisUrl: `redis://127.0.0.1:${port}`,
          namespace: "ob:",
          instanceId,
          outageBuffer,
        }),
        { reconnect: { baseMs: 50, maxMs: 200 }, onError: () => undefined, onOutage: (e) => events.push(e) },
      );
      managers.push(m);
      return m;
    };
    const a = open("a");
    await a.ready();
    const r = a.registry;
    await r.putDevice({ id: "d", protocol: "modbus-tcp", host: "127.0.0.1", port: simPort });
    await r.putTerm({ id: "t", deviceId: "d", address: 1, pollInterval: 50 });
    await r.putItem({ id: "seq" });
    await r.putPoint({ deviceId: "d", termId: "t", itemId: "seq", address: "HR0:uint32" });
    return { port, produced, events };
  }

  /** Every stored sample of the counter, oldest first. */
  async function stored(m: Manager): Promise<number[]> {
    return (await m.store.history(KEY, 10_000)).map((p) => Number(p.value)).reverse();
  }

  it("stores every value polled while Redis was down, in order, and other instances hear each once", async function () {
    const { port, produced } = await plant("");
    const [a] = managers;
    // Another instance: what it hears stands for what its data and save nodes would get.
    const b = new Manager(
      parseManagerSettings({
        store: "redis",
        redisUrl: `redis://127.0.0.1:${port}`,
        namespace: "ob:",
        instanceId: "b",
      }),
      { reconnect: { baseMs: 50, maxMs: 200 }, onError: () => undefined },
    );
    managers.push(b);
    await b.ready();
    const heard: number[] = [];
    b.subscribe(KEY, (points) => {
      for (const p of points) heard.push(Number(p.value));
    });
    // A lease longer than the outage: the device stays this instance's throughout.
    runtime = startManagerRuntime(a, { leaseMs: 20_000 });
    await runtime.started;
    await until(async () => (await stored(a)).length >= 5, 5000, "polling stored");

    if (!redis) throw new Error("no redis");
    await stopRedis(redis);
    redis = undefined;
    const atKill = produced.length;
    await until(() => produced.length >= atKill + 20, 5000, "polling while Redis is down");
    await until(() => (a.outage()?.held ?? 0) >= 10, 5000, "samples kept in the buffer");
    assert.equal(a.outage()?.outage, true);
    redis = await startRedis(port, redisArgs());
    const afterRestart = produced.length;
    await until(
      () => a.outage()?.outage === false && a.outage()?.held === 0 && produced.length > afterRestart + 5,
      10_000,
      "the buffer drained",
    );
    const outage = a.outage();
    assert.ok(outage !== undefined && outage.delayed >= 20, `samples written late: ${outage?.delayed}`);
    assert.equal(outage.dropped, 0);

    const history = await stored(a);
    const newest = history[history.length - 1];
    const expected = produced.filter((v) => v <= newest);
    assert.deepEqual(history, expected, "every value polled, once, in order");
    assert.ok(expected.length > atKill + 20, "the outage's values are among them");
    assert.ok(Number((await a.store.latest(KEY))?.value) >= newest, "the latest value is the newest");
    await until(() => heard.includes(newest), 5000, "the other instance caught up");
    const heardUpTo = heard.filter((v) => v <= newest);
    assert.deepEqual(
      heardUpTo.slice(heardUpTo.indexOf(expected[atKill])),
      expected.slice(atKill),
      "the other instance heard the outage's samples once each, in order",
    );
  });

  it("drops the oldest samples when the buffer is too small, as many as it reports", async function () {
    const { port, produced, events } = await plant("8");
    const [a] = managers;
    runtime = startManagerRuntime(a, { leaseMs: 20_000 });
    await runtime.started;
    await until(async () => (await stored(a)).length >= 3, 5000, "polling stored");

    if (!redis) throw new Error("no redis");
    await stopRedis(redis);
    redis = undefined;
    const atKill = produced.length;
    await until(() => (a.outage()?.dropped ?? 0) >= 10, 5000, "the buffer overflowing");
    redis = await startRedis(port, redisArgs());
    await until(() => a.outage()?.outage === false && a.outage()?.held === 0, 10_000, "the buffer drained");
    await until(() => events.some((e) => e.kind === "recovered"), 5000, "the recovery reported");

    const dropped = a.outage()?.dropped ?? 0;
    const reported = events.reduce((n, e) => n + (e.kind === "dropped" ? e.points : 0), 0);
    assert.equal(reported, dropped, "every dropped sample reported");
    const recovered = events.find((e) => e.kind === "recovered");
    assert.ok(recovered?.kind === "recovered" && recovered.dropped === dropped);

    const history = await stored(a);
    const newest = history[history.length - 1];
    const expected = produced.filter((v) => v <= newest);
    const missing = expected.filter((v) => !history.includes(v));
    assert.equal(missing.length, dropped, "lost exactly what was reported");
    // The oldest went: every lost sample is one of the outage, and older than every kept one but the
    // write that was on its way when the rest was trimmed (it cannot be called back, and it succeeded).
    assert.ok(
      missing.every((v) => v > produced[atKill - 1]),
      `lost ${missing.join()}, the outage began after ${produced[atKill - 1]}`,
    );
    const lastLost = missing[missing.length - 1];
    const keptAmongLost = history.filter((v) => v > produced[atKill - 1] && v < lastLost);
    assert.ok(keptAmongLost.length <= 1, `kept older than a lost one: ${keptAmongLost.join()}`);
    assert.deepEqual(
      history,
      [...history].sort((x, y) => x - y),
      "in order",
    );
  });
});
