/**
 * A large plan staged by the memory store: the staged result equals the plan applied op by op, nothing
 * shows before the commit, and writes to keys others write too (latest values) are applied at the
 * commit, not on a copy that would lose what was written meanwhile.
 */
import assert from "node:assert/strict";
import { stagePlan, type PlanTarget } from "../../../../src/core/store/staged-apply";
import { applyOp } from "../../../../src/core/store/journal";
import { K } from "../../../../src/core/store/keys";
import type { RegistryOp } from "../../../../src/core/store/registry";
import { Slicer } from "../../../../src/core/slicer";

/** A keyspace as the memory store keeps it, applying one op at a time. */
function keyspace(): PlanTarget {
  const hashes = new Map<string, Map<string, string>>();
  const sets = new Map<string, Set<string>>();
  return {
    hashes,
    sets,
    // The memory store's own op-by-op apply (Keyspace.apply), the path a small plan takes.
    apply: (op) => applyOp(hashes, sets, op),
  };
}

function snapshot(t: PlanTarget): unknown {
  const sorted = <T>(xs: Iterable<T>): T[] => [...xs].sort();
  return {
    hashes: sorted([...t.hashes].map(([k, h]) => `${k}=${JSON.stringify(sorted(h))}`)),
    sets: sorted([...t.sets].map(([k, s]) => `${k}=${JSON.stringify(sorted(s))}`)),
  };
}

const BEFORE: readonly RegistryOp[] = [
  { op: "hset", key: K.points, field: "d:t:a", value: "A" },
  { op: "hset", key: K.points, field: "d:t:b", value: "B" },
  { op: "sadd", key: K.termPoints("t"), member: "d:t:a" },
  { op: "sadd", key: K.termPoints("t"), member: "d:t:b" },
  { op: "sadd", key: K.termPoints("old"), member: "x" },
  { op: "hset", key: K.latest, field: "d:t:a", value: "1" },
];

const PLAN: readonly RegistryOp[] = [
  { op: "hdel", key: K.points, field: "d:t:a" },
  { op: "hset", key: K.points, field: "d:t:c", value: "C" },
  { op: "hset", key: K.points, field: "d:t:b", value: "B2" },
  { op: "srem", key: K.termPoints("t"), member: "d:t:a" },
  { op: "sadd", key: K.termPoints("t"), member: "d:t:c" },
  { op: "del", key: K.termPoints("old") },
  { op: "sadd", key: K.termPoints("old"), member: "y" },
  { op: "srem", key: K.termPoints("gone"), member: "z" },
  { op: "hdel", key: K.latest, field: "d:t:a" },
];

describe("staged registry plans (memory store)", function () {
  it("end as the same plan applied op by op, and show nothing before the commit", async function () {
    const direct = keyspace();
    const staged = keyspace();
    for (const op of BEFORE) {
      direct.apply(op);
      staged.apply(op);
    }
    for (const op of PLAN) direct.apply(op);
    const before = snapshot(staged);
    const commit = await stagePlan(staged, PLAN, new Slicer());
    assert.deepEqual(snapshot(staged), before);
    commit();
    assert.deepEqual(snapshot(staged), snapshot(direct));
  });

  it("applies writes to keys others write too at the commit, keeping what they wrote meanwhile", async function () {
    const t = keyspace();
    for (const op of BEFORE) t.apply(op);
    const commit = await stagePlan(t, PLAN, new Slicer());
    // An ingest between staging and commit: its latest value must survive the plan.
    t.apply({ op: "hset", key: K.latest, field: "d:t:b", value: "2" });
    commit();
    assert.deepEqual([...(t.hashes.get(K.latest) ?? [])], [["d:t:b", "2"]]);
  });
});
