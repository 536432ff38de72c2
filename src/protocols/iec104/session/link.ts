/**
 * The APCI link of one IEC 60870-5-104 connection, either side: STARTDT/STOPDT, TESTFR, numbered I-frames
 * with the k/w windows and the timers t1, t2, t3 (the standard's clause 5; docs/protocols/iec104.md §1, §5).
 *
 * It owns no socket and no timer. The transport feeds it received octets (`receive`), the time
 * (`tick`, at or after `nextDeadline()`) and ASDUs to send (`send`); each call returns what to do:
 * octets to write, ASDUs received, state changes and a close with its reason. Every timer is a deadline
 * computed from the injected clock and checked in `tick` alone.
 *
 * States (controlling = master, controlled = outstation):
 *
 *   stopped --start()/STARTDT act sent--> starting --STARTDT con--> started      (controlling)
 *   stopped --STARTDT act received, con sent--------------------> started      (controlled)
 *   started --stop()/STOPDT act sent--> stopping --STOPDT con--> stopped        (controlling)
 *   started --STOPDT act received--> stopping --own I-frames acknowledged, con sent--> stopped (controlled)
 *   any --protocol error, t1 expiry, close()--> closed                          (final)
 *
 * t1 also bounds how long the start of an APDU may wait for its end (docs/protocols/iec104.md §1,
 * "An incomplete APDU").
 *
 * I-frames are sent only in `started`; ASDUs handed over in another state wait in the queue and leave,
 * in order, once the link is started and the k window has room.
 */
import {
  ApduAssembler,
  encodeIFrame,
  encodeSFrame,
  encodeUFrame,
  type Apdu,
  type UFunction,
} from "../codec/apci";
import { DEFAULT_LINK_PARAMETERS, linkProblems, refuseProblems, type LinkParameters } from "./params";
import { seqDistance, seqNext } from "./seq";
import type { TimeSource } from "../../clock";

export type LinkRole = "controlling" | "controlled";
export type LinkState = "stopped" | "starting" | "started" | "stopping" | "closed";

export type LinkEvent =
  | { readonly type: "send"; readonly bytes: Buffer }
  | { readonly type: "asdu"; readonly asdu: Buffer }
  | { readonly type: "state"; readonly state: LinkState }
  | { readonly type: "close"; readonly reason: string };

interface SentFrame {
  readonly seq: number;
  readonly at: number;
}

type PendingU = { readonly fn: "startdt-act" | "stopdt-act" | "testfr-act"; readonly at: number };

export class LinkSession {
  private linkState: LinkState = "stopped";
  private readonly params: LinkParameters;
  private readonly assembler = new ApduAssembler();
  /** V(S): the N(S) of the next I-frame we send. */
  private sendSeq = 0;
  /** V(R): the N(S) we expect on the next I-frame received. */
  private recvSeq = 0;
  /** Sent I-frames not yet acknowledged, oldest first (at most k). */
  private unacked: SentFrame[] = [];
  /** I-frames received since we last told the peer our V(R), and when the first of them arrived. */
  private recvUnacked = 0;
  private recvUnackedSince = 0;
  private lastReceivedAt: number;
  private pendingStartStop: PendingU | undefined;
  private pendingTest: PendingU | undefined;
  /**
   * The APDU whose first octets arrived but not its last, and since when. A peer that stops mid-frame
   * has failed as surely as one that leaves an I-frame unconfirmed, and t3's test frame cannot help:
   * its octets would be read as the rest of the broken frame. So it is held at most t1 (issue #21).
   */
  private partial: { readonly frame: number; readonly since: number } | undefined;
  private readonly queue: Buffer[] = [];
  private queueHead = 0;

  constructor(
    readonly role: LinkRole,
    private readonly clock: TimeSource,
    params: Partial<LinkParameters> = {},
  ) {
    refuseProblems(linkProblems(params));
    this.params = { ...DEFAULT_LINK_PARAMETERS, ...params };
    this.lastReceivedAt = clock.now();
  }

  get state(): LinkState {
    return this.linkState;
  }

  /** V(S): the N(S) the next I-frame will carry (for diagnostics and status). */
  get sendSequence(): number {
    return this.sendSeq;
  }

  /** V(R): the N(S) expected on the next I-frame received. */
  get receiveSequence(): number {
    return this.recvSeq;
  }

  /** ASDUs handed to `send` and not yet on the wire. */
  get queued(): number {
    return this.queue.length - this.queueHead;
  }

  /** Sent I-frames awaiting acknowledgement. */
  get unacknowledged(): number {
    return this.unacked.length;
  }

  /** Controlling station: ask the peer to start data transfer (STARTDT act). */
  start(): LinkEvent[] {
    if (this.role !== "controlling") throw new Error("only the controlling station sends STARTDT");
    if (this.linkState !== "stopped") return [];
    const out: LinkEvent[] = [];
    this.pendingStartStop = { fn: "startdt-act", at: this.clock.now() };
    out.push({ type: "send", bytes: encodeUFrame("startdt-act") });
    this.setState("starting", out);
    return out;
  }

  /** Controlling station: stop data transfer (STOPDT act), acknowledging what was received first. */
  stop(): LinkEvent[] {
    if (this.role !== "controlling") throw new Error("only the controlling station sends STOPDT");
    if (this.linkState !== "started") return [];
    const out: LinkEvent[] = [];
    this.acknowledge(out);
    this.pendingStartStop = { fn: "stopdt-act", at: this.clock.now() };
    out.push({ type: "send", bytes: encodeUFrame("stopdt-act") });
    this.setState("stopping", out);
    return out;
  }

  /** Queue an encoded ASDU; it is sent now if the link is started and the k window has room. */
  send(asdu: Buffer): LinkEvent[] {
    if (this.linkState === "closed") return [];
    this.queue.push(asdu);
    const out: LinkEvent[] = [];
    this.flush(out);
    return out;
  }

  /** Close from our side (the transport lost the socket, or the application gives up). */
  close(reason: string): LinkEvent[] {
    if (this.linkState === "closed") return [];
    const out: LinkEvent[] = [];
    this.fail(reason, out);
    return out;
  }

  /** Octets from the socket, split anywhere. */
  receive(chunk: Uint8Array): LinkEvent[] {
    const out: LinkEvent[] = [];
    if (this.linkState === "closed") return out;
    for (const r of this.assembler.push(chunk)) {
      if (r.kind === "malformed") {
        this.fail(`malformed frame: ${r.reason}`, out);
        break;
      }
      this.lastReceivedAt = this.clock.now();
      this.handle(r.apdu, out);
      if (this.isClosed()) break;
    }
    if (!this.isClosed()) {
      const frame = this.assembler.pendingFrame;
      if (frame === undefined) this.partial = undefined;
      else if (this.partial?.frame !== frame) this.partial = { frame, since: this.clock.now() };
    }
    return out;
  }

  /** The earliest time `tick` has something to do, or undefined when nothing is timed. */
  nextDeadline(): number | undefined {
    if (this.linkState === "closed") return undefined;
    const p = this.params;
    let next = this.lastReceivedAt + p.t3Ms;
    if (this.pendingTest !== undefined) next = this.pendingTest.at + p.t1Ms;
    if (this.unacked.length > 0) next = Math.min(next, this.unacked[0].at + p.t1Ms);
    if (this.pendingStartStop !== undefined) next = Math.min(next, this.pendingStartStop.at + p.t1Ms);
    if (this.recvUnacked > 0) next = Math.min(next, this.recvUnackedSince + p.t2Ms);
    if (this.partial !== undefined) next = Math.min(next, this.partial.since + p.t1Ms);
    return next;
  }

  /** Act on every deadline that has passed. */
  tick(): LinkEvent[] {
    const out: LinkEvent[] = [];
    if (this.linkState === "closed") return out;
    const now = this.clock.now();
    const p = this.params;
    // t1 (clause 5.2): an unconfirmed I-frame or U-format act means the peer or the path is gone.
    if (this.unacked.length > 0 && now >= this.unacked[0].at + p.t1Ms) {
      this.fail(`no acknowledgement of I-frame N(S)=${this.unacked[0].seq} within t1 (${p.t1Ms} ms)`, out);
      return out;
    }
    if (this.partial !== undefined && now >= this.partial.since + p.t1Ms) {
      const held = this.assembler.buffered;
      const octets = `${held} octet${held === 1 ? "" : "s"}`;
      this.fail(`an incomplete APDU (${octets}) was not completed within t1 (${p.t1Ms} ms)`, out);
      return out;
    }
    for (const pending of [this.pendingStartStop, this.pendingTest]) {
      if (pending !== undefined && now >= pending.at + p.t1Ms) {
        const con = pending.fn.replace("-act", " con").toUpperCase();
        this.fail(`no ${con} within t1 (${p.t1Ms} ms)`, out);
        return out;
      }
    }
    if (this.recvUnacked > 0 && now >= this.recvUnackedSince + p.t2Ms) this.acknowledge(out);
    if (this.pendingTest === undefined && now >= this.lastReceivedAt + p.t3Ms) {
      this.pendingTest = { fn: "testfr-act", at: now };
      out.push({ type: "send", bytes: encodeUFrame("testfr-act") });
    }
    return out;
  }

  private handle(apdu: Apdu, out: LinkEvent[]): void {
    switch (apdu.format) {
      case "I":
        this.handleI(apdu.sendSeq, apdu.recvSeq, apdu.asdu, out);
        return;
      case "S":
        this.handleAck(apdu.recvSeq, out);
        return;
      case "U":
        this.handleU(apdu.fn, out);
        return;
    }
  }

  private handleI(ns: number, nr: number, asdu: Buffer, out: LinkEvent[]): void {
    // Data flows only after STARTDT (clause 5.3); the reference outstation drops a link that sends earlier.
    const accepting =
      this.linkState === "started" || (this.role === "controlling" && this.linkState === "stopping");
    if (!accepting) {
      this.fail(`I-frame received while data transfer is ${this.linkState}`, out);
      return;
    }
    if (ns !== this.recvSeq) {
      this.fail(`sequence error: expected N(S)=${this.recvSeq}, received ${ns}`, out);
      return;
    }
    if (!this.handleAck(nr, out)) return;
    this.recvSeq = seqNext(this.recvSeq);
    if (this.recvUnacked === 0) this.recvUnackedSince = this.clock.now();
    this.recvUnacked++;
    out.push({ type: "asdu", asdu });
    if (this.recvUnacked >= this.params.w) this.acknowledge(out);
  }

  /** Release our I-frames the peer acknowledged with N(R); false (and closed) when N(R) is impossible. */
  private handleAck(nr: number, out: LinkEvent[]): boolean {
    const oldest = this.unacked.length > 0 ? this.unacked[0].seq : this.sendSeq;
    // N(R) may acknowledge any prefix of what is outstanding, nothing beyond V(S) (clause 5.1).
    const acked = seqDistance(oldest, nr);
    if (acked > this.unacked.length) {
      this.fail(
        `peer acknowledged N(R)=${nr}, but the unacknowledged I-frames are ${oldest}..${this.sendSeq}`,
        out,
      );
      return false;
    }
    if (acked > 0) this.unacked.splice(0, acked);
    if (this.role === "controlled" && this.linkState === "stopping" && this.unacked.length === 0) {
      this.confirmStop(out);
    }
    this.flush(out);
    return true;
  }

  private handleU(fn: UFunction, out: LinkEvent[]): void {
    switch (fn) {
      case "testfr-act":
        out.push({ type: "send", bytes: encodeUFrame("testfr-con") });
        return;
      case "testfr-con":
        // An unsolicited con is harmless: the frame itself already proved the link alive (lastReceivedAt).
        this.pendingTest = undefined;
        return;
      case "startdt-act":
        if (this.role !== "controlled") break;
        out.push({ type: "send", bytes: encodeUFrame("startdt-con") });
        this.setState("started", out);
        this.flush(out);
        return;
      case "stopdt-act":
        if (this.role !== "controlled") break;
        // Acknowledge what we received, then confirm once the peer has acknowledged all we sent (clause 5.3).
        this.acknowledge(out);
        this.setState("stopping", out);
        if (this.unacked.length === 0) this.confirmStop(out);
        return;
      case "startdt-con":
        if (this.pendingStartStop?.fn !== "startdt-act") break;
        this.pendingStartStop = undefined;
        this.setState("started", out);
        this.flush(out);
        return;
      case "stopdt-con":
        if (this.pendingStartStop?.fn !== "stopdt-act") break;
        this.pendingStartStop = undefined;
        this.setState("stopped", out);
        return;
    }
    this.fail(
      `unexpected ${fn.replace("-", " ").toUpperCase()} for the ${this.role} station in state ${this.linkState}`,
      out,
    );
  }

  // A method, not a field read, so the compiler does not narrow the state across calls that change it.
  private isClosed(): boolean {
    return this.linkState === "closed";
  }

  private confirmStop(out: LinkEvent[]): void {
    out.push({ type: "send", bytes: encodeUFrame("stopdt-con") });
    this.setState("stopped", out);
  }

  /** Send an S-frame for what was received, if anything is unacknowledged. */
  private acknowledge(out: LinkEvent[]): void {
    if (this.recvUnacked === 0) return;
    this.recvUnacked = 0;
    out.push({ type: "send", bytes: encodeSFrame(this.recvSeq) });
  }

  private flush(out: LinkEvent[]): void {
    if (this.linkState !== "started") return;
    while (this.queueHead < this.queue.length && this.unacked.length < this.params.k) {
      const asdu = this.queue[this.queueHead++];
      const now = this.clock.now();
      out.push({ type: "send", bytes: encodeIFrame(this.sendSeq, this.recvSeq, asdu) });
      // The I-frame carries N(R) = V(R): it acknowledges everything received so far.
      this.recvUnacked = 0;
      this.unacked.push({ seq: this.sendSeq, at: now });
      this.sendSeq = seqNext(this.sendSeq);
    }
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
  }

  private setState(state: LinkState, out: LinkEvent[]): void {
    if (this.linkState === state) return;
    this.linkState = state;
    out.push({ type: "state", state });
  }

  private fail(reason: string, out: LinkEvent[]): void {
    this.pendingStartStop = undefined;
    this.pendingTest = undefined;
    this.partial = undefined;
    this.unacked = [];
    this.recvUnacked = 0;
    this.queue.length = 0;
    this.queueHead = 0;
    this.setState("closed", out);
    out.push({ type: "close", reason });
  }
}
