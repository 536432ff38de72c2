/**
 * The socket a connection drives, as a small interface so the connection never creates sockets itself:
 * production passes `tcpSocketFactory`, tests pass an in-memory pair (memory-socket.ts).
 *
 * Contract of a socket made by a factory:
 * - it starts connecting at once and later reports exactly one of `connect` or `close`;
 * - after `connect` it may report `data` any number of times, then `close` once;
 * - after `close`, or after the owner called `destroy()`, it reports nothing more;
 * - `destroy()` releases every resource it holds (the OS socket, its timers) and may be called twice.
 */
import net from "node:net";

export interface SocketEvents {
  connect(): void;
  data(bytes: Buffer): void;
  /** The socket is gone: refused, reset, ended by the peer, or failed. `reason` is for people. */
  close(reason: string): void;
}

export interface TransportSocket {
  write(bytes: Uint8Array): void;
  destroy(): void;
}

export type SocketFactory = (events: SocketEvents) => TransportSocket;

export interface TcpSocketOptions {
  readonly host: string;
  readonly port: number;
  /** Disable Nagle: Modbus and IEC 104 frames are small and latency-bound. Default true. */
  readonly noDelay?: boolean;
  /** TCP keep-alive probe delay, ms; 0 disables. Default 10000, so a dead peer behind NAT is noticed. */
  readonly keepAliveMs?: number;
}

/** Sockets to one TCP endpoint. */
export function tcpSocketFactory(opts: TcpSocketOptions): SocketFactory {
  return (events) => {
    let done = false;
    const socket = net.connect({ host: opts.host, port: opts.port });
    socket.setNoDelay(opts.noDelay ?? true);
    const keepAlive = opts.keepAliveMs ?? 10000;
    if (keepAlive > 0) socket.setKeepAlive(true, keepAlive);
    let lastError: string | undefined;
    socket.on("connect", () => {
      if (!done) events.connect();
    });
    socket.on("data", (bytes: Buffer) => {
      if (!done) events.data(bytes);
    });
    // 'error' is always followed by 'close'; keep its text for the close report.
    socket.on("error", (err: Error) => {
      lastError = err.message;
    });
    socket.on("close", () => {
      if (done) return;
      done = true;
      events.close(lastError ?? `connection to ${opts.host}:${opts.port} closed by the peer`);
    });
    // Writes made in one turn of the event loop leave in one system call: they are collected and sent
    // as one buffer once the current callbacks and promise continuations have run. A pipelining client
    // whose replies arrive together sends its next requests from several promise continuations; without
    // this each was its own write(2), the largest cost of a client on loopback. (One concatenated write
    // rather than cork/uncork: the stream's corked path keeps a record and a callback per chunk and
    // sends them with writev, more work per request than copying a few dozen octets.)
    let waiting: Uint8Array[] = [];
    const flush = (): void => {
      const chunks = waiting;
      waiting = [];
      if (done || socket.destroyed) return;
      socket.write(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    };
    return {
      write(bytes: Uint8Array): void {
        if (done || socket.destroyed) return;
        if (waiting.length === 0) process.nextTick(flush);
        waiting.push(bytes);
      },
      destroy(): void {
        done = true;
        socket.destroy();
      },
    };
  };
}
