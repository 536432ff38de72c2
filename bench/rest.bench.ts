/**
 * get_latest_vs_echo: requests per second of `GET /api/v1/latest` (every point's latest value) on a
 * 1,000-point registry, served by http in → datacoll-api → http response. Baseline: a bare
 * http in → http response echo flow in the same Node-RED, in the same run, driven by the same load
 * generator — so the ratio is what the API costs on top of Node-RED's own HTTP path.
 *
 * The load generator is here: N keep-alive connections on loopback, each sending its next request as
 * soon as the previous answer is read, until a request count or a time limit is reached.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import helper from "node-red-node-test-helper";
import path from "node:path";
import type { NodeAPI } from "node-red";
import { changeNode, httpNodes, requestHandler } from "../test/integration/rest/http-flow";
import { linkManager, type ManagerNodeLike } from "../nodes/datacoll-api/manager-link";
import { GOOD, type DataPoint } from "../src/core/model/datapoint";
import { ENVELOPE_VERSION } from "../src/core/bus/envelope";
import { median } from "./lib/measure";
import type { Benchmark } from "./lib/types";

/**
 * A node's runtime from its TypeScript source. Not test/support's loader: that one turns on the leak
 * check's async hook, which would tax every socket and timer of both flows measured here.
 */
function nodeModule(type: string): (RED: NodeAPI) => void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- nodes are CommonJS modules loaded by path
  return require(path.resolve(__dirname, "../nodes", type, `${type}.ts`));
}

const POINTS = 1000;
const CONNECTIONS = 8;
const REQUESTS = 2000;
const MAX_SECONDS = 10;
const REPEATS = 5;

interface Load {
  readonly requests: number;
  readonly seconds: number;
  readonly bytes: number;
}

/** Send `total` GETs of `path` over `connections` keep-alive connections; stop early at `maxSeconds`. */
async function load(
  port: number,
  path: string,
  total: number,
  connections: number,
  maxSeconds: number,
): Promise<Load> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  let sent = 0;
  let done = 0;
  let bytes = 0;
  const t0 = process.hrtime.bigint();
  const deadline = Date.now() + maxSeconds * 1000;
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = http.get({ host: "127.0.0.1", port, path, agent }, (res) => {
        res.on("data", (c: Buffer) => (bytes += c.length));
        res.on("end", () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`${path}: ${res.statusCode}`)),
        );
      });
      req.on("error", reject);
    });
  const worker = async (): Promise<void> => {
    while (sent < total && Date.now() < deadline) {
      sent++;
      await one();
      done++;
    }
  };
  try {
    await Promise.all(Array.from({ length: connections }, worker));
  } finally {
    agent.destroy();
  }
  return { requests: done, seconds: Number(process.hrtime.bigint() - t0) / 1e9, bytes };
}

/**
 * The API flow and two echo flows: the bare one (the baseline the goal is set against) and one whose
 * answer is a fixed text as long as the API's answer, which shows what Node-RED's HTTP path costs for
 * an answer that size before any of the API's work.
 */
function flow(sizedAnswer: string): object[] {
  return [
    // No device runtime: the registry's device is not there, and its failing polls would be noise.
    { id: "m1", type: "datacoll-manager", store: "embedded", namespace: "bench:", runDevices: false },
    { id: "api-in", type: "http in", url: "/api/*", method: "get", wires: [["api"]] },
    {
      id: "api",
      type: "datacoll-api",
      manager: "m1",
      basePath: "/api",
      maxBody: 1_000_000,
      wires: [["api-out"]],
    },
    { id: "api-out", type: "http response", wires: [] },
    { id: "echo-in", type: "http in", url: "/echo", method: "get", wires: [["echo-out"]] },
    { id: "echo-out", type: "http response", wires: [] },
    { id: "big-in", type: "http in", url: "/big", method: "get", wires: [["big-set"]] },
    {
      id: "big-set",
      type: "change",
      rules: [{ t: "set", p: "payload", pt: "msg", to: sizedAnswer, tot: "str" }],
      wires: [["big-out"]],
    },
    { id: "big-out", type: "http response", wires: [] },
  ];
}

function makePoints(): DataPoint[] {
  const points: DataPoint[] = [];
  for (let t = 0; t < POINTS / 100; t++) {
    for (let i = 0; i < 100; i++) {
      points.push({
        key: `plc1:t${t}:i${i}`,
        deviceId: "plc1",
        termId: `t${t}`,
        itemId: `i${i}`,
        value: i * 1.5,
        ts: 1_700_000_000_000,
        quality: GOOD,
        cause: "poll",
      });
    }
  }
  return points;
}

async function seed(node: ManagerNodeLike, points: readonly DataPoint[]): Promise<() => Promise<void>> {
  const link = linkManager(node);
  const reg = link.store.registry;
  await reg.putDevice({ id: "plc1", protocol: "modbus-tcp", host: "127.0.0.1" });
  for (let i = 0; i < 100; i++) await reg.putItem({ id: `i${i}`, unit: "kW" });
  for (let t = 0; t < POINTS / 100; t++) await reg.putTerm({ id: `t${t}`, deviceId: "plc1", address: t + 1 });
  for (const p of points) {
    const i = Number(p.itemId.slice(1));
    await reg.putPoint({
      deviceId: p.deviceId,
      termId: p.termId,
      itemId: p.itemId,
      address: `HR${40001 + i * 2}`,
    });
  }
  await link.store.ingest({
    v: ENVELOPE_VERSION,
    instance: "bench",
    id: "bench-0",
    ts: 1_700_000_000_000,
    points,
  });
  return link.release;
}

const bench: Benchmark = {
  name: "rest",
  async run() {
    helper.init(require.resolve("node-red"));
    await new Promise<void>((resolve, reject) =>
      helper.startServer((err?: unknown) => (err ? reject(err) : resolve())),
    );
    const server = http.createServer(requestHandler());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const points = makePoints();
      await helper.load(
        [nodeModule("datacoll-manager"), nodeModule("datacoll-api"), httpNodes, changeNode],
        flow(JSON.stringify(points)),
      );
      const release = await seed(helper.getNode("m1") as unknown as ManagerNodeLike, points);
      try {
        const check = await load(port, "/api/v1/latest", 1, 1, MAX_SECONDS);
        const perAnswer = check.bytes;
        if (perAnswer < POINTS * 50) throw new Error(`GET /api/v1/latest answered only ${perAnswer} bytes`);
        // Warm both paths before measuring so neither pays the JIT inside the timed runs.
        await load(port, "/api/v1/latest", REQUESTS / 4, CONNECTIONS, MAX_SECONDS);
        await load(port, "/echo", REQUESTS / 4, CONNECTIONS, MAX_SECONDS);
        await load(port, "/big", REQUESTS / 4, CONNECTIONS, MAX_SECONDS);
        const ours: number[] = [];
        const echo: number[] = [];
        const big: number[] = [];
        for (let r = 0; r < REPEATS; r++) {
          const a = await load(port, "/api/v1/latest", REQUESTS, CONNECTIONS, MAX_SECONDS);
          ours.push(a.requests / a.seconds);
          const b = await load(port, "/echo", REQUESTS, CONNECTIONS, MAX_SECONDS);
          echo.push(b.requests / b.seconds);
          const c = await load(port, "/big", REQUESTS, CONNECTIONS, MAX_SECONDS);
          big.push(c.requests / c.seconds);
        }
        // The same with the plant moving: every point gets a new sample every 100 ms through the manager,
        // as pollers publish them, so answers cannot be reused for long.
        const m1 = helper.getNode("m1") as unknown as ManagerNodeLike;
        const live: number[] = [];
        let tick = 0;
        const timer = setInterval(() => {
          tick++;
          m1.manager
            ?.publish(points.map((p) => ({ ...p, value: tick, ts: p.ts + tick * 100 })))
            .catch((err: unknown) => console.error(`rest bench: publish failed: ${String(err)}`));
        }, 100);
        try {
          for (let r = 0; r < REPEATS; r++) {
            const a = await load(port, "/api/v1/latest", REQUESTS, CONNECTIONS, MAX_SECONDS);
            live.push(a.requests / a.seconds);
          }
        } finally {
          clearInterval(timer);
        }
        if (tick === 0) throw new Error("no update was published while measuring");
        const o = median(ours);
        const l = median(live);
        const e = median(echo);
        const g = median(big);
        return {
          get_latest_vs_echo: {
            value: o,
            unit: "requests/s",
            baseline: `http in → http response echo ${Math.round(e).toLocaleString("en-US")} requests/s (${CONNECTIONS} connections, ${POINTS} points, ${Math.round(perAnswer / 1024)} KiB per answer)`,
            ratio: o / e,
            goal: "ratio >= 0.5",
          },
          get_latest_live_vs_echo: {
            value: l,
            unit: "requests/s",
            baseline: `the same echo, ${POINTS} new samples every 100 ms meanwhile`,
            ratio: l / e,
          },
          get_latest_vs_sized_echo: {
            value: o,
            unit: "requests/s",
            baseline: `echo of a fixed ${Math.round(perAnswer / 1024)} KiB text ${Math.round(g).toLocaleString("en-US")} requests/s`,
            ratio: o / g,
          },
        };
      } finally {
        await release();
      }
    } finally {
      await helper.unload();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve, reject) =>
        helper.stopServer((err?: unknown) => (err ? reject(err) : resolve())),
      );
    }
  },
};

export default bench;
