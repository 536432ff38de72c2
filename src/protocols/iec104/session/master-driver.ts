/**
 * The IEC 104 master of one device as the transport drives it: one object for the device's lifetime,
 * with the five methods of the transport's session interface (src/transport/connection.ts — matched by
 * shape, since a session may not import the transport). Each TCP connection gets a fresh MasterSession,
 * because the link's sequence numbers and STARTDT state belong to one connection (clause 5); on connect
 * the driver sends STARTDT and the session's start-up requests follow.
 *
 * Actions: `write` and `close` are the transport's; everything else is the session's events (data,
 * results, state, warnings) for the owner. t0 (connection establishment) is the transport's connect
 * timeout, so the node maps the device's t0 there.
 */
import type { LinkState } from "./link";
import {
  MasterSession,
  requestIds,
  type MasterEvent,
  type MasterOptions,
  type MasterRequest,
} from "./master";

export type MasterDriverAction =
  | { readonly type: "write"; readonly bytes: Buffer }
  | { readonly type: "close"; readonly reason: string }
  | Exclude<MasterEvent, { type: "send" } | { type: "close" }>;

export class MasterDriver {
  private session: MasterSession | undefined;
  private now = 0;
  // The session reads the time the transport handed to the call in progress.
  private readonly clock = { now: (): number => this.now };
  private readonly ids = requestIds();

  constructor(readonly options: MasterOptions) {}

  /** The link state, or "disconnected" between connections. */
  get state(): LinkState | "disconnected" {
    return this.session?.state ?? "disconnected";
  }

  onConnected(now: number): MasterDriverAction[] {
    this.now = now;
    this.session = new MasterSession(this.options, this.clock, this.ids);
    return this.map(this.session.start());
  }

  onData(bytes: Uint8Array, now: number): MasterDriverAction[] {
    this.now = now;
    return this.session === undefined ? [] : this.map(this.session.receive(bytes));
  }

  onDisconnected(now: number): MasterDriverAction[] {
    this.now = now;
    const session = this.session;
    this.session = undefined;
    if (session === undefined) return [];
    // The socket is already gone: pass on the cancelled requests and the state, not a close to carry out.
    return this.map(session.close("the connection was lost")).filter((a) => a.type !== "close");
  }

  tick(now: number): MasterDriverAction[] {
    this.now = now;
    return this.session === undefined ? [] : this.map(this.session.tick());
  }

  nextDeadline(): number | undefined {
    return this.session?.nextDeadline();
  }

  /** A request from the owner; rejected at once while no connection is up. */
  request(req: MasterRequest, now: number): { readonly id: number; readonly actions: MasterDriverAction[] } {
    this.now = now;
    if (this.session === undefined) {
      const id = this.ids.next();
      const detail = "not connected to the station";
      return {
        id,
        actions: [{ type: "result", id, request: req.kind, outcome: "rejected", final: true, detail }],
      };
    }
    const { id, events } = this.session.request(req);
    return { id, actions: this.map(events) };
  }

  private map(events: readonly MasterEvent[]): MasterDriverAction[] {
    return events.map((e) => (e.type === "send" ? { type: "write", bytes: e.bytes } : e));
  }
}
