/**
 * Modbus on a serial line against independent peers (issue #20), over `socat` pty pairs (no hardware):
 * - our RTU client reads every data type from a libmodbus RTU slave (test/fixtures/modbus/
 *   libmodbus-rtu-server.c, built here against Debian's libmodbus), and FC 23 against it;
 * - a libmodbus RTU master (libmodbus-rtu-client.c) reads and writes our RTU server, FC 23 included, and
 *   gets the exception codes our server answers;
 * - mbpoll in RTU mode reads and writes our server;
 * - a pymodbus ASCII master (pymodbus-ascii-client.py, Debian's python3-pymodbus; mbpoll and libmodbus
 *   speak no ASCII) reads and writes our ASCII server;
 * - our client meets every exception code, and a reply with a broken CRC, from a raw peer on the line:
 *   it refuses the broken frame and reads the next good one;
 * - a port that disappears (socat killed) is reopened once it is back, with the link's backoff.
 * `npm run services` installs socat, libmodbus-dev, mbpoll, python3-pymodbus and a C compiler.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ModbusClient, ModbusRequestError } from "../../../src/core/modbus/client";
import { parsePointAddress } from "../../../src/core/modbus/point-address";
import { decodeRegistersAt } from "../../../src/core/modbus/values";
import { parseSerialLine, serialLineOptions } from "../../../src/core/modbus/serial-line";
import { serveModbusSerial, type SerialServerHandle } from "../../../src/core/modbus/serial-server";
import { ModbusServerCore } from "../../../src/protocols/modbus/server";
import { encodeRtu } from "../../../src/protocols/modbus/codec/rtu";
import { ExceptionCode } from "../../../src/protocols/modbus/codec/exceptions";
import { loadSerialPort } from "../../../src/transport/serial-port";
import { openPtyPair, type PtyPair } from "../../support/pty-pair";
import { until } from "../../support/net";
import { buildLibmodbusFixture, run } from "../../support/peer-programs";

const line = (port: string, extra: Record<string, string> = {}) =>
  parseSerialLine({ serialPort: port, baudRate: "19200", parity: "even", ...extra });

function rtuClient(port: string): ModbusClient {
  const c = ModbusClient.serial(serialLineOptions(line(port), "serial-rtu"), {
    session: { framing: "serial-rtu", timeoutMs: 1000 },
  });
  c.start();
  return c;
}

/** A child process that has printed its first line (a fixture's "ready"), and a way to stop it. */
async function startPeer(
  bin: string,
  args: string[],
): Promise<{ proc: ChildProcess; stop(): Promise<void> }> {
  const proc = spawn(bin, args, { stdio: ["ignore", "pipe", "inherit"] });
  const first = await new Promise<string>((resolve, reject) => {
    proc.once("error", reject);
    proc.stdout?.once("data", (d: Buffer) => resolve(d.toString().trim()));
  });
  assert.equal(first, "ready");
  return {
    proc,
    stop: async () => {
      if (proc.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
      proc.kill();
      await exited;
    },
  };
}

let dir: string;
let serverBin: string;
let clientBin: string;

before(async function () {
  this.timeout(60000);
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "datacoll-serial-"));
  serverBin = await buildLibmodbusFixture("libmodbus-rtu-server", dir);
  clientBin = await buildLibmodbusFixture("libmodbus-rtu-client", dir);
});

after(() => fs.rm(dir, { recursive: true, force: true }));

describe("modbus serial: our RTU client against a libmodbus RTU slave", () => {
  let pair: PtyPair;
  let peer: Awaited<ReturnType<typeof startPeer>>;
  let client: ModbusClient;

  before(async () => {
    pair = await openPtyPair();
    peer = await startPeer(serverBin, [pair.b]);
    client = rtuClient(pair.a);
  });

  after(async () => {
    client.close();
    await peer.stop();
    await pair.close();
  });

  it("reads every data type as libmodbus laid it out", async () => {
    const regs = await client.readHoldingRegisters(1, 0, 24);
    const at = (text: string): unknown => {
      const p = parsePointAddress(text);
      return decodeRegistersAt(p, regs, p.address);
    };
    assert.equal(at("HR0:int16"), -12345);
    assert.equal(at("HR1:uint16"), 65535);
    assert.equal(at("HR2:int32:ABCD"), -123456789);
    assert.equal(at("HR4:uint32:CDAB"), 3000000000);
    assert.equal(at("HR6:float32:ABCD"), Math.fround(-273.15));
    assert.equal(at("HR8:float32:CDAB"), 1013.25);
    assert.equal(at("HR10:float64"), 6.02214076e23);
    assert.equal(String(at("HR14:int64")), "-1234567890123456789");
    assert.equal(at("HR20:string(8)"), "DataColl");
    assert.deepEqual(await client.readInputRegisters(1, 98, 2), [1098, 1099]);
    assert.deepEqual(await client.readCoils(1, 0, 4), [false, true, false, true]);
    assert.deepEqual(await client.readDiscreteInputs(1, 0, 4), [true, false, false, true]);
  });

  it("writes, and reads and writes in one FC 23 exchange (the write first)", async () => {
    await client.writeMultipleRegisters(1, 50, [0xdead, 0xbeef]);
    await client.writeSingleCoil(1, 63, true);
    assert.deepEqual(await client.readHoldingRegisters(1, 50, 2), [0xdead, 0xbeef]);
    assert.deepEqual(await client.readCoils(1, 63, 1), [true]);
    await client.writeMultipleRegisters(1, 70, [70, 71, 72]);
    assert.deepEqual(await client.readWriteMultipleRegisters(1, 70, 3, 71, [7, 8]), [70, 7, 8]);
  });

  it("gets libmodbus's exception 02 for a read past its table", async () => {
    // (Every other code is met from the raw peer below: libmodbus answers no other one to what we send.)
    const err = await client.readHoldingRegisters(1, 99, 2).then(
      () => assert.fail("expected an exception"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ModbusRequestError, String(err));
    assert.equal(err.failure.exceptionCode, ExceptionCode.ILLEGAL_DATA_ADDRESS);
  });

  it("answers 20 reads asked at once, one request on the line at a time", async () => {
    const all = await Promise.all(Array.from({ length: 20 }, (_, i) => client.readInputRegisters(1, i, 1)));
    assert.deepEqual(
      all.map((r) => r[0]),
      Array.from({ length: 20 }, (_, i) => 1000 + i),
    );
  });
});

describe("modbus serial: independent masters against our RTU server", () => {
  let pair: PtyPair;
  let core: ModbusServerCore;
  let server: SerialServerHandle;

  before(async () => {
    pair = await openPtyPair();
    core = new ModbusServerCore({ units: [1], unknownUnit: "gateway" });
    server = serveModbusSerial(core, {
      framing: "serial-rtu",
      line: serialLineOptions(line(pair.a), "serial-rtu"),
    });
    await until(() => server.state === "connected", 5000, "our server's port open");
  });

  after(async () => {
    await server.close();
    await pair.close();
  });

  const libmodbus = (...args: string[]) => run(clientBin, [pair.b, ...args]);

  it("libmodbus reads and writes our tables", async () => {
    core.unit(1).holdingRegisters.set([11, 65535, 300], 0);
    core.unit(1).inputRegisters.set([4, 5], 10);
    core.unit(1).coils.set([1, 0, 1], 20);
    assert.deepEqual(await libmodbus("1", "read", "0", "3"), { code: 0, out: "11 65535 300\n" });
    assert.deepEqual(await libmodbus("1", "input", "10", "2"), { code: 0, out: "4 5\n" });
    assert.deepEqual(await libmodbus("1", "coils", "20", "3"), { code: 0, out: "1 0 1\n" });
    assert.deepEqual(await libmodbus("1", "write", "40", "7", "4660"), { code: 0, out: "ok\n" });
    assert.deepEqual(Array.from(core.unit(1).holdingRegisters.subarray(40, 42)), [7, 4660]);
    assert.deepEqual(await libmodbus("1", "coil", "5", "1"), { code: 0, out: "ok\n" });
    assert.equal(core.unit(1).coils[5], 1);
  });

  it("libmodbus's FC 23 (modbus_write_and_read_registers): the write lands before the read", async () => {
    core.unit(1).holdingRegisters.set([1, 2, 3], 80);
    const r = await libmodbus("1", "rw", "80", "3", "81", "20", "21");
    assert.deepEqual(r, { code: 0, out: "1 20 21\n" });
  });

  it("libmodbus gets our exceptions 01, 02, 03 and 0B", async () => {
    const past = await libmodbus("1", "read", "65000", "10");
    assert.equal(past.code, 1);
    assert.match(past.out, /Illegal data address/);
    // Diagnostics sub-function 01 is none we serve; FC 3 for 0 registers is an illegal value
    // (Application Protocol §6.3).
    assert.deepEqual(await libmodbus("1", "raw", "0800010000"), { code: 0, out: "8801\n" });
    assert.deepEqual(await libmodbus("1", "raw", "0300000000"), { code: 0, out: "8303\n" });
    const other = await libmodbus("9", "read", "0", "1");
    assert.equal(other.code, 1);
    assert.match(other.out, /Target device failed to respond/i);
  });

  it("mbpoll -m rtu reads and writes our server", async () => {
    const mbpoll = (args: string[], values: string[] = []) =>
      run("mbpoll", [
        "-m",
        "rtu",
        "-b",
        "19200",
        "-P",
        "even",
        "-a",
        "1",
        "-0",
        "-1",
        ...args,
        pair.b,
        ...values,
      ]);
    core.unit(1).holdingRegisters.set([123, 456], 90);
    const r = await mbpoll(["-r", "90", "-c", "2", "-t", "4"]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /\[90\]:\s+123\s*\n\s*\[91\]:\s+456/);
    const w = await mbpoll(["-r", "95", "-t", "4"], ["77", "88"]);
    assert.equal(w.code, 0, w.out);
    assert.deepEqual(Array.from(core.unit(1).holdingRegisters.subarray(95, 97)), [77, 88]);
    const e = await mbpoll(["-r", "65000", "-c", "2", "-t", "4"]);
    assert.notEqual(e.code, 0);
    assert.match(e.out, /Illegal data address/);
  });
});

describe("modbus serial: a pymodbus ASCII master against our ASCII server", () => {
  let pair: PtyPair;
  let core: ModbusServerCore;
  let server: SerialServerHandle;
  const script = path.join(__dirname, "../../fixtures/modbus/pymodbus-ascii-client.py");

  before(async () => {
    pair = await openPtyPair();
    core = new ModbusServerCore({ units: [3] });
    const ascii = serialLineOptions(line(pair.a, { dataBits: "7" }), "serial-ascii");
    server = serveModbusSerial(core, { framing: "serial-ascii", line: ascii });
    await until(() => server.state === "connected", 5000, "our server's port open");
  });

  after(async () => {
    await server.close();
    await pair.close();
  });

  // Debian's interpreter, where python3-pymodbus is installed (another python3 may come first on PATH).
  const pymodbus = (...args: string[]) => run("/usr/bin/python3", [script, pair.b, "3", ...args]);

  it("reads and writes registers and coils", async () => {
    core.unit(3).holdingRegisters.set([4660, 22136, 0], 10);
    core.unit(3).coils.set([0, 1, 1], 0);
    assert.deepEqual(await pymodbus("read", "10", "3"), { code: 0, out: "4660 22136 0\n" });
    assert.deepEqual(await pymodbus("coils", "0", "3"), { code: 0, out: "0 1 1\n" });
    assert.deepEqual(await pymodbus("write", "20", "9", "10"), { code: 0, out: "ok\n" });
    assert.deepEqual(Array.from(core.unit(3).holdingRegisters.subarray(20, 22)), [9, 10]);
  });

  it("gets exception 02 for a read past the table", async () => {
    assert.deepEqual(await pymodbus("read", "65000", "4"), { code: 1, out: "exception 2\n" });
  });
});

describe("modbus serial: our RTU client against a raw peer (exceptions, a broken CRC)", () => {
  let pair: PtyPair;
  let client: ModbusClient;
  let close: () => Promise<void>;
  /** The next replies the peer sends, one per request it receives. */
  const script: Buffer[] = [];
  let requests = 0;

  before(async () => {
    pair = await openPtyPair();
    const mod = loadSerialPort();
    assert.ok(mod !== undefined, "the optional serialport package is installed for the tests");
    const peer = new mod.SerialPort({
      path: pair.b,
      baudRate: 19200,
      dataBits: 8,
      parity: "even",
      stopBits: 1,
      autoOpen: false,
      lock: false,
    });
    await new Promise<void>((resolve, reject) =>
      peer.open((err) => (err === null ? resolve() : reject(err))),
    );
    let held = Buffer.alloc(0);
    peer.on("data", (bytes) => {
      held = Buffer.concat([held, bytes]);
      // Every request here is a read of holding registers: 8 octets.
      while (held.length >= 8) {
        held = held.subarray(8);
        requests++;
        const reply = script.shift();
        if (reply !== undefined) peer.write(reply);
      }
    });
    close = () => new Promise<void>((resolve) => peer.close(() => resolve()));
    client = rtuClient(pair.a);
  });

  after(async () => {
    client.close();
    await close();
    await pair.close();
  });

  it("reports every exception code the standard defines, by its code", async () => {
    for (const code of Object.values(ExceptionCode)) {
      script.push(encodeRtu(1, Buffer.from([0x83, code])));
      const err = await client.readHoldingRegisters(1, 0, 1).then(
        () => assert.fail(`exception ${code} taken as a value`),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ModbusRequestError, String(err));
      assert.equal(err.failure.kind, "exception");
      assert.equal(err.failure.exceptionCode, code);
    }
  });

  const reply = (unit: number): Buffer => encodeRtu(unit, Buffer.from([0x03, 0x02, 0x12, 0x34]));
  const broken = (unit: number): Buffer => {
    const b = reply(unit);
    b[b.length - 1] ^= 0xff;
    return b;
  };

  it("drops a reply whose CRC is broken and takes the good frame that follows it", async () => {
    const dropped = client.stats.droppedOctets;
    script.push(Buffer.concat([broken(1), reply(1)]));
    assert.deepEqual(await client.readHoldingRegisters(1, 0, 1), [0x1234]);
    assert.ok(client.stats.droppedOctets >= dropped + 1, JSON.stringify(client.stats));
  });

  it("refuses a lone reply whose CRC is broken (no answer) and reads on", async () => {
    const before = requests;
    script.push(broken(2), reply(3));
    const first = await client.readHoldingRegisters(2, 0, 1, { timeoutMs: 300 }).then(
      () => assert.fail("a frame with a broken CRC was taken"),
      (e: unknown) => e,
    );
    assert.ok(first instanceof ModbusRequestError);
    assert.equal(first.failure.kind, "timeout");
    // Another unit: the one that gave no answer is paused for a while, as on any link.
    assert.deepEqual(await client.readHoldingRegisters(3, 0, 1), [0x1234]);
    assert.equal(requests - before, 2);
  });
});

describe("modbus serial: a port that disappears", () => {
  it("is reopened with the link's backoff once it is back, and the status says so", async function () {
    this.timeout(30000);
    const links = { a: path.join(dir, "line-a"), b: path.join(dir, "line-b") };
    let pair = await openPtyPair(links);
    const core = new ModbusServerCore({ units: [1] });
    core.unit(1).holdingRegisters[0] = 99;
    const server = serveModbusSerial(core, {
      framing: "serial-rtu",
      line: serialLineOptions(line(links.b), "serial-rtu"),
      connection: { reconnectInitialMs: 50, reconnectMaxMs: 200 },
    });
    const client = ModbusClient.serial(serialLineOptions(line(links.a), "serial-rtu"), {
      session: { framing: "serial-rtu", timeoutMs: 1000 },
      connection: { reconnectInitialMs: 50, reconnectMaxMs: 200 },
    });
    const reasons: string[] = [];
    client.onStateChange((c) => {
      if (c.state === "backoff" && c.reason !== undefined) reasons.push(c.reason);
    });
    client.start();
    try {
      assert.deepEqual(await client.readHoldingRegisters(1, 0, 1), [99]);
      await pair.close();
      await until(() => client.state === "backoff" && server.state === "backoff", 5000, "both ends noticing");
      assert.match(reasons[0] ?? "", /serial port .*line-a/);
      pair = await openPtyPair(links);
      await until(
        () => client.state === "connected" && server.state === "connected",
        5000,
        "both ends reopened",
      );
      core.unit(1).holdingRegisters[0] = 100;
      assert.deepEqual(await client.readHoldingRegisters(1, 0, 1), [100]);
    } finally {
      client.close();
      await server.close();
      await pair.close();
    }
  });
});
