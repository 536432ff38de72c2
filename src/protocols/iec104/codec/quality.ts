/**
 * Quality descriptor QDS (IEC 60870-5-101 §7.2.6.3; docs/protocols/iec104.md §4): OV 0x01, BL 0x10, SB 0x20,
 * NT 0x40, IV 0x80. SIQ and DIQ carry the same upper four bits beside the point state, without OV.
 *
 * The decoded shape is the one the core's DataPoint uses (only the flags that are set), so a value from
 * this codec needs no translation above. Every one of the 32 possible descriptors is built once and
 * shared, frozen: decoding thousands of points a second allocates no quality objects.
 */

export interface Quality {
  readonly invalid?: boolean;
  readonly notTopical?: boolean;
  readonly substituted?: boolean;
  readonly blocked?: boolean;
  readonly overflow?: boolean;
}

const OV = 0x01;
const BL = 0x10;
const SB = 0x20;
const NT = 0x40;
const IV = 0x80;
const QDS_MASK = OV | BL | SB | NT | IV;

function build(bits: number): Quality {
  const q: { -readonly [K in keyof Quality]: boolean } = {};
  if (bits & IV) q.invalid = true;
  if (bits & NT) q.notTopical = true;
  if (bits & SB) q.substituted = true;
  if (bits & BL) q.blocked = true;
  if (bits & OV) q.overflow = true;
  return Object.freeze(q);
}

// Indexed by the masked octet; entries at indices with reserved bits set are never read.
const TABLE: readonly Quality[] = Array.from({ length: QDS_MASK + 1 }, (_, bits) => build(bits));

/** The quality in a QDS octet (reserved bits 1-3 ignored). */
export function qualityFromQds(octet: number): Quality {
  return TABLE[octet & QDS_MASK];
}

/** The quality in the upper bits of a SIQ/DIQ octet. */
export function qualityFromSiq(octet: number): Quality {
  return TABLE[octet & 0xf0];
}

export function qdsFromQuality(q: Quality): number {
  return (
    (q.invalid ? IV : 0) |
    (q.notTopical ? NT : 0) |
    (q.substituted ? SB : 0) |
    (q.blocked ? BL : 0) |
    (q.overflow ? OV : 0)
  );
}

/** The SIQ/DIQ quality bits: QDS without OV, which those octets do not carry. */
export function siqFromQuality(q: Quality): number {
  return qdsFromQuality(q) & 0xf0;
}

export const GOOD: Quality = qualityFromQds(0);
