/**
 * An independent reading of our frames: a whole master/outstation exchange covering every type this stack
 * sends is written to a capture (text2pcap) and decoded by Wireshark's IEC 104 dissector (tshark), as the
 * project's independent checks require (docs/protocols/iec104.md §6: every frame through Wireshark).
 * Nothing may be malformed, and for every frame the dissector must read the same format, sequence numbers,
 * type, cause, P/N, object count and IOAs that our decoder reads.
 *
 * Needs `tshark` and `text2pcap` (Debian package tshark) on the PATH; without them the test fails and says so.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  decodeApdu,
  decodeAsdu,
  GOOD,
  type CommandObject,
  type MonitorObject,
} from "../../../src/protocols/iec104/codec";
import { Loopback, type WireFrame } from "../../unit/iec104/harness";

const PORT = 2404;

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.error) throw new Error(`${cmd} could not run (${r.error.message}); install Debian package tshark`);
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** text2pcap input: one packet per frame; "O" (to port 2404) from the master, "I" from the station. */
function textDump(frames: readonly WireFrame[]): string {
  const out: string[] = [];
  for (const f of frames) {
    out.push(f.from === "master" ? "O" : "I");
    for (let off = 0; off < f.bytes.length; off += 16) {
      const hex = [...f.bytes.subarray(off, off + 16)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
      out.push(`${off.toString(16).padStart(6, "0")} ${hex}`);
    }
  }
  return out.join("\n") + "\n";
}

/** What our decoder reads from a frame, in the dissector's terms. */
function ourReading(bytes: Buffer): string {
  const r = decodeApdu(bytes);
  if (r.kind !== "apdu") throw new Error(`we wrote a bad frame ${bytes.toString("hex")}`);
  const a = r.apdu;
  // The dissector numbers U functions by their bit among CF1 bits 2-7.
  if (a.format === "U") return `U ${bytes[2] >> 2}`;
  if (a.format === "S") return `S rx=${a.recvSeq}`;
  const d = decodeAsdu(a.asdu);
  if (d.kind !== "asdu") throw new Error(`we wrote a bad ASDU ${a.asdu.toString("hex")}`);
  const x = d.asdu;
  const ioas = x.objects.map((o) => o.ioa).join(",");
  return `I tx=${a.sendSeq} rx=${a.recvSeq} type=${x.typeId} cot=${x.cot} neg=${x.negative ? 1 : 0} n=${x.objects.length} ioa=${ioas}`;
}

const FIELDS = [
  "_ws.malformed",
  "iec60870_104.type",
  "iec60870_104.utype",
  "iec60870_104.tx",
  "iec60870_104.rx",
  "iec60870_asdu.typeid",
  "iec60870_asdu.causetx",
  "iec60870_asdu.nega",
  "iec60870_asdu.numix",
  "iec60870_asdu.ioa",
];

/** What the dissector reads, one line per packet, in the same shape as `ourReading`. */
function dissectorReading(pcap: string): string[] {
  const args = [
    "-r",
    pcap,
    "-d",
    `tcp.port==${PORT},iec60870_104`,
    "-T",
    "fields",
    "-E",
    "occurrence=a",
    "-E",
    "aggregator=,",
  ];
  for (const f of FIELDS) args.push("-e", f);
  return run("tshark", args)
    .replace(/\n$/, "")
    .split("\n")
    .map((line) => {
      const [malformed, type, utype, tx, rx, typeId, cot, neg, n, ioa] = line.split("\t");
      if (malformed) return `MALFORMED ${line}`;
      // The dissector's frame type, printed in hex: 0 I, 1 S, 3 U.
      if (Number(type) === 3) return `U ${Number(utype)}`;
      if (Number(type) === 1) return `S rx=${rx}`;
      const negBit = neg === "True" || neg === "1" ? 1 : 0;
      return `I tx=${tx} rx=${rx} type=${typeId} cot=${cot} neg=${negBit} n=${n} ioa=${ioa}`;
    });
}

/** Drive an exchange that makes both sides send every type and procedure the stack has. */
function exchange(): Loopback {
  const lb = new Loopback(
    { interrogateOnStart: true, clockSyncOnStart: true },
    { endOfInitialization: true },
  );
  const monitor: MonitorObject[] = [
    { kind: "single", ioa: 1, value: true, quality: { blocked: true } },
    { kind: "double", ioa: 2, value: 2, quality: GOOD },
    { kind: "step", ioa: 3, value: -5, transient: true, quality: GOOD },
    { kind: "bitstring", ioa: 4, value: 0xa5a5a5a5, quality: GOOD },
    { kind: "normalized", ioa: 5, value: -0.5, quality: { notTopical: true } },
    { kind: "scaled", ioa: 6, value: 1234, quality: GOOD },
    { kind: "float", ioa: 7, value: 12.5, quality: { overflow: true } },
    { kind: "totals", ioa: 8, value: 99999, sequence: 2, carry: false, adjusted: true, quality: GOOD },
  ];
  for (const m of monitor) lb.station.definePoint(m, { groups: [1] });
  for (let i = 0; i < 40; i++)
    lb.station.definePoint({ kind: "float", ioa: 1000 + i, value: i, quality: GOOD });
  const commands: CommandObject[] = [
    { kind: "single-command", ioa: 100, value: true, qualifier: 1, select: false },
    { kind: "double-command", ioa: 101, value: 1, qualifier: 0, select: false },
    { kind: "step-command", ioa: 102, value: 2, qualifier: 0, select: false },
    { kind: "setpoint-normalized", ioa: 103, value: 0.25, qualifier: 0, select: false },
    { kind: "setpoint-scaled", ioa: 104, value: -300, qualifier: 0, select: false },
    { kind: "setpoint-float", ioa: 105, value: 49.95, qualifier: 0, select: false },
    { kind: "bitstring-command", ioa: 106, value: 0xff00, select: false },
  ];
  for (const c of commands) lb.station.defineCommand({ ioa: c.ioa, kind: c.kind });

  lb.start();
  lb.request({ kind: "interrogation", qoi: 21 });
  lb.request({ kind: "counter-interrogation" });
  lb.request({ kind: "read", ioa: 6 });
  lb.request({ kind: "read", ioa: 999 });
  lb.request({ kind: "interrogation", commonAddress: 7 });
  for (const c of commands) {
    lb.request({ kind: "command", command: c, selectBeforeOperate: c.kind !== "bitstring-command" });
    lb.request({ kind: "command", command: c, withTime: true });
  }
  lb.request({ kind: "command", command: { ...commands[0], ioa: 4242 } });
  for (const m of monitor) lb.fromStation(lb.station.update(m));
  lb.fromStation(lb.station.update(monitor[5], { timed: false }));
  lb.request({ kind: "test" });
  // Idle long enough for S-frames (t2) and test frames (t3), then stop data transfer.
  for (let i = 0; i < 25; i++) lb.advance(1_000);
  lb.fromMaster(lb.master.stop());
  return lb;
}

describe("iec104 frames through Wireshark's dissector", function () {
  let dir = "";
  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "iec104-ws-"));
  });
  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("reads every frame of a full exchange as we do, none malformed", function () {
    const lb = exchange();
    const wire = lb.wire;
    const types = new Set(
      wire.flatMap((f) => {
        const r = decodeApdu(f.bytes);
        return r.kind === "apdu" && r.apdu.format === "I" ? [r.apdu.asdu[0]] : [];
      }),
    );
    // The exchange really covers what the stack sends.
    for (const id of [
      1, 3, 5, 7, 9, 11, 13, 15, 30, 31, 32, 33, 34, 35, 36, 37, 45, 46, 47, 48, 49, 50, 51, 58, 59, 60, 61,
      62, 63, 64, 70, 100, 101, 102, 103, 107,
    ]) {
      assert.ok(types.has(id), `type ${id} was not exchanged`);
    }
    const formats = new Set(wire.map((f) => f.bytes[2] & 0x03));
    assert.ok(formats.has(0x01) && formats.has(0x03), "S- and U-format frames were exchanged");

    const txt = path.join(dir, "exchange.txt");
    const pcap = path.join(dir, "exchange.pcap");
    fs.writeFileSync(txt, textDump(wire));
    run("text2pcap", ["-q", "-D", "-T", `${PORT},50000`, txt, pcap]);
    const theirs = dissectorReading(pcap);
    const ours = wire.map((f) => ourReading(f.bytes));
    assert.equal(theirs.length, ours.length, "one packet per frame");
    assert.deepEqual(theirs, ours);
    assert.ok(wire.length > 60, `a full exchange, not ${wire.length} frames`);
  });
});
