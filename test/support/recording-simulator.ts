/**
 * A Modbus device for the scale-out test and the soak that remembers, per TCP connection, when each
 * request arrived and which reading it answered. Every request bumps a counter in HR0:uint32 (HR2 =
 * counter mod 1000, HR3 = counter mod 100: a saw tooth for limit checks) before it is answered, so every
 * poll yields a new value (the deadband never hides one) and each stored sample names exactly the
 * request that produced it. `firstSeq` lets a restarted device go on where it stopped; `onRequest`
 * hears every answered request (the soak streams them to its driver).
 */
import { ModbusServerCore } from "../../src/protocols/modbus/server";
import { listenTcp, type TcpServerHandle } from "../../src/transport/tcp-server";

/** Epoch milliseconds with sub-millisecond resolution: two requests in one millisecond stay ordered. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

export interface RequestRecord {
  readonly at: number;
  readonly seq: number;
}

export interface ConnectionRecord {
  readonly id: number;
  readonly opened: number;
  closed: number | undefined;
  readonly requests: RequestRecord[];
}

export interface RecordingOptions {
  /** The counter's value before the first request (the first answer is `firstSeq + 1`). */
  readonly firstSeq?: number;
  /** `connection` numbers the TCP connections in the order they opened (two pollers show as two). */
  readonly onRequest?: (seq: number, at: number, connection: number) => void;
  /** Keep per-connection request records (the default); off for long runs that only stream them. */
  readonly keepRecords?: boolean;
}

export class RecordingSimulator {
  readonly connections: ConnectionRecord[] = [];
  private readonly core = new ModbusServerCore({
    units: [1],
    sizes: { coils: 8, discreteInputs: 8, holdingRegisters: 8, inputRegisters: 8 },
    unknownUnit: "silent",
  });
  private handle: TcpServerHandle | undefined;
  private seq: number;

  constructor(private readonly opts: RecordingOptions = {}) {
    this.seq = opts.firstSeq ?? 0;
  }

  /** Listen on `port` (0: a free one); resolves to the port. */
  async listen(port = 0): Promise<number> {
    this.handle = await listenTcp({
      port,
      onConnection: (peer) => {
        const conn: ConnectionRecord = {
          id: this.connections.length,
          opened: preciseNow(),
          closed: undefined,
          requests: [],
        };
        this.connections.push(conn);
        const framing = this.core.connection();
        return {
          data: (bytes) => {
            const at = preciseNow();
            const seq = ++this.seq;
            const hr = this.core.unit(1).holdingRegisters;
            hr[0] = (seq >>> 16) & 0xffff;
            hr[1] = seq & 0xffff;
            hr[2] = seq % 1000;
            hr[3] = seq % 100;
            const out = framing.onData(bytes);
            // The driver keeps one request in flight per device, so one segment holds one request;
            // were there two, both would carry this seq and the loss check would flag the second.
            for (let i = 0; i < out.replies.length; i++) {
              if (this.opts.keepRecords !== false) conn.requests.push({ at, seq });
              this.opts.onRequest?.(seq, at, conn.id);
            }
            if (out.replies.length > 0) peer.write(Buffer.concat(out.replies));
            if (out.close !== undefined) peer.close();
          },
          closed: () => {
            conn.closed = preciseNow();
          },
        };
      },
    });
    return this.handle.port;
  }

  /** The connection that answered request `seq`. */
  connectionOf(seq: number): ConnectionRecord | undefined {
    for (const c of this.connections) if (c.requests.some((r) => r.seq === seq)) return c;
    return undefined;
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    await h?.close();
  }
}
