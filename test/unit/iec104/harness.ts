/**
 * Our master wired to our outstation in one process: every byte one writes is fed to the other (optionally
 * one octet at a time) and recorded with its direction; time moves only when the test moves it.
 */
import assert from "node:assert/strict";
import {
  MasterSession,
  OutstationSession,
  type MasterEvent,
  type MasterOptions,
  type OutstationEvent,
  type OutstationOptions,
} from "../../../src/protocols/iec104/session";
import type { Asdu } from "../../../src/protocols/iec104/codec";
import { FakeClock } from "./helpers";

export interface WireFrame {
  readonly from: "master" | "station";
  readonly bytes: Buffer;
}

export class Loopback {
  readonly clock = new FakeClock();
  readonly master: MasterSession;
  readonly station: OutstationSession;
  readonly masterEvents: MasterEvent[] = [];
  readonly stationEvents: OutstationEvent[] = [];
  /** Every frame either side wrote, in order. */
  readonly wire: WireFrame[] = [];

  constructor(
    masterOptions: Partial<MasterOptions> = {},
    stationOptions: Partial<OutstationOptions> = {},
    private readonly byteByByte = false,
  ) {
    this.master = new MasterSession(
      { commonAddress: 1, interrogateOnStart: false, ...masterOptions },
      this.clock,
    );
    this.station = new OutstationSession({ commonAddress: 1, ...stationOptions }, this.clock);
  }

  /** Deliver events' bytes to the other side until both are quiet. */
  fromMaster(events: MasterEvent[]): void {
    let toStation: Buffer[] = [];
    let toMaster: Buffer[] = [];
    const takeM = (evs: MasterEvent[]): void => {
      for (const e of evs) {
        if (e.type === "send") {
          toStation.push(e.bytes);
          this.wire.push({ from: "master", bytes: e.bytes });
        } else this.masterEvents.push(e);
      }
    };
    const takeS = (evs: OutstationEvent[]): void => {
      for (const e of evs) {
        if (e.type === "send") {
          toMaster.push(e.bytes);
          this.wire.push({ from: "station", bytes: e.bytes });
        } else this.stationEvents.push(e);
      }
    };
    takeM(events);
    while (toStation.length > 0 || toMaster.length > 0) {
      const s = toStation;
      toStation = [];
      for (const b of s) for (const c of this.chunks(b)) takeS(this.station.receive(c));
      const m = toMaster;
      toMaster = [];
      for (const b of m) for (const c of this.chunks(b)) takeM(this.master.receive(c));
    }
  }

  fromStation(events: OutstationEvent[]): void {
    const bytes: Buffer[] = [];
    for (const e of events) {
      if (e.type === "send") {
        bytes.push(e.bytes);
        this.wire.push({ from: "station", bytes: e.bytes });
      } else this.stationEvents.push(e);
    }
    const evs: MasterEvent[] = [];
    for (const b of bytes) for (const c of this.chunks(b)) evs.push(...this.master.receive(c));
    this.fromMaster(evs);
  }

  /** Move time to the next deadline of either side and let both act on it. */
  advance(ms: number): void {
    this.clock.advance(ms);
    this.fromMaster(this.master.tick());
    this.fromStation(this.station.tick());
  }

  start(): void {
    this.fromMaster(this.master.start());
    assert.equal(this.master.state, "started");
    assert.equal(this.station.state, "started");
  }

  request(req: Parameters<MasterSession["request"]>[0]): number {
    const { id, events } = this.master.request(req);
    this.fromMaster(events);
    return id;
  }

  outcomes(id: number): string[] {
    return this.masterEvents.flatMap((e) => (e.type === "result" && e.id === id ? [e.outcome] : []));
  }

  detail(id: number): string {
    const last = this.masterEvents.filter((e) => e.type === "result" && e.id === id).at(-1);
    return last?.type === "result" ? last.detail : "";
  }

  data(): Asdu[] {
    return this.masterEvents.flatMap((e) => (e.type === "data" ? [e.asdu] : []));
  }

  private *chunks(b: Buffer): Generator<Buffer> {
    if (!this.byteByByte) {
      yield b;
      return;
    }
    for (let i = 0; i < b.length; i++) yield b.subarray(i, i + 1);
  }
}
