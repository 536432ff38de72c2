/**
 * The link parameters of IEC 60870-5-104 (clause 9.6 of the standard; docs/protocols/iec104.md §1): the k/w
 * windows and timers t0..t3, as one plain object with the standard defaults, and the checks of the options
 * every IEC 104 session shares (checked the one way options are, src/protocols/options.ts).
 */
import {
  problems,
  rule,
  wholeDuration,
  wholeNumber,
  type OptionCheck,
  type OptionProblem,
} from "../../options";

export { refuseProblems, type OptionProblem } from "../../options";

export interface LinkParameters {
  /** k: at most this many sent I-frames may wait for acknowledgement; then sending stops. */
  readonly k: number;
  /** w: acknowledge at the latest after receiving this many I-frames. */
  readonly w: number;
  /** t0: connection establishment timeout (used by the transport, which owns the socket). */
  readonly t0Ms: number;
  /** t1: a sent I-frame or U-format act not confirmed within t1 closes the connection. */
  readonly t1Ms: number;
  /** t2: a received I-frame is acknowledged within t2 even if no data goes the other way (t2 < t1). */
  readonly t2Ms: number;
  /** t3: after t3 without any frame received, a TESTFR act checks the link. */
  readonly t3Ms: number;
}

/** The standard's defaults (Beckhoff and Oracle documents quote the same; docs/protocols/iec104.md §1). */
export const DEFAULT_LINK_PARAMETERS: LinkParameters = Object.freeze({
  k: 12,
  w: 8,
  t0Ms: 30_000,
  t1Ms: 15_000,
  t2Ms: 10_000,
  t3Ms: 20_000,
});

export type ParameterProblem = OptionProblem<keyof LinkParameters>;

/** What is wrong with a parameter set, in words for the engineer who typed it; empty when it is usable. */
export function checkLinkParameters(p: LinkParameters): ParameterProblem[] {
  // The standard's own ranges: k and w up to 32767 (the sequence space), timers 1..255 s.
  const k = wholeNumber("k", "k", p.k, 1, 32767);
  const w = wholeNumber("w", "w", p.w, 1, 32767);
  const t1 = wholeDuration("t1Ms", "t1", p.t1Ms, 1000, 255_000);
  const t2 = wholeDuration("t2Ms", "t2", p.t2Ms, 1000, 255_000);
  return problems<keyof LinkParameters>(
    k,
    w,
    wholeDuration("t0Ms", "t0", p.t0Ms, 1000, 255_000),
    t1,
    t2,
    wholeDuration("t3Ms", "t3", p.t3Ms, 1000, 172_800_000),
    rule(
      "t2Ms",
      t1 !== undefined || t2 !== undefined || p.t2Ms < p.t1Ms,
      `t2 (${p.t2Ms} ms) must be shorter than t1 (${p.t1Ms} ms)`,
    ),
    // Clause 5.5 recommends w at most two thirds of k, so the peer is acknowledged before its window closes.
    rule(
      "w",
      k !== undefined || w !== undefined || p.w <= p.k,
      `w (${p.w}) must not exceed k (${p.k}); two thirds of k is recommended`,
    ),
  );
}

/** The problems of a partial link parameter set, merged over the defaults, with `link.` paths. */
export function linkProblems(link: Partial<LinkParameters> | undefined): OptionProblem[] {
  return checkLinkParameters({ ...DEFAULT_LINK_PARAMETERS, ...link }).map((p) => ({
    field: `link.${p.field}`,
    message: p.message,
  }));
}

/** A common address a station can have: 1..65534 (0 is unused, 65535 addresses every station). */
export function commonAddressCheck(field: string, ca: number): OptionCheck {
  return wholeNumber(field, "common address", ca, 1, 65534);
}
