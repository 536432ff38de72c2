/**
 * What several Modbus codec tests ask the same way: the exception a request's PDU is refused with, and
 * the byte-stream tools the framer fuzz tests cut frames with.
 */
import { decodeRequest } from "../../../src/protocols/modbus/codec/pdu";
import { hex } from "../../fixtures/modbus/frames";

/** The exception code the request PDU (hex text) is answered with, or undefined when it is accepted. */
export function requestExceptionCode(pdu: string): number | undefined {
  const r = decodeRequest(hex(pdu));
  return r.kind === "exception" ? r.code : undefined;
}

/** Split `bytes` into chunks at every cut in `cuts`. */
export function splitAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (const c of [...cuts, bytes.length]) {
    out.push(bytes.subarray(from, c));
    from = c;
  }
  return out;
}

/** A small deterministic generator, so a failing fuzz case can be replayed. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}
