/**
 * A serial port as a `TransportSocket` (socket.ts), so the reconnecting connection, the client session
 * and the server core run over RS-232/RS-485 unchanged (issue #20): opening the port is "connect", a
 * port that fails or disappears (a USB adapter unplugged, a pty closed) is "close", and the connection
 * reopens it after the same backoff as a TCP link.
 *
 * The port comes from the `serialport` npm package, an OPTIONAL dependency: a TCP-only install has no
 * native code, so the package is loaded on first use and its absence is reported as a plain sentence
 * (`SERIAL_NOT_INSTALLED`) on the link's status instead of a crash at start-up.
 *
 * What a TCP socket does not have is the line's timing. A device on a multi-drop line only listens after
 * a quiet gap (RTU: 3.5 characters, Modbus over Serial Line §2.5.1.1), and an RS-485 transceiver needs
 * time to turn the line around between receiving and sending. So every write waits until the line has
 * been quiet for `quietBeforeWriteMs` since the last octet went out or came in; the caller computes that
 * gap from its framing and baud rate (codec/rtu.ts) plus any turnaround delay. The transport itself
 * knows no protocol.
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { Clock, TimerHandle } from "../protocols/clock";
import type { SocketFactory, TransportSocket } from "./socket";

export type SerialParity = "none" | "even" | "odd";

export interface SerialLineOptions {
  /** The device, e.g. /dev/ttyUSB0, /dev/serial/by-id/..., COM3. */
  readonly path: string;
  readonly baudRate: number;
  readonly dataBits: 7 | 8;
  readonly parity: SerialParity;
  readonly stopBits: 1 | 2;
  /** Quiet time on the line before each write, ms (inter-frame silence plus RS-485 turnaround). */
  readonly quietBeforeWriteMs: number;
}

/** What the status and errors say when the optional package is not there. */
export const SERIAL_NOT_INSTALLED =
  'serial support not installed: install the optional "serialport" package (npm install serialport in your Node-RED user directory)';

/** The few calls of serialport's SerialPort class we use; typed here so the package stays optional. */
export interface PortLike {
  open(cb: (err?: Error | null) => void): void;
  write(bytes: Buffer, cb?: (err: Error | null | undefined) => void): boolean;
  close(cb?: (err: Error | null) => void): void;
  readonly isOpen: boolean;
  on(event: "data", fn: (bytes: Buffer) => void): void;
  /** serialport passes the error of a vanished device; a stream destroyed with an error passes nothing. */
  on(event: "close", fn: (err?: Error | null) => void): void;
  on(event: "error", fn: (err: Error) => void): void;
}

export interface PortConstructor {
  new (opts: {
    path: string;
    baudRate: number;
    dataBits: number;
    parity: string;
    stopBits: number;
    autoOpen: false;
    lock: boolean;
  }): PortLike;
}

interface PortListing {
  readonly path: string;
  readonly manufacturer?: string;
  readonly serialNumber?: string;
}

interface SerialPortModule {
  readonly SerialPort: PortConstructor & { list(): Promise<PortListing[]> };
}

const load = createRequire(__filename);
let cached: SerialPortModule | null | undefined;

/** The serialport package, or undefined when it is not installed (or its native part does not load). */
export function loadSerialPort(): SerialPortModule | undefined {
  if (cached === undefined) {
    try {
      const mod = load("serialport") as Partial<SerialPortModule>;
      cached = typeof mod.SerialPort === "function" ? (mod as SerialPortModule) : null;
    } catch {
      cached = null;
    }
  }
  return cached ?? undefined;
}

/** Octet time on the line, ms: start bit, data bits, parity bit if any, stop bits. */
export function characterTimeMs(
  o: Pick<SerialLineOptions, "baudRate" | "dataBits" | "parity" | "stopBits">,
): number {
  return ((1 + o.dataBits + (o.parity === "none" ? 0 : 1) + o.stopBits) * 1000) / o.baudRate;
}

/** A monotonic sub-millisecond clock: the line's gaps are 1.75 ms and less than Date.now's resolution. */
export const lineClock: Clock = {
  now: () => performance.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface SerialSocketDeps {
  readonly clock?: Clock;
  /**
   * How often an open port's device path is checked to still exist, ms; 0 never. serialport reports a
   * vanished device when a read fails, but a port that is only written to, or whose read the kernel
   * leaves pending (seen with ptys), would otherwise look open for ever. Default 1000.
   */
  readonly presenceCheckMs?: number;
  /**
   * The port class; default the installed serialport package's. Tests of the timing pass a fake, and
   * `null` stands for the package not being installed.
   */
  readonly port?: PortConstructor | null;
}

/** Sockets that are one serial port each; one open at a time is the caller's business (one link). */
export function serialSocketFactory(opts: SerialLineOptions, deps: SerialSocketDeps = {}): SocketFactory {
  const clock = deps.clock ?? lineClock;
  const charMs = characterTimeMs(opts);
  return (events) => {
    let done = false;
    let opened = false;
    let timer: TimerHandle | undefined;
    let presence: TimerHandle | undefined;
    // When the line is next quiet enough to send: after the last octet in or out, plus the gap.
    let lineBusyUntil = clock.now();
    let waiting: Buffer[] = [];
    const finish = (reason: string): void => {
      if (done) return;
      stopTimers();
      // The port may still hold its descriptor (a device gone under it): release it.
      if (held.port?.isOpen === true) held.port.close();
      events.close(reason);
    };
    const stopTimers = (): void => {
      done = true;
      if (timer !== undefined) clock.clearTimer(timer);
      if (presence !== undefined) clock.clearTimer(presence);
      timer = undefined;
      presence = undefined;
      waiting = [];
    };
    const checkEvery = deps.presenceCheckMs ?? 1000;
    const watch = (): void => {
      presence = undefined;
      if (done) return;
      if (!fs.existsSync(opts.path)) {
        finish(`serial port ${opts.path} is gone (the device no longer exists)`);
        return;
      }
      presence = clock.setTimer(watch, checkEvery);
    };
    // The port, once made; `finish` may run before (package missing).
    const held: { port?: PortLike } = {};
    const Port = deps.port === undefined ? loadSerialPort()?.SerialPort : deps.port;
    if (Port === undefined || Port === null) {
      // Reported after the factory returns, as a refused TCP connect is.
      queueMicrotask(() => finish(SERIAL_NOT_INSTALLED));
      return { write: () => undefined, destroy: () => void (done = true) };
    }
    const open = new Port({
      path: opts.path,
      baudRate: opts.baudRate,
      dataBits: opts.dataBits,
      parity: opts.parity,
      stopBits: opts.stopBits,
      autoOpen: false,
      // An exclusive lock: a second program on the same line would interleave frames with ours.
      lock: true,
    });
    held.port = open;
    let lastError: string | undefined;
    open.on("error", (err) => {
      lastError = err.message;
    });
    open.on("data", (bytes) => {
      if (done) return;
      lineBusyUntil = Math.max(lineBusyUntil, clock.now() + opts.quietBeforeWriteMs);
      events.data(bytes);
    });
    open.on("close", (err) => {
      // serialport reports a vanished device (EIO, ENXIO) as a close carrying an error; a port destroyed
      // with an error closes with none (Node's stream), its error told by "error" before. Reading
      // `message` of that missing argument crashed Node-RED (a CI run, the serial example's pty gone).
      finish(
        err instanceof Error
          ? `serial port ${opts.path} is gone (${err.message})`
          : `serial port ${opts.path} closed${lastError === undefined ? "" : ` (${lastError})`}`,
      );
    });
    open.open((err) => {
      // Success is told as null; an absent argument is read the same, never as an error to read.
      if (done) {
        if (!(err instanceof Error)) open.close();
        return;
      }
      if (err instanceof Error) {
        finish(`serial port ${opts.path} cannot be opened: ${err.message}`);
        return;
      }
      opened = true;
      if (checkEvery > 0) presence = clock.setTimer(watch, checkEvery);
      lineBusyUntil = clock.now() + opts.quietBeforeWriteMs;
      events.connect();
      send();
    });
    const send = (): void => {
      timer = undefined;
      if (done || !opened || waiting.length === 0) return;
      const now = clock.now();
      if (now < lineBusyUntil) {
        timer = clock.setTimer(send, lineBusyUntil - now);
        return;
      }
      const bytes = waiting.length === 1 ? waiting[0] : Buffer.concat(waiting);
      waiting = [];
      open.write(bytes, (werr) => {
        // A write to a device that went away fails (EIO) before any read notices.
        if (werr) finish(`serial port ${opts.path} is gone (${werr.message})`);
      });
      // The line is busy while the frame is on the wire, then must stay quiet for the gap.
      lineBusyUntil = now + bytes.length * charMs + opts.quietBeforeWriteMs;
    };
    const socket: TransportSocket = {
      write(bytes: Uint8Array): void {
        if (done) return;
        waiting.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
        if (timer === undefined) send();
      },
      destroy(): void {
        if (done) return;
        stopTimers();
        if (open.isOpen) open.close();
      },
    };
    return socket;
  };
}

/**
 * The serial ports this machine has, for the editor's port list. serialport's own listing runs `udevadm`
 * on Linux and crashes the process where that program is missing (containers, minimal images), so on
 * Linux without it the ports are read from /dev instead: stable /dev/serial/by-id names first, then the
 * usual tty names of USB adapters, on-board UARTs and a Raspberry Pi's.
 */
export async function listSerialPorts(): Promise<readonly string[] | undefined> {
  const mod = loadSerialPort();
  if (mod === undefined) return undefined;
  if (process.platform !== "linux" || onPath("udevadm")) {
    const ports = await mod.SerialPort.list();
    return ports.map((p) => p.path);
  }
  const byId = readDir("/dev/serial/by-id").map((n) => path.join("/dev/serial/by-id", n));
  const ttys = readDir("/dev")
    .filter((n) => /^tty(USB|ACM|AMA|S|XRUSB|mxc)\d+$/.test(n))
    .map((n) => path.join("/dev", n));
  return [...byId, ...ttys];
}

function readDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  } catch {
    return [];
  }
}

function onPath(program: string): boolean {
  return (process.env.PATH ?? "")
    .split(path.delimiter)
    .some((dir) => dir !== "" && fs.existsSync(path.join(dir, program)));
}
