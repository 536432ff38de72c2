/**
 * A Modbus TCP simulator on a real port: the strict server core (src/protocols/modbus/server.ts) behind
 * the generic TCP server helper. Used by the simulator node, examples and loopback tests.
 */
import { ModbusServerCore } from "../../protocols/modbus/server";
import { listenTcp, type TcpServerHandle } from "../../transport/tcp-server";

export interface SimulatorOptions {
  readonly host?: string;
  /** 0 picks a free port (see the handle's `port`). */
  readonly port: number;
  readonly maxConnections?: number;
}

export function startModbusSimulator(
  core: ModbusServerCore,
  opts: SimulatorOptions,
): Promise<TcpServerHandle> {
  return listenTcp({
    host: opts.host,
    port: opts.port,
    maxConnections: opts.maxConnections,
    onConnection: (peer) => {
      const conn = core.connection();
      return {
        data: (bytes) => {
          const out = conn.onData(bytes);
          // One write for all the replies to one segment: a pipelining client sends several per segment.
          if (out.replies.length > 0)
            peer.write(out.replies.length === 1 ? out.replies[0] : Buffer.concat(out.replies));
          if (out.close !== undefined) peer.close();
        },
      };
    },
  });
}
