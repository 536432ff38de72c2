/** Shared by the IEC 104 session tests: a clock the test moves by hand, and frame shorthands. */
import { decodeApdu, type Apdu } from "../../../src/protocols/iec104/codec";

export class FakeClock {
  constructor(public t = Date.parse("2026-11-21T12:00:00.000Z")) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export function h(hex: string): Buffer {
  return Buffer.from(hex.replace(/\s+/g, ""), "hex");
}

/** The frames in a list of session events of type "send", decoded. */
export function sentFrames(events: readonly { readonly type: string }[]): Apdu[] {
  const out: Apdu[] = [];
  for (const e of events) {
    if (e.type !== "send" || !("bytes" in e) || !Buffer.isBuffer(e.bytes)) continue;
    const r = decodeApdu(e.bytes);
    if (r.kind !== "apdu") throw new Error(`session sent a bad frame: ${JSON.stringify(r)}`);
    out.push(r.apdu);
  }
  return out;
}

/** Short text for a frame: "U startdt-act", "S 3", "I 0/2". */
export function frameText(a: Apdu): string {
  switch (a.format) {
    case "U":
      return `U ${a.fn}`;
    case "S":
      return `S ${a.recvSeq}`;
    case "I":
      return `I ${a.sendSeq}/${a.recvSeq}`;
  }
}

export function sent(events: readonly { readonly type: string }[]): string[] {
  return sentFrames(events).map(frameText);
}
