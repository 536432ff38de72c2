/**
 * Scaling and deadband, the same for every protocol: a point's engineering value is
 * `raw * coefficient + base`, and a new value is reported only when it moved past the point's deadband.
 * The Modbus and IEC 104 terms and the command node share them, so they live in the model rather than in
 * one protocol's folder.
 */

export type EngineeringValue = boolean | number | string;

export interface Scaling {
  readonly coefficient: number;
  readonly base: number;
}

export const IDENTITY_SCALING: Scaling = Object.freeze({ coefficient: 1, base: 0 });

/**
 * Whether `next` should be reported after `previous` was: always for the first value or a change of
 * kind, on any change for booleans and strings, and for numbers when |next − previous| exceeds the
 * deadband (deadband 0: any change). NaN to NaN is no change.
 */
export function exceedsDeadband(
  previous: EngineeringValue | undefined,
  next: EngineeringValue,
  deadband: number,
): boolean {
  if (previous === undefined || typeof previous !== typeof next) return true;
  if (typeof previous !== "number" || typeof next !== "number") return previous !== next;
  if (Number.isNaN(previous) || Number.isNaN(next)) return Number.isNaN(previous) !== Number.isNaN(next);
  return Math.abs(next - previous) > deadband;
}
