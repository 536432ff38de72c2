/**
 * Cause of transmission (IEC 60870-5-101 §7.2.3; docs/protocols/iec104.md §3). The COT octet also carries
 * P/N (bit 6, negative confirmation) and T (bit 7, test); those are separate fields of the decoded ASDU.
 */
export const Cot = {
  PERIODIC: 1,
  BACKGROUND: 2,
  SPONTANEOUS: 3,
  INITIALIZED: 4,
  REQUEST: 5,
  ACTIVATION: 6,
  ACTIVATION_CON: 7,
  DEACTIVATION: 8,
  DEACTIVATION_CON: 9,
  ACTIVATION_TERM: 10,
  RETURN_REMOTE: 11,
  RETURN_LOCAL: 12,
  FILE: 13,
  INTERROGATED_BY_STATION: 20,
  /** Group 1; groups 1..16 are 21..36. */
  INTERROGATED_BY_GROUP_1: 21,
  REQUESTED_BY_GENERAL_COUNTER: 37,
  /** Counter group 1; groups 1..4 are 38..41. */
  REQUESTED_BY_GROUP_1_COUNTER: 38,
  UNKNOWN_TYPE_ID: 44,
  UNKNOWN_COT: 45,
  UNKNOWN_CA: 46,
  UNKNOWN_IOA: 47,
} as const;

/** Interrogation answers' cause is the QOI: 20 station, 21..36 groups 1..16 (docs/protocols/iec104.md §3). */
export function isInterrogationCause(cot: number): boolean {
  return cot >= Cot.INTERROGATED_BY_STATION && cot <= Cot.INTERROGATED_BY_STATION + 16;
}

/** Counter interrogation answers: 37 general, 38..41 groups 1..4. */
export function isCounterCause(cot: number): boolean {
  return cot >= Cot.REQUESTED_BY_GENERAL_COUNTER && cot <= Cot.REQUESTED_BY_GENERAL_COUNTER + 4;
}

/** The negative replies a controlled station gives to a request it cannot serve (COT 44..47 with P/N). */
export function isUnknownCause(cot: number): boolean {
  return cot >= Cot.UNKNOWN_TYPE_ID && cot <= Cot.UNKNOWN_IOA;
}
