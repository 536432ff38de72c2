/**
 * Sequence arithmetic modulo 32768: N(S) and N(R) are 15-bit counters that wrap (docs/protocols/iec104.md §1,
 * counters `(x + 1) % 32768`). Every comparison goes through a distance so the wrap is never a special case.
 */
import { SEQ_MODULO } from "../codec/apci";

export function seqNext(n: number): number {
  return (n + 1) % SEQ_MODULO;
}

/** How many steps forward from `from` to `to`, 0..32767. */
export function seqDistance(from: number, to: number): number {
  return (to - from + SEQ_MODULO) % SEQ_MODULO;
}
