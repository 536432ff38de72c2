/**
 * The point keys of a registry, kept between requests for `GET /v1/latest`: reading every point record on
 * each request would cost more than the answer itself. The list is dropped on every registry change this
 * instance hears of, and at most `maxAgeMs` old in any case, so a change announcement lost while Redis
 * was away delays a new point by that much and no more.
 */
import type { Registry } from "../store/registry";

export interface PointIds {
  readonly key: string;
  readonly deviceId: string;
  readonly termId: string;
  readonly itemId: string;
}

interface Entry {
  points: readonly PointIds[] | undefined;
  at: number;
  /** Bumped by every change, so a list read while a change happened is not kept. */
  generation: number;
}

const entries = new WeakMap<Registry, Entry>();

export const MAX_AGE_MS = 1000;

export async function pointIds(
  registry: Registry,
  now: number,
  maxAgeMs = MAX_AGE_MS,
): Promise<readonly PointIds[]> {
  let e = entries.get(registry);
  if (!e) {
    const entry: Entry = { points: undefined, at: 0, generation: 0 };
    registry.onChange(() => {
      entry.points = undefined;
      entry.generation++;
    });
    entries.set(registry, entry);
    e = entry;
  }
  if (e.points !== undefined && now - e.at < maxAgeMs && now >= e.at) return e.points;
  const generation = e.generation;
  const points = (await registry.listPoints()).map(({ key, deviceId, termId, itemId }) => ({
    key,
    deviceId,
    termId,
    itemId,
  }));
  if (e.generation === generation) {
    e.points = points;
    e.at = now;
  }
  return points;
}
