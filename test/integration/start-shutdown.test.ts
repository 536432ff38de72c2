/**
 * `npm start` stops completely however it is stopped (#21): real `npm start` processes, each on a free
 * port and a user directory of its own, are stopped through npm's process — SIGTERM, SIGINT, SIGKILL —
 * and the test waits until neither scripts/start.mjs nor the Node-RED it spawned is alive and the HTTP
 * port is free. npm passes SIGINT and SIGTERM to its child only (package.json `exec`s the launcher so that
 * is start.mjs, not a shell) and nothing when it is killed: then the launcher notices that npm is gone.
 * Linux: the processes are found in /proc.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort, httpRequest, until } from "../support/net";

const root = path.resolve(__dirname, "../..");

/** `pid`'s parent and state from /proc/<pid>/stat, or undefined when there is no such process. */
function procStat(pid: number): { ppid: number; state: string } | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined; // gone (ENOENT): no such process
  }
  // "pid (comm) state ppid ...": comm may hold spaces, so the fields are counted after its ")".
  const [state = "", ppid = ""] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { ppid: Number(ppid), state };
}

/** Running, that is: there and not a zombie (dead, waiting for a parent to reap it). */
function alive(pid: number): boolean {
  const s = procStat(pid);
  return s !== undefined && s.state !== "Z";
}

function childrenOf(pid: number): number[] {
  return fs
    .readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((p) => procStat(p)?.ppid === pid);
}

function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return ""; // gone meanwhile
  }
}

/** Processes under `pid`, depth first (npm → sh → start.mjs → Node-RED). */
function descendants(pid: number): number[] {
  return childrenOf(pid).flatMap((c) => [c, ...descendants(c)]);
}

/** Whether something accepts connections on the loopback port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

interface Started {
  readonly npm: ChildProcess;
  readonly launcher: number;
  readonly nodeRed: number;
  readonly port: number;
  output(): string;
}

describe("stopping `npm start`", function () {
  this.timeout(60_000);
  let userDir = "";
  let flowFile = "";
  const started: number[] = [];

  beforeEach(function () {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "datacoll-start-"));
    flowFile = path.join(userDir, "..", `${path.basename(userDir)}-flow.json`);
  });

  afterEach(function () {
    // Only what a failed test left behind, by pid: never anything else on the machine.
    for (const pid of started.splice(0)) if (alive(pid)) process.kill(pid, "SIGKILL");
    fs.rmSync(userDir, { recursive: true, force: true });
    fs.rmSync(flowFile, { force: true });
  });

  /** `npm start` on a free port with a flow of the test's own (no fixed ports of the demo's simulator). */
  async function start(flow: readonly object[]): Promise<Started> {
    fs.writeFileSync(flowFile, JSON.stringify(flow));
    const port = await freePort();
    const npm = spawn(
      "npm",
      ["start", "--", "--port", String(port), "--user-dir", userDir, "--flow", flowFile],
      {
        cwd: root,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let log = "";
    npm.stdout.on("data", (d: Buffer) => (log += d.toString()));
    npm.stderr.on("data", (d: Buffer) => (log += d.toString()));
    const pid = npm.pid;
    assert.ok(pid !== undefined, "npm started");
    started.push(pid);
    await until(
      async () => (await httpRequest(port, "GET", "/").catch(() => undefined))?.status === 200,
      30_000,
      `Node-RED answering on port ${port}`,
    );
    const tree = descendants(pid);
    started.push(...tree);
    const launcher = tree.find((p) => cmdline(p).includes("scripts/start.mjs"));
    assert.ok(launcher !== undefined, `start.mjs under npm: ${tree.map(cmdline).join(" | ")}`);
    const nodeRed = childrenOf(launcher)[0];
    assert.ok(nodeRed !== undefined, "Node-RED under start.mjs");
    return { npm, launcher, nodeRed, port, output: () => log };
  }

  async function allGone(s: Started, how: string): Promise<void> {
    const asked = Date.now();
    await until(
      async () => !alive(s.launcher) && !alive(s.nodeRed) && !(await listening(s.port)),
      20_000,
      `start.mjs and Node-RED gone and port ${s.port} free after ${how}`,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${s.output()}`);
    });
    // A figure for the record (the issue asks for 2 s), not an assertion: the wait above is the test.
    console.log(`      stopped after ${how} in ${Date.now() - asked} ms`);
  }

  const tab = { id: "t1", type: "tab", label: "shutdown" };
  const embedded = [tab, { id: "m1", type: "datacoll-manager", store: "embedded", namespace: "sd:" }];

  for (const signal of ["SIGTERM", "SIGINT", "SIGKILL"] as const) {
    it(`stops start.mjs and Node-RED when npm gets ${signal}`, async function () {
      const s = await start(embedded);
      process.kill(s.npm.pid ?? 0, signal);
      await allGone(s, `${signal} to npm`);
      if (signal !== "SIGKILL") assert.match(s.output(), /Stopped flows/);
    });
  }

  it("passes a signal sent to start.mjs itself on to Node-RED (SIGHUP: the terminal closed)", async function () {
    const s = await start(embedded);
    process.kill(s.launcher, "SIGHUP");
    await allGone(s, "SIGHUP to start.mjs");
    assert.match(s.output(), /Stopped flows/);
  });

  it("stops without a close timeout while the manager's Redis is unreachable", async function () {
    const closed = await freePort(); // nobody listens there
    const s = await start([
      tab,
      {
        id: "m1",
        type: "datacoll-manager",
        store: "redis",
        redisUrl: `redis://127.0.0.1:${closed}`,
        namespace: "sd:",
      },
    ]);
    await until(() => /Cannot reach the store/.test(s.output()), 20_000, "the manager's outage warning");
    process.kill(s.npm.pid ?? 0, "SIGTERM");
    await allGone(s, "SIGTERM to npm with Redis unreachable");
    assert.match(s.output(), /Stopped flows/);
    assert.doesNotMatch(s.output(), /Close timed out/);
  });

  it("stops without a close timeout while MySQL accepts and never answers (hung, or a broken route)", async function () {
    // A server that takes the TCP connection and never sends MySQL's greeting: the saver's connect
    // would wait out its whole connect timeout (60 s here) if the stop waited for it.
    const held = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      held.add(socket);
      socket.on("close", () => held.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const mysqlPort = (silent.address() as net.AddressInfo).port;
    try {
      const point = {
        key: "d:t:i",
        deviceId: "d",
        termId: "t",
        itemId: "i",
        value: 1,
        ts: 1_765_000_000_000,
      };
      const s = await start([
        tab,
        {
          id: "db",
          type: "datacoll-mysql",
          host: "127.0.0.1",
          port: mysqlPort,
          database: "test",
          user: "root",
          poolSize: 2,
          connectTimeout: 60_000,
        },
        {
          id: "in",
          type: "inject",
          z: "t1",
          once: true,
          onceDelay: 0.1,
          repeat: "",
          payload: JSON.stringify(point),
          payloadType: "json",
          wires: [["sv"]],
        },
        {
          id: "sv",
          type: "datacoll-save",
          z: "t1",
          mysql: "db",
          historyTable: "h_sd",
          alarmsTable: "a_sd",
          createTables: true,
          wires: [[]],
        },
      ]);
      await until(() => held.size > 0, 20_000, "the saver connecting to the silent MySQL");
      process.kill(s.npm.pid ?? 0, "SIGTERM");
      await allGone(s, "SIGTERM to npm with MySQL not answering");
      assert.match(s.output(), /Stopped flows/);
      assert.doesNotMatch(s.output(), /Close timed out/);
      await until(() => held.size === 0, 5000, "the saver's connection to the silent MySQL closed");
    } finally {
      for (const socket of held) socket.destroy();
      silent.close();
    }
  });
});
