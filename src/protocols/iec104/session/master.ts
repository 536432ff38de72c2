/**
 * The controlling station (master) of one IEC 60870-5-104 connection: the link plus the application
 * procedures of IEC 60870-5-101/104 clause 7.4 as docs/protocols/iec104.md §5 describes them on the wire —
 * general and counter interrogation, clock synchronisation, read, and commands/setpoints with or without
 * time tag, direct or select-before-operate.
 *
 * Like the link it owns no socket or timer: `receive`, `tick` and the request methods return events. Data
 * arrives as whole decoded ASDUs (`data`); each request gets an id and later `result` events:
 *
 *   interrogation / counter  confirmed → terminated (final); negative | timeout | cancelled (final)
 *   command, direct          confirmed → terminated | complete (final, when the station sends no ActTerm)
 *   command, select-execute  selected → confirmed → terminated | complete; negative at either step
 *   clock sync, test         confirmed (final)
 *   read                     confirmed (final) when the object arrives with cause "request"
 *
 * Timeouts are vendor defaults (docs/protocols/iec104.md §5: tActConTimeout 5 s, tActTermTimeout 30 s); the
 * standard leaves them to the project.
 */
import { BROADCAST_CA, decodeAsdu, encodeAsdu, type Asdu } from "../codec/asdu";
import { Cot, isUnknownCause } from "../codec/cot";
import { cp56 } from "../codec/cp56time";
import { typeIdFor, type CommandObject, type InformationObject } from "../codec/information-objects";
import { TypeId, typeIdName } from "../codec/type-ids";
import type { TimeSource } from "../../clock";
import { LinkSession, type LinkEvent, type LinkState } from "./link";
import { duration, problems, refuseProblems, wholeNumber, type OptionProblem } from "../../options";
import { commonAddressCheck, linkProblems, type LinkParameters } from "./params";

export interface MasterOptions {
  /** The outstation's common address, used when a request names none. */
  readonly commonAddress: number;
  /** Our originator address, 0 when unused. */
  readonly originator?: number;
  readonly link?: Partial<LinkParameters>;
  /** Send a general interrogation each time data transfer starts and after end of initialisation (default true). */
  readonly interrogateOnStart?: boolean;
  /** Repeat the general interrogation this often while started; 0 = never (default). */
  readonly interrogationIntervalMs?: number;
  /** Counter interrogation (general, read) this often while started; 0 = never (default). */
  readonly counterInterrogationIntervalMs?: number;
  /** Synchronise the station's clock each time data transfer starts and after end of initialisation (default false). */
  readonly clockSyncOnStart?: boolean;
  /** Repeat the clock synchronisation this often while started; 0 = never (default). */
  readonly clockSyncIntervalMs?: number;
  /** Wait this long for an activation confirmation (default 5 s). */
  readonly actConTimeoutMs?: number;
  /** Wait this long for an activation termination (default 30 s). */
  readonly actTermTimeoutMs?: number;
}

export type MasterRequest =
  | { readonly kind: "interrogation"; readonly qoi?: number; readonly commonAddress?: number }
  | {
      readonly kind: "counter-interrogation";
      readonly request?: number;
      readonly freeze?: number;
      readonly commonAddress?: number;
    }
  | { readonly kind: "clock-sync"; readonly time?: number; readonly commonAddress?: number }
  | { readonly kind: "read"; readonly ioa: number; readonly commonAddress?: number }
  /** C_TS_TA_1: the station confirms it, proving the application path end to end. */
  | { readonly kind: "test"; readonly commonAddress?: number }
  | {
      readonly kind: "command";
      /** The command object; its `select` and `time` are set by the procedure. */
      readonly command: CommandObject;
      /** Send the CP56Time2a variant (58..64) stamped with the clock's time. */
      readonly withTime?: boolean;
      readonly selectBeforeOperate?: boolean;
      readonly commonAddress?: number;
    };

export type RequestOutcome =
  "selected" | "confirmed" | "terminated" | "complete" | "negative" | "timeout" | "cancelled" | "rejected";

export type MasterEvent =
  | Exclude<LinkEvent, { type: "asdu" }>
  /** Monitor-direction data (process information and the answers to interrogation and read). */
  | { readonly type: "data"; readonly asdu: Asdu }
  /** The station reports end of initialisation (M_EI_NA_1). */
  | { readonly type: "initialized"; readonly asdu: Asdu }
  | {
      readonly type: "result";
      readonly id: number;
      readonly request: MasterRequest["kind"];
      readonly outcome: RequestOutcome;
      /** No further result follows for this id. */
      readonly final: boolean;
      readonly detail: string;
      /** The confirmation ASDU, when one caused this result. */
      readonly asdu?: Asdu;
    }
  /** Something arrived that the master cannot use; the link stays up. */
  | { readonly type: "warning"; readonly message: string };

type Phase = "select" | "execute" | "activation" | "termination";

interface Pending {
  readonly id: number;
  readonly request: MasterRequest;
  readonly key: string;
  /** The ASDU of the current step; a select-before-operate execute reuses it with S/E cleared. */
  readonly asdu: Asdu;
  phase: Phase;
  deadline: number;
}

/** What is wrong with master options, each with its field; empty when they are usable. */
export function checkMasterOptions(o: MasterOptions): OptionProblem[] {
  return [
    ...problems(
      commonAddressCheck("commonAddress", o.commonAddress),
      wholeNumber("originator", "originator address", o.originator, 0, 255),
    ),
    ...linkProblems(o.link),
    ...problems(
      duration("interrogationIntervalMs", "interrogation interval", o.interrogationIntervalMs, 0, "never"),
      duration(
        "counterInterrogationIntervalMs",
        "counter interval",
        o.counterInterrogationIntervalMs,
        0,
        "never",
      ),
      duration("clockSyncIntervalMs", "clock sync interval", o.clockSyncIntervalMs, 0, "never"),
      duration("actConTimeoutMs", "confirmation timeout", o.actConTimeoutMs, 1),
      duration("actTermTimeoutMs", "termination timeout", o.actTermTimeoutMs, 1),
    ),
  ];
}

/** Where request ids come from. */
export interface RequestIds {
  next(): number;
}

/** Ids 1, 2, 3, … */
export function requestIds(): RequestIds {
  let n = 0;
  return { next: () => ++n };
}

const DEFAULT_ACT_CON_MS = 5_000;
const DEFAULT_ACT_TERM_MS = 30_000;

function keyOf(typeId: number, commonAddress: number, ioa: number): string {
  return `${typeId}/${commonAddress}/${ioa}`;
}

export class MasterSession {
  readonly link: LinkSession;
  private readonly pending = new Map<string, Pending>();
  /** TSC of the next test command; it only has to change from one test to the next. */
  private testCounter = 0;
  private nextInterrogationAt: number | undefined;
  private nextCounterAt: number | undefined;
  private nextClockSyncAt: number | undefined;
  private readonly actConMs: number;
  private readonly actTermMs: number;

  /**
   * `ids` numbers the requests; a driver that makes a new session per connection shares one source so
   * an id is never reused across reconnects.
   */
  constructor(
    private readonly options: MasterOptions,
    private readonly clock: TimeSource,
    private readonly ids: RequestIds = requestIds(),
  ) {
    refuseProblems(checkMasterOptions(options));
    this.link = new LinkSession("controlling", clock, options.link);
    this.actConMs = options.actConTimeoutMs ?? DEFAULT_ACT_CON_MS;
    this.actTermMs = options.actTermTimeoutMs ?? DEFAULT_ACT_TERM_MS;
  }

  get state(): LinkState {
    return this.link.state;
  }

  /** Start data transfer (STARTDT). The start-up requests follow when the station confirms. */
  start(): MasterEvent[] {
    return this.fromLink(this.link.start());
  }

  stop(): MasterEvent[] {
    return this.fromLink(this.link.stop());
  }

  close(reason: string): MasterEvent[] {
    return this.fromLink(this.link.close(reason));
  }

  receive(chunk: Uint8Array): MasterEvent[] {
    return this.fromLink(this.link.receive(chunk));
  }

  nextDeadline(): number | undefined {
    let next = this.link.nextDeadline();
    if (next === undefined) return undefined;
    for (const p of this.pending.values()) next = Math.min(next, p.deadline);
    for (const at of [this.nextInterrogationAt, this.nextCounterAt, this.nextClockSyncAt]) {
      if (at !== undefined) next = Math.min(next, at);
    }
    return next;
  }

  tick(): MasterEvent[] {
    const out = this.fromLink(this.link.tick());
    if (this.link.state === "closed") return out;
    const now = this.clock.now();
    for (const p of [...this.pending.values()]) {
      if (now < p.deadline) continue;
      this.pending.delete(p.key);
      if (p.phase === "termination" && p.request.kind === "command") {
        // Activation termination is optional for commands; many stations confirm and stop there.
        out.push(this.result(p, "complete", true, "confirmed; the station sent no activation termination"));
      } else {
        const what = p.phase === "termination" ? "activation termination" : "activation confirmation";
        const ms = p.phase === "termination" ? this.actTermMs : this.actConMs;
        out.push(this.result(p, "timeout", true, `no ${what} within ${ms} ms`));
      }
    }
    this.runSchedule(now, out);
    return out;
  }

  /** Issue a request; its progress comes back as `result` events with the returned id. */
  request(req: MasterRequest): { readonly id: number; readonly events: MasterEvent[] } {
    const id = this.ids.next();
    const out: MasterEvent[] = [];
    this.issue(id, req, out);
    return { id, events: out };
  }

  /** Build, check and send a request; `ifBusy` "skip" drops it silently when the same one is running. */
  private issue(
    id: number,
    req: MasterRequest,
    out: MasterEvent[],
    ifBusy: "reject" | "skip" = "reject",
  ): void {
    let asdu: Asdu;
    let bytes: Buffer;
    try {
      asdu = this.buildAsdu(req);
      bytes = encodeAsdu(asdu);
    } catch (err) {
      // The request itself is wrong (a value out of range): say so instead of sending a frame.
      const detail = err instanceof Error ? err.message : String(err);
      out.push(this.rejected(id, req, detail));
      return;
    }
    const key = keyOf(asdu.typeId, asdu.commonAddress, asdu.objects[0].ioa);
    if (this.link.state !== "started") {
      out.push(this.rejected(id, req, `data transfer is ${this.link.state}, not started`));
      return;
    }
    if (this.pending.has(key)) {
      if (ifBusy === "skip") return;
      const what = `${typeIdName(asdu.typeId)} to CA ${asdu.commonAddress} IOA ${asdu.objects[0].ioa}`;
      out.push(this.rejected(id, req, `a ${what} is already in progress`));
      return;
    }
    const phase: Phase = req.kind === "command" && req.selectBeforeOperate ? "select" : "activation";
    const p: Pending = { id, request: req, key, asdu, phase, deadline: this.clock.now() + this.actConMs };
    this.pending.set(key, p);
    out.push(...this.fromLink(this.link.send(bytes)));
  }

  private rejected(id: number, req: MasterRequest, detail: string): MasterEvent {
    return { type: "result", id, request: req.kind, outcome: "rejected", final: true, detail };
  }

  private buildAsdu(req: MasterRequest): Asdu {
    const base = {
      sequence: false,
      negative: false,
      test: false,
      originator: this.options.originator ?? 0,
      commonAddress: req.commonAddress ?? this.options.commonAddress,
      cot: Cot.ACTIVATION,
    };
    switch (req.kind) {
      case "interrogation":
        return {
          ...base,
          typeId: TypeId.C_IC_NA_1,
          objects: [{ kind: "interrogation", ioa: 0, qoi: req.qoi ?? Cot.INTERROGATED_BY_STATION }],
        };
      case "counter-interrogation":
        return {
          ...base,
          typeId: TypeId.C_CI_NA_1,
          // RQT 5 = general request counter (docs/protocols/iec104.md §3).
          objects: [
            { kind: "counter-interrogation", ioa: 0, request: req.request ?? 5, freeze: req.freeze ?? 0 },
          ],
        };
      case "clock-sync":
        return {
          ...base,
          typeId: TypeId.C_CS_NA_1,
          objects: [{ kind: "clock-sync", ioa: 0, time: cp56(req.time ?? this.clock.now()) }],
        };
      case "read":
        return {
          ...base,
          cot: Cot.REQUEST,
          typeId: TypeId.C_RD_NA_1,
          objects: [{ kind: "read", ioa: req.ioa }],
        };
      case "test":
        this.testCounter = (this.testCounter + 1) & 0xffff;
        return {
          ...base,
          typeId: TypeId.C_TS_TA_1,
          objects: [{ kind: "test-time", ioa: 0, counter: this.testCounter, time: cp56(this.clock.now()) }],
        };
      case "command": {
        const timed = req.withTime ?? false;
        const typeId = typeIdFor(req.command.kind, timed);
        if (typeId === undefined) throw new RangeError(`no command type carries ${req.command.kind}`);
        const obj: InformationObject = {
          ...req.command,
          select: (req.selectBeforeOperate ?? false) && req.command.kind !== "bitstring-command",
          ...(timed ? { time: cp56(this.clock.now()) } : {}),
        };
        if (req.selectBeforeOperate && req.command.kind === "bitstring-command") {
          throw new RangeError("bitstring commands have no select/execute qualifier");
        }
        return { ...base, typeId, objects: [obj] };
      }
    }
  }

  private fromLink(events: LinkEvent[]): MasterEvent[] {
    const out: MasterEvent[] = [];
    for (const e of events) {
      switch (e.type) {
        case "asdu":
          this.onAsdu(e.asdu, out);
          break;
        case "state":
          out.push(e);
          this.onState(e.state, out);
          break;
        default:
          out.push(e);
      }
    }
    return out;
  }

  private onState(state: LinkState, out: MasterEvent[]): void {
    if (state === "started") {
      const now = this.clock.now();
      const every = (ms: number | undefined): number | undefined => (ms ? now + ms : undefined);
      this.nextInterrogationAt = every(this.options.interrogationIntervalMs);
      this.nextCounterAt = every(this.options.counterInterrogationIntervalMs);
      this.nextClockSyncAt = every(this.options.clockSyncIntervalMs);
      // Clock first, so the interrogation answers already carry the corrected time.
      if (this.options.clockSyncOnStart) this.issue(this.ids.next(), { kind: "clock-sync" }, out);
      if (this.options.interrogateOnStart ?? true)
        this.issue(this.ids.next(), { kind: "interrogation" }, out);
      return;
    }
    this.nextInterrogationAt = this.nextCounterAt = this.nextClockSyncAt = undefined;
    const reason = state === "closed" ? "the connection closed" : `data transfer is ${state}`;
    for (const p of this.pending.values()) out.push(this.result(p, "cancelled", true, reason));
    this.pending.clear();
  }

  private runSchedule(now: number, out: MasterEvent[]): void {
    if (this.link.state !== "started") return;
    const o = this.options;
    if (this.nextInterrogationAt !== undefined && now >= this.nextInterrogationAt) {
      this.nextInterrogationAt = now + (o.interrogationIntervalMs ?? 0);
      this.scheduled({ kind: "interrogation" }, out);
    }
    if (this.nextCounterAt !== undefined && now >= this.nextCounterAt) {
      this.nextCounterAt = now + (o.counterInterrogationIntervalMs ?? 0);
      this.scheduled({ kind: "counter-interrogation" }, out);
    }
    if (this.nextClockSyncAt !== undefined && now >= this.nextClockSyncAt) {
      this.nextClockSyncAt = now + (o.clockSyncIntervalMs ?? 0);
      this.scheduled({ kind: "clock-sync" }, out);
    }
  }

  /** A scheduled request skips its turn while the previous one is still running, instead of failing. */
  private scheduled(req: MasterRequest, out: MasterEvent[]): void {
    this.issue(this.ids.next(), req, out, "skip");
  }

  private onAsdu(bytes: Buffer, out: MasterEvent[]): void {
    const r = decodeAsdu(bytes);
    if (r.kind === "malformed") {
      out.push({ type: "warning", message: `malformed ASDU ignored: ${r.reason}` });
      return;
    }
    if (r.kind === "unknown-type") {
      out.push({ type: "warning", message: `ASDU of unsupported ${typeIdName(r.header.typeId)} ignored` });
      return;
    }
    const asdu = r.asdu;
    const first = asdu.objects[0];
    switch (first.kind) {
      case "end-of-init":
        out.push({ type: "initialized", asdu });
        // The station's application restarted and its data is unknown again: repeat the start-up
        // procedures it missed (a run already in progress, e.g. the one at STARTDT, is not repeated).
        if (this.options.clockSyncOnStart) this.scheduled({ kind: "clock-sync" }, out);
        if (this.options.interrogateOnStart ?? true) this.scheduled({ kind: "interrogation" }, out);
        return;
      case "single":
      case "double":
      case "step":
      case "bitstring":
      case "normalized":
      case "scaled":
      case "float":
      case "totals":
        out.push({ type: "data", asdu });
        if (asdu.cot === Cot.REQUEST) this.matchRead(asdu, out);
        return;
      default:
        this.onConfirmation(asdu, out);
    }
  }

  private matchRead(asdu: Asdu, out: MasterEvent[]): void {
    for (const obj of asdu.objects) {
      const p = this.pending.get(keyOf(TypeId.C_RD_NA_1, asdu.commonAddress, obj.ioa));
      if (p === undefined) continue;
      this.pending.delete(p.key);
      out.push(this.result(p, "confirmed", true, `read answered by ${typeIdName(asdu.typeId)}`, asdu));
    }
  }

  /** A control-direction ASDU mirrored back: the confirmation or termination of one of our requests. */
  private onConfirmation(asdu: Asdu, out: MasterEvent[]): void {
    const ioa = asdu.objects[0].ioa;
    // A request to the global address is answered by each station under its own address.
    const p =
      this.pending.get(keyOf(asdu.typeId, asdu.commonAddress, ioa)) ??
      this.pending.get(keyOf(asdu.typeId, BROADCAST_CA, ioa));
    const name = `${typeIdName(asdu.typeId)} CA ${asdu.commonAddress} IOA ${ioa}`;
    if (p === undefined) {
      out.push({ type: "warning", message: `${name} with cause ${asdu.cot} matches no request in progress` });
      return;
    }
    if (asdu.negative || isUnknownCause(asdu.cot)) {
      this.pending.delete(p.key);
      out.push(this.result(p, "negative", true, `${name}: ${negativeReason(asdu.cot)}`, asdu));
      return;
    }
    const now = this.clock.now();
    if (asdu.cot === Cot.ACTIVATION_CON && (p.phase === "select" || p.phase === "activation")) {
      if (p.phase === "select") {
        // Select confirmed: execute the same command with S/E cleared (select-before-operate).
        out.push(this.result(p, "selected", false, `${name} selected`, asdu));
        const execute: Asdu = {
          ...p.asdu,
          objects: [{ ...(p.asdu.objects[0] as CommandObject), select: false } as InformationObject],
        };
        p.phase = "execute";
        p.deadline = now + this.actConMs;
        out.push(...this.fromLink(this.link.send(encodeAsdu(execute))));
        return;
      }
      this.confirmed(p, name, asdu, now, out);
      return;
    }
    if (asdu.cot === Cot.ACTIVATION_CON && p.phase === "execute") {
      this.confirmed(p, name, asdu, now, out);
      return;
    }
    if (asdu.cot === Cot.ACTIVATION_TERM && p.phase !== "select") {
      this.pending.delete(p.key);
      out.push(this.result(p, "terminated", true, `${name} terminated`, asdu));
      return;
    }
    out.push({
      type: "warning",
      message: `${name} with cause ${asdu.cot} does not fit the request's ${p.phase} step`,
    });
  }

  private confirmed(p: Pending, name: string, asdu: Asdu, now: number, out: MasterEvent[]): void {
    // Clock synchronisation and test end at their confirmation; interrogations and commands terminate.
    const final = p.request.kind === "clock-sync" || p.request.kind === "test";
    if (final) {
      this.pending.delete(p.key);
    } else {
      p.phase = "termination";
      p.deadline = now + this.actTermMs;
    }
    out.push(this.result(p, "confirmed", final, `${name} confirmed`, asdu));
  }

  private result(
    p: Pending,
    outcome: RequestOutcome,
    final: boolean,
    detail: string,
    asdu?: Asdu,
  ): MasterEvent {
    return {
      type: "result",
      id: p.id,
      request: p.request.kind,
      outcome,
      final,
      detail,
      ...(asdu === undefined ? {} : { asdu }),
    };
  }
}

function negativeReason(cot: number): string {
  switch (cot) {
    case Cot.UNKNOWN_TYPE_ID:
      return "the station does not know this type (COT 44)";
    case Cot.UNKNOWN_COT:
      return "the station does not accept this cause (COT 45)";
    case Cot.UNKNOWN_CA:
      return "the station does not know this common address (COT 46)";
    case Cot.UNKNOWN_IOA:
      return "the station does not know this information object address (COT 47)";
    default:
      return `the station refused it (negative confirmation, COT ${cot})`;
  }
}
