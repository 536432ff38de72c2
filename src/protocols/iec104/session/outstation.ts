/**
 * The controlled station (outstation) of one IEC 60870-5-104 connection, for the simulator node and for
 * testing the master: a point table answered by interrogation and read, spontaneous changes, counter
 * interrogation, clock synchronisation, and commands with select-before-operate
 * (IEC 60870-5-101/104 clause 7.4; wire behaviour in docs/protocols/iec104.md §5).
 *
 * Requests it cannot serve are mirrored back negative, with the cause naming why: 44 unknown type,
 * 45 unknown cause, 46 unknown common address, 47 unknown IOA (docs/protocols/iec104.md §5).
 *
 * Choices the standard leaves open, made here and to be confirmed against the standard text:
 * - a select is held `selectTimeoutMs` (vendor default tSelExecTimeout 10 s); an execute must name the same
 *   IOA and value as the select; a deactivation (COT 8) cancels the select;
 * - a time-tagged command older than `maxCommandAgeMs` is refused negatively rather than dropped, so the
 *   operator learns why nothing happened;
 * - counter interrogation with FRZ "read" answers with the counters of the requested group (or all);
 *   freeze and reset are confirmed and terminated, reset sets those counters to 0.
 */
import { decodeAsdu, encodeAsdu, mirrorAsdu, packAsdus, BROADCAST_CA, type Asdu } from "../codec/asdu";
import { Cot } from "../codec/cot";
import { cp56 } from "../codec/cp56time";
import {
  describeType,
  typeIdFor,
  type CommandObject,
  type InformationObject,
  type MonitorObject,
} from "../codec/information-objects";
import { TypeId, typeIdName } from "../codec/type-ids";
import type { TimeSource } from "../../clock";
import { LinkSession, type LinkEvent, type LinkState } from "./link";
import { duration, problems, refuseProblems, wholeNumber, type OptionProblem } from "../../options";
import { commonAddressCheck, linkProblems, type LinkParameters } from "./params";

export interface OutstationOptions {
  readonly commonAddress: number;
  readonly link?: Partial<LinkParameters>;
  /** How long a select waits for its execute (default 10 s). */
  readonly selectTimeoutMs?: number;
  /** Refuse time-tagged commands older than this; 0 = accept any age (default). */
  readonly maxCommandAgeMs?: number;
  /**
   * Spontaneous changes kept while data transfer is stopped (default 10,000). Beyond it a change updates
   * the point table (the next interrogation has it) but is not queued, so a master that connects and
   * never starts cannot make the station grow without bound.
   */
  readonly maxBufferedChanges?: number;
  /** Send M_EI_NA_1 (end of initialisation, local power on) at the first STARTDT (default false). */
  readonly endOfInitialization?: boolean;
  /**
   * Decide an execute (default: accept). Called synchronously; return false or a reason to refuse it
   * with a negative confirmation.
   */
  readonly onCommand?: (command: CommandObject) => boolean | string;
}

export interface CommandPoint {
  readonly ioa: number;
  /** Which command carries it (the kind, e.g. "single-command"); time-tagged variants are accepted too. */
  readonly kind: CommandObject["kind"];
  /** Refuse a direct execute: the command must be selected first. */
  readonly selectRequired?: boolean;
}

export interface PointOptions {
  /**
   * Interrogation groups 1..16 the point belongs to (it is always in the station interrogation); for
   * integrated totals, which only counter interrogation reads, the counter groups 1..4.
   */
  readonly groups?: readonly number[];
}

export type OutstationEvent =
  | Exclude<LinkEvent, { type: "asdu" }>
  /** A command the station executed (after its positive confirmation). */
  | { readonly type: "command"; readonly command: CommandObject; readonly asdu: Asdu }
  /** The master set the station's clock; later time tags follow it. */
  | { readonly type: "clock-sync"; readonly time: number }
  | { readonly type: "reset-process"; readonly qrp: number }
  | { readonly type: "warning"; readonly message: string };

interface PointEntry {
  object: MonitorObject;
  /** The plain (untimed) type that carries it in interrogation and read answers. */
  readonly typeId: number;
  readonly groups: ReadonlySet<number>;
}

interface Selection {
  readonly command: CommandObject;
  readonly until: number;
}

const DEFAULT_SELECT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_BUFFERED = 10_000;

/** Send the received request back with `cot` (and P/N when negative). */
type Answer = (cot: number, negative?: boolean) => void;

function sameCommand(a: CommandObject, b: CommandObject): boolean {
  return (
    a.kind === b.kind && a.ioa === b.ioa && a.value === b.value && commandQualifier(a) === commandQualifier(b)
  );
}

function commandQualifier(c: CommandObject): number {
  return c.kind === "bitstring-command" ? 0 : c.qualifier;
}

/** What is wrong with outstation options, each with its field; empty when they are usable. */
export function checkOutstationOptions(o: OutstationOptions): OptionProblem[] {
  return [
    ...problems(commonAddressCheck("commonAddress", o.commonAddress)),
    ...linkProblems(o.link),
    ...problems(
      duration("selectTimeoutMs", "select timeout", o.selectTimeoutMs, 1),
      duration("maxCommandAgeMs", "command age limit", o.maxCommandAgeMs, 0, "no limit"),
      wholeNumber("maxBufferedChanges", "buffered changes", o.maxBufferedChanges, 0),
    ),
  ];
}

/** The point's state without a time tag: the table holds values, time tags are stamped when sent. */
function untimed(o: MonitorObject): MonitorObject {
  if (o.time === undefined) return o;
  const copy: { time?: unknown } = { ...o };
  delete copy.time;
  return copy as MonitorObject;
}

export class OutstationSession {
  readonly link: LinkSession;
  private readonly points = new Map<number, PointEntry>();
  /** Points by plain type, types ascending, IOAs ascending: the order of interrogation answers. */
  private answerOrder: Map<number, PointEntry[]> | undefined;
  private readonly commands = new Map<number, CommandPoint>();
  private readonly selections = new Map<number, Selection>();
  /** Station time = clock + offset; clock synchronisation moves the offset. */
  private timeOffsetMs = 0;
  private initialized = false;

  constructor(
    private readonly options: OutstationOptions,
    private readonly clock: TimeSource,
  ) {
    refuseProblems(checkOutstationOptions(options));
    this.link = new LinkSession("controlled", clock, options.link);
  }

  get state(): LinkState {
    return this.link.state;
  }

  /** The station's own time, as clock synchronisation set it. */
  stationTime(): number {
    return this.clock.now() + this.timeOffsetMs;
  }

  /** Add or replace a monitored point, silently: the master sees it at the next interrogation or change. */
  definePoint(object: MonitorObject, options: PointOptions = {}): void {
    const typeId = typeIdFor(object.kind, false);
    if (typeId === undefined) throw new RangeError(`${object.kind} is not a monitor type`);
    this.points.set(object.ioa, { object: untimed(object), typeId, groups: new Set(options.groups ?? []) });
    this.answerOrder = undefined;
  }

  defineCommand(point: CommandPoint): void {
    this.commands.set(point.ioa, point);
  }

  /** The current state of a point. */
  point(ioa: number): MonitorObject | undefined {
    return this.points.get(ioa)?.object;
  }

  /**
   * Change a point and send it spontaneously (COT 3), with a CP56Time2a tag of the station time unless
   * `timed` is false. While data transfer is stopped the change waits in the link's queue.
   */
  update(
    object: MonitorObject,
    opts: { readonly timed?: boolean; readonly cot?: number } = {},
  ): OutstationEvent[] {
    const entry = this.points.get(object.ioa);
    if (entry === undefined) throw new RangeError(`IOA ${object.ioa} is not a point of this station`);
    if (entry.object.kind !== object.kind) {
      throw new RangeError(`IOA ${object.ioa} is a ${entry.object.kind} point, not ${object.kind}`);
    }
    entry.object = untimed(object);
    const limit = this.options.maxBufferedChanges ?? DEFAULT_MAX_BUFFERED;
    if (this.link.state !== "started" && this.link.queued >= limit) {
      return [
        {
          type: "warning",
          message: `IOA ${object.ioa} changed while ${limit} changes wait for STARTDT; not queued`,
        },
      ];
    }
    const timed = opts.timed ?? true;
    const typeId = typeIdFor(object.kind, timed);
    if (typeId === undefined) throw new RangeError(`no monitor type carries ${object.kind}`);
    const sent = timed ? { ...entry.object, time: cp56(this.stationTime()) } : entry.object;
    return this.sendAsdu(this.reply(typeId, opts.cot ?? Cot.SPONTANEOUS, 0, [sent]));
  }

  close(reason: string): OutstationEvent[] {
    return this.fromLink(this.link.close(reason));
  }

  receive(chunk: Uint8Array): OutstationEvent[] {
    return this.fromLink(this.link.receive(chunk));
  }

  nextDeadline(): number | undefined {
    return this.link.nextDeadline();
  }

  tick(): OutstationEvent[] {
    return this.fromLink(this.link.tick());
  }

  private fromLink(events: LinkEvent[]): OutstationEvent[] {
    const out: OutstationEvent[] = [];
    for (const e of events) {
      if (e.type === "asdu") {
        this.onAsdu(e.asdu, out);
        continue;
      }
      out.push(e);
      if (e.type === "state" && e.state === "started" && !this.initialized) {
        this.initialized = true;
        if (this.options.endOfInitialization) {
          const eoi: InformationObject = {
            kind: "end-of-init",
            ioa: 0,
            cause: 0,
            afterParameterChange: false,
          };
          out.push(...this.sendAsdu(this.reply(TypeId.M_EI_NA_1, Cot.INITIALIZED, 0, [eoi])));
        }
      }
    }
    return out;
  }

  private sendAsdu(asdu: Asdu): OutstationEvent[] {
    return this.fromLink(this.link.send(encodeAsdu(asdu)));
  }

  private reply(typeId: number, cot: number, originator: number, objects: InformationObject[]): Asdu {
    return {
      typeId,
      sequence: false,
      cot,
      negative: false,
      test: false,
      originator,
      commonAddress: this.options.commonAddress,
      objects,
    };
  }

  private onAsdu(bytes: Buffer, out: OutstationEvent[]): void {
    const r = decodeAsdu(bytes);
    if (r.kind === "malformed") {
      out.push({ type: "warning", message: `malformed ASDU ignored: ${r.reason}` });
      return;
    }
    if (r.kind === "unknown-type") {
      out.push(...this.fromLink(this.link.send(mirrorAsdu(bytes, Cot.UNKNOWN_TYPE_ID, true))));
      return;
    }
    const asdu = r.asdu;
    const ca = asdu.commonAddress;
    const broadcastable =
      asdu.typeId === TypeId.C_IC_NA_1 ||
      asdu.typeId === TypeId.C_CI_NA_1 ||
      asdu.typeId === TypeId.C_CS_NA_1;
    if (ca !== this.options.commonAddress && !(ca === BROADCAST_CA && broadcastable)) {
      out.push(...this.fromLink(this.link.send(mirrorAsdu(bytes, Cot.UNKNOWN_CA, true))));
      return;
    }
    // A station answers a request to the global address under its own address.
    const replyCa = ca === BROADCAST_CA ? this.options.commonAddress : undefined;
    const answer: Answer = (cot, negative = false) => {
      out.push(...this.fromLink(this.link.send(mirrorAsdu(bytes, cot, negative, replyCa))));
    };
    const obj = asdu.objects[0];
    switch (obj.kind) {
      case "interrogation":
        this.interrogation(asdu, obj.qoi, answer, out);
        return;
      case "counter-interrogation":
        this.counterInterrogation(asdu, obj.request, obj.freeze, answer, out);
        return;
      case "read":
        this.read(asdu, obj.ioa, answer, out);
        return;
      case "clock-sync":
        if (asdu.cot !== Cot.ACTIVATION) return answer(Cot.UNKNOWN_COT, true);
        if (obj.time.invalid) {
          // A time marked invalid (or not a real date) must not become the station's clock.
          out.push({ type: "warning", message: "clock synchronisation with an invalid time refused" });
          return answer(Cot.ACTIVATION_CON, true);
        }
        this.timeOffsetMs = obj.time.epochMs - this.clock.now();
        out.push({ type: "clock-sync", time: obj.time.epochMs });
        answer(Cot.ACTIVATION_CON);
        return;
      case "test-time":
      case "test":
        if (asdu.cot !== Cot.ACTIVATION) return answer(Cot.UNKNOWN_COT, true);
        answer(Cot.ACTIVATION_CON);
        return;
      case "reset-process":
        if (asdu.cot !== Cot.ACTIVATION) return answer(Cot.UNKNOWN_COT, true);
        answer(Cot.ACTIVATION_CON);
        out.push({ type: "reset-process", qrp: obj.qrp });
        return;
      case "single-command":
      case "double-command":
      case "step-command":
      case "setpoint-normalized":
      case "setpoint-scaled":
      case "setpoint-float":
      case "bitstring-command":
        this.command(asdu, obj, answer, out);
        return;
      default:
        // Monitor-direction types and end of initialisation are not requests a station accepts.
        answer(Cot.UNKNOWN_TYPE_ID, true);
    }
  }

  private interrogation(asdu: Asdu, qoi: number, answer: Answer, out: OutstationEvent[]): void {
    if (asdu.cot !== Cot.ACTIVATION) return answer(Cot.UNKNOWN_COT, true);
    const group = qoi - Cot.INTERROGATED_BY_STATION;
    if (group < 0 || group > 16) {
      answer(Cot.ACTIVATION_CON, true);
      return;
    }
    answer(Cot.ACTIVATION_CON);
    // Interrogation answers: no time tag (docs/protocols/iec104.md §5), the QOI as cause; totals are answered
    // by counter interrogation instead.
    const wanted = (p: PointEntry): boolean =>
      p.object.kind !== "totals" && (group === 0 || p.groups.has(group));
    this.sendGrouped(wanted, qoi, asdu.originator, out);
    answer(Cot.ACTIVATION_TERM);
  }

  private counterInterrogation(
    asdu: Asdu,
    request: number,
    freeze: number,
    answer: Answer,
    out: OutstationEvent[],
  ): void {
    if (asdu.cot !== Cot.ACTIVATION) return answer(Cot.UNKNOWN_COT, true);
    // RQT 1..4 are counter groups, 5 the general request (docs/protocols/iec104.md §3).
    if (request < 1 || request > 5) {
      answer(Cot.ACTIVATION_CON, true);
      return;
    }
    answer(Cot.ACTIVATION_CON);
    const selected = (p: PointEntry): boolean =>
      p.object.kind === "totals" && (request === 5 || p.groups.has(request));
    if (freeze === 0) {
      const cot =
        request === 5 ? Cot.REQUESTED_BY_GENERAL_COUNTER : Cot.REQUESTED_BY_GROUP_1_COUNTER + request - 1;
      this.sendGrouped(selected, cot, asdu.originator, out);
    } else if (freeze >= 2) {
      for (const p of this.points.values()) {
        if (selected(p) && p.object.kind === "totals") {
          p.object = { ...p.object, value: 0, sequence: (p.object.sequence + 1) % 32 };
        }
      }
    }
    answer(Cot.ACTIVATION_TERM);
  }

  /** The points `wanted` picks, by type and IOA, packed into as few ASDUs of the plain types as fit. */
  private sendGrouped(
    wanted: (p: PointEntry) => boolean,
    cot: number,
    originator: number,
    out: OutstationEvent[],
  ): void {
    for (const [typeId, entries] of this.byType()) {
      const objects: MonitorObject[] = [];
      for (const e of entries) if (wanted(e)) objects.push(e.object);
      if (objects.length === 0) continue;
      const header = {
        typeId,
        cot,
        negative: false,
        test: false,
        originator,
        commonAddress: this.options.commonAddress,
      };
      for (const a of packAsdus(header, objects)) out.push(...this.sendAsdu(a));
    }
  }

  private byType(): Map<number, PointEntry[]> {
    if (this.answerOrder !== undefined) return this.answerOrder;
    const sorted = [...this.points.values()].sort(
      (a, b) => a.typeId - b.typeId || a.object.ioa - b.object.ioa,
    );
    const order = new Map<number, PointEntry[]>();
    for (const e of sorted) {
      const list = order.get(e.typeId);
      if (list === undefined) order.set(e.typeId, [e]);
      else list.push(e);
    }
    this.answerOrder = order;
    return order;
  }

  private read(asdu: Asdu, ioa: number, answer: Answer, out: OutstationEvent[]): void {
    if (asdu.cot !== Cot.REQUEST) return answer(Cot.UNKNOWN_COT, true);
    const entry = this.points.get(ioa);
    if (entry === undefined) return answer(Cot.UNKNOWN_IOA, true);
    out.push(...this.sendAsdu(this.reply(entry.typeId, Cot.REQUEST, asdu.originator, [entry.object])));
  }

  private command(asdu: Asdu, cmd: CommandObject, answer: Answer, out: OutstationEvent[]): void {
    const point = this.commands.get(cmd.ioa);
    if (point === undefined || point.kind !== cmd.kind) return answer(Cot.UNKNOWN_IOA, true);
    const now = this.clock.now();
    const negative = (cot: number): void => answer(cot, true);
    if (asdu.cot === Cot.DEACTIVATION) {
      // Deactivation withdraws a select that has not been executed.
      const had = this.selections.delete(cmd.ioa);
      if (had) answer(Cot.DEACTIVATION_CON);
      else negative(Cot.DEACTIVATION_CON);
      return;
    }
    if (asdu.cot !== Cot.ACTIVATION) return answer(Cot.UNKNOWN_COT, true);
    const maxAge = this.options.maxCommandAgeMs ?? 0;
    // A command whose time tag is invalid cannot prove its age, so it is refused like a late one.
    const late =
      cmd.time !== undefined &&
      (cmd.time.invalid || Math.abs(this.stationTime() - cmd.time.epochMs) > maxAge);
    if (maxAge > 0 && late) {
      const why = cmd.time?.invalid ? "its time tag is invalid" : `older than ${maxAge} ms`;
      out.push({ type: "warning", message: `${typeIdName(asdu.typeId)} IOA ${cmd.ioa} refused: ${why}` });
      return negative(Cot.ACTIVATION_CON);
    }
    if (cmd.select) {
      this.selections.set(cmd.ioa, {
        command: cmd,
        until: now + (this.options.selectTimeoutMs ?? DEFAULT_SELECT_TIMEOUT_MS),
      });
      answer(Cot.ACTIVATION_CON);
      return;
    }
    const selection = this.selections.get(cmd.ioa);
    this.selections.delete(cmd.ioa);
    const selected = selection !== undefined && now <= selection.until && sameCommand(selection.command, cmd);
    if (point.selectRequired && !selected) {
      const why =
        selection === undefined
          ? "not selected"
          : now > selection.until
            ? "select timed out"
            : "differs from the select";
      out.push({ type: "warning", message: `${typeIdName(asdu.typeId)} IOA ${cmd.ioa} refused: ${why}` });
      return negative(Cot.ACTIVATION_CON);
    }
    const verdict = this.options.onCommand?.(cmd) ?? true;
    if (verdict !== true) {
      const why = verdict === false ? "refused by the station" : verdict;
      out.push({ type: "warning", message: `${typeIdName(asdu.typeId)} IOA ${cmd.ioa} refused: ${why}` });
      return negative(Cot.ACTIVATION_CON);
    }
    answer(Cot.ACTIVATION_CON);
    out.push({ type: "command", command: cmd, asdu });
    answer(Cot.ACTIVATION_TERM);
  }
}

/** The element kind a command point takes for a type id (45..64), for configuration from type numbers. */
export function commandKindOf(typeId: number): CommandObject["kind"] | undefined {
  const kind = describeType(typeId)?.kind;
  switch (kind) {
    case "single-command":
    case "double-command":
    case "step-command":
    case "setpoint-normalized":
    case "setpoint-scaled":
    case "setpoint-float":
    case "bitstring-command":
      return kind;
    default:
      return undefined;
  }
}
