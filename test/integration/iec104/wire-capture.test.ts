/**
 * The wire check: tshark captures a loopback run of both roles as they run in the product — the shared
 * master (Iec104Master in the transport's Connection) against the outstation simulator over real TCP —
 * through start-up, clock sync, general, group and counter interrogation, read, spontaneous changes,
 * every command type direct and select-before-operate with and without time tag, refusals, and the link's
 * S- and test frames. Wireshark's IEC 104 dissector then reads the capture: any frame it marks malformed
 * fails the test, and it must have read the I-frames of every type exchanged (so a capture that missed
 * the traffic cannot pass). Only connections made to the port are judged: the port comes from the
 * ephemeral range, so a client of a test running alongside may have it as its own end before the
 * outstation listens or after it closes, and the capture takes that traffic in too. (A CI run on
 * 2026-12-07 failed here with some 30 frames marked malformed and was not kept; this is the one way found
 * since for frames outside our code to reach the check, not a proven cause.) The test makes such a
 * connection itself, with a bad frame Wireshark must mark. A failure prints each marked frame's stream,
 * ports and expert message, and what tshark said about dropped packets.
 *
 * Needs `tshark` (Debian package tshark, installed by `npm run services`) and the right to capture on the
 * loopback interface (root, or the wireshark group); without either the test fails saying so.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { commandObject } from "../../../src/core/iec104/command";
import { Iec104Master } from "../../../src/core/iec104/master";
import { Iec104Simulator, parseSimCommands, parseSimPoints } from "../../../src/core/iec104/simulator";
import { systemClock } from "../../../src/transport/connection";
import { tcpSocketFactory } from "../../../src/transport/socket";
import { freePort, until } from "../../support/net";

function tsharkMissing(): string | undefined {
  const r = spawnSync("tshark", ["--version"], { encoding: "utf8" });
  if (r.error || r.status !== 0) {
    return "tshark is not installed: install the Debian package tshark (npm run services does)";
  }
  return undefined;
}

/** A running capture: tshark writes the file and prints a summary line per packet, so we see what it has. */
interface Capture {
  readonly child: ChildProcess;
  lines(): number;
  lastLines(n: number): string;
  /** What tshark said on stderr: at its end, how many packets it captured and whether any were dropped. */
  said(): string;
}

/** Start a capture of one TCP port on loopback; resolves once tshark says it is capturing. */
function capture(port: number, file: string): Promise<Capture> {
  return new Promise((resolve, reject) => {
    const child = spawn("tshark", ["-i", "lo", "-f", `tcp port ${port}`, "-w", file, "-P", "-l"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    const cap: Capture = {
      child,
      lines: () => out.split("\n").length - 1,
      lastLines: (n) =>
        out
          .split("\n")
          .slice(-n - 1)
          .join("\n"),
      said: () => err.trim(),
    };
    // A watchdog on the wait for tshark's "Capturing on", not a wait for time: that line ends it.
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`tshark did not start capturing on lo within 10 s: ${err}`));
    }, 10_000);
    child.stderr?.on("data", (d: Buffer) => {
      err += d.toString();
      if (/Capturing on/.test(err)) {
        clearTimeout(timer);
        resolve(cap);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(
        new Error(
          `tshark could not capture on lo (exit ${code}; root or the wireshark group is needed): ${err}`,
        ),
      );
    });
  });
}

/**
 * Knock on the port (nothing listens, so SYN and RST) until the capture shows a new reset: packets are
 * captured in order, so everything sent before the knock is in the capture.
 */
async function knock(cap: Capture, port: number, what: string): Promise<void> {
  const before = cap.lines();
  await until(
    async () => {
      await new Promise<void>((resolve) => {
        const s = net.connect(port, "127.0.0.1");
        s.on("error", () => resolve());
        s.on("connect", () => (s.destroy(), resolve()));
      });
      return cap.lines() > before && /RST/.test(cap.lastLines(cap.lines() - before));
    },
    10_000,
    what,
  );
}

/** An I-frame whose ASDU announces five M_ME_NC_1 objects and carries none: malformed to any dissector. */
const BAD_FRAME = "680a000000000d0503000100";

/**
 * A connection of someone else's that has the port as its own end: another process's client (Redis,
 * MySQL, Node-RED's admin API in a test running alongside) may be given that port by the OS whenever
 * nothing listens on it, since the port came from the ephemeral range, and the capture filter takes it in
 * with ours. This one sends and answers a malformed frame, so the check must tell our conversations from
 * others' — and shows that Wireshark does mark a bad frame. The server side closes first, so the port
 * is left free to listen on.
 */
function foreignConnection(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const other = net.createServer((s) => {
      s.once("data", () => s.end(Buffer.from(BAD_FRAME, "hex")));
    });
    other.listen(0, "127.0.0.1", () => {
      const addr = other.address() as net.AddressInfo;
      const c = net.connect({
        host: "127.0.0.1",
        port: addr.port,
        localAddress: "127.0.0.1",
        localPort: port,
      });
      c.on("error", (e) => other.close(() => reject(e)));
      c.on("connect", () => c.write(Buffer.from(BAD_FRAME, "hex")));
      c.resume();
      c.on("end", () => {
        c.end();
        other.close(() => resolve());
      });
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.removeAllListeners("exit");
    child.once("exit", () => resolve());
    child.kill("SIGINT");
  });
}

function read(file: string, port: number, fields: string[], filter?: string): string[] {
  const args = ["-r", file, "-d", `tcp.port==${port},iec60870_104`, "-T", "fields", "-E", "occurrence=a"];
  if (filter) args.push("-Y", filter);
  for (const f of fields) args.push("-e", f);
  const r = spawnSync("tshark", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`tshark could not read the capture: ${r.stderr}`);
  return r.stdout.split("\n").filter((l) => l.trim() !== "");
}

describe("iec104 wire check: a loopback run of both roles through Wireshark's dissector", function () {
  this.timeout(60_000);
  let dir = "";
  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "iec104-wire-"));
  });
  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("captures master and outstation over TCP; no frame is malformed and every type is read", async function () {
    const missing = tsharkMissing();
    if (missing !== undefined) assert.fail(missing);
    const port = await freePort();
    const file = path.join(dir, "run.pcapng");
    const cap = await capture(port, file);
    await knock(cap, port, "the capture seeing packets");
    await foreignConnection(port);
    const sim = new Iec104Simulator({
      commonAddress: 1,
      points: parseSimPoints([
        { ioa: 1, type: "M_SP_NA_1", value: 1, group: 1 },
        { ioa: 2, type: "M_DP_NA_1", value: 2 },
        { ioa: 3, type: "M_ST_NA_1", value: -3 },
        { ioa: 4, type: "M_BO_NA_1", value: 255 },
        { ioa: 5, type: "M_ME_NA_1", value: 0.5 },
        { ioa: 6, type: "M_ME_NB_1", value: 100 },
        { ioa: 7, type: "M_ME_NC_1", value: 1.5 },
        { ioa: 8, type: "M_IT_NA_1", value: 1234 },
        ...Array.from({ length: 60 }, (_, i) => ({ ioa: 1000 + i, type: "M_ME_NC_1", value: i })),
      ]),
      commands: parseSimCommands([
        { ioa: 100, type: "single-command" },
        { ioa: 101, type: "double-command" },
        { ioa: 102, type: "step-command" },
        { ioa: 103, type: "setpoint-normalized" },
        { ioa: 104, type: "setpoint-scaled" },
        { ioa: 105, type: "setpoint-float", sbo: "true" },
        { ioa: 106, type: "single-command", accept: "false" },
      ]),
      clock: systemClock,
    });
    const master = new Iec104Master({
      master: {
        commonAddress: 1,
        clockSyncOnStart: true,
        interrogateOnStart: false,
        link: { t2Ms: 1000, t1Ms: 2000, t3Ms: 1000 },
      },
      frameLog: true,
      socketFactory: tcpSocketFactory({ host: "127.0.0.1", port }),
    });
    const frames: string[] = [];
    master.onFrameLog((l) => frames.push(l));
    try {
      await sim.listen(port);
      master.start();
      await until(() => master.started, 3000, "data transfer");
      await master.request({ kind: "interrogation" });
      await master.request({ kind: "interrogation", qoi: 21 });
      await master.request({ kind: "counter-interrogation" });
      await master.request({ kind: "read", ioa: 6 });
      const kinds = [
        ["single-command", 100, true],
        ["double-command", 101, "on"],
        ["step-command", 102, "higher"],
        ["setpoint-normalized", 103, 0.25],
        ["setpoint-scaled", 104, -7],
        ["setpoint-float", 105, 12.5],
      ] as const;
      for (const [kind, ioa, value] of kinds) {
        for (const withTime of [false, true]) {
          await master.request({
            kind: "command",
            command: commandObject(kind, ioa, value),
            withTime,
            selectBeforeOperate: true,
          });
          if (ioa !== 105) {
            await master.request({ kind: "command", command: commandObject(kind, ioa, value), withTime });
          }
        }
      }
      await assert.rejects(
        master.request({ kind: "command", command: commandObject("single-command", 106, true) }),
        /negative/,
      );
      await assert.rejects(
        master.request({ kind: "command", command: commandObject("single-command", 4242, true) }),
        /COT 47/,
      );
      for (let i = 0; i < 8; i++) sim.set(1 + i, i % 2 === 0 ? 1 : 2);
      // An idle link: the master acknowledges within t2 (S-frame) and tests it after t3 (TESTFR).
      await until(
        () => frames.includes("tx 680443000000") && frames.includes("rx 680483000000"),
        5000,
        "a test frame and its confirmation",
      );
      assert.ok(
        frames.some((f) => /^tx 68040100/.test(f)),
        "an S-frame was sent",
      );
    } finally {
      master.close();
      await sim.close();
      await knock(cap, port, "the capture seeing the end of the run").finally(() => stop(cap.child));
    }

    // Our conversations are the connections made to the port. One that had the port as its own end is
    // someone else's (see foreignConnection): not ours to judge, but Wireshark must mark its bad frame.
    const streams = (end: "dst" | "src") =>
      new Set(
        read(
          file,
          port,
          ["tcp.stream"],
          `tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.${end}port == ${port}`,
        ),
      );
    const ours = `tcp.stream in {${[...streams("dst")].join(",")}}`;
    const foreign = `tcp.stream in {${[...streams("src")].join(",")}}`;
    assert.notDeepEqual(
      read(file, port, ["frame.number"], `${foreign} && _ws.malformed`),
      [],
      "Wireshark marks the foreign connection's bad frame malformed",
    );
    const malformed = read(
      file,
      port,
      ["frame.number", "tcp.stream", "tcp.srcport", "tcp.dstport", "_ws.expert.message", "_ws.col.info"],
      `${ours} && (_ws.malformed || _ws.expert.severity == error)`,
    );
    assert.deepEqual(
      malformed,
      [],
      `frames of ours Wireshark marks malformed (number, stream, ports, expert, info):\n${malformed.join("\n")}\n` +
        `tshark: ${cap.said()}`,
    );
    const types = new Set(
      read(file, port, ["iec60870_asdu.typeid"], `${ours} && iec60870_asdu`).flatMap((l) =>
        l.split(",").map(Number),
      ),
    );
    for (const id of [
      1, 3, 5, 7, 9, 11, 13, 15, 30, 31, 32, 33, 34, 35, 36, 45, 46, 47, 48, 49, 50, 58, 59, 60, 61, 62, 63,
      100, 101, 102, 103,
    ]) {
      assert.ok(
        types.has(id),
        `type ${id} was not captured (got ${[...types].sort((a, b) => a - b).join(",")})`,
      );
    }
    const formats = new Set(
      read(file, port, ["iec60870_104.type"], `${ours} && iec60870_104`).flatMap((l) => l.split(",")),
    );
    assert.ok(formats.size >= 3, `I, S and U frames captured, got ${[...formats].join(",")}`);
  });
});
