/**
 * A Modbus serial line's settings (issue #20), read once for the device node, the simulator node and the
 * registry alike: port path, baud, data bits, parity, stop bits and the RS-485 turnaround delay. Empty
 * cells mean the defaults of Modbus over Serial Line §2.5: 19200 baud, even parity, one stop bit, and 8
 * data bits for RTU or 7 for ASCII. Here the framing's timing is joined to the line: RTU keeps its 3.5-character silence
 * (codec/rtu.ts) before every frame it sends; ASCII is delimited and needs none.
 */
import { DataCollError } from "../errors";
import { wholeSetting } from "../settings";
import { rtuInterFrameSilenceMs } from "../../protocols/modbus/codec/rtu";
import type { SerialLineOptions, SerialParity } from "../../transport/serial-port";

export interface SerialLineSettings {
  readonly path: string;
  readonly baudRate: number;
  readonly dataBits: 7 | 8;
  readonly parity: SerialParity;
  readonly stopBits: 1 | 2;
  /** Extra quiet time, ms, after the line was last busy before we send: an RS-485 adapter's turnaround. */
  readonly turnaroundMs: number;
}

export interface RawSerialLineSettings {
  readonly serialPort?: unknown;
  readonly baudRate?: unknown;
  readonly dataBits?: unknown;
  readonly parity?: unknown;
  readonly stopBits?: unknown;
  readonly turnaround?: unknown;
}

/** The rates a UART and the serialport package offer; the editor lists the same. */
export const BAUD_RATES: readonly number[] = [
  1200, 2400, 4800, 9600, 14400, 19200, 38400, 57600, 115200, 230400,
];

export function parseSerialLine(
  raw: RawSerialLineSettings,
  framing: "serial-rtu" | "serial-ascii" = "serial-rtu",
): SerialLineSettings {
  const path = typeof raw.serialPort === "string" ? raw.serialPort.trim() : "";
  // A device path or a Windows COM name; nothing that a shell or URL would read another way matters
  // here (the path goes to open(2) only), but an empty or absurd one is a typing mistake to name.
  if (path === "" || path.length > 255 || /[\0\r\n]/.test(path)) {
    throw new DataCollError(
      "invalid",
      "serial port must be a device path such as /dev/ttyUSB0",
      "serialPort",
    );
  }
  const baudRate = wholeSetting(raw.baudRate, "baudRate", 19200, 50, 4_000_000);
  const dataBits = wholeSetting(raw.dataBits, "dataBits", framing === "serial-ascii" ? 7 : 8, 7, 8) as 7 | 8;
  const parity = raw.parity === undefined || raw.parity === "" ? "even" : raw.parity;
  if (parity !== "none" && parity !== "even" && parity !== "odd") {
    throw new DataCollError("invalid", 'parity must be "none", "even" or "odd"', "parity");
  }
  const stopBits = wholeSetting(raw.stopBits, "stopBits", 1, 1, 2) as 1 | 2;
  const turnaroundMs = wholeSetting(raw.turnaround, "turnaround", 0, 0, 10_000);
  return { path, baudRate, dataBits, parity, stopBits, turnaroundMs };
}

/** What the transport needs: the line's settings and the quiet gap before each write. */
export function serialLineOptions(
  s: SerialLineSettings,
  framing: "serial-rtu" | "serial-ascii",
): SerialLineOptions {
  const silence = framing === "serial-rtu" ? rtuInterFrameSilenceMs(s.baudRate) : 0;
  return {
    path: s.path,
    baudRate: s.baudRate,
    dataBits: s.dataBits,
    parity: s.parity,
    stopBits: s.stopBits,
    quietBeforeWriteMs: silence + s.turnaroundMs,
  };
}
