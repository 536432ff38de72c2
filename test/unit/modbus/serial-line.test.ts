/**
 * The serial line (issue #20) without a port: the RTU inter-frame silence by baud rate (Modbus over
 * Serial Line §2.5.1.1), the line's settings as the dialogs give them, and the serial socket's write
 * timing on a fake port and a manual clock — every frame waits for the line to have been quiet for the
 * silence plus the turnaround, counted from the last octet in or out.
 */
import assert from "node:assert/strict";
import { rtuInterFrameSilenceMs } from "../../../src/protocols/modbus/codec/rtu";
import { parseSerialLine, serialLineOptions } from "../../../src/core/modbus/serial-line";
import { modbusLinkKey, parseModbusDeviceSettings } from "../../../src/core/modbus/devices";
import { ManualClock } from "../../../src/transport/manual-clock";
import {
  SERIAL_NOT_INSTALLED,
  characterTimeMs,
  serialSocketFactory,
  type PortLike,
} from "../../../src/transport/serial-port";
import { DataCollError } from "../../../src/core/errors";
import {
  checkSessionOptions,
  DEFAULT_SESSION_OPTIONS,
} from "../../../src/protocols/modbus/session/client-session";
import { parseUnknownUnit } from "../../../src/core/modbus/simulator";

describe("serial line: RTU inter-frame silence", () => {
  it("is 3.5 characters of 11 bits up to 19200 baud", () => {
    assert.equal(rtuInterFrameSilenceMs(9600), (3.5 * 11 * 1000) / 9600);
    assert.equal(rtuInterFrameSilenceMs(19200), (3.5 * 11 * 1000) / 19200);
    assert.equal(rtuInterFrameSilenceMs(1200), (3.5 * 11 * 1000) / 1200);
  });

  it("is fixed at 1.75 ms above 19200 baud", () => {
    assert.equal(rtuInterFrameSilenceMs(19201), 1.75);
    assert.equal(rtuInterFrameSilenceMs(38400), 1.75);
    assert.equal(rtuInterFrameSilenceMs(115200), 1.75);
  });

  it("refuses a baud rate that is not positive", () => {
    assert.throws(() => rtuInterFrameSilenceMs(0), RangeError);
  });
});

describe("serial line: settings", () => {
  it("defaults to 19200 baud, even parity, one stop bit; 8 data bits for RTU, 7 for ASCII", () => {
    assert.deepEqual(parseSerialLine({ serialPort: " /dev/ttyUSB0 " }), {
      path: "/dev/ttyUSB0",
      baudRate: 19200,
      dataBits: 8,
      parity: "even",
      stopBits: 1,
      turnaroundMs: 0,
    });
    assert.equal(parseSerialLine({ serialPort: "COM3" }, "serial-ascii").dataBits, 7);
    assert.equal(parseSerialLine({ serialPort: "COM3", dataBits: "8" }, "serial-ascii").dataBits, 8);
  });

  it("names the field at fault", () => {
    const field = (raw: Parameters<typeof parseSerialLine>[0]): string | undefined => {
      try {
        parseSerialLine(raw);
      } catch (err) {
        assert.ok(err instanceof DataCollError);
        return err.field;
      }
      return undefined;
    };
    assert.equal(field({ serialPort: "" }), "serialPort");
    assert.equal(field({ serialPort: "/dev/ttyS0", parity: "mark" }), "parity");
    assert.equal(field({ serialPort: "/dev/ttyS0", stopBits: "3" }), "stopBits");
    assert.equal(field({ serialPort: "/dev/ttyS0", dataBits: "5" }), "dataBits");
    assert.equal(field({ serialPort: "/dev/ttyS0", baudRate: "fast" }), "baudRate");
    assert.equal(field({ serialPort: "/dev/ttyS0", turnaround: "-1" }), "turnaround");
  });

  it("keeps the RTU silence plus the turnaround before a write, and only the turnaround for ASCII", () => {
    const s = parseSerialLine({ serialPort: "/dev/ttyS0", baudRate: "9600", turnaround: "5" });
    assert.equal(serialLineOptions(s, "serial-rtu").quietBeforeWriteMs, rtuInterFrameSilenceMs(9600) + 5);
    assert.equal(serialLineOptions(s, "serial-ascii").quietBeforeWriteMs, 5);
  });

  it("makes a device on a serial transport one link per port, one request at a time, no host needed", () => {
    const s = parseModbusDeviceSettings({
      transport: "serial-rtu",
      serialPort: "/dev/ttyUSB1",
      inFlight: "8",
    });
    assert.equal(s.session.maxInFlight, 1);
    assert.equal(s.serial?.path, "/dev/ttyUSB1");
    assert.equal(modbusLinkKey(s), "serial:/dev/ttyUSB1");
    const tcp = parseModbusDeviceSettings({ host: "10.0.0.5", port: "502" });
    assert.equal(tcp.serial, undefined);
    assert.equal(modbusLinkKey(tcp), "10.0.0.5:502");
  });

  it("keeps one request in flight on RTU and ASCII lines next to UDP's several, and resends nothing by default", () => {
    // Serial and UDP arrived as two features of #20: the in-flight rule is "MBAP pipelines" for both.
    for (const framing of ["serial-rtu", "serial-ascii"] as const) {
      const base = { ...DEFAULT_SESSION_OPTIONS, framing };
      assert.equal(checkSessionOptions({ ...base, maxInFlight: 2 })?.field, "maxInFlight");
      assert.equal(checkSessionOptions({ ...base, maxInFlight: 1 }), undefined);
      const s = parseModbusDeviceSettings({ transport: framing, serialPort: "/dev/ttyUSB1" });
      assert.equal(s.session.retries, 0);
    }
    const udp = parseModbusDeviceSettings({ transport: "udp", host: "10.0.0.5", port: "502", inFlight: "8" });
    assert.equal(udp.session.maxInFlight, 8);
    assert.equal(udp.session.retries, 2);
    assert.equal(modbusLinkKey(udp), "udp:10.0.0.5:502");
  });

  it("makes a simulator on a serial line leave other units unanswered by default, as the bus needs", () => {
    assert.equal(parseUnknownUnit("auto", "serial-rtu"), "silent");
    assert.equal(parseUnknownUnit(undefined, "serial-ascii"), "silent");
    assert.equal(parseUnknownUnit("auto", "rtu-over-udp"), "gateway");
    assert.equal(parseUnknownUnit("gateway", "serial-rtu"), "gateway");
  });
});

/** A port that opens when told and records what was written, and when (clock time). */
class FakePort implements PortLike {
  readonly writes: { at: number; bytes: Buffer }[] = [];
  isOpen = false;
  private readonly handlers = new Map<string, (arg: never) => void>();
  private opened: ((err: Error | null) => void) | undefined;

  constructor(readonly clock: ManualClock) {}

  open(cb: (err: Error | null) => void): void {
    this.opened = cb;
  }
  finishOpen(): void {
    this.isOpen = true;
    this.opened?.(null);
  }
  write(bytes: Buffer): boolean {
    this.writes.push({ at: this.clock.now(), bytes });
    return true;
  }
  close(): void {
    this.isOpen = false;
  }
  on(event: string, fn: (arg: never) => void): void {
    this.handlers.set(event, fn);
  }
  emit(event: "data", bytes: Buffer): void {
    (this.handlers.get(event) as ((b: Buffer) => void) | undefined)?.(bytes);
  }
  /** What Node's stream does for a port destroyed with an error: "error", then "close" with no argument. */
  failAndClose(err: Error): void {
    this.isOpen = false;
    (this.handlers.get("error") as ((e: Error) => void) | undefined)?.(err);
    (this.handlers.get("close") as (() => void) | undefined)?.();
  }
  /** What serialport does for a vanished device: "close" carrying the error. */
  closeWith(err: Error): void {
    this.isOpen = false;
    (this.handlers.get("close") as ((e: Error) => void) | undefined)?.(err);
  }
}

describe("serial line: the socket's write timing", () => {
  const line = {
    path: "/dev/fake",
    baudRate: 9600,
    dataBits: 8 as const,
    parity: "even" as const,
    stopBits: 1 as const,
    quietBeforeWriteMs: 4,
  };

  function open(clock: ManualClock): {
    port: FakePort;
    events: string[];
    write(b: number[]): void;
    destroy(): void;
  } {
    const events: string[] = [];
    const made: { port?: FakePort } = {};
    class Port extends FakePort {
      constructor() {
        super(clock);
        made.port = this;
      }
    }
    const socket = serialSocketFactory(line, { clock, presenceCheckMs: 0, port: Port })({
      connect: () => events.push("connect"),
      data: () => events.push("data"),
      close: (r) => events.push(`close: ${r}`),
    });
    assert.ok(made.port);
    return {
      port: made.port,
      events,
      write: (b) => socket.write(Uint8Array.from(b)),
      destroy: () => socket.destroy(),
    };
  }

  it("waits the quiet gap after opening, after its own frame has left, and after the last octet in", () => {
    const clock = new ManualClock(1000);
    const s = open(clock);
    s.write([1, 2, 3]);
    assert.equal(s.port.writes.length, 0, "nothing is written before the port is open");
    s.port.finishOpen();
    assert.deepEqual(s.events, ["connect"]);
    assert.equal(s.port.writes.length, 0, "the line must first be quiet for the gap");
    clock.advance(3);
    assert.equal(s.port.writes.length, 0);
    clock.advance(1);
    assert.deepEqual(
      s.port.writes.map((w) => [w.at, [...w.bytes]]),
      [[1004, [1, 2, 3]]],
    );
    // The next frame waits until the first is on the wire (3 octets of 11 bits) and then the gap.
    s.write([4]);
    const onWire = 3 * characterTimeMs(line);
    clock.advance(Math.ceil(onWire + 4) - 1);
    assert.equal(s.port.writes.length, 1);
    // An octet in restarts the quiet gap.
    s.port.emit("data", Buffer.from([9]));
    assert.deepEqual(s.events, ["connect", "data"]);
    clock.advance(3);
    assert.equal(s.port.writes.length, 1);
    clock.advance(1);
    assert.equal(s.port.writes.length, 2);
    assert.deepEqual([...s.port.writes[1].bytes], [4]);
    s.destroy();
    assert.equal(s.port.isOpen, false);
    assert.equal(clock.pending, 0);
  });

  it("closes with the reason, whether the close carries the error or the error came before it", () => {
    const clock = new ManualClock(1000);
    const destroyed = open(clock);
    destroyed.port.finishOpen();
    destroyed.port.failAndClose(new Error("EIO: i/o error, read"));
    assert.deepEqual(destroyed.events, [
      "connect",
      "close: serial port /dev/fake closed (EIO: i/o error, read)",
    ]);
    const vanished = open(clock);
    vanished.port.finishOpen();
    vanished.port.closeWith(new Error("ENXIO"));
    assert.deepEqual(vanished.events, ["connect", "close: serial port /dev/fake is gone (ENXIO)"]);
  });

  it("reports a missing serialport package as its close reason", async () => {
    const events: string[] = [];
    serialSocketFactory(line, { port: null })({
      connect: () => events.push("connect"),
      data: () => events.push("data"),
      close: (r) => events.push(r),
    });
    await Promise.resolve();
    assert.deepEqual(events, [SERIAL_NOT_INSTALLED]);
    assert.match(SERIAL_NOT_INSTALLED, /serial support not installed/);
  });
});
