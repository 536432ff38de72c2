/**
 * A small UDP server for simulators (issue #20, Modbus UDP): each datagram goes to one handler with the
 * sender's address, and whatever the handler answers goes back to that sender as one datagram. There are
 * no connections, so nothing per client is held and nothing can be left half open: `close()` closes the
 * one socket and nothing outlives it. Protocol-agnostic, like the TCP server.
 */
import dgram from "node:dgram";
import net from "node:net";

export interface UdpServerOptions {
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** One datagram in; the datagrams to send back to its sender (none to stay silent). */
  readonly onDatagram: (datagram: Buffer, remote: string) => readonly Uint8Array[];
}

export interface UdpServerHandle {
  readonly port: number;
  /** Datagrams received since the server started (UDP has no connections to count). */
  readonly datagrams: number;
  close(): Promise<void>;
}

export async function listenUdp(opts: UdpServerOptions): Promise<UdpServerHandle> {
  const host = (opts.host ?? "127.0.0.1").replace(/^\[(.*)\]$/, "$1");
  const socket = dgram.createSocket(net.isIPv6(host) ? "udp6" : "udp4");
  let received = 0;
  let closed = false;
  socket.on("message", (datagram: Buffer, rinfo: dgram.RemoteInfo) => {
    received++;
    for (const reply of opts.onDatagram(datagram, `${rinfo.address}:${rinfo.port}`)) {
      // A send that fails (the sender went away) concerns that sender only; the server goes on.
      socket.send(reply, rinfo.port, rinfo.address, () => undefined);
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(opts.port, host, () => {
      socket.off("error", reject);
      resolve();
    });
  });
  // After binding, an error (an ICMP report about an earlier reply) is about one sender, not the server.
  socket.on("error", () => undefined);
  const port = socket.address().port;
  return {
    port,
    get datagrams() {
      return received;
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        closed = true;
        socket.close(() => resolve());
      }),
  };
}
