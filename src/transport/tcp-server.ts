/**
 * A small TCP server for simulators: one handler per accepted connection, bytes in, bytes out, and a
 * `close()` that destroys every open connection before closing the listener — nothing outlives it.
 * Protocol-agnostic, like the client connection.
 *
 * A simulator must keep serving however its clients behave (issue #21): a client that connects and then
 * sends nothing, or sends half a frame and stops, must not hold a slot for ever. So the connections live
 * in a `PeerPool` that
 * - closes a connection that has received nothing for `idleTimeoutMs`;
 * - closes a connection whose handler has held the start of one frame for `partialFrameTimeoutMs`
 *   (the handler says which frame is pending, see `PeerHandler.pendingFrame`);
 * - when all `maxConnections` slots are taken, closes the connection that has been quiet longest to
 *   admit the new client, instead of refusing it. A simulator's clients are pollers and test tools; a
 *   new one is far more likely to be wanted than the one that has said nothing for the longest time.
 * Every deadline is kept on one timer of an injected clock, so the pool is tested on a fake clock and
 * fake sockets; `listenTcp` only wires Node's sockets to it.
 */
import net from "node:net";
import type { Clock, TimerHandle } from "../protocols/clock";
import { LATE_TIMER_MS, systemClock } from "./connection";

export interface ServerPeer {
  /** "address:port" of the client, for logs and status. */
  readonly remote: string;
  write(bytes: Uint8Array): void;
  /** Drop this connection. */
  close(): void;
}

export interface PeerHandler {
  data(bytes: Buffer): void;
  /** The connection is gone (either side); `reason` says why, for logs. */
  closed?(reason: string): void;
  /**
   * The incomplete frame the handler holds, as any value that changes when a new frame starts (the frame
   * assembler's `pendingFrame`), or undefined when it holds none. Asked after every `data`; without it
   * the partial-frame timeout does not apply.
   */
  pendingFrame?(): number | undefined;
}

export interface PeerLimits {
  /** Connections open at once; a new client beyond it evicts the longest idle one. Default 64. */
  readonly maxConnections?: number;
  /** Close a connection that received nothing for this long, ms; 0 (the default) never does. */
  readonly idleTimeoutMs?: number;
  /** Close a connection holding the start of one frame for this long, ms; 0 (the default) never does. */
  readonly partialFrameTimeoutMs?: number;
}

export interface TcpServerOptions extends PeerLimits {
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly onConnection: (peer: ServerPeer) => PeerHandler;
  /** The clock the pool's deadlines run on. Default the wall clock. */
  readonly clock?: Clock;
}

export interface TcpServerHandle {
  readonly port: number;
  readonly connections: number;
  close(): Promise<void>;
}

/** The socket side of one accepted connection, as the pool needs it: a net.Socket, or a test's fake. */
export interface RawPeer {
  readonly remote: string;
  write(bytes: Uint8Array): void;
  /** Release the socket; its close is reported (or not) through the `PooledPeer`, which ignores it. */
  destroy(): void;
}

/** What the socket side reports into the pool for one connection. */
export interface PooledPeer {
  data(bytes: Buffer): void;
  /** The socket is gone (reset, ended, or destroyed by the pool); reported once, later calls ignored. */
  closed(reason: string): void;
}

interface Entry {
  readonly raw: RawPeer;
  /** Set once `onConnection` returns; a no-op handler until then. */
  handler: PeerHandler;
  /** When the connection last received octets (or was accepted). */
  lastReceived: number;
  /** The pending frame the handler reported, and since when; undefined when none is pending. */
  partial: { readonly frame: number; readonly since: number } | undefined;
  open: boolean;
}

export const DEFAULT_MAX_CONNECTIONS = 64;

/** Checks a limit the way every option is checked: the sentence names the setting and the rule. */
function checkLimits(limits: PeerLimits): void {
  const max = limits.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  if (!Number.isInteger(max) || max < 1)
    throw new RangeError(`maximum connections ${max} must be a whole number of at least 1`);
  for (const [name, v] of [
    ["idle timeout", limits.idleTimeoutMs ?? 0],
    ["partial frame timeout", limits.partialFrameTimeoutMs ?? 0],
  ] as const) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} ${v} ms must be 0 (off) or positive`);
  }
}

export class PeerPool {
  private readonly entries = new Set<Entry>();
  private readonly max: number;
  private readonly idleMs: number;
  private readonly partialMs: number;
  private timer: TimerHandle | undefined;
  private timerAt: number | undefined;
  /** The timer fired late and was put off one turn (see onTimer); the next firing judges the deadlines. */
  private putOff = false;
  private closedAll = false;

  constructor(
    private readonly onConnection: (peer: ServerPeer) => PeerHandler,
    limits: PeerLimits = {},
    private readonly clock: Clock = systemClock,
  ) {
    checkLimits(limits);
    this.max = limits.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    this.idleMs = limits.idleTimeoutMs ?? 0;
    this.partialMs = limits.partialFrameTimeoutMs ?? 0;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Take a new connection, first closing the longest idle one when every slot is taken. */
  admit(raw: RawPeer): PooledPeer {
    if (this.closedAll) {
      raw.destroy();
      return { data: () => undefined, closed: () => undefined };
    }
    while (this.entries.size >= this.max) {
      let oldest: Entry | undefined;
      for (const e of this.entries)
        if (oldest === undefined || e.lastReceived < oldest.lastReceived) oldest = e;
      if (oldest === undefined) break;
      const quiet = Math.max(0, Math.round((this.clock.now() - oldest.lastReceived) / 1000));
      this.drop(
        oldest,
        `closed after ${quiet} s with nothing received, to admit ${raw.remote}: all ${this.max} connections were taken`,
      );
    }
    const entry: Entry = {
      raw,
      handler: { data: () => undefined },
      lastReceived: this.clock.now(),
      partial: undefined,
      open: true,
    };
    const peer: ServerPeer = {
      remote: raw.remote,
      write: (bytes) => {
        if (entry.open) raw.write(bytes);
      },
      close: () => this.drop(entry, "closed by the server"),
    };
    this.entries.add(entry);
    entry.handler = this.onConnection(peer);
    this.armFor(entry);
    return {
      data: (bytes) => {
        if (!entry.open) return;
        const now = this.clock.now();
        entry.lastReceived = now;
        entry.handler.data(bytes);
        if (!entry.open) return;
        const frame = entry.handler.pendingFrame?.();
        if (frame === undefined) entry.partial = undefined;
        else if (entry.partial?.frame !== frame) entry.partial = { frame, since: now };
        this.armFor(entry);
      },
      closed: (reason) => this.drop(entry, reason),
    };
  }

  /** Close every connection and stop the timer; later connections are refused. */
  closeAll(): void {
    this.closedAll = true;
    for (const e of [...this.entries]) this.drop(e, "the server stopped");
    this.disarm();
  }

  private drop(entry: Entry, reason: string): void {
    if (!entry.open) return;
    entry.open = false;
    this.entries.delete(entry);
    entry.raw.destroy();
    entry.handler.closed?.(reason);
    if (this.entries.size === 0) this.disarm();
  }

  /** When `entry` must be closed unless it hears more, or undefined when nothing limits it. */
  private deadlineOf(entry: Entry): number | undefined {
    const idle = this.idleMs > 0 ? entry.lastReceived + this.idleMs : undefined;
    const partial =
      this.partialMs > 0 && entry.partial !== undefined ? entry.partial.since + this.partialMs : undefined;
    if (idle === undefined) return partial;
    return partial === undefined ? idle : Math.min(idle, partial);
  }

  // Deadlines only move later on data, except a newly pending frame's: one timer for the earliest is
  // kept while it is due no later than this entry's (it may fire early, finds nothing and re-arms), so
  // a busy connection costs no timer work per segment.
  private armFor(entry: Entry): void {
    const at = this.deadlineOf(entry);
    if (at === undefined || (this.timerAt !== undefined && this.timerAt <= at)) return;
    this.arm(at);
  }

  private arm(at: number): void {
    this.disarm();
    this.timerAt = at;
    this.timer = this.clock.setTimer(() => this.onTimer(), Math.max(0, at - this.clock.now()));
  }

  private disarm(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.timerAt = undefined;
    this.putOff = false;
  }

  private onTimer(): void {
    const armedFor = this.timerAt;
    this.timer = undefined;
    this.timerAt = undefined;
    const now = this.clock.now();
    // Late by LATE_TIMER_MS or more, the loop was busy and a client's octets may sit unread behind this
    // timer: wait one turn so they count before anyone is closed as silent or stuck mid-frame. Once only,
    // as in Connection.onTimer, so a loop that stays busy still closes. Set after arm(), which clears it.
    if (!this.putOff && armedFor !== undefined && now - armedFor >= LATE_TIMER_MS) {
      this.arm(now + 1);
      this.putOff = true;
      return;
    }
    this.putOff = false;
    let next: number | undefined;
    for (const e of [...this.entries]) {
      if (this.partialMs > 0 && e.partial !== undefined && now >= e.partial.since + this.partialMs) {
        this.drop(e, `closed: the start of a frame was held for more than ${this.partialMs / 1000} s`);
        continue;
      }
      if (this.idleMs > 0 && now >= e.lastReceived + this.idleMs) {
        this.drop(e, `closed: nothing received for ${this.idleMs / 1000} s`);
        continue;
      }
      const at = this.deadlineOf(e);
      if (at !== undefined && (next === undefined || at < next)) next = at;
    }
    if (next !== undefined && !this.closedAll) this.arm(next);
  }
}

export async function listenTcp(opts: TcpServerOptions): Promise<TcpServerHandle> {
  const pool = new PeerPool(opts.onConnection, opts, opts.clock);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    let lastError: string | undefined;
    const pooled = pool.admit({
      remote: `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`,
      write: (bytes) => {
        if (!socket.destroyed) socket.write(bytes);
      },
      destroy: () => socket.destroy(),
    });
    socket.on("data", (bytes: Buffer) => pooled.data(bytes));
    // A reset by the client is routine for a server; 'close' follows and reports it with this text.
    socket.on("error", (err: Error) => {
      lastError = err.message;
      socket.destroy();
    });
    socket.on("close", () => {
      sockets.delete(socket);
      pooled.closed(lastError ?? "closed by the client");
    });
  });
  // Admission is the pool's (it evicts rather than refuses), so Node's own limit stays off.
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
      return pool.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        pool.closeAll();
        // Sockets whose close is still on its way are destroyed too, so server.close() can finish.
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
