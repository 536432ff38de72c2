/**
 * A Modbus TCP peer that misbehaves on purpose, for the fault tests: plain node:net and our codec, so
 * each fault is a switch the test flips. Holding and input register `a` of unit `u` hold
 * `(u * 1000 + a + generation) & 0xffff`; with `counting` the generation goes up by one per answered
 * request, so every poll sees a new value (a poll node only reports values that moved).
 *
 * Faults:
 * - `silentUnits`: requests for these units are never answered (a dead unit behind a gateway);
 * - `holdMs(frame, n)`: answer the n-th request (0-based, over all connections) this many ms late;
 * - `garbage`: answer every request with bytes that are not Modbus at all.
 */
import net from "node:net";
import { MbapAssembler, encodeMbap, type MbapFrame } from "../../../src/protocols/modbus/codec/mbap";
import { decodeRequest, encodeReply, requestCount } from "../../../src/protocols/modbus/codec/pdu";
import { encodeException } from "../../../src/protocols/modbus/codec/exceptions";

export const GARBAGE = Buffer.from("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");

export function registerValue(unit: number, address: number, generation = 0): number {
  return (unit * 1000 + address + generation) & 0xffff;
}

export class FaultyPeer {
  silentUnits: ReadonlySet<number> = new Set();
  holdMs: (frame: MbapFrame, n: number) => number = () => 0;
  garbage = false;
  counting = false;
  /** Requests seen, over all connections. */
  requests = 0;
  generation = 0;
  private readonly sockets = new Set<net.Socket>();
  private readonly held = new Set<NodeJS.Timeout>();
  private readonly server = net.createServer((s) => this.accept(s));

  async listen(port = 0): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, "127.0.0.1", () => resolve());
    });
    return (this.server.address() as net.AddressInfo).port;
  }

  get connections(): number {
    return this.sockets.size;
  }

  async close(): Promise<void> {
    for (const t of this.held) clearTimeout(t);
    this.held.clear();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.on("error", () => socket.destroy());
    socket.on("close", () => this.sockets.delete(socket));
    const asm = new MbapAssembler();
    socket.on("data", (chunk: Buffer) => {
      const r = asm.push(chunk);
      for (const frame of r.frames) {
        const n = this.requests++;
        if (this.garbage) {
          socket.write(GARBAGE);
          continue;
        }
        if (this.silentUnits.has(frame.unitId)) continue;
        const reply = this.answer(frame);
        const hold = this.holdMs(frame, n);
        if (hold <= 0) {
          socket.write(reply);
          continue;
        }
        // The peer answering late on purpose (the fault it plays), not the test waiting for time.
        const t = setTimeout(() => {
          this.held.delete(t);
          if (!socket.destroyed) socket.write(reply);
        }, hold);
        this.held.add(t);
      }
      if (r.kind === "malformed") socket.destroy();
    });
  }

  private answer(frame: MbapFrame): Buffer {
    const r = decodeRequest(frame.pdu);
    if (r.kind === "exception") {
      return encodeMbap(frame.transactionId, frame.unitId, encodeException(r.functionCode, r.code));
    }
    const q = r.request;
    let pdu: Buffer;
    if (q.fn === "readHoldingRegisters" || q.fn === "readInputRegisters") {
      const g = this.counting ? this.generation++ : this.generation;
      const values = Array.from({ length: requestCount(q) }, (_, i) =>
        registerValue(frame.unitId, q.address + i, g),
      );
      pdu = encodeReply(q, values);
    } else if (q.fn === "readCoils" || q.fn === "readDiscreteInputs") {
      pdu = encodeReply(
        q,
        Array.from({ length: requestCount(q) }, (_, i) => (q.address + i) % 2 === 0),
      );
    } else {
      pdu = encodeReply(q);
    }
    return encodeMbap(frame.transactionId, frame.unitId, pdu);
  }
}
