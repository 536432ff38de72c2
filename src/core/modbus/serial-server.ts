/**
 * Our Modbus server core answering on a serial port (issue #20): the simulator serves RTU or ASCII on a
 * line as a slave device does. A serial port has one peer, so there is no accept loop: the port is one
 * reconnecting `Connection` (src/transport/connection.ts) whose "session" hands each chunk to the server
 * core and writes its replies. A port that disappears (USB adapter unplugged, pty closed) is reopened
 * after the same backoff as a client's TCP link, and the handle's state says so.
 *
 * On a line the end of a frame is a silence, and a frame cut short by noise or a master that reset
 * mid-frame would otherwise be read together with the next request. The framers resynchronise on the
 * CRC or LRC, but the silence is the quicker cure: octets of an incomplete request that nothing follows
 * for `partialFrameMs` are dropped. (Not the 3.5-character time itself: USB adapters deliver a frame in
 * chunks up to their latency timer apart, typically 16 ms, so a strict gap would cut good frames.)
 */
import type { ModbusServerCore, ServerConnection } from "../../protocols/modbus/server";
import {
  Connection,
  systemClock,
  type Clock,
  type ConnectionOptions,
  type ConnectionState,
  type DrivenSession,
  type StateListener,
  type TransportAction,
} from "../../transport/connection";
import { serialSocketFactory, type SerialLineOptions } from "../../transport/serial-port";
import type { SocketFactory } from "../../transport/socket";

/** Octets of an unfinished request followed by this much silence are dropped. */
export const SERIAL_PARTIAL_FRAME_MS = 200;

type NoAction = { readonly type: "none" };

/** The server core as a driven session: requests in, replies out, no timers but the partial-frame one. */
class LineSession implements DrivenSession<NoAction> {
  private conn: ServerConnection;
  private heldSince: number | undefined;

  constructor(
    private readonly core: ModbusServerCore,
    private readonly framing: "serial-rtu" | "serial-ascii",
    private readonly clock: Pick<Clock, "now">,
    private readonly partialFrameMs: number,
  ) {
    this.conn = core.connection(framing);
  }

  onConnected(): readonly TransportAction[] {
    this.restart();
    return [];
  }

  onData(bytes: Uint8Array): readonly TransportAction[] {
    const out = this.conn.onData(bytes);
    this.heldSince = this.conn.pendingFrame === undefined ? undefined : this.clock.now();
    // RTU and ASCII never lose the stream (they drop garbage), so `out.close` does not occur here.
    return out.replies.map((b) => ({ type: "write", bytes: b }));
  }

  onDisconnected(): readonly TransportAction[] {
    this.restart();
    return [];
  }

  tick(): readonly TransportAction[] {
    if (this.heldSince !== undefined && this.clock.now() >= this.heldSince + this.partialFrameMs)
      this.restart();
    return [];
  }

  nextDeadline(): number | undefined {
    return this.heldSince === undefined ? undefined : this.heldSince + this.partialFrameMs;
  }

  private restart(): void {
    this.conn = this.core.connection(this.framing);
    this.heldSince = undefined;
  }
}

export interface SerialServeOptions {
  readonly framing: "serial-rtu" | "serial-ascii";
  readonly line: SerialLineOptions;
  readonly clock?: Clock;
  /** Reopen backoff, as a client link's. */
  readonly connection?: Partial<ConnectionOptions>;
  readonly partialFrameMs?: number;
  /** Tests may pass their own sockets; default the line's serial port. */
  readonly socketFactory?: SocketFactory;
}

export interface SerialServerHandle {
  /** "connected" while the port is open; "backoff" while it waits to reopen a port that is gone. */
  readonly state: ConnectionState;
  readonly path: string;
  onStateChange(listener: StateListener): () => void;
  close(): Promise<void>;
}

/** Serve `core` on a serial port until closed; opening starts at once. */
export function serveModbusSerial(core: ModbusServerCore, opts: SerialServeOptions): SerialServerHandle {
  const clock = opts.clock ?? systemClock;
  const connection = new Connection<NoAction>({
    session: new LineSession(core, opts.framing, clock, opts.partialFrameMs ?? SERIAL_PARTIAL_FRAME_MS),
    socketFactory: opts.socketFactory ?? serialSocketFactory(opts.line),
    clock,
    options: opts.connection,
  });
  connection.start();
  return {
    get state() {
      return connection.state;
    },
    path: opts.line.path,
    onStateChange: (l) => connection.onStateChange(l),
    close: () => {
      connection.close();
      return Promise.resolve();
    },
  };
}
