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
import type { TimeSource } from "../../clock";
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
  private readonly ids = requestIds();

  /** `clock` is the one the transport driving this driver uses, so deadlines agree with its timer. */
  constructor(
    readonly options: MasterOptions,
    private readonly clock: TimeSource,
  ) {}

  /** The link state, or "disconnected" between connections. */
  get state(): LinkState | "disconnected" {
    return this.session?.state ?? "disconnected";
  }

  onConnected(): MasterDriverAction[] {
    this.session = new MasterSession(this.options, this.clock, this.ids);
    return this.map(this.session.start());
  }

  onData(bytes: Uint8Array): MasterDriverAction[] {
    return this.session === undefined ? [] : this.map(this.session.receive(bytes));
  }

  onDisconnected(): MasterDriverAction[] {
    const session = this.session;
    this.session = undefined;
    if (session === undefined) return [];
    // The socket is already gone: pass on the cancelled requests and the state, not a close to carry out.
    return this.map(session.close("the connection was lost")).filter((a) => a.type !== "close");
  }

  tick(): MasterDriverAction[] {
    return this.session === undefined ? [] : this.map(this.session.tick());
  }

  nextDeadline(): number | undefined {
    return this.session?.nextDeadline();
  }

  /** A request from the owner; rejected at once while no connection is up. */
  request(req: MasterRequest): { readonly id: number; readonly actions: MasterDriverAction[] } {
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
