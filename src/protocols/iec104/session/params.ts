/**
 * IEC 60870-5-104 link parameters (the standard's clause 9.6; docs/protocols/iec104.md §1): the k/w windows
 * and timers t0..t3, as one plain object with the standard defaults.
 */

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

export interface ParameterProblem {
  readonly field: keyof LinkParameters;
  readonly message: string;
}

/** What is wrong with a parameter set, in words for the engineer who typed it; empty when it is usable. */
export function checkLinkParameters(p: LinkParameters): ParameterProblem[] {
  const problems: ParameterProblem[] = [];
  const wholeIn = (field: keyof LinkParameters, min: number, max: number, unit: string): boolean => {
    const v = p[field];
    if (Number.isInteger(v) && v >= min && v <= max) return true;
    problems.push({
      field,
      message: `${field} must be a whole number from ${min} to ${max}${unit}, not ${v}`,
    });
    return false;
  };
  // The standard's own ranges: k and w up to 32767 (the sequence space), timers 1..255 s.
  const kOk = wholeIn("k", 1, 32767, "");
  const wOk = wholeIn("w", 1, 32767, "");
  wholeIn("t0Ms", 1000, 255_000, " ms");
  const t1Ok = wholeIn("t1Ms", 1000, 255_000, " ms");
  const t2Ok = wholeIn("t2Ms", 1000, 255_000, " ms");
  wholeIn("t3Ms", 1000, 172_800_000, " ms");
  if (t1Ok && t2Ok && p.t2Ms >= p.t1Ms) {
    problems.push({ field: "t2Ms", message: `t2 (${p.t2Ms} ms) must be shorter than t1 (${p.t1Ms} ms)` });
  }
  // Clause 5.5 recommends w at most two thirds of k, so the peer is acknowledged before its window closes.
  if (kOk && wOk && p.w > p.k) {
    problems.push({
      field: "w",
      message: `w (${p.w}) must not exceed k (${p.k}); two thirds of k is recommended`,
    });
  }
  return problems;
}

/** A problem with one option of a master or outstation; `field` is a path such as `link.t2Ms`. */
export interface OptionProblem {
  readonly field: string;
  readonly message: string;
}

/** The problems of a partial link parameter set, merged over the defaults, with `link.` paths. */
export function linkProblems(link: Partial<LinkParameters> | undefined): OptionProblem[] {
  return checkLinkParameters({ ...DEFAULT_LINK_PARAMETERS, ...link }).map((p) => ({
    field: `link.${p.field}`,
    message: p.message,
  }));
}

/** A common address a station can have: 1..65534 (0 is unused, 65535 addresses every station). */
export function commonAddressProblem(field: string, ca: number): OptionProblem[] {
  if (Number.isInteger(ca) && ca >= 1 && ca <= 65534) return [];
  return [{ field, message: `common address ${ca} must be a whole number from 1 to 65534` }];
}

/** A duration in ms that must be at least `min` (0 meaning "off" where the caller allows it). */
export function durationProblem(
  field: string,
  ms: number | undefined,
  min: number,
  what: string,
): OptionProblem[] {
  if (ms === undefined || (Number.isFinite(ms) && ms >= min)) return [];
  return [{ field, message: `${what} ${ms} ms must be at least ${min} ms` }];
}

/** Throw the first problem as a RangeError: options are checked where the object is made. */
export function refuseProblems(problems: readonly OptionProblem[]): void {
  if (problems.length > 0) throw new RangeError(`${problems[0].field}: ${problems[0].message}`);
}
