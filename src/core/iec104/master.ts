/**
 * One IEC 104 master connection at run time: the stack's MasterDriver inside the transport's Connection,
 * with redundant outstations tried in turn, listeners for data and link state (each user removes only its
 * own), requests as promises, and an optional frame log. Shared by the flow nodes and the manager through
 * the pool in devices.ts.
 */
import {
  MasterDriver,
  type MasterDriverAction,
  type MasterOptions,
  type MasterRequest,
  type RequestOutcome,
} from "../../protocols/iec104/session";
import type { Asdu } from "../../protocols/iec104/codec";
import {
  Connection,
  systemClock,
  type Clock,
  type ConnectionOptions,
  type ConnectionState,
  type StateListener,
  type TrafficListener,
} from "../../transport/connection";
import { tcpSocketFactory, type SocketFactory } from "../../transport/socket";
import { DataCollError, type IecRequestFailure } from "../errors";

/** One step of a request's progress, as the station answered it. */
export interface RequestStep {
  readonly outcome: RequestOutcome;
  readonly detail: string;
  readonly asdu?: Asdu;
}

/** The whole answer to a request that ended well: every step, the last one final. */
export interface RequestDone {
  readonly id: number;
  readonly steps: readonly RequestStep[];
}

const FAILED: ReadonlySet<RequestOutcome> = new Set<IecRequestFailure>([
  "negative",
  "timeout",
  "cancelled",
  "rejected",
]);
/** Narrows an outcome to a failure, so that it can be the code of the error the request is rejected with. */
const failed = (o: RequestOutcome): o is IecRequestFailure => FAILED.has(o);

export type DataListener = (asdu: Asdu, receivedAt: number) => void;
export type FrameLogListener = (line: string) => void;

export interface Iec104Stats {
  readonly asdus: number;
  readonly requests: number;
  readonly failures: number;
  readonly warnings: number;
}

/**
 * Sockets to the first host, then — after a connection fails or is lost — to the next one in turn: the
 * hosts are redundant outstations (or redundant links to one), any of which may serve the master.
 */
export function failoverSocketFactory(hosts: readonly string[], port: number): SocketFactory {
  const factories = hosts.map((host) => tcpSocketFactory({ host, port }));
  let index = 0;
  return (events) => {
    const mine = index;
    let failedOver = false;
    const failOver = (): void => {
      if (failedOver) return;
      failedOver = true;
      // Only a loss of the current host moves on; a late report from an older socket changes nothing.
      if (index === mine) index = (index + 1) % factories.length;
    };
    const socket = factories[mine]({
      connect: () => events.connect(),
      data: (bytes) => events.data(bytes),
      close: (reason) => {
        failOver();
        events.close(factories.length > 1 ? `${hosts[mine]}: ${reason}` : reason);
      },
    });
    return {
      write: (bytes) => socket.write(bytes),
      destroy: () => {
        failOver();
        socket.destroy();
      },
    };
  };
}

export interface Iec104MasterDeps {
  readonly master: MasterOptions;
  readonly connection?: Partial<ConnectionOptions>;
  readonly socketFactory: SocketFactory;
  readonly clock?: Clock;
  /** Log every frame in and out (commissioning), to the frame-log listeners. */
  readonly frameLog?: boolean;
}

export class Iec104Master {
  readonly driver: MasterDriver;
  private readonly connection: Connection<MasterDriverAction>;
  private readonly clock: Clock;
  private readonly dataListeners = new Set<DataListener>();
  private readonly startedListeners = new Set<() => void>();
  private readonly logListeners = new Set<FrameLogListener>();
  private readonly pending = new Map<
    number,
    { steps: RequestStep[]; resolve: (d: RequestDone) => void; reject: (e: Error) => void }
  >();
  private counters = { asdus: 0, requests: 0, failures: 0, warnings: 0 };
  private lastProblem: string | undefined;
  private readonly offTraffic: (() => void) | undefined;

  constructor(deps: Iec104MasterDeps) {
    this.clock = deps.clock ?? systemClock;
    this.driver = new MasterDriver(deps.master, this.clock);
    this.connection = new Connection<MasterDriverAction>({
      session: this.driver,
      socketFactory: deps.socketFactory,
      clock: this.clock,
      options: deps.connection,
      onAction: (a) => this.onAction(a),
    });
    if (deps.frameLog) {
      this.offTraffic = this.connection.onTraffic((dir, bytes) => {
        this.log(`${dir} ${Buffer.from(bytes).toString("hex")}`);
      });
    }
  }

  start(): void {
    this.connection.start();
  }

  close(): void {
    this.offTraffic?.();
    this.connection.close();
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(new DataCollError("closed", "the connection to the station was closed"));
    }
  }

  /** The TCP connection's state. */
  get state(): ConnectionState {
    return this.connection.state;
  }

  /** Why the link is in its state (e.g. a refused connect while reconnecting), when it says. */
  get linkReason(): string | undefined {
    return this.connection.reason;
  }

  /** True while data transfer runs (STARTDT confirmed). */
  get started(): boolean {
    return this.driver.state === "started";
  }

  get stats(): Iec104Stats {
    return { ...this.counters };
  }

  /** The last warning or failed request, for status text. */
  get problem(): string | undefined {
    return this.lastProblem;
  }

  onStateChange(listener: StateListener): () => void {
    return this.connection.onStateChange(listener);
  }

  /** Monitor-direction ASDUs as they arrive; returns the unsubscribe function. */
  onData(listener: DataListener): () => void {
    this.dataListeners.add(listener);
    return () => void this.dataListeners.delete(listener);
  }

  /** Data transfer (re)started on a new connection; returns the unsubscribe function. */
  onStarted(listener: () => void): () => void {
    this.startedListeners.add(listener);
    return () => void this.startedListeners.delete(listener);
  }

  /** Watch the raw octets of the link (the store's frame log of a registry device). */
  onTraffic(listener: TrafficListener): () => void {
    return this.connection.onTraffic(listener);
  }

  onFrameLog(listener: FrameLogListener): () => void {
    this.logListeners.add(listener);
    return () => void this.logListeners.delete(listener);
  }

  /**
   * Send a request; resolves with every step once the final one is good, rejects with the station's
   * reason (negative confirmation, timeout, lost link, not started) otherwise.
   */
  request(req: MasterRequest): Promise<RequestDone> {
    return new Promise<RequestDone>((resolve, reject) => {
      this.counters.requests++;
      this.connection.drive(() => {
        const { id, actions } = this.driver.request(req);
        this.pending.set(id, { steps: [], resolve, reject });
        return actions;
      });
    });
  }

  private onAction(a: MasterDriverAction): void {
    switch (a.type) {
      case "data":
        this.counters.asdus++;
        for (const l of [...this.dataListeners]) l(a.asdu, this.clock.now());
        return;
      case "result": {
        const p = this.pending.get(a.id);
        if (p === undefined) {
          // A start-up or scheduled request of the driver's own: only failures matter to the owner.
          if (FAILED.has(a.outcome)) this.note(`${a.request}: ${a.detail}`);
          return;
        }
        p.steps.push({ outcome: a.outcome, detail: a.detail, ...(a.asdu ? { asdu: a.asdu } : {}) });
        if (!a.final) return;
        this.pending.delete(a.id);
        if (failed(a.outcome)) {
          this.counters.failures++;
          this.lastProblem = a.detail;
          p.reject(new DataCollError(a.outcome, `${a.request} ${a.outcome}: ${a.detail}`));
        } else {
          p.resolve({ id: a.id, steps: p.steps });
        }
        return;
      }
      case "state":
        if (a.state === "started") {
          this.lastProblem = undefined;
          for (const l of [...this.startedListeners]) l();
        }
        this.log(`link ${a.state}`);
        return;
      case "warning":
        this.counters.warnings++;
        this.note(a.message);
        return;
      case "initialized":
        this.log("station: end of initialisation");
        return;
    }
  }

  private note(message: string): void {
    this.lastProblem = message;
    this.log(message);
  }

  private log(line: string): void {
    for (const l of [...this.logListeners]) l(line);
  }
}
