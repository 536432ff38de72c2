/**
 * The Modbus TCP client session: a state machine with no sockets and no timers. Bytes, time and user
 * requests go in; actions come out (write these bytes, resolve or reject request N, close the
 * connection). Its five connection methods match the transport's session interface
 * (src/transport/connection.ts), so the transport can drive it without knowing Modbus.
 *
 * Behaviour, and why:
 * - Requests wait in a bounded FIFO queue (`maxQueue`). A request beyond the bound is rejected at once
 *   ("queue-full") and counted: a queue that grows without bound slows every poll behind it (the most
 *   common complaint about the incumbent Node-RED package, docs/protocols/modbus.md §6).
 * - Up to `maxInFlight` requests are on the wire at once, told apart by transaction id (Messaging
 *   Implementation Guide §3.1.3). The default is 1 because many gateways serve one request at a time.
 * - Each request on the wire has a deadline (`timeoutMs`, or its own); `tick()` fails the ones past
 *   it. A request that waited in the queue longer than `queueTimeoutMs` without being sent fails too,
 *   so a long outage turns polls into prompt failures rather than a backlog.
 * - A reply whose transaction id is not on the wire is discarded and counted (late if that id timed out
 *   recently, unknown otherwise); it never fails another request. jsmodbus instead rejects everything
 *   queued as "OutOfSync" on a late reply (docs/protocols/modbus.md §5).
 * - Per-unit backoff: a timeout backs its unit off for `unitBackoffMs`, doubling per consecutive timeout
 *   up to `unitBackoffMaxMs`. While a unit is backed off its queued requests FAIL FAST ("unit-backoff")
 *   instead of waiting: waiting would fill the shared queue with requests for a dead unit and delay the
 *   live units behind the same gateway. When the backoff ends, the next request is the probe; any reply
 *   from the unit (even an exception) clears its backoff.
 * - On disconnect, in-flight READS go back to the front of the queue (a read has no side effect, so
 *   resending it is safe) while in-flight WRITES fail ("disconnected"): we cannot know whether the
 *   device applied them, and replaying a write minutes later could surprise an operator. Queued requests
 *   are kept and sent after reconnect — if the reconnect succeeds: once an attempt to connect fails, the
 *   device is unreachable, and what waits fails ("disconnected", with the reason) and so does every new
 *   request until a connection is made (onConnectFailed), so a poll reports bad quality within a cycle
 *   instead of after the queue's wait limit. (Requeued reads may take the queue past `maxQueue` by at most
 *   `maxInFlight`; their queue wait still counts from when they were submitted.) A read is sent at most
 *   `MAX_SENDS` times: when the connection drops again while its resend is on the wire, it fails
 *   ("disconnected"). Otherwise a peer that drops the link in answer to one request (garbage in reply,
 *   a gateway that resets on it) would have that read resent on every reconnect until its queue wait
 *   ran out, and the poll waiting for it would report nothing — not even bad quality — all that time.
 * - Some gateways rewrite the unit id in replies; with `acceptRewrittenUnitId` a reply is matched by
 *   transaction id alone, otherwise a unit id mismatch is discarded and counted.
 * - After `reconnectAfterTimeouts` timeouts in a row with not one frame received in between, the
 *   session asks the transport to close and reconnect: a peer that vanished without a FIN or RST (a
 *   half-open connection behind a NAT or a power-cycled gateway) would otherwise keep the link "up"
 *   while every read fails. A single dead unit behind a live gateway does not trigger it as long as
 *   other units answer.
 * - A reply that does not answer its request (wrong function, wrong length, wrong echo) rejects that
 *   request ("malformed-reply"); the MBAP framing is intact so the connection stays. A bad MBAP header
 *   loses the framing, so the session asks the transport to close the connection.
 * - The framing is an option (`framing`, issue #20) and the session sees it only through the codec
 *   (codec/framing.ts). With RTU or ASCII (over TCP, UDP or a serial line) there is no transaction id:
 *   one request is on the wire at a time (`maxInFlight` must be 1) and a frame answers the request on
 *   the wire. A frame from another unit or for another function — a late reply to a request that
 *   timed out — is discarded and counted, not taken as the answer. After a timeout the octets held are dropped, since over TCP the reply
 *   timeout is the only silence that can end a frame garbage made look long. Garbage is dropped by the
 *   framer and counted (`droppedOctets`); it never closes the connection.
 * - Over UDP ("udp", "rtu-over-udp") a datagram is one frame and one that is not a good frame is
 *   dropped (counted in `droppedOctets`). UDP loses datagrams without a word, so a request that got no
 *   reply in time can be sent again at once, `retries` times, before it fails as a timeout; the unit's
 *   backoff and the reconnect count see only that final timeout.
 */
import type { TimeSource } from "../../clock";
import {
  duration,
  firstProblem,
  flag,
  positiveDuration,
  rule,
  wholeNumber,
  type OptionCheck,
} from "../../options";
import {
  MODBUS_FRAMINGS,
  aduCodec,
  framingHasTransactionId,
  isModbusFraming,
  type AduCodec,
  type ModbusFraming,
} from "../codec/framing";
import {
  decodeReply,
  encodeRequest,
  isReadOnly,
  validateRequest,
  type ModbusReply,
  type ModbusRequest,
} from "../codec/pdu";

export interface ModbusSessionOptions {
  /** Requests waiting to be sent, not counting those on the wire. */
  readonly maxQueue: number;
  /** Requests on the wire at once (distinct transaction ids). */
  readonly maxInFlight: number;
  /** Reply deadline for a sent request, ms. */
  readonly timeoutMs: number;
  /** Longest wait in the queue before a request fails unsent, ms; 0 waits for ever. */
  readonly queueTimeoutMs: number;
  /** First backoff of a unit after a timeout, ms; 0 disables per-unit backoff. */
  readonly unitBackoffMs: number;
  readonly unitBackoffMaxMs: number;
  /** Match replies by transaction id alone, for gateways that rewrite the unit id. */
  readonly acceptRewrittenUnitId: boolean;
  /** Reconnect after this many timeouts in a row with nothing received; 0 never does. */
  readonly reconnectAfterTimeouts: number;
  /** How PDUs are framed: MBAP or RTU, over a TCP stream or UDP datagrams. */
  readonly framing: ModbusFraming;
  /**
   * Times a request that got no reply in time is sent again before it fails as a timeout. Meant for UDP,
   * which loses datagrams without telling anyone; over TCP a lost reply is rare and 0 is right.
   */
  readonly retries: number;
}

export const DEFAULT_SESSION_OPTIONS: ModbusSessionOptions = Object.freeze({
  maxQueue: 1000,
  maxInFlight: 1,
  timeoutMs: 1000,
  queueTimeoutMs: 10000,
  unitBackoffMs: 1000,
  unitBackoffMaxMs: 30000,
  acceptRewrittenUnitId: false,
  reconnectAfterTimeouts: 3,
  framing: "tcp",
  retries: 0,
});

/** The first option out of range, with a sentence saying why, or undefined when all are fine. */
export function checkSessionOptions(o: ModbusSessionOptions): OptionCheck<keyof ModbusSessionOptions> {
  return firstProblem<keyof ModbusSessionOptions>(
    wholeNumber("maxQueue", "queue size", o.maxQueue, 0),
    // More than 65535 requests cannot be told apart by a 16-bit transaction id.
    wholeNumber("maxInFlight", "requests in flight", o.maxInFlight, 1, 0xffff),
    positiveDuration("timeoutMs", "reply timeout", o.timeoutMs),
    duration("queueTimeoutMs", "queue wait limit", o.queueTimeoutMs, 0, "no limit"),
    duration("unitBackoffMs", "unit backoff", o.unitBackoffMs, 0, "off"),
    rule(
      "unitBackoffMaxMs",
      o.unitBackoffMaxMs >= o.unitBackoffMs && Number.isFinite(o.unitBackoffMaxMs),
      `maximum unit backoff ${o.unitBackoffMaxMs} ms must be at least the unit backoff (${o.unitBackoffMs} ms)`,
    ),
    flag("acceptRewrittenUnitId", "accepting a rewritten unit id", o.acceptRewrittenUnitId),
    wholeNumber(
      "reconnectAfterTimeouts",
      "timeouts before reconnecting",
      o.reconnectAfterTimeouts,
      0,
      undefined,
      "never",
    ),
    rule(
      "framing",
      isModbusFraming(o.framing),
      `framing ${String(o.framing)} is not one of ${MODBUS_FRAMINGS.join(", ")}`,
    ),
    // RTU has no transaction id to tell two replies apart (Serial Line §2.1: one request at a time).
    rule(
      "maxInFlight",
      !isModbusFraming(o.framing) || framingHasTransactionId(o.framing) || o.maxInFlight === 1,
      `${o.framing} has no transaction id, so only 1 request can be on the wire (not ${o.maxInFlight})`,
    ),
    wholeNumber("retries", "retries", o.retries, 0, 10),
  );
}

export type FailureKind =
  | "invalid-request"
  | "queue-full"
  | "queue-timeout"
  | "timeout"
  | "unit-backoff"
  | "exception"
  | "malformed-reply"
  | "disconnected"
  | "closed";

export interface RequestFailure {
  readonly kind: FailureKind;
  /** A sentence a plant engineer understands. */
  readonly message: string;
  /** For `exception`: the exception code the device answered. */
  readonly exceptionCode?: number;
}

export type ModbusSessionAction =
  | { readonly type: "write"; readonly bytes: Buffer }
  | { readonly type: "close"; readonly reason: string }
  | { readonly type: "resolve"; readonly id: number; readonly reply: ModbusReply }
  | { readonly type: "reject"; readonly id: number; readonly failure: RequestFailure };

export interface ModbusSessionStats {
  /** Requests accepted by `submit` (including ones later failed). */
  requests: number;
  responses: number;
  failures: number;
  timeouts: number;
  exceptions: number;
  lateReplies: number;
  unknownReplies: number;
  unitMismatches: number;
  malformedReplies: number;
  queueOverflows: number;
  /** Requests failed fast because their unit was backed off. */
  backoffRejects: number;
  /** Octets the framer dropped as garbage (RTU resynchronising on its CRC, UDP datagrams not one frame). */
  droppedOctets: number;
  /** Requests sent again after a timeout (`retries`). */
  retries: number;
}

interface Pending {
  readonly id: number;
  readonly unit: number;
  readonly request: ModbusRequest;
  readonly pdu: Buffer;
  readonly timeoutMs: number;
  readonly queuedAt: number;
  /** Times this request went on the wire from the queue (resends after a timeout are `retriesLeft`'s). */
  sends: number;
  /** Sends after a timeout still allowed (`retries`). */
  retriesLeft: number;
}

interface InFlight {
  readonly pending: Pending;
  readonly deadline: number;
  /** The unit id of a reply to this request that was dropped for naming another unit. */
  rewrittenUnit?: number;
}

interface UnitBackoff {
  readonly until: number;
  readonly consecutive: number;
}

// How many timed-out transaction ids to remember for telling late replies from strays.
const LATE_MEMORY = 256;

// A read lost with its connection is sent once more (a server restart costs no poll), not again.
const MAX_SENDS = 2;

export class ModbusClientSession {
  readonly options: ModbusSessionOptions;
  private readonly queue: Pending[] = [];
  private readonly inFlight = new Map<number, InFlight>();
  private readonly backoff = new Map<number, UnitBackoff>();
  private readonly timedOut: number[] = [];
  private readonly codec: AduCodec;
  private connected = false;
  /** Why the last attempt to connect failed, while none has succeeded since (see onConnectFailed). */
  private unreachable: string | undefined;
  /** Timeouts since a frame was last received on this connection. */
  private silentTimeouts = 0;
  private closed = false;
  private nextId = 1;
  private nextTid = 0;
  private readonly counters: ModbusSessionStats = {
    requests: 0,
    responses: 0,
    failures: 0,
    timeouts: 0,
    exceptions: 0,
    lateReplies: 0,
    unknownReplies: 0,
    unitMismatches: 0,
    malformedReplies: 0,
    queueOverflows: 0,
    backoffRejects: 0,
    droppedOctets: 0,
    retries: 0,
  };

  /** `clock` is the one the transport driving this session uses, so deadlines agree with its timer. */
  constructor(
    options: Partial<ModbusSessionOptions>,
    private readonly clock: TimeSource,
  ) {
    const o = { ...DEFAULT_SESSION_OPTIONS, ...options };
    const problem = checkSessionOptions(o);
    if (problem !== undefined) throw new RangeError(problem.message);
    this.options = Object.freeze(o);
    this.codec = aduCodec(o.framing, "response");
  }

  get stats(): Readonly<ModbusSessionStats> {
    return { ...this.counters, droppedOctets: this.codec.droppedOctets };
  }

  get queued(): number {
    return this.queue.length;
  }

  get pendingOnWire(): number {
    return this.inFlight.size;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** Until when `unit` is backed off, or undefined when it is not (as of now). */
  unitBackedOffUntil(unit: number): number | undefined {
    return this.backedOffUntil(unit, this.clock.now());
  }

  private backedOffUntil(unit: number, now: number): number | undefined {
    const b = this.backoff.get(unit);
    return b !== undefined && b.until > now ? b.until : undefined;
  }

  /**
   * Queue a request for `unit`. The returned id names it in the resolve/reject action that settles it;
   * that action may already be among the returned actions (invalid, queue full, unit backed off).
   */
  submit(
    unit: number,
    request: ModbusRequest,
    opts: { readonly timeoutMs?: number } = {},
  ): { readonly id: number; readonly actions: readonly ModbusSessionAction[] } {
    const now = this.clock.now();
    const id = this.nextId++;
    this.counters.requests++;
    if (this.closed) return { id, actions: [this.fail(id, "closed", "the Modbus connection was closed")] };
    if (!Number.isInteger(unit) || unit < 0 || unit > 255) {
      return { id, actions: [this.fail(id, "invalid-request", `unit id ${unit} is outside 0..255`)] };
    }
    const invalid = validateRequest(request);
    if (invalid !== undefined) return { id, actions: [this.fail(id, "invalid-request", invalid)] };
    const timeoutMs = opts.timeoutMs ?? this.options.timeoutMs;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      return { id, actions: [this.fail(id, "invalid-request", `timeout ${timeoutMs} ms must be positive`)] };
    }
    if (this.unreachable !== undefined) {
      return { id, actions: [this.failUnreachable(id, unit, this.unreachable)] };
    }
    const until = this.backedOffUntil(unit, now);
    if (until !== undefined) return { id, actions: [this.failBackedOff(id, unit, until, now)] };
    if (this.queue.length >= this.options.maxQueue) {
      this.counters.queueOverflows++;
      return {
        id,
        actions: [
          this.fail(
            id,
            "queue-full",
            `request queue is full (${this.options.maxQueue} waiting); request dropped`,
          ),
        ],
      };
    }
    this.queue.push({
      id,
      unit,
      request,
      pdu: encodeRequest(request),
      timeoutMs,
      queuedAt: now,
      sends: 0,
      retriesLeft: this.options.retries,
    });
    return { id, actions: this.pump(now) };
  }

  onConnected(): readonly ModbusSessionAction[] {
    const now = this.clock.now();
    this.connected = true;
    this.unreachable = undefined;
    this.silentTimeouts = 0;
    this.codec.reset();
    return this.pump(now);
  }

  /**
   * An attempt to connect failed: the device cannot be reached now, so what waits in the queue fails
   * ("disconnected", with the reason), and so does every request until a connection succeeds. A link that
   * drops and comes straight back keeps its queue (onDisconnected); one that cannot be made again turns
   * each poll into a prompt failure — a point's bad quality within a cycle — not a 10 s silence.
   */
  onConnectFailed(reason: string): readonly ModbusSessionAction[] {
    this.unreachable = reason;
    return this.queue.splice(0).map((p) => this.failUnreachable(p.id, p.unit, reason));
  }

  private failUnreachable(id: number, unit: number, reason: string): ModbusSessionAction {
    return this.fail(id, "disconnected", `unit ${unit}: not connected (${reason})`);
  }

  onDisconnected(): readonly ModbusSessionAction[] {
    const now = this.clock.now();
    this.connected = false;
    this.codec.reset();
    const actions: ModbusSessionAction[] = [];
    const requeue: Pending[] = [];
    for (const f of this.inFlight.values()) {
      if (isReadOnly(f.pending.request)) {
        if (f.pending.sends < MAX_SENDS) {
          requeue.push(f.pending);
        } else {
          actions.push(
            this.fail(
              f.pending.id,
              "disconnected",
              `unit ${f.pending.unit}: connection lost ${MAX_SENDS} times while this read waited for its reply; not sent again`,
            ),
          );
        }
      } else {
        actions.push(
          this.fail(
            f.pending.id,
            "disconnected",
            "connection lost before the write was confirmed; the device may or may not have applied it",
          ),
        );
      }
    }
    this.inFlight.clear();
    // Requeued reads keep their original order and go before everything queued after them.
    requeue.sort((a, b) => a.id - b.id);
    this.queue.unshift(...requeue);
    actions.push(...this.expireQueue(now));
    return actions;
  }

  onData(bytes: Uint8Array): readonly ModbusSessionAction[] {
    const now = this.clock.now();
    const r = this.codec.push(bytes);
    const actions: ModbusSessionAction[] = [];
    // Any frame, even a late or stray one, shows the peer is there.
    if (r.frames.length > 0) this.silentTimeouts = 0;
    for (const frame of r.frames) {
      const tid = frame.transactionId ?? this.onlyOnWire();
      const f = tid === undefined ? undefined : this.inFlight.get(tid);
      if (tid === undefined || f === undefined) {
        if (tid !== undefined && this.timedOut.includes(tid)) this.counters.lateReplies++;
        else this.counters.unknownReplies++;
        continue;
      }
      if (frame.unitId !== f.pending.unit && !this.options.acceptRewrittenUnitId) {
        this.counters.unitMismatches++;
        f.rewrittenUnit = frame.unitId;
        continue;
      }
      if (frame.transactionId === undefined && !answersFunction(f.pending.pdu, frame.pdu)) {
        // Matched by order only: another function's reply is a late one, not this request's answer.
        this.counters.lateReplies++;
        continue;
      }
      this.inFlight.delete(tid);
      // Any answer, even an exception or a malformed one, proves the unit is alive.
      this.backoff.delete(f.pending.unit);
      const reply = decodeReply(f.pending.request, frame.pdu);
      if (reply.kind === "ok") {
        this.counters.responses++;
        actions.push({ type: "resolve", id: f.pending.id, reply: reply.reply });
      } else if (reply.kind === "exception") {
        this.counters.responses++;
        this.counters.exceptions++;
        actions.push(
          this.fail(f.pending.id, "exception", `unit ${f.pending.unit}: ${reply.message}`, reply.code),
        );
      } else {
        this.counters.malformedReplies++;
        actions.push(
          this.fail(f.pending.id, "malformed-reply", `unit ${f.pending.unit}: bad reply, ${reply.reason}`),
        );
      }
    }
    if (r.lost !== undefined) {
      actions.push({ type: "close", reason: `lost Modbus framing: ${r.lost}` });
      return actions;
    }
    actions.push(...this.pump(now));
    return actions;
  }

  tick(): readonly ModbusSessionAction[] {
    const now = this.clock.now();
    const actions: ModbusSessionAction[] = [];
    let backedOff = false;
    for (const [tid, f] of this.inFlight) {
      if (f.deadline > now) continue;
      this.inFlight.delete(tid);
      this.rememberTimedOut(tid);
      if (!this.codec.hasTransactionId) this.codec.reset();
      if (f.pending.retriesLeft > 0 && this.connected) {
        actions.push(this.resend(f.pending, now));
        continue;
      }
      this.counters.timeouts++;
      this.silentTimeouts++;
      const unit = f.pending.unit;
      // A reply that came for another unit is the likelier story: a gateway rewriting unit ids.
      const rewritten =
        f.rewrittenUnit === undefined
          ? ""
          : ` (a reply came as unit ${f.rewrittenUnit}: the gateway may rewrite unit ids; accept replies with a rewritten unit id if it does)`;
      actions.push(
        this.fail(
          f.pending.id,
          "timeout",
          `unit ${unit}: no reply within ${f.pending.timeoutMs} ms${rewritten}`,
        ),
      );
      backedOff = this.backOff(unit, now) || backedOff;
    }
    if (backedOff) actions.push(...this.rejectBackedOff(now));
    const limit = this.options.reconnectAfterTimeouts;
    if (this.connected && limit > 0 && this.silentTimeouts >= limit) {
      this.silentTimeouts = 0;
      actions.push({ type: "close", reason: `no reply to ${limit} requests in a row; reconnecting` });
      return actions;
    }
    actions.push(...this.pump(now));
    return actions;
  }

  /** The earliest time `tick` has something to do, or undefined when nothing is waiting on time. */
  nextDeadline(): number | undefined {
    // Asked after every reply and request: a plain loop, no closure.
    let next = Infinity;
    for (const f of this.inFlight.values()) if (f.deadline < next) next = f.deadline;
    // The queue is ordered by arrival (requeued reads go back to the front, and they arrived before
    // anything still queued), so its head is the oldest.
    if (this.options.queueTimeoutMs > 0 && this.queue.length > 0) {
      next = Math.min(next, this.queue[0].queuedAt + this.options.queueTimeoutMs);
    }
    return next === Infinity ? undefined : next;
  }

  /** Fail everything and refuse further requests; the owner closes the connection. */
  close(): readonly ModbusSessionAction[] {
    this.closed = true;
    this.connected = false;
    const actions: ModbusSessionAction[] = [];
    for (const f of this.inFlight.values())
      actions.push(this.fail(f.pending.id, "closed", "the Modbus connection was closed"));
    for (const p of this.queue) actions.push(this.fail(p.id, "closed", "the Modbus connection was closed"));
    this.inFlight.clear();
    this.queue.length = 0;
    return actions;
  }

  private fail(id: number, kind: FailureKind, message: string, exceptionCode?: number): ModbusSessionAction {
    this.counters.failures++;
    if (kind === "unit-backoff") this.counters.backoffRejects++;
    const failure: RequestFailure =
      exceptionCode === undefined ? { kind, message } : { kind, message, exceptionCode };
    return { type: "reject", id, failure };
  }

  /** Back `unit` off after a timeout; true when backoff is enabled. */
  private backOff(unit: number, now: number): boolean {
    if (this.options.unitBackoffMs <= 0) return false;
    const consecutive = (this.backoff.get(unit)?.consecutive ?? 0) + 1;
    const delay = Math.min(
      this.options.unitBackoffMaxMs,
      this.options.unitBackoffMs * 2 ** (consecutive - 1),
    );
    this.backoff.set(unit, { until: now + delay, consecutive });
    return true;
  }

  private failBackedOff(id: number, unit: number, until: number, now: number): ModbusSessionAction {
    return this.fail(
      id,
      "unit-backoff",
      `unit ${unit} is not answering; requests to it are paused for ${until - now} ms after a timeout`,
    );
  }

  /** Fail fast every queued request whose unit is backed off (one pass, only when a backoff began). */
  private rejectBackedOff(now: number): ModbusSessionAction[] {
    const actions: ModbusSessionAction[] = [];
    const keep: Pending[] = [];
    for (const p of this.queue) {
      const until = this.backedOffUntil(p.unit, now);
      if (until === undefined) keep.push(p);
      else actions.push(this.failBackedOff(p.id, p.unit, until, now));
    }
    this.queue.length = 0;
    this.queue.push(...keep);
    return actions;
  }

  private rememberTimedOut(tid: number): void {
    this.timedOut.push(tid);
    if (this.timedOut.length > LATE_MEMORY) this.timedOut.shift();
  }

  private expireQueue(now: number): ModbusSessionAction[] {
    const limit = this.options.queueTimeoutMs;
    const actions: ModbusSessionAction[] = [];
    if (limit <= 0) return actions;
    const why = this.connected ? "the device is busy" : "not connected";
    while (this.queue.length > 0 && this.queue[0].queuedAt + limit <= now) {
      const p = this.queue[0];
      this.queue.shift();
      actions.push(this.fail(p.id, "queue-timeout", `unit ${p.unit}: not sent within ${limit} ms (${why})`));
    }
    return actions;
  }

  /** The transaction id of the one request on the wire, for framings that match replies by order. */
  private onlyOnWire(): number | undefined {
    for (const tid of this.inFlight.keys()) return tid;
    return undefined;
  }

  private allocateTid(): number {
    // Skip ids still on the wire; with at most 65535 in flight a free one always exists.
    for (;;) {
      const tid = this.nextTid;
      this.nextTid = (this.nextTid + 1) & 0xffff;
      if (!this.inFlight.has(tid)) return tid;
    }
  }

  /**
   * Send a timed-out request again at once, under a new transaction id, so a late reply to the first
   * send is told apart (counted late) where the framing has ids. Every function we send may be repeated
   * without harm: reads read, writes set the same values again, a mask write applied twice gives what
   * applying it once gave, and an echo echoes. Its slot on the wire is the one it just left.
   */
  private resend(p: Pending, now: number): ModbusSessionAction {
    p.retriesLeft--;
    this.counters.retries++;
    const tid = this.allocateTid();
    this.inFlight.set(tid, { pending: p, deadline: now + p.timeoutMs });
    return { type: "write", bytes: this.codec.encode(tid, p.unit, p.pdu) };
  }

  /** Expire stale queue entries, then send from the head what the window allows. */
  private pump(now: number): ModbusSessionAction[] {
    const actions = this.expireQueue(now);
    while (this.connected && this.inFlight.size < this.options.maxInFlight && this.queue.length > 0) {
      const p = this.queue[0];
      this.queue.shift();
      // submit() and tick() already fail these; checked again so that no path sends to a backed-off unit.
      const until = this.backedOffUntil(p.unit, now);
      if (until !== undefined) {
        actions.push(this.failBackedOff(p.id, p.unit, until, now));
        continue;
      }
      const tid = this.allocateTid();
      p.sends++;
      this.inFlight.set(tid, { pending: p, deadline: now + p.timeoutMs });
      actions.push({ type: "write", bytes: this.codec.encode(tid, p.unit, p.pdu) });
    }
    return actions;
  }
}

/** Whether a reply PDU is for the request's function: the same code, or it with the exception bit. */
function answersFunction(requestPdu: Buffer, replyPdu: Buffer): boolean {
  return replyPdu.length > 0 && (replyPdu[0] & 0x7f) === requestPdu[0];
}
