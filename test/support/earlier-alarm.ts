/**
 * An alarm record as versions before typed alarm fields stored it: the checker's record with its
 * severity as text. The unit test of the reader and the REST test over real Redis read the same one.
 */
export const EARLIER_ALARM = Object.freeze({
  key: "plc1:t1:power",
  condition: "high",
  active: true,
  acked: false,
  ts: 1_700_000_000_000,
  severity: "500",
  message: "power high",
  value: 250,
  state: "raised",
  shelvedUntil: 0,
});
