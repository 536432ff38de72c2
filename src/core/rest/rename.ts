/**
 * `PUT` with a new id renames an entity, as in the older system. Ids are part of other records (a term
 * names its device, a point key names device, term and item, a formula names point keys), so a rename
 * re-creates everything under the entity with the new id: snapshot the subtree, delete the old entity
 * (the registry cascades), create the renamed one and its subtree — all as one atomic registry batch, so
 * a failure leaves everything as it was. The snapshot is taken inside that atomic step, so renames racing
 * each other or a delete settle as if one came after the other. The latest values, history and alarm
 * state of re-keyed points start afresh: they are named by the old keys.
 */
import { DataCollError } from "../errors";
import { pointKey, splitPointKey, type PointKey } from "../model/datapoint";
import { deviceRecord } from "../model/device";
import { termRecord, type Term } from "../model/term";
import { itemRecord } from "../model/item";
import { pointRecord, type Point } from "../model/point";
import { formulaRecord, type Formula } from "../model/formula";
import { BatchStepError, type Registry, type RegistryStep, type RegistryView } from "../store/registry";
import { checkFormulaRecord, getRecord, type RecordKind } from "./entities";

export type RenameKind = RecordKind;

interface Snapshot {
  readonly root: Record<string, unknown>;
  readonly terms: readonly Term[];
  readonly points: readonly Point[];
  readonly formulas: readonly Formula[];
}

async function formulasOf(registry: RegistryView, points: readonly Point[]): Promise<Formula[]> {
  const byId = new Map<string, Formula>();
  for (const p of points) for (const f of await registry.formulasUsing(p.key)) byId.set(f.id, f);
  return [...byId.values()];
}

async function snapshot(registry: RegistryView, kind: RenameKind, id: string): Promise<Snapshot | undefined> {
  switch (kind) {
    case "device": {
      const d = await registry.getDevice(id);
      if (!d) return undefined;
      const points = await registry.listPoints({ deviceId: id });
      return {
        root: deviceRecord(d),
        terms: await registry.listTerms(id),
        points,
        formulas: await formulasOf(registry, points),
      };
    }
    case "term": {
      const t = await registry.getTerm(id);
      if (!t) return undefined;
      const points = await registry.listPoints({ termId: id });
      return { root: termRecord(t), terms: [], points, formulas: await formulasOf(registry, points) };
    }
    case "item": {
      const i = await registry.getItem(id);
      if (!i) return undefined;
      const points = await registry.listPoints({ itemId: id });
      return { root: itemRecord(i), terms: [], points, formulas: await formulasOf(registry, points) };
    }
    case "point": {
      const p = await registry.getPoint(id);
      if (!p) return undefined;
      return { root: pointRecord(p), terms: [], points: [], formulas: await formulasOf(registry, [p]) };
    }
    case "formula": {
      const f = await registry.getFormula(id);
      return f ? { root: formulaRecord(f), terms: [], points: [], formulas: [] } : undefined;
    }
  }
}

/** How point keys change: the renamed part of each key replaced. */
function keyMapper(kind: RenameKind, oldId: string, newId: string): (key: PointKey) => PointKey {
  return (key) => {
    if (kind === "point") return key === oldId ? newId : key;
    const k = splitPointKey(key);
    if (!k) return key;
    if (kind === "device" && k.deviceId === oldId) return pointKey(newId, k.termId, k.itemId);
    if (kind === "term" && k.termId === oldId) return pointKey(k.deviceId, newId, k.itemId);
    if (kind === "item" && k.itemId === oldId) return pointKey(k.deviceId, k.termId, newId);
    return key;
  };
}

function rewritePoint(p: Point, map: (k: PointKey) => PointKey): Record<string, unknown> {
  const k = splitPointKey(map(p.key));
  const rec = pointRecord(p);
  delete rec.key;
  return k ? { ...rec, ...k } : rec;
}

function rewriteFormula(f: Formula, map: (k: PointKey) => PointKey): Record<string, unknown> {
  const params = Object.fromEntries(Object.entries(f.params).map(([n, k]) => [n, map(k)]));
  return { ...formulaRecord(f), params, result: map(f.result) };
}

/**
 * Rename entity `oldId` of `kind` to the id in `renamed` (a full record of the entity, as a client sent
 * it); undefined when `oldId` does not exist. A record already holding the new id is a conflict.
 */
export async function rename(
  registry: Registry,
  kind: RenameKind,
  oldId: string,
  newId: string,
  renamed: Readonly<Record<string, unknown>>,
): Promise<boolean> {
  if (kind === "formula") checkFormulaRecord(renamed);
  const map = keyMapper(kind, oldId, newId);
  const deviceId = kind === "device" ? newId : undefined;
  let found = false;
  try {
    // Snapshot, check and plan inside the atomic step: two renames of one entity planned from one
    // snapshot would both re-create its subtree under their new ids.
    await registry.transact(async (view) => {
      const snap = await snapshot(view, kind, oldId);
      found = snap !== undefined;
      if (!snap) return [];
      if ((await getRecord(view, kind, newId)) !== undefined)
        throw new DataCollError("conflict", `${kind} ${newId} already exists`, "id");
      return [
        { op: "delete", kind, id: oldId },
        { op: "put", kind, raw: renamed, mode: "create" },
        ...snap.terms.map((t): RegistryStep => ({
          op: "put",
          kind: "term",
          raw: { ...termRecord(t), deviceId: deviceId ?? t.deviceId },
          mode: "create",
        })),
        ...snap.points.map((p): RegistryStep => ({
          op: "put",
          kind: "point",
          raw: rewritePoint(p, map),
          mode: "create",
        })),
        ...snap.formulas.map((f): RegistryStep => ({
          op: "put",
          kind: "formula",
          raw: rewriteFormula(f, map),
          mode: "upsert",
        })),
      ];
    });
  } catch (err) {
    // Nothing was written; the client hears why the step failed, as from a single write.
    throw err instanceof BatchStepError ? err.reason : err;
  }
  return found;
}
