/**
 * A small TCP server for simulators: one handler per accepted connection, bytes in, bytes out, and a
 * `close()` that destroys every open connection before closing the listener — nothing outlives it.
 * Protocol-agnostic, like the client connection.
 */
import net from "node:net";

export interface ServerPeer {
  /** "address:port" of the client, for logs and status. */
  readonly remote: string;
  write(bytes: Uint8Array): void;
  /** Drop this connection. */
  close(): void;
}

export interface PeerHandler {
  data(bytes: Buffer): void;
  /** The connection is gone (either side). */
  closed?(): void;
}

export interface TcpServerOptions {
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly onConnection: (peer: ServerPeer) => PeerHandler;
  /** Refuse connections beyond this many at once. Default 64. */
  readonly maxConnections?: number;
}

export interface TcpServerHandle {
  readonly port: number;
  readonly connections: number;
  close(): Promise<void>;
}

export async function listenTcp(opts: TcpServerOptions): Promise<TcpServerHandle> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    const peer: ServerPeer = {
      remote: `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`,
      write: (bytes) => {
        if (!socket.destroyed) socket.write(bytes);
      },
      close: () => socket.destroy(),
    };
    const handler = opts.onConnection(peer);
    socket.on("data", (bytes: Buffer) => handler.data(bytes));
    // A reset by the client is routine for a server; 'close' follows and does the cleanup.
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      sockets.delete(socket);
      handler.closed?.();
    });
  });
  server.maxConnections = opts.maxConnections ?? 64;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    get connections() {
      return sockets.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
