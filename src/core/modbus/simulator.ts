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
          for (const r of out.replies) peer.write(r);
          if (out.close !== undefined) peer.close();
        },
      };
    },
  });
}
