/**
 * A Modbus device for the scale-out test that remembers, per TCP connection, when each request arrived
 * and which reading it answered. Every request bumps a counter in HR0:uint32 (and HR2 = counter mod
 * 1000) before it is answered, so every poll yields a new value (the deadband never hides one) and each
 * stored sample names exactly the request that produced it.
 */
import { ModbusServerCore } from "../../../src/protocols/modbus/server";
import { listenTcp, type TcpServerHandle } from "../../../src/transport/tcp-server";

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

export class RecordingSimulator {
  readonly connections: ConnectionRecord[] = [];
  private readonly core = new ModbusServerCore({
    units: [1],
    sizes: { coils: 8, discreteInputs: 8, holdingRegisters: 8, inputRegisters: 8 },
    unknownUnit: "silent",
  });
  private handle: TcpServerHandle | undefined;
  private seq = 0;

  async listen(): Promise<number> {
    this.handle = await listenTcp({
      port: 0,
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
            const out = framing.onData(bytes);
            // The driver keeps one request in flight per device, so one segment holds one request;
            // were there two, both would carry this seq and the loss check would flag the second.
            for (let i = 0; i < out.replies.length; i++) conn.requests.push({ at, seq });
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
