/**
 * A UDP "connection" behind the same small socket interface as TCP (socket.ts), so the reconnecting
 * connection and the client session drive Modbus UDP without knowing it is not a stream (issue #20).
 *
 * The socket is connected to its one peer (`dgram` connect): the kernel then delivers only that peer's
 * datagrams, and an ICMP port-unreachable comes back as an error on the socket, which is reported as
 * `close` so the connection backs off and tries again as it would after a refused TCP connect. Each
 * datagram received is one `data` event and each `write` is one datagram: a datagram is one ADU, so
 * writes are never batched together as the TCP socket does.
 *
 * Nothing is sent to say hello, so `connect` means only that the socket is bound and aimed; whether the
 * peer is there is learnt from replies (the session's timeouts and retries stand in for TCP's).
 * `destroy()` closes the socket, so no handle outlives the connection.
 */
import dgram from "node:dgram";
import net from "node:net";
import type { SocketFactory } from "./socket";

export interface UdpSocketOptions {
  readonly host: string;
  readonly port: number;
}

/** Connected UDP sockets to one endpoint; IPv6 when the host is an IPv6 address literal. */
export function udpSocketFactory(opts: UdpSocketOptions): SocketFactory {
  return (events) => {
    let done = false;
    let ready = false;
    const host = opts.host.replace(/^\[(.*)\]$/, "$1");
    const socket = dgram.createSocket(net.isIPv6(host) ? "udp6" : "udp4");
    const finish = (reason: string): void => {
      if (done) return;
      done = true;
      socket.close();
      events.close(reason);
    };
    socket.on("error", (err: Error) => {
      finish(`UDP to ${opts.host}:${opts.port}: ${err.message}`);
    });
    socket.on("message", (datagram: Buffer) => {
      if (!done) events.data(datagram);
    });
    socket.connect(opts.port, host, () => {
      if (done) return;
      ready = true;
      events.connect();
    });
    return {
      write(bytes: Uint8Array): void {
        if (done || !ready) return;
        // A send error (port unreachable, no route) arrives here rather than on 'error'.
        socket.send(bytes, (err) => {
          if (err) finish(`UDP to ${opts.host}:${opts.port}: ${err.message}`);
        });
      },
      destroy(): void {
        if (done) return;
        done = true;
        socket.close();
      },
    };
  };
}
