/**
 * modbus: points per second out of our Modbus poll path, against servers in another process on
 * loopback (bench/lib/modbus-sim-process.ts), 100 holding registers per read.
 *
 * What "ours" runs: the exact core path of the `datacoll-poll` node — a `ModbusTerm` (100 uint16 items
 * HR0..HR99, so one read of 100 registers) polled on the shared client from `acquireModbusClient`, with
 * `inFlight: 8` — and counts the good DataPoints it returns. Eight terms per device are polled in
 * loops, each starting its next cycle as soon as the last returns, so eight reads are on the wire per
 * device. Terms are polled with `all` (every point reported, as for an on-demand read), because the
 * simulator's values do not move and a scheduled poll reports only points that moved.
 *
 * poll_1dev_vs_jsmodbus — one device. Baseline: jsmodbus's TCP client (the package the design names)
 *   awaited serially, the registers decoded to numbers (its `values`).
 * poll_20dev_vs_pipelined_limit — twenty devices (twenty simulator ports). Baseline: a minimal
 *   hand-written client, eight requests in flight per connection, registers decoded to numbers — what
 *   the wire and the server process allow.
 * poll_1dev_libmodbus_vs_jsmodbus — one device again, against the libmodbus interop server when gcc and
 *   libmodbus-dev are installed (the figure is left out otherwise).
 * poll_rtu_over_tcp_vs_tcp — one device served as RTU over TCP (a serial gateway's framing, issue #20),
 *   polled by ours with that framing. Baseline: ours polling the same registers over Modbus TCP in the
 *   same run with one request in flight too, since RTU has no transaction id to pipeline with; so the
 *   ratio is the cost of the framing (CRC both ways, sizing by function code, matching by order).
 * cpu_per_10k_points_* — CPU of this process while ours runs, as % of one core per 10,000 points/s.
 * rss_mb — resident memory after our runs.
 *
 * Each figure is the median of REPEATS windows of WINDOW_MS after one warm-up window.
 */
import net from "node:net";
import { client as jsmodbus } from "jsmodbus";
import type { ModbusClient } from "../src/core/modbus/client";
import { acquireModbusClient, parseModbusDeviceSettings } from "../src/core/modbus/devices";
import { ModbusTerm, parseModbusItems } from "../src/core/modbus/term";
import type { PoolLease } from "../src/core/runtime/shared-pool";
import { median } from "./lib/measure";
import { spawnLibmodbusServer, spawnModbusSimulators } from "./lib/modbus-sim-process";
import type { ModbusFraming } from "../src/protocols/modbus/codec/framing";
import type { Benchmark, Figures } from "./lib/types";

const REGISTERS = 100;
const IN_FLIGHT = 8;
const DEVICES = 20;
const WINDOW_MS = 1000;
const REPEATS = 5;

interface Window {
  readonly points: number;
  readonly seconds: number;
  /** CPU of this process over the window, µs (user + system). */
  readonly cpuMicros: number;
}

interface Measured {
  /** Median points per second. */
  readonly rate: number;
  /** CPU µs per point over all measured windows: equal to % of one core per 10,000 points/s. */
  readonly cpuPerPoint: number;
}

/** A warm-up window, then REPEATS measured ones. */
async function measure(window: (ms: number) => Promise<Window>): Promise<Measured> {
  await window(WINDOW_MS);
  const runs: Window[] = [];
  for (let i = 0; i < REPEATS; i++) runs.push(await window(WINDOW_MS));
  const points = runs.reduce((n, r) => n + r.points, 0);
  const cpu = runs.reduce((n, r) => n + r.cpuMicros, 0);
  return { rate: median(runs.map((r) => r.points / r.seconds)), cpuPerPoint: cpu / points };
}

/** Run `loops` until `ms` have passed; each returns the points it delivered. */
async function timed(ms: number, loops: readonly ((end: bigint) => Promise<number>)[]): Promise<Window> {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(ms) * 1_000_000n;
  const counts = await Promise.all(loops.map((loop) => loop(end)));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { points: counts.reduce((a, b) => a + b, 0), seconds, cpuMicros: cpu.user + cpu.system };
}

// ---- ours: ModbusTerm.poll on the shared client -------------------------------------------------

async function ours(
  ports: readonly number[],
  transport: ModbusFraming = "tcp",
  inFlight = IN_FLIGHT,
): Promise<Measured> {
  const items = parseModbusItems(
    Array.from({ length: REGISTERS }, (_, i) => ({ item: `r${i}`, address: `HR${i}` })),
  );
  const leases: PoolLease<ModbusClient>[] = ports.map((port) =>
    acquireModbusClient(
      parseModbusDeviceSettings({ host: "127.0.0.1", port, inFlight, timeout: 5000, transport }),
    ),
  );
  try {
    await Promise.all(leases.map((l) => l.value.whenConnected()));
    const loops = leases.flatMap((lease, d) =>
      Array.from({ length: IN_FLIGHT }, (_, t) => {
        const term = new ModbusTerm(`dev${d}`, `t${t}`, 1, items);
        if (term.reads.length !== 1) throw new Error(`expected one read per term, got ${term.reads.length}`);
        return async (end: bigint): Promise<number> => {
          let points = 0;
          while (process.hrtime.bigint() < end) {
            const out = await term.poll(lease.value, "poll", Date.now, true);
            for (const p of out) {
              if (p.error !== undefined) throw new Error(`bench read failed: ${p.error}`);
            }
            points += out.length;
          }
          return points;
        };
      }),
    );
    return await measure((ms) => timed(ms, loops));
  } finally {
    await Promise.all(leases.map((l) => l.release()));
  }
}

// ---- baseline: jsmodbus TCP client, serial --------------------------------------------------------

/** A connected socket; `before` runs on it before it connects (jsmodbus must see the connect event). */
function connectSocket(port: number, before: (s: net.Socket) => void = () => undefined): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = new net.Socket();
    before(socket);
    socket.setNoDelay(true);
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.connect(port, "127.0.0.1");
  });
}

async function jsmodbusSerial(port: number): Promise<number> {
  let client: InstanceType<typeof jsmodbus.TCP> | undefined;
  const socket = await connectSocket(port, (s) => (client = new jsmodbus.TCP(s, 1, 5000)));
  const js = client;
  if (js === undefined) throw new Error("jsmodbus client not made");
  try {
    return (
      await measure((ms) =>
        timed(ms, [
          async (end) => {
            let points = 0;
            while (process.hrtime.bigint() < end) {
              const { response } = await js.readHoldingRegisters(0, REGISTERS);
              const values = response.body.values;
              if (!Array.isArray(values) || values.length !== REGISTERS)
                throw new Error("jsmodbus: bad read");
              points += values.length;
            }
            return points;
          },
        ]),
      )
    ).rate;
  } finally {
    socket.destroy();
  }
}

// ---- baseline: a minimal hand-written pipelined client -------------------------------------------

/** Read holding registers 0..REGISTERS-1 of unit 1 with `IN_FLIGHT` requests on the wire until `end`. */
function pipelined(socket: net.Socket, end: bigint): Promise<number> {
  return new Promise((resolve) => {
    let tid = 0;
    let inFlight = 0;
    let points = 0;
    let pending: Buffer = Buffer.alloc(0);
    const request = (): Buffer => {
      const b = Buffer.alloc(12);
      b.writeUInt16BE((tid = (tid + 1) & 0xffff), 0);
      b.writeUInt16BE(6, 4);
      b[6] = 1;
      b[7] = 3;
      b.writeUInt16BE(0, 8);
      b.writeUInt16BE(REGISTERS, 10);
      inFlight++;
      return b;
    };
    const onData = (chunk: Buffer): void => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let off = 0;
      let replies = 0;
      while (pending.length - off >= 6) {
        const size = 6 + pending.readUInt16BE(off + 4);
        if (pending.length - off < size) break;
        const count = pending[off + 8] / 2;
        const values = new Array<number>(count);
        for (let i = 0; i < count; i++) values[i] = pending.readUInt16BE(off + 9 + 2 * i);
        points += values.length;
        inFlight--;
        replies++;
        off += size;
      }
      pending = off === pending.length ? Buffer.alloc(0) : pending.subarray(off);
      if (process.hrtime.bigint() < end) {
        // One write for the requests that the replies of this segment freed, as our client does.
        socket.write(Buffer.concat(Array.from({ length: replies }, request)));
      } else if (inFlight === 0) {
        socket.off("data", onData);
        resolve(points);
      }
    };
    socket.on("data", onData);
    socket.write(Buffer.concat(Array.from({ length: IN_FLIGHT }, request)));
  });
}

async function pipelinedLimit(ports: readonly number[]): Promise<number> {
  const sockets = await Promise.all(ports.map((p) => connectSocket(p)));
  try {
    return (
      await measure((ms) =>
        timed(
          ms,
          sockets.map((s) => (end: bigint) => pipelined(s, end)),
        ),
      )
    ).rate;
  } finally {
    for (const s of sockets) s.destroy();
  }
}

// ---- the run ----------------------------------------------------------------------------------------

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");

function versusJsmodbus(ours: number, jsmodbus: number): Figures[string] {
  return {
    value: ours,
    unit: "points/s",
    baseline: `jsmodbus serial ${fmt(jsmodbus)} points/s`,
    ratio: ours / jsmodbus,
    goal: ">= 2x",
  };
}

const benchmark: Benchmark = {
  name: "modbus",
  async run(): Promise<Figures> {
    const figures: Figures = {};
    const sims = await spawnModbusSimulators(DEVICES);
    try {
      const one = await ours(sims.ports.slice(0, 1));
      const js = await jsmodbusSerial(sims.ports[0]);
      figures.poll_1dev_vs_jsmodbus = versusJsmodbus(one.rate, js);
      const many = await ours(sims.ports);
      const limit = await pipelinedLimit(sims.ports);
      figures.poll_20dev_vs_pipelined_limit = {
        value: many.rate,
        unit: "points/s",
        baseline: `hand-written, 8 in flight ${fmt(limit)} points/s`,
        ratio: many.rate / limit,
        goal: ">= 0.5x",
      };
      figures.cpu_per_10k_points_1dev = { value: one.cpuPerPoint, unit: "% of a core" };
      figures.cpu_per_10k_points_20dev = { value: many.cpuPerPoint, unit: "% of a core" };
      figures.rss_mb = { value: process.memoryUsage().rss / 2 ** 20, unit: "MB" };
    } finally {
      await sims.stop();
    }
    const rtu = await spawnModbusSimulators(1, [], "rtu-over-tcp");
    const tcp = await spawnModbusSimulators(1);
    try {
      const overRtu = await ours(rtu.ports, "rtu-over-tcp", 1);
      const overTcp = await ours(tcp.ports, "tcp", 1);
      figures.poll_rtu_over_tcp_vs_tcp = {
        value: overRtu.rate,
        unit: "points/s",
        baseline: `ours over Modbus TCP, 1 in flight ${fmt(overTcp.rate)} points/s`,
        ratio: overRtu.rate / overTcp.rate,
        goal: ">= 0.9x",
      };
    } finally {
      await Promise.all([rtu.stop(), tcp.stop()]);
    }
    const lib = await spawnLibmodbusServer();
    if (lib !== undefined) {
      try {
        // The libmodbus server serves one connection at a time: ours is released before jsmodbus runs.
        const mine = await ours(lib.ports);
        const js = await jsmodbusSerial(lib.ports[0]);
        figures.poll_1dev_libmodbus_vs_jsmodbus = versusJsmodbus(mine.rate, js);
      } finally {
        await lib.stop();
      }
    }
    return figures;
  },
};

export default benchmark;
