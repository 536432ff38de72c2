/**
 * Key names of a namespace, relative to its prefix (docs/redis-keys.md lists each with its type, bound
 * and writer). Both stores use these names: the Redis store prefixes them with the namespace, the memory
 * store keeps them in its own map, so the registry logic that computes writes is shared.
 */
import type { PointKey } from "../model/datapoint";

export const K = {
  /** Registry revision, incremented by every registry write; writers check it to detect a race. */
  rev: "rev",
  devices: "devices",
  terms: "terms",
  items: "items",
  points: "points",
  formulas: "formulas",
  deviceTerms: (deviceId: string) => `device-terms:${deviceId}`,
  termPoints: (termId: string) => `term-points:${termId}`,
  itemPoints: (itemId: string) => `item-points:${itemId}`,
  pointFormulas: (key: PointKey) => `point-formulas:${key}`,
  /** Reverse map: protocol address key → point key. */
  address: "address",
  /** Which address key each point holds in the reverse map, so a delete removes exactly that entry. */
  addressOf: "address-of",
  latest: "latest",
  history: (key: PointKey) => `hist:${key}`,
  frames: (deviceId: string) => `frames:${deviceId}`,
  alarm: (key: PointKey) => `alarm:${key}`,
  alarms: "alarms",
  status: "status",
  events: "events",
} as const;

const REGISTRY_HASHES: ReadonlySet<string> = new Set([
  K.devices,
  K.terms,
  K.items,
  K.points,
  K.formulas,
  K.address,
  K.addressOf,
]);
const REGISTRY_INDEXES = [K.deviceTerms(""), K.termPoints(""), K.itemPoints(""), K.pointFormulas("")];

/**
 * Keys nothing but registry writes change (records, index sets, the reverse address map), so every
 * change to them moves the revision. A store may copy such a key, write a large plan on the copy and swap
 * it in, knowing that a write which got in meanwhile fails the revision check. Latest values, status,
 * alarms and history are written by others too, and a swap would lose their writes.
 */
export function registryOnly(key: string): boolean {
  return REGISTRY_HASHES.has(key) || REGISTRY_INDEXES.some((p) => key.startsWith(p));
}

/**
 * Keys the embedded store does not keep on disk: samples, frames, device status and the events stream
 * are rebuilt by the running system within a poll cycle, while writing each of them to the disk would
 * cost a flush per sample. Everything else (the registry and alarm state) is durable.
 */
export function isVolatileKey(key: string): boolean {
  return (
    key === K.latest ||
    key === K.status ||
    key === K.events ||
    key.startsWith("hist:") ||
    key.startsWith("frames:")
  );
}

/** Pub/sub channels, relative to the namespace prefix. */
export const CHANNEL = {
  points: "points",
  changes: "changes",
} as const;
