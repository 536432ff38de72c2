/**
 * An in-memory stand-in for the network, for tests of anything built on `Connection`: every socket the
 * factory makes becomes a `MemoryLink` the test drives by hand — accept or refuse the connection, send
 * bytes to the client, see what the client wrote, drop the link. Nothing is asynchronous and nothing
 * touches the OS, so a test on a fake clock is fully deterministic.
 */
import type { SocketEvents, SocketFactory, TransportSocket } from "./socket";

export type MemoryLinkState = "connecting" | "open" | "closed";

export class MemoryLink {
  private linkState: MemoryLinkState = "connecting";
  /** Everything the client wrote, in order. */
  readonly written: Buffer[] = [];
  /** Called with each write of the client while the link is open (a fake server's input). */
  onWrite: ((bytes: Buffer) => void) | undefined;
  /** True once the client called destroy(). */
  destroyedByClient = false;

  constructor(private readonly events: SocketEvents) {}

  get state(): MemoryLinkState {
    return this.linkState;
  }

  accept(): void {
    if (this.linkState !== "connecting") throw new Error(`cannot accept a link that is ${this.linkState}`);
    this.linkState = "open";
    this.events.connect();
  }

  refuse(reason = "connection refused"): void {
    if (this.linkState !== "connecting") throw new Error(`cannot refuse a link that is ${this.linkState}`);
    this.linkState = "closed";
    this.events.close(reason);
  }

  /** Bytes from the server to the client. */
  send(bytes: Uint8Array): void {
    if (this.linkState !== "open") throw new Error(`cannot send on a link that is ${this.linkState}`);
    this.events.data(Buffer.from(bytes));
  }

  /** The server side goes away. */
  drop(reason = "connection reset by peer"): void {
    if (this.linkState === "closed") return;
    this.linkState = "closed";
    this.events.close(reason);
  }

  /** @internal the client side. */
  clientSocket(): TransportSocket {
    return {
      write: (bytes: Uint8Array): void => {
        if (this.linkState !== "open") return;
        const copy = Buffer.from(bytes);
        this.written.push(copy);
        this.onWrite?.(copy);
      },
      destroy: (): void => {
        this.destroyedByClient = true;
        this.linkState = "closed";
      },
    };
  }
}

export class MemoryNetwork {
  /** Every link ever made, oldest first. */
  readonly links: MemoryLink[] = [];
  /** Called for each new link, e.g. to accept it at once. */
  onLink: ((link: MemoryLink) => void) | undefined;

  readonly factory: SocketFactory = (events) => {
    const link = new MemoryLink(events);
    this.links.push(link);
    const socket = link.clientSocket();
    // Deferred so the connection has stored the socket before it hears from it (the factory contract).
    if (this.onLink !== undefined) {
      const onLink = this.onLink;
      queueMicrotask(() => onLink(link));
    }
    return socket;
  };

  get last(): MemoryLink {
    const link = this.links[this.links.length - 1];
    if (link === undefined) throw new Error("no link was made");
    return link;
  }
}
