/**
 * A large registry plan (an import of 100,000 rows: half a million writes) applied by the memory store
 * without holding the event loop for all of it: the writes to registry-only keys go onto copies of those
 * keys a slice at a time, and the atomic step swaps the copies in (one assignment per key) and applies
 * the few other writes. Until then readers see the registry as it was; a plan the revision check
 * refuses leaves nothing behind. The Redis store does the same with stage keys (redis-store.ts).
 */
import type { Slicer } from "../slicer";
import { registryOnly } from "./keys";
import type { RegistryOp } from "./registry";

/** The parts of a keyspace a plan writes. */
export interface PlanTarget {
  readonly hashes: Map<string, Map<string, string>>;
  readonly sets: Map<string, Set<string>>;
  apply(op: RegistryOp): void;
}

/** Entries copied between two chances to yield. */
const COPY_SLICE = 1024;

async function copied<T>(
  from: Iterable<T> | undefined,
  add: (entry: T) => void,
  slicer: Slicer,
): Promise<void> {
  let n = 0;
  for (const entry of from ?? []) {
    add(entry);
    if (++n % COPY_SLICE === 0) await slicer.tick();
  }
}

/**
 * Prepare `ops` on copies; resolves to the step that makes them all visible at once, to be run only if
 * the plan's revision still holds.
 */
export async function stagePlan(
  target: PlanTarget,
  ops: readonly RegistryOp[],
  slicer: Slicer,
): Promise<() => void> {
  const byKey = new Map<string, RegistryOp[]>();
  const direct: RegistryOp[] = [];
  for (const op of ops) {
    if (registryOnly(op.key)) {
      let list = byKey.get(op.key);
      if (!list) byKey.set(op.key, (list = []));
      list.push(op);
    } else direct.push(op);
    await slicer.tick();
  }
  const staged: { key: string; hash?: Map<string, string>; set?: Set<string> }[] = [];
  for (const [key, list] of byKey) {
    let hash: Map<string, string> | undefined;
    let set: Set<string> | undefined;
    if (list[0].op !== "del") {
      const oldHash = target.hashes.get(key);
      const oldSet = target.sets.get(key);
      if (oldHash) await copied(oldHash, ([f, v]) => (hash ??= new Map()).set(f, v), slicer);
      if (oldSet) await copied(oldSet, (m) => (set ??= new Set()).add(m), slicer);
    }
    for (const op of list) {
      switch (op.op) {
        case "hset":
          (hash ??= new Map()).set(op.field, op.value);
          break;
        case "hdel":
          hash?.delete(op.field);
          break;
        case "sadd":
          (set ??= new Set()).add(op.member);
          break;
        case "srem":
          set?.delete(op.member);
          break;
        case "del":
          hash = undefined;
          set = undefined;
          break;
      }
      await slicer.tick();
    }
    staged.push({ key, hash, set });
  }
  return () => {
    for (const { key, hash, set } of staged) {
      if (hash && hash.size > 0) target.hashes.set(key, hash);
      else target.hashes.delete(key);
      if (set && set.size > 0) target.sets.set(key, set);
      else target.sets.delete(key);
    }
    for (const op of direct) target.apply(op);
  };
}
