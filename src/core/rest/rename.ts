/**
 * `PUT` changes a record: the client's fields over the stored ones, read and written in one atomic step.
 * With a new id it renames the entity, as in the older system. Ids are part of other records (a term
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

/**
 * How point keys change: the renamed part of each key replaced. A term that moves to another device
 * (`toDevice`) takes its points along, so their keys name the new device too.
 */
function keyMapper(
  kind: RenameKind,
  oldId: string,
  newId: string,
  toDevice?: string,
): (key: PointKey) => PointKey {
  return (key) => {
    if (kind === "point") return key === oldId ? newId : key;
    const k = splitPointKey(key);
    if (!k) return key;
    if (kind === "device" && k.deviceId === oldId) return pointKey(newId, k.termId, k.itemId);
    if (kind === "term" && k.termId === oldId) return pointKey(toDevice ?? k.deviceId, newId, k.itemId);
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

/** A term given another device moves there with its points (the older system half-moved it). */
function movesTerm(
  kind: RenameKind,
  stored: Readonly<Record<string, unknown>>,
  merged: Readonly<Record<string, unknown>>,
): boolean {
  return kind === "term" && String(merged.deviceId) !== String(stored.deviceId);
}

/** The record a `PUT` stores: the client's fields over the record as stored. */
export type Merge = (current: Readonly<Record<string, unknown>>) => Record<string, unknown>;

/**
 * `PUT`: merge the client's fields into entity `oldId` of `kind` and store the result — under the same id,
 * or renamed when the merged record names another (`idOf`). The record is read, merged and written in
 * one atomic step, so two `PUT`s racing each other both land (neither is merged into a stale copy)
 * and two renames of one record cannot both win. Undefined when `oldId` does not exist (or no longer
 * does); else the id stored under and the merged record. A new id already taken is a conflict.
 */
export async function change(
  registry: Registry,
  kind: RenameKind,
  oldId: string,
  merge: Merge,
  idOf: (merged: Readonly<Record<string, unknown>>) => string,
): Promise<{ id: string; record: Record<string, unknown> } | undefined> {
  let out: { id: string; record: Record<string, unknown> } | undefined;
  try {
    await registry.transact(async (view) => {
      out = undefined;
      const current = await getRecord(view, kind, oldId);
      if (!current) return [];
      const merged = merge(current);
      const newId = idOf(merged);
      if (kind === "formula") checkFormulaRecord(merged);
      out = { id: newId, record: merged };
      if (newId === oldId && !movesTerm(kind, current, merged))
        return [{ op: "put", kind, raw: merged, mode: "update" }];
      return renameSteps(view, kind, oldId, newId, merged);
    });
  } catch (err) {
    // Nothing was written; the client hears why the step failed, as from a single write.
    throw err instanceof BatchStepError ? err.reason : err;
  }
  return out;
}

/** The steps renaming `oldId` to `newId`, planned from the registry as the atomic step reads it. */
async function renameSteps(
  view: RegistryView,
  kind: RenameKind,
  oldId: string,
  newId: string,
  renamed: Readonly<Record<string, unknown>>,
): Promise<RegistryStep[]> {
  // Snapshot, check and plan inside the atomic step: two renames of one entity planned from one
  // snapshot would both re-create its subtree under their new ids.
  const snap = await snapshot(view, kind, oldId);
  if (!snap) return [];
  if (newId !== oldId && (await getRecord(view, kind, newId)) !== undefined)
    throw new DataCollError("conflict", `${kind} ${newId} already exists`, "id");
  const moved = movesTerm(kind, snap.root, renamed);
  const map = keyMapper(kind, oldId, newId, moved ? String(renamed.deviceId) : undefined);
  const deviceId = kind === "device" ? newId : undefined;
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
}
