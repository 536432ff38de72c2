/**
 * The soak's verdict: what the devices produced against what MySQL holds, the alarms the check nodes
 * wrote against those the stored samples call for, the formula rows against their inputs, and device →
 * MySQL latency. Pure functions over data the driver collected, so the rules are in one place and
 * docs/soak.md can quote them.
 */
import type { Produced } from "./devices";

/** A time span in which some samples may be lost, and why (docs/soak.md lists them). */
export interface LossWindow {
  readonly what: string;
  readonly from: number;
  readonly to: number;
  /** The devices it concerns; undefined = every device. */
  readonly devices?: ReadonlySet<string>;
  /**
   * It excuses only the value produced last on a connection before another took over (a rebalance's
   * graceful hand-over abandons the request in flight, docs/scale-out.md "What can be lost" (2)), not
   * every loss inside it.
   */
  readonly handOverOnly?: boolean;
}

export interface StoredSample {
  readonly value: number;
  readonly ts: number;
  readonly cause: string;
}

export interface SequenceVerdict {
  produced: number;
  stored: number;
  /** Lost samples inside a window, per window kind. */
  allowed: Map<string, number>;
  /** Lost samples no window explains: each breaks the invariant. */
  unexplained: Produced[];
  /** Lost samples inside a Redis restart or failover window (none may be), with that window. */
  inRedis: { sample: Produced; window: LossWindow }[];
  /** Lost samples a lease hand-over at a Redis fault abandoned (counted under HAND_OVER_AT_REDIS_FAULT). */
  handedOver: Produced[];
  /** Values stored in more than one row (a sample saved twice under two time stamps). */
  duplicated: { deviceId: string; value: number; rows: readonly StoredSample[] }[];
  /** Values stored that the device never produced. */
  phantom: { deviceId: string; value: number }[];
}

/** A verdict with nothing counted yet, for checkSequence to fill device by device. */
export function emptyVerdict(): SequenceVerdict {
  return {
    produced: 0,
    stored: 0,
    allowed: new Map(),
    unexplained: [],
    inRedis: [],
    handedOver: [],
    duplicated: [],
    phantom: [],
  };
}

/**
 * Match the produced counter values of one device against its stored rows. Only samples produced in
 * [from, to] are counted; duplicates are looked for among first-hand samples (poll, spontaneous): an IEC
 * 104 interrogation reports the current value again by design.
 */
export function checkSequence(
  deviceId: string,
  produced: readonly Produced[],
  stored: readonly StoredSample[],
  windows: readonly LossWindow[],
  from: number,
  to: number,
  v: SequenceVerdict,
  handOvers: ReadonlySet<number> = new Set(),
): void {
  const storedValues = new Set<number>();
  const firstHand = new Map<number, StoredSample[]>();
  for (const s of stored) {
    storedValues.add(s.value);
    if (s.cause === "poll" || s.cause === "spontaneous") {
      const rows = firstHand.get(s.value);
      if (rows === undefined) firstHand.set(s.value, [s]);
      else rows.push(s);
    }
  }
  for (const [value, rows] of firstHand) if (rows.length > 1) v.duplicated.push({ deviceId, value, rows });
  const producedValues = new Set<number>();
  for (const p of produced) {
    producedValues.add(p.value);
    if (p.initial === true || p.at < from || p.at > to) continue;
    v.produced++;
    if (storedValues.has(p.value)) {
      v.stored++;
      continue;
    }
    const inside = windows.filter(
      (x) =>
        p.at >= x.from &&
        p.at <= x.to &&
        (!x.devices || x.devices.has(deviceId)) &&
        (x.handOverOnly !== true || handOvers.has(p.value)),
    );
    // A loss another window explains (a redeploy's hand-over, a stalled link) is that window's, even
    // inside a Redis fault's: the Redis windows excuse nothing, so they are the last resort.
    const w = inside.find((x) => !REDIS_WINDOWS.includes(x.what)) ?? inside[0];
    // A Redis fault excuses no loss but one: the request in flight (Modbus) or the change on its way (IEC
    // 104) when the device's lease moved to another instance, which the old owner abandons by design
    // (docs/scale-out.md, "What can be lost" (2)).
    const what =
      w && REDIS_WINDOWS.includes(w.what) && handOvers.has(p.value) ? HAND_OVER_AT_REDIS_FAULT : w?.what;
    if (what !== undefined) v.allowed.set(what, (v.allowed.get(what) ?? 0) + 1);
    else v.unexplained.push(p);
    if (what === HAND_OVER_AT_REDIS_FAULT) v.handedOver.push(p);
    if (w && what !== undefined && REDIS_WINDOWS.includes(what)) v.inRedis.push({ sample: p, window: w });
  }
  for (const value of storedValues) if (!producedValues.has(value)) v.phantom.push({ deviceId, value });
}

/**
 * The samples at which a high limit with hysteresis raises, over a point's stored good samples in time
 * order: the time stamps the raise rows should carry.
 */
export function expectedRaises(
  samples: readonly { readonly value: number; readonly ts: number }[],
  high: number,
  hysteresis: number,
): number[] {
  let active = false;
  const raises: number[] = [];
  for (const s of samples) {
    if (!active && s.value > high) {
      active = true;
      raises.push(s.ts);
    } else if (active && s.value <= high - hysteresis) active = false;
  }
  return raises;
}

/** The windows of a Redis fault: with the outage buffer no sample should be lost inside them. */
export const REDIS_WINDOWS: readonly string[] = ["Redis restart", "failover"];
export const HAND_OVER_AT_REDIS_FAULT = "lease hand-over at a Redis fault";

/**
 * The values a device produced last on a connection before another connection took over: the Modbus
 * request a hand-over may abandon, or the IEC 104 change an outstation sent as its master closed the
 * connection at the lease deadline (docs/scale-out.md, "What can be lost" (2)).
 */
export function lastBeforeHandOver(produced: readonly Produced[]): Set<number> {
  const out = new Set<number>();
  const sorted = produced.filter((p) => p.connection !== undefined).sort((a, b) => a.at - b.at);
  for (let i = 0; i + 1 < sorted.length; i++)
    if (sorted[i].connection !== sorted[i + 1].connection) out.add(sorted[i].value);
  return out;
}

/**
 * Requests a Modbus device answered on a connection it had already seen replaced by another: two pollers
 * at once (two instances each holding the device, or one polling past its lease). A hand-over shows as
 * one switch from the old connection to the new; a return to an earlier one means both were polling.
 */
export function twoPollers(produced: readonly Produced[]): Produced[] {
  const replaced = new Set<number>();
  let current: number | undefined;
  const out: Produced[] = [];
  for (const p of [...produced].sort((a, b) => a.at - b.at)) {
    if (p.connection === undefined || p.connection === current) continue;
    if (replaced.has(p.connection)) out.push(p);
    if (current !== undefined) replaced.add(current);
    current = p.connection;
  }
  return out;
}
