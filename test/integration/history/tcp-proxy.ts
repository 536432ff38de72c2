/**
 * A TCP proxy the test controls, to cut MySQL away from the writer without touching the shared server:
 * it listens on a spare port and forwards to the target; `cut()` closes every connection and refuses new
 * ones (accepts and closes at once, as a dead link or a crashed server looks to the client), `restore()`
 * forwards again. `stall()` keeps every connection open but lets no byte through either way, as a
 * network black hole does; `restore()` ends that too.
 */
import net from "node:net";

export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private isCut = false;
  private stalled = false;
  /** Connections accepted while forwarding, over the proxy's life. */
  accepted = 0;
  /** Connections turned away while cut: each is one attempt by the client to reach the server. */
  refused = 0;
  /** Bytes from clients dropped by a stall: a test waits on it to know a statement went into the stall. */
  swallowed = 0;

  constructor(
    private readonly targetPort: number,
    private readonly targetHost = "127.0.0.1",
  ) {}

  /** Listen on a port the OS picks; resolves to it. */
  async start(): Promise<number> {
    const server = net.createServer((client) => this.onClient(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const addr = server.address();
    if (addr === null || typeof addr === "string") throw new Error("the proxy has no TCP address");
    return addr.port;
  }

  cut(): void {
    this.isCut = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  stall(): void {
    this.stalled = true;
  }

  restore(): void {
    this.isCut = false;
    this.stalled = false;
  }

  get open(): number {
    return this.sockets.size;
  }

  async stop(): Promise<void> {
    this.cut();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private onClient(client: net.Socket): void {
    if (this.isCut) {
      this.refused++;
      client.destroy();
      return;
    }
    this.accepted++;
    const upstream = net.connect(this.targetPort, this.targetHost);
    this.sockets.add(client);
    this.sockets.add(upstream);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    // Either side failing or ending ends the pair, as a real broken link would.
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);
    // Bytes that arrive during a stall are dropped, not held: the link is gone while it lasts.
    client.on("data", (bytes: Buffer) => {
      if (!this.stalled) upstream.write(bytes);
      else this.swallowed += bytes.length;
    });
    upstream.on("data", (bytes: Buffer) => {
      if (!this.stalled) client.write(bytes);
    });
  }
}
