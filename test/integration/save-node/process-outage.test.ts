/**
 * Issue 8's outage acceptance at full scale, in a real Node-RED process: 5,000 rows/s for 60 s into a
 * `datacoll-save` whose manager keeps the backlog in Redis, MySQL cut off through a TCP proxy from 20 s
 * to 40 s, and Node-RED stopped (SIGINT) and started again on the same user directory during the cut.
 *
 * The test is the data source: it POSTs rows to an `http in` node wired to the save node, one request at
 * a time, and a row counts as accepted only when the save node passed its message on and the flow
 * answered 200 (a failure would reach a Catch node and answer 500). So the test knows exactly which rows
 * the flow took. Feeding pauses while the process is down (after the last request in flight was
 * answered) and catches up after, so the 300,000 rows of the 60 s all go in. Rows are 500 points at
 * 10 samples/s of source time; a point's n-th sample has value n and time stamp T0 + n * 100 ms.
 *
 * At the end, per point, the values in MySQL in the order they arrived (an AUTO_INCREMENT column the test
 * adds to the history table; a replayed row keeps its first number) must be exactly the accepted
 * samples in order: nothing lost, nothing twice, nothing out of order. Also: no request failed, the Redis
 * backlog held the rows over the restart and drained to zero, both stops were clean (flows stopped, no
 * SIGKILL needed) and left no connection of the process open through the proxy or to Redis.
 * Figures are printed: the rate achieved, the backlog's peak, the drain time.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { Redis } from "ioredis";
import type { RowDataPacket } from "mysql2/promise";
import { saverKeys } from "../../../src/core/history/backlog";
import { historyTableDdl } from "../../../src/core/history/schema";
import type { DataPoint } from "../../../src/core/model/datapoint";
import { NodeRedProcess } from "../../support/node-red-process";
import { until } from "../../support/net";
import { REDIS_URL, uniqueNamespace } from "../../support/services";
import { createTestDatabase, serverPort, type TestDatabase } from "../../support-history/mysql";
import { deleteNamespace } from "../store/redis-admin";
import { TcpProxy } from "../history/tcp-proxy";
import { mysqlCredentials, mysqlNode } from "./flow";

// The figures.
const RATE = 5000; // rows per second
const RUN_MS = 60_000;
const CUT_AT_MS = 20_000;
const CUT_MS = 20_000;
// The restart, 2 s into the cut (the backlog holds rows by then), leaving time for a slow start.
const RESTART_AT_MS = 22_000;
const TOTAL = (RATE * RUN_MS) / 1000;
const POINTS = 500;
const SAMPLE_MS = 100;
const T0 = Date.UTC(2026, 0, 1);
/** Most rows in one request (~1.3 MB of JSON): a catch-up, or a slow machine, goes in larger requests. */
const MAX_PER_REQUEST = 10_000;
/** How long a graceful stop may take before the helper kills the process. */
const STOP_GRACE_MS = 15_000;

const pointOf = (i: number): number => i % POINTS;
const sampleOf = (i: number): number => Math.floor(i / POINTS);
const keyOf = (p: number): string => `plant:t${p % 10}:i${p}`;

/** Row i of the stream: point i % POINTS, its n-th sample. */
function row(i: number): DataPoint {
  const p = pointOf(i);
  const n = sampleOf(i);
  return {
    key: keyOf(p),
    deviceId: "plant",
    termId: `t${p % 10}`,
    itemId: `i${p}`,
    value: n,
    ts: T0 + n * SAMPLE_MS,
    quality: {},
    cause: "poll",
  };
}

// Its id names the saver's Redis connection (`datacoll-save:<id>`), which the test counts in the shared
// Redis's CLIENT LIST: an id of this run's own, so no save node of a test file running beside it counts.
const SAVE = uniqueNamespace("save").slice(0, -1);

function flow(mysqlPort: number, namespace: string, database: string): object[] {
  const z = "tab";
  const onTab: Record<string, unknown>[] = [
    { id: "feed", type: "http in", z, url: "/feed", method: "post", upload: false, wires: [[SAVE]] },
    {
      id: SAVE,
      type: "datacoll-save",
      z,
      mysql: "db",
      manager: "m",
      historyTable: "h",
      batchSize: "1000",
      maxDelay: "200",
      // 20 s at 5,000 rows/s is 100,000 rows, the default size: room for the catch-up after the restart.
      backlogSize: "1000000",
      wires: [["ok"], []],
    },
    {
      id: "ok",
      type: "change",
      z,
      rules: [{ t: "set", p: "payload", pt: "msg", to: "ok", tot: "str" }],
      wires: [["res"]],
    },
    { id: "catch", type: "catch", z, scope: [SAVE], uncaught: false, wires: [["failed"]] },
    {
      id: "failed",
      type: "change",
      z,
      rules: [
        { t: "set", p: "statusCode", pt: "msg", to: "500", tot: "num" },
        { t: "set", p: "payload", pt: "msg", to: "error.message", tot: "msg" },
      ],
      wires: [["res"]],
    },
    { id: "res", type: "http response", z, statusCode: "", headers: {} },
    { id: "alive", type: "http in", z, url: "/alive", method: "get", upload: false, wires: [["res"]] },
  ];
  return [
    { id: z, type: "tab", label: "outage" },
    { id: "m", type: "datacoll-manager", store: "redis", redisUrl: REDIS_URL, namespace, runDevices: false },
    mysqlNode("db", database, { port: String(mysqlPort), poolSize: "4", connectTimeout: "1000" }),
    // A node without a position is taken for a config node (it would not, for one, catch errors).
    ...onTab.map((n, i) => ({ ...n, x: 150, y: 40 + 40 * i })),
  ];
}

function request(
  agent: http.Agent,
  port: number,
  method: string,
  urlPath: string,
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: "127.0.0.1",
        port,
        method,
        path: urlPath,
        headers: body === undefined ? {} : { "content-type": "application/json" },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * Per point, the values in arrival order against the accepted samples in order: the first few
 * differences, described (empty when they match).
 */
function compare(arrived: ReadonlyMap<number, number[]>, accepted: ReadonlyMap<number, number[]>): string[] {
  const problems: string[] = [];
  for (let p = 0; p < POINTS; p++) {
    const got = arrived.get(p) ?? [];
    const want = accepted.get(p) ?? [];
    const wanted = new Set(want);
    const seen = new Set<number>();
    const twice = got.filter((v) => seen.has(v) || !seen.add(v));
    const missing = want.filter((v) => !seen.has(v));
    const extra = got.filter((v) => !wanted.has(v));
    const disorder = got.findIndex((v, i) => i > 0 && v <= got[i - 1]);
    if (twice.length + missing.length + extra.length > 0 || disorder >= 0)
      problems.push(
        `${keyOf(p)}: ${got.length} rows for ${want.length} accepted; missing ${missing.length} ` +
          `[${missing.slice(0, 5).join()}], twice ${twice.length} [${twice.slice(0, 5).join()}], ` +
          `never sent ${extra.length} [${extra.slice(0, 5).join()}]` +
          (disorder >= 0 ? `, ${got[disorder]} arrived after ${got[disorder - 1]}` : ""),
      );
    if (problems.length >= 10) break;
  }
  return problems;
}

describe("datacoll-save in a real Node-RED: 60 s at 5,000 rows/s, MySQL cut 20 s, a restart in the cut", function () {
  // About 80 s on a quiet machine; a loaded one slows the restart, the feed and the drain, never the checks.
  this.timeout(300_000);
  let db: TestDatabase;
  let namespace: string;
  let proxy: TcpProxy;
  let proc: NodeRedProcess | undefined;
  let redis: Redis;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const timers: NodeJS.Timeout[] = [];

  before(async function () {
    db = await createTestDatabase("dc_save_proc");
    namespace = uniqueNamespace("saveproc");
    redis = new Redis(REDIS_URL);
  });
  after(async function () {
    for (const t of timers) clearTimeout(t);
    proc?.killNow();
    agent.destroy();
    await proxy?.stop();
    proc?.dispose();
    await redis?.quit();
    await db?.drop();
    if (namespace) await deleteNamespace(namespace);
  });

  it("every accepted row arrives in MySQL exactly once, in order per point", async function () {
    // The history table as the node makes it, plus an arrival number to check the order per point.
    await db.admin.query(historyTableDdl("h"));
    await db.admin.query("ALTER TABLE h ADD COLUMN seq BIGINT NOT NULL AUTO_INCREMENT UNIQUE");
    proxy = new TcpProxy(serverPort());
    const mysqlPort = await proxy.start();
    const p = new NodeRedProcess("save-outage", flow(mysqlPort, namespace, db.name));
    proc = p;
    // Plain credentials: Node-RED reads them and encrypts them with a key of its own.
    fs.writeFileSync(path.join(p.userDir, "flows_cred.json"), JSON.stringify(mysqlCredentials("db")));
    const backlogKey = saverKeys(namespace, SAVE).backlog;
    const logs = (): string => p.output.slice(-4000);

    const startAndWait = async (): Promise<void> => {
      await p.start();
      await until(
        async () => {
          if (!p.running) throw new Error(`Node-RED exited:\n${logs()}`);
          return request(agent, p.port, "GET", "/alive").then(
            (r) => r.status === 200,
            () => false,
          );
        },
        60_000,
        "Node-RED serving the flow",
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${logs()}`);
      });
    };
    const stops: { ms: number; ended: "exited" | "killed"; proxyOpen: number; redisClients: number }[] = [];
    const stopAndCheck = async (): Promise<void> => {
      const t = Date.now();
      const ended = await p.stop("SIGINT", STOP_GRACE_MS);
      const ms = Date.now() - t;
      agent.destroy();
      // The process has exited, so the kernel has closed its sockets; Redis and the proxy see each close
      // when their event loops get to it, which a loaded machine delays. Wait for that, then count.
      const ours = async (): Promise<number> => {
        const clients = (await redis.client("LIST")) as string;
        return clients.split("\n").filter((l) => l.includes(`name=datacoll-save:${SAVE} `)).length;
      };
      await until(
        async () => proxy.open === 0 && (await ours()) === 0,
        10_000,
        "every MySQL and Redis connection of the stopped process closed",
      );
      stops.push({ ms, ended, proxyOpen: proxy.open, redisClients: await ours() });
    };

    const firstStart = Date.now();
    await startAndWait();
    const firstStartMs = Date.now() - firstStart;

    // Accepted rows by point, in the order sent (the test sends each point's samples in order).
    const accepted = new Map<number, number[]>();
    let acceptedCount = 0;
    const failures: string[] = [];
    let sent = 0;
    let requests = 0;
    let backlogAtStop = 0;
    let acceptedAtStop = 0;
    let inMysqlAtStop = 0;
    let backlogAfterStop = 0;
    // The restart's moments, in ms from the start of feeding.
    const restart = { stop: 0, spawn: 0, serving: 0 };
    const start = Date.now();
    const since = (): number => Date.now() - start;
    // The cut and the restore on the clock, whatever the feeder or the restart is doing then.
    let restoredAt = 0;
    // These two timers are the outage's schedule (the simulated network fails at set moments of the run),
    // not waits: nothing waits on them.
    const cutTimer = setTimeout(() => proxy.cut(), CUT_AT_MS);
    const restoreTimer = setTimeout(() => {
      proxy.restore();
      restoredAt = since();
    }, CUT_AT_MS + CUT_MS);
    timers.push(cutTimer, restoreTimer);
    // The backlog's length twice a second, to see it grow through the cut and shrink after it.
    const lengths: { at: number; n: number }[] = [];
    timers.push(
      setInterval(() => {
        const at = since();
        redis.xlen(backlogKey).then(
          (n) => lengths.push({ at, n }),
          () => undefined,
        );
      }, 500),
    );
    while (sent < TOTAL) {
      const elapsed = since();
      if (restart.stop === 0 && elapsed >= RESTART_AT_MS) {
        // Feeding is paused: the last request was answered. Stop, look at what waits, start again.
        restart.stop = elapsed;
        backlogAtStop = await redis.xlen(backlogKey);
        acceptedAtStop = acceptedCount;
        await stopAndCheck();
        backlogAfterStop = await redis.xlen(backlogKey);
        const [c] = await db.admin.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM h");
        inMysqlAtStop = Number(c[0].n);
        restart.spawn = since();
        await startAndWait();
        restart.serving = since();
        continue;
      }
      const due = Math.min(TOTAL, Math.floor((elapsed * RATE) / 1000));
      if (due > sent) {
        const n = Math.min(MAX_PER_REQUEST, due - sent);
        const rows = Array.from({ length: n }, (_, k) => row(sent + k));
        const from = sent;
        sent += n;
        requests++;
        const r = await request(agent, p.port, "POST", "/feed", JSON.stringify(rows)).catch(
          (err: unknown) => ({ status: 0, text: String(err) }),
        );
        if (r.status === 200) {
          for (let i = from; i < from + n; i++) {
            const list = accepted.get(pointOf(i)) ?? [];
            if (list.length === 0) accepted.set(pointOf(i), list);
            list.push(sampleOf(i));
          }
          acceptedCount += n;
        } else {
          failures.push(`rows ${from}..${from + n - 1}: ${r.status} ${r.text}`);
        }
      } else {
        // The feeder's pacing (RATE rows a second, on the clock): a sending clock, not a wait for a result.
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    const feedMs = since();
    for (const t of timers) clearTimeout(t);

    const count = async (): Promise<number> => {
      const [r] = await db.admin.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM h");
      return Number(r[0].n);
    };
    // Wait while the rows keep moving: a loaded machine drains slowly, a stuck writer not at all.
    let progress = "";
    let movedAt = Date.now();
    for (;;) {
      const [inMysql, waiting] = [await count(), await redis.xlen(backlogKey)];
      if (inMysql >= acceptedCount && waiting === 0) break;
      const now = `${inMysql}/${waiting}`;
      if (now !== progress) [progress, movedAt] = [now, Date.now()];
      if (Date.now() - movedAt > 30_000)
        throw new Error(
          `the drain stopped at ${inMysql} rows in MySQL, ${waiting} in the backlog\n${logs()}`,
        );
      // A condition wait (the loop's test above) polled every 200 ms, with the no-progress watchdog.
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.ok(restoredAt > 0, "MySQL was restored");
    const drainedMs = since() - restoredAt;
    await stopAndCheck();
    assert.deepEqual(failures, [], "every request was accepted");

    // Per point, the values in arrival order, against what was accepted.
    const [all] = await db.admin.query<RowDataPacket[]>(
      "SELECT point_key, value, UNIX_TIMESTAMP(ts) * 1000 AS ms FROM h ORDER BY seq",
    );
    const pointIndex = new Map(Array.from({ length: POINTS }, (_, q) => [keyOf(q), q]));
    const arrived = new Map<number, number[]>();
    let badTs = 0;
    for (const r of all) {
      const q = pointIndex.get(String(r.point_key)) ?? -1;
      const v = Number(r.value);
      if (Math.round(Number(r.ms)) !== T0 + v * SAMPLE_MS) badTs++;
      const list = arrived.get(q) ?? [];
      if (list.length === 0) arrived.set(q, list);
      list.push(v);
    }
    assert.equal(arrived.get(-1), undefined, "rows of points never sent");
    assert.deepEqual(compare(arrived, accepted), [], "per point: every accepted sample once, in order");
    assert.equal(all.length, acceptedCount);
    assert.equal(acceptedCount, TOTAL, "the whole workload went in");
    assert.equal(badTs, 0, "time stamps as sent");

    // The restart, inside the cut: nothing accepted was only in the stopped process; the backlog carried
    // the rows over it, and the new process added to it.
    assert.ok(restart.stop >= CUT_AT_MS && restart.spawn > 0, "Node-RED was restarted after the cut began");
    assert.ok(restart.spawn < CUT_AT_MS + CUT_MS, "Node-RED was started again before the restore");
    assert.ok(backlogAtStop > 0, "rows waited in the Redis backlog when Node-RED stopped");
    assert.ok(
      inMysqlAtStop + backlogAfterStop >= acceptedAtStop,
      "at the stop, every accepted row was in MySQL or in the backlog",
    );
    const peak = lengths.reduce((m, l) => Math.max(m, l.n), 0);
    assert.ok(peak > backlogAfterStop, "the restarted flow appended to the backlog it found");
    assert.equal(await redis.xlen(backlogKey), 0, "the backlog drained");
    // Clean stops: flows stopped, inside the grace time, nothing of ours left connected.
    const stopped = p.output.match(/Stopped flows/g)?.length ?? 0;
    assert.equal(stopped, 2, `both stops closed the flows:\n${logs()}`);
    for (const s of stops) {
      // Inside the grace time: the process exited by itself, not killed when the grace ran out.
      assert.equal(s.ended, "exited", `a stop took ${s.ms} ms`);
      assert.deepEqual([s.proxyOpen, s.redisClients], [0, 0], "no MySQL or Redis connection left");
    }
    assert.doesNotMatch(p.output, /\[error\]/, "no error logged");

    const downMs = restart.serving - restart.stop;
    const upMs = feedMs - downMs;
    const restoreAt = CUT_AT_MS + CUT_MS;
    // Caught up: less than a second of input waiting, for the first time after the restore; the drain
    // rate counts the rows that came in meanwhile.
    const top = lengths.find((l) => l.n === peak);
    const caughtUp = lengths.find((l) => l.at > restoreAt && l.n < RATE);
    const drain =
      top && caughtUp && caughtUp.at > top.at
        ? `${Math.round(((top.n - caughtUp.n) * 1000) / (caughtUp.at - top.at) + RATE)} rows/s`
        : "not seen";
    const rel = (t: number): string => `${((t - restoreAt) / 1000).toFixed(1)} s`;
    console.log(
      `      ${acceptedCount} rows in ${requests} requests over ${(feedMs / 1000).toFixed(1)} s: ` +
        `${Math.round((acceptedCount * 1000) / feedMs)} rows/s overall, ` +
        `${Math.round((acceptedCount * 1000) / upMs)} rows/s while Node-RED was up\n` +
        `      first start ${firstStartMs} ms; restart (relative to the restore): stop ${rel(restart.stop)}, ` +
        `spawn ${rel(restart.spawn)}, serving ${rel(restart.serving)}; stops took ${stops.map((x) => x.ms).join(" / ")} ms\n` +
        `      Redis backlog: ${backlogAtStop} rows at the stop, ${peak} at most; ` +
        `${proxy.refused} connections refused during the cut; under 1 s of input ` +
        `${caughtUp ? rel(caughtUp.at) : "never"} (drained from its peak at ${drain}); ` +
        `all rows in MySQL and the backlog empty ${(drainedMs / 1000).toFixed(1)} s after the restore`,
    );
  });
});
