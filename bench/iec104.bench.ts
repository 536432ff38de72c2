/**
 * iec104: the figures of issue 5.
 *
 * codec_decode — information objects per second decoded by the codec (decodeApdu + decodeAsdu) from one
 *   buffer of I-frames carrying float ASDUs, alternately SQ=1 × 40 objects and SQ=0 × 30 objects; no
 *   socket. Baseline: a minimal hand-written loop over the same buffer that walks the frames by their
 *   length octet and reads each object's IOA, float and QDS into locals (no objects made) — the floor any
 *   decoder pays for touching the same octets. Both are timed in CPU time of this process
 *   (process.cpuUsage), not wall time: on a shared machine a wall-clock rate measures the other
 *   processes' load as much as the decoder, and the short baseline runs dodge preemption that the
 *   longer decoder runs do not. On an idle machine the two agree for this single-threaded loop.
 * ingest_e2e — objects per second delivered as DataPoints through the path the poll node uses (the shared
 *   master, Iec104Master: transport Connection + MasterDriver, then Iec104Term.accept) while our outstation
 *   in a worker thread floods the same float ASDUs as fast as k=12, w=8 allow over loopback TCP. Baseline:
 *   a minimal hand-written client on the same flood from the same worker: STARTDT, an S-frame after every
 *   8 I-frames, floats read by hand.
 * ingest_flow — objects per second delivered to the next node of a plain Node-RED flow, the path a user
 *   deploys (issue 23): a Node-RED process (our devDependency, test/support/node-red-process.ts) with a
 *   datacoll-iec104 device (no interrogation), a datacoll-poll of the 40 items with batch output, and a
 *   function node adding each batch's length to a global counter, read through the admin API. The
 *   outstation floods spontaneous SQ=1 × 40 float ASDUs as fast as k=12, w=8 allow from a child process
 *   of its own (not a worker: its event loop and heap share nothing with Node-RED or the client). Each
 *   run starts a fresh Node-RED, waits for the first values, warms up FLOW_WARMUP_MS and counts the
 *   objects delivered over FLOW_WINDOW_MS. Baseline: the hand-written client of ingest_e2e, in this
 *   process, reading the same outstation process for FLOW_CLIENT_OBJECTS objects after each pair of
 *   Node-RED runs (A/A'/B, FLOW_RUNS times); figure and baseline are medians.
 * ingest_flow_manager — the same flow with the poll also feeding a datacoll-manager with the embedded
 *   store (as the demo of `npm start`): what keeping latest values, history and the events stream for
 *   every sample costs on top.
 * ingest_flow_cpu, ingest_flow_manager_cpu — CPU of the Node-RED process (utime + stime from /proc) per
 *   delivered object over all runs: on a loaded machine Node-RED may not get a whole core, and then
 *   objects/s measure the machine as much as the code, while CPU per object does not.
 *
 * IEC104_FIGURES=ingest_flow (comma-separated) runs only those figures; IEC104_CPU_PROF=DIR starts each
 * Node-RED of ingest_flow under `node --cpu-prof --cpu-prof-dir=DIR`, which leaves a .cpuprofile in DIR
 * when the run stops it. ingest_flow needs `npm run build` first: Node-RED loads the built package.
 */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { spawn } from "node:child_process";
import { setTimeout as pause } from "node:timers/promises";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { DEFAULT_LINK_PARAMETERS } from "../src/protocols/iec104/session/params";
import {
  decodeApdu,
  decodeAsdu,
  encodeAsdu,
  encodeIFrame,
  encodeSFrame,
  encodeUFrame,
  GOOD,
  TypeId,
  type MonitorObject,
} from "../src/protocols/iec104/codec";
import { OutstationSession, type LinkEvent, type OutstationEvent } from "../src/protocols/iec104/session";
import { Iec104Master } from "../src/core/iec104/master";
import { Iec104Term, type Iec104TermPoint } from "../src/core/iec104/term";
import { tcpSocketFactory } from "../src/transport/socket";
import { listenTcp } from "../src/transport/tcp-server";
import { NodeRedProcess } from "../test/support/node-red-process";
import { median } from "./lib/measure";
import { firstLine, stopper } from "./lib/modbus-sim-process";
import { BENCH_SETTINGS, countingFunction, delivered, measureCounting } from "./lib/node-red-flow";
import { cpuMicros, rssMb } from "./lib/proc-stats";
import type { Benchmark, Figures } from "./lib/types";

const SQ_COUNT = 40;
const LIST_COUNT = 30;
const FRAMES = 2000;
const E2E_OBJECTS = 1_000_000;
const REPEATS = 7;
const E2E_REPEATS = 3;

/** The two float ASDUs: SQ=1 × 40 from IOA 1000, SQ=0 × 30 from IOA 2000 (cause spontaneous). */
function floodAsdus(): Buffer[] {
  const asdu = (sequence: boolean, n: number, base: number): Buffer =>
    encodeAsdu({
      typeId: TypeId.M_ME_NC_1,
      sequence,
      cot: 3,
      negative: false,
      test: false,
      originator: 0,
      commonAddress: 1,
      objects: Array.from({ length: n }, (_, i): MonitorObject => ({
        kind: "float",
        ioa: base + i,
        value: i * 0.25 - 3,
        quality: GOOD,
      })),
    });
  return [asdu(true, SQ_COUNT, 1000), asdu(false, LIST_COUNT, 2000)];
}

const PER_PAIR = SQ_COUNT + LIST_COUNT;

// ---- the flood outstation, run in a worker thread (ingest_e2e) or a child process (ingest_flow) ----

/**
 * One OutstationSession per connection, its send queue kept topped up with `asdus` in turn so only k and
 * w limit it. Resolves with the port it listens on.
 */
async function serveFlood(asdus: readonly Buffer[]): Promise<number> {
  const station = await listenTcp({
    port: 0,
    onConnection: (peer) => {
      const session = new OutstationSession({ commonAddress: 1 }, { now: () => Date.now() });
      let next = 0;
      const carry = (events: readonly (OutstationEvent | LinkEvent)[]): void => {
        for (const e of events) {
          if (e.type === "send") peer.write(e.bytes);
          else if (e.type === "close") peer.close();
        }
      };
      const topUp = (): void => {
        if (session.state !== "started") return;
        const out: LinkEvent[] = [];
        while (session.link.queued < DEFAULT_LINK_PARAMETERS.k)
          out.push(...session.link.send(asdus[next++ % asdus.length]));
        carry(out);
      };
      return {
        data: (bytes) => {
          carry(session.receive(bytes));
          topUp();
        },
        closed: () => void session.close("gone"),
      };
    },
  });
  return station.port;
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === "iec104-flood")
  void serveFlood(floodAsdus()).then((port) => parentPort?.postMessage(port));

// `node --import tsx bench/iec104.bench.ts flood`: the SQ=1 × 40 flood as a process of its own, which
// prints its port on a line and exits when its stdin closes (the bench went away) or on SIGTERM.
if (require.main === module && process.argv[2] === "flood") {
  void serveFlood([floodAsdus()[0]]).then((port) => {
    process.stdout.write(`${port}\n`);
    process.once("SIGTERM", () => process.exit(0));
    process.stdin.on("end", () => process.exit(0));
    process.stdin.resume();
  });
}

// ---- the hand-written baseline decoder ----

/**
 * Walk a buffer of APDUs by length octet; for float ASDUs read every IOA, value and QDS. Returns the
 * objects read; `sink` keeps the reads from being optimised away; `lastConsumed` says where it stopped.
 */
function handDecode(buf: Buffer, start: number, end: number, sink: { v: number }): number {
  let off = start;
  let n = 0;
  while (off + 2 <= end) {
    const size = buf[off + 1] + 2;
    if (off + size > end) break;
    if ((buf[off + 2] & 1) === 0 && buf[off + 6] === TypeId.M_ME_NC_1) {
      const vsq = buf[off + 7];
      const count = vsq & 0x7f;
      let p = off + 12;
      if (vsq & 0x80) {
        const first = buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16);
        p += 3;
        for (let i = 0; i < count; i++, p += 5) sink.v += first + i + buf.readFloatLE(p) + buf[p + 4];
      } else {
        for (let i = 0; i < count; i++, p += 8) {
          sink.v += (buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16)) + buf.readFloatLE(p + 3) + buf[p + 7];
        }
      }
      n += count;
    }
    off += size;
  }
  lastConsumed = off;
  return n;
}

/** Where the last handDecode stopped: the end of the last whole frame. */
let lastConsumed = 0;

// ---- measurements ----

/** `once` run `k` times in a row, as one call. */
function times(k: number, once: () => number): () => number {
  return () => {
    let units = 0;
    for (let i = 0; i < k; i++) units += once();
    return units;
  };
}

/** Units per CPU-second of `once` (user + system time of this process), median of `repeats`. */
function cpuRate(repeats: number, once: () => number): number {
  const rates: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = process.cpuUsage();
    const units = once();
    const used = process.cpuUsage(t0);
    rates.push(units / ((used.user + used.system) / 1e6));
  }
  return median(rates);
}

function termFor(): Iec104Term {
  const points: Iec104TermPoint[] = [];
  const add = (ioa: number): void => {
    points.push({ itemId: `p${ioa}`, ioa, scaling: { coefficient: 1, base: 0 }, deadband: 0 });
  };
  for (let i = 0; i < SQ_COUNT; i++) add(1000 + i);
  for (let i = 0; i < LIST_COUNT; i++) add(2000 + i);
  return new Iec104Term("bench", "t", 1, points);
}

/** Ours: the shared master and the term, as the poll node runs them; objects/s of DataPoints. */
function oursE2e(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const term = termFor();
    const master = new Iec104Master({
      master: { commonAddress: 1, interrogateOnStart: false },
      socketFactory: tcpSocketFactory({ host: "127.0.0.1", port }),
    });
    let n = 0;
    let t0 = 0n;
    master.onData((asdu, at) => {
      if (t0 === 0n) t0 = process.hrtime.bigint();
      n += term.accept(asdu, at).length;
      if (n < E2E_OBJECTS) return;
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      master.close();
      resolve(n / seconds);
    });
    master.onStateChange((c) => {
      if (c.state === "backoff") reject(new Error(`bench master lost the link: ${c.reason}`));
    });
    master.start();
  });
}

/** Baseline: a raw socket, STARTDT, an S-frame every w=8 I-frames, floats read by hand, `objects` of them. */
function baselineE2e(port: number, objects = E2E_OBJECTS): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.setNoDelay(true);
    const sink = { v: 0 };
    let pending: Buffer = Buffer.alloc(0);
    let recv = 0;
    let unacked = 0;
    let n = 0;
    let t0 = 0n;
    socket.on("connect", () => socket.write(encodeUFrame("startdt-act")));
    socket.on("error", reject);
    socket.on("data", (chunk: Buffer) => {
      if (t0 === 0n) t0 = process.hrtime.bigint();
      const buf = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      // Count I-frames for the acknowledgement, then decode them.
      let off = 0;
      while (off + 2 <= buf.length && off + buf[off + 1] + 2 <= buf.length) {
        if ((buf[off + 2] & 1) === 0) {
          recv = (recv + 1) % 32768;
          unacked++;
        }
        off += buf[off + 1] + 2;
      }
      n += handDecode(buf, 0, off, sink);
      pending = off === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(off));
      if (unacked >= 8) {
        unacked = 0;
        socket.write(encodeSFrame(recv));
      }
      if (n >= objects) {
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        socket.destroy();
        if (sink.v === Number.NEGATIVE_INFINITY) console.log(sink.v);
        resolve(n / seconds);
      }
    });
  });
}

// ---- ingest_flow: a plain Node-RED process ----

const FLOW_RUNS = 3;
const FLOW_WARMUP_MS = 3000;
const FLOW_WINDOW_MS = 5000;
const FLOW_CLIENT_OBJECTS = 5_000_000;
const FLOW_TAB = "bench-tab";
const CPU_PROF_DIR = process.env.IEC104_CPU_PROF;
const FIGURES = process.env.IEC104_FIGURES?.split(",").map((f) => f.trim());
const wanted = (figure: string): boolean => FIGURES === undefined || FIGURES.includes(figure);
const root = path.resolve(__dirname, "..");

/**
 * The flow a user draws: device, poll of the 40 flooded IOAs (batch output), a counter; with
 * `manager`, the poll also feeds a manager with the embedded store.
 */
function ingestFlow(port: number, manager: boolean): object[] {
  // No node's name is another node's id: Node-RED takes any property holding a node id for a
  // dependency, and a poll named "poll" with the id "poll" would depend on itself and never start.
  return [
    { id: FLOW_TAB, type: "tab", label: "ingest" },
    ...(manager
      ? [{ id: "mgr", type: "datacoll-manager", name: "bench", store: "embedded", runDevices: false }]
      : []),
    {
      id: "rtu",
      type: "datacoll-iec104",
      name: "flood",
      deviceId: "flood",
      host: "127.0.0.1",
      port: String(port),
      commonAddress: "1",
      giOnStart: false,
      giInterval: "0",
      ciInterval: "0",
      clockSyncOnStart: false,
      clockSyncInterval: "0",
    },
    {
      id: "iec-poll",
      type: "datacoll-poll",
      z: FLOW_TAB,
      name: "poll",
      protocol: "iec104",
      iec104: "rtu",
      manager: manager ? "mgr" : "",
      termId: "t",
      iecItems: Array.from({ length: SQ_COUNT }, (_, i) => ({
        item: `p${1000 + i}`,
        ioa: String(1000 + i),
        type: "M_ME_NC_1",
      })),
      output: "batch",
      wires: [["counter"]],
    },
    countingFunction("counter", FLOW_TAB),
  ];
}

interface FlowRun {
  readonly objects: number;
  readonly seconds: number;
  readonly cpuMicros: number;
  /** Resident memory of the Node-RED process at the end of the window, MB. */
  readonly rssMb: number;
}

/** One fresh Node-RED on the flood at `port`: objects delivered and its CPU over the window. */
async function measureFlow(port: number, manager: boolean): Promise<FlowRun> {
  const red = new NodeRedProcess("bench-iec104", ingestFlow(port, manager), BENCH_SETTINGS);
  return measureCounting(
    red,
    { cpuProfDir: CPU_PROF_DIR, warmupMs: FLOW_WARMUP_MS, what: "ingest_flow" },
    async (pid) => {
      const n0 = await delivered(red);
      const cpu0 = cpuMicros(pid);
      const t0 = process.hrtime.bigint();
      await pause(FLOW_WINDOW_MS);
      const cpu1 = cpuMicros(pid);
      const n1 = await delivered(red);
      const t1 = process.hrtime.bigint();
      return {
        objects: n1 - n0,
        seconds: Number(t1 - t0) / 1e9,
        cpuMicros: cpu1 - cpu0,
        rssMb: rssMb(pid),
      };
    },
  );
}

const cpuPerObject = (runs: readonly FlowRun[]): number => {
  const objects = runs.reduce((n, r) => n + r.objects, 0);
  return objects > 0 ? runs.reduce((n, r) => n + r.cpuMicros, 0) / objects : Infinity;
};
const rate = (r: FlowRun): number => r.objects / r.seconds;
const corePct = (r: FlowRun): number => r.cpuMicros / 1e4 / r.seconds;

/**
 * ingest_flow (the flow, no manager), ingest_flow_manager (the same feeding a manager with the
 * embedded store) and the CPU per object of each, alternating with the hand-written client on one
 * flood process.
 */
async function ingestFlowFigures(): Promise<Figures> {
  if (!fs.existsSync(path.join(root, "dist", "nodes")))
    throw new Error("dist/ is missing: run `npm run build` first (Node-RED loads the built package)");
  const child = spawn(process.execPath, ["--import", "tsx", __filename, "flood"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const stop = stopper(child);
  const plain: FlowRun[] = [];
  const managed: FlowRun[] = [];
  const client: number[] = [];
  try {
    const port = Number((await firstLine(child)).trim());
    for (let i = 0; i < FLOW_RUNS; i++) {
      const a = await measureFlow(port, false);
      const m = await measureFlow(port, true);
      const b = await baselineE2e(port, FLOW_CLIENT_OBJECTS);
      plain.push(a);
      managed.push(m);
      client.push(b);
      console.log(
        `  ingest_flow #${i + 1}: Node-RED ${fmt(rate(a))} objects/s at ${corePct(a).toFixed(0)} % of a ` +
          `core, RSS ${a.rssMb.toFixed(0)} MB; with the manager ${fmt(rate(m))} objects/s at ` +
          `${corePct(m).toFixed(0)} %, RSS ${m.rssMb.toFixed(0)} MB; ` +
          `hand-written client ${fmt(b)} objects/s`,
      );
    }
  } finally {
    await stop();
  }
  const base = median(client);
  const baseline = `hand-written client ${fmt(base)}/s`;
  const ours = median(plain.map(rate));
  const withManager = median(managed.map(rate));
  return {
    ingest_flow: { value: ours, unit: "objects/s", baseline, ratio: ours / base, goal: ">= 0.5x" },
    ingest_flow_cpu: {
      value: cpuPerObject(plain),
      unit: "µs CPU/object",
      baseline: `Node-RED at ${median(plain.map(corePct)).toFixed(0)} % of a core`,
    },
    ingest_flow_manager: { value: withManager, unit: "objects/s", baseline, ratio: withManager / base },
    ingest_flow_manager_cpu: {
      value: cpuPerObject(managed),
      unit: "µs CPU/object",
      baseline: `Node-RED at ${median(managed.map(corePct)).toFixed(0)} % of a core`,
    },
  };
}

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");

/** codec_decode: CPU time of our decoder and of the hand-written loop over one buffer. */
function codecDecodeFigures(): Figures {
  // One buffer of FRAMES I-frames, the two ASDUs alternating.
  const asdus = floodAsdus();
  const stream = Buffer.concat(
    Array.from({ length: FRAMES }, (_, i) => encodeIFrame(i % 32768, 0, asdus[i % 2])),
  );
  const objectsInStream = (FRAMES / 2) * PER_PAIR;
  let sum = 0;
  const oursDecode = (): number => {
    let off = 0;
    let n = 0;
    while (off < stream.length) {
      const r = decodeApdu(stream, off);
      if (r.kind !== "apdu" || r.apdu.format !== "I") throw new Error("the bench stream is broken");
      const d = decodeAsdu(r.apdu.asdu);
      if (d.kind !== "asdu") throw new Error("the bench ASDU is broken");
      for (const o of d.asdu.objects) {
        if (o.kind === "float") sum += o.value + o.ioa;
        n++;
      }
      off += r.size;
    }
    if (n !== objectsInStream) throw new Error(`decoded ${n} of ${objectsInStream}`);
    return n;
  };
  const sink = { v: 0 };
  const baseDecode = (): number => {
    const n = handDecode(stream, 0, stream.length, sink);
    if (n !== objectsInStream || lastConsumed !== stream.length) throw new Error(`hand-decoded ${n}`);
    return n;
  };
  for (let i = 0; i < 20; i++) {
    oursDecode();
    baseDecode();
  }
  const dec: number[] = [];
  const decBase: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    // Each timed call runs long enough (~10 ms) for the CPU clock's resolution.
    dec.push(cpuRate(5, times(4, oursDecode)));
    decBase.push(cpuRate(5, times(20, baseDecode)));
  }
  if (sum + sink.v === Number.NEGATIVE_INFINITY) console.log(sum);
  const decode = median(dec);
  const decodeBase = median(decBase);
  return {
    codec_decode: {
      value: decode,
      unit: "objects/CPU-s",
      baseline: `hand-written loop ${Math.round(decodeBase).toLocaleString("en-US")}/CPU-s`,
      ratio: decode / decodeBase,
      goal: ">= 10,000,000 objects/s",
    },
  };
}

/** ingest_e2e: our master and term, and the hand-written client, alternating on a flood in a worker. */
async function ingestE2eFigures(): Promise<Figures> {
  // ingest_e2e: the outstation floods from a worker; ours and the baseline alternate on it.
  // The worker loads this file through tsx, as the runner does.
  const worker = new Worker(`require("tsx/cjs"); require(${JSON.stringify(__filename)});`, {
    eval: true,
    workerData: { role: "iec104-flood" },
  });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once("message", (p: number) => resolve(p));
    worker.once("error", reject);
  });
  const e2e: number[] = [];
  const e2eBase: number[] = [];
  try {
    await oursE2e(port);
    await baselineE2e(port);
    for (let r = 0; r < E2E_REPEATS; r++) {
      e2e.push(await oursE2e(port));
      e2eBase.push(await baselineE2e(port));
    }
  } finally {
    await worker.terminate();
  }
  const ingest = median(e2e);
  const ingestBase = median(e2eBase);
  return {
    ingest_e2e: {
      value: ingest,
      unit: "objects/s",
      baseline: `hand-written client ${Math.round(ingestBase).toLocaleString("en-US")}/s`,
      ratio: ingest / ingestBase,
      goal: ">= 1,000,000 objects/s",
    },
  };
}

const bench: Benchmark = {
  name: "iec104",
  async run() {
    return {
      ...(wanted("codec_decode") ? codecDecodeFigures() : {}),
      ...(wanted("ingest_e2e") ? await ingestE2eFigures() : {}),
      ...(wanted("ingest_flow") ? await ingestFlowFigures() : {}),
    };
  },
};

export default bench;
