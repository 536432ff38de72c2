/**
 * The Modbus client session driven "at" given times, for tests written as a timeline ("connected at 10,
 * the reply arrives at 20"). The session reads its injected clock like every session does; each call here
 * first sets that clock to the time the step names, then makes the same call on the session.
 */
import {
  ModbusClientSession,
  type ModbusSessionAction,
  type ModbusSessionOptions,
} from "../../../src/protocols/modbus/session/client-session";
import type { ModbusRequest } from "../../../src/protocols/modbus/codec/pdu";

type Actions = readonly ModbusSessionAction[];

export class TimedSession {
  private t = 0;
  readonly session: ModbusClientSession;

  constructor(options: Partial<ModbusSessionOptions>) {
    this.session = new ModbusClientSession(options, { now: () => this.t });
  }

  private at(now: number): ModbusClientSession {
    this.t = now;
    return this.session;
  }

  submit(
    unit: number,
    request: ModbusRequest,
    now: number,
    opts?: { readonly timeoutMs?: number },
  ): { readonly id: number; readonly actions: Actions } {
    return this.at(now).submit(unit, request, opts);
  }

  onConnected(now: number): Actions {
    return this.at(now).onConnected();
  }

  onData(bytes: Uint8Array, now: number): Actions {
    return this.at(now).onData(bytes);
  }

  onDisconnected(now: number): Actions {
    return this.at(now).onDisconnected();
  }

  tick(now: number): Actions {
    return this.at(now).tick();
  }

  unitBackedOffUntil(unit: number, now: number): number | undefined {
    return this.at(now).unitBackedOffUntil(unit);
  }

  close(): Actions {
    return this.session.close();
  }

  nextDeadline(): number | undefined {
    return this.session.nextDeadline();
  }

  get stats(): ModbusClientSession["stats"] {
    return this.session.stats;
  }

  get queued(): number {
    return this.session.queued;
  }

  get pendingOnWire(): number {
    return this.session.pendingOnWire;
  }
}

/** How each request an action list settles ended: "ok", or the failure's kind, by request id. */
export function settled(actions: readonly ModbusSessionAction[]): Map<number, string> {
  const m = new Map<number, string>();
  for (const a of actions) {
    if (a.type === "resolve") m.set(a.id, "ok");
    if (a.type === "reject") m.set(a.id, a.failure.kind);
  }
  return m;
}
