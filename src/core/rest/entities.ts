/**
 * The registry's five kinds of record behind one set of calls, so batches, renames and the CRUD paths
 * read, write and delete any kind the same way. Records are the flat JSON the API returns.
 */
import { deviceRecord } from "../model/device";
import { termRecord } from "../model/term";
import { itemRecord } from "../model/item";
import { pointRecord } from "../model/point";
import { formulaRecord, parseFormula } from "../model/formula";
import { checkFormula } from "../formula/check";
import { DataCollError } from "../errors";
import type { Registry, RegistryView, WriteMode } from "../store/registry";
import type { RegistryChange } from "../model/change";

export type RecordKind = "device" | "term" | "item" | "point" | "formula";

type Rec = Record<string, unknown>;

/** A record by id (a point by its key), or undefined. */
export async function getRecord(r: RegistryView, kind: RecordKind, id: string): Promise<Rec | undefined> {
  switch (kind) {
    case "device": {
      const v = await r.getDevice(id);
      return v && deviceRecord(v);
    }
    case "term": {
      const v = await r.getTerm(id);
      return v && termRecord(v);
    }
    case "item": {
      const v = await r.getItem(id);
      return v && itemRecord(v);
    }
    case "point": {
      const v = await r.getPoint(id);
      return v && pointRecord(v);
    }
    case "formula": {
      const v = await r.getFormula(id);
      return v && formulaRecord(v);
    }
  }
}

export async function listRecords(r: Registry, kind: Exclude<RecordKind, "point">): Promise<Rec[]> {
  switch (kind) {
    case "device":
      return (await r.listDevices()).map(deviceRecord);
    case "term":
      return (await r.listTerms()).map(termRecord);
    case "item":
      return (await r.listItems()).map(itemRecord);
    case "formula":
      return (await r.listFormulas()).map(formulaRecord);
  }
}

/**
 * A formula's expression checked by the formula engine before it is stored: the model only bounds the
 * text, and a formula that can never compute is better refused with the reason than kept. Whether its
 * points exist is the registry's check (404), so every point counts as known here.
 */
export function checkFormulaRecord(raw: unknown): void {
  const f = parseFormula(raw);
  const r = checkFormula(f.expression, f.params, () => true);
  const [first] = r.problems;
  if (first !== undefined) {
    throw new DataCollError(
      "invalid",
      `expression is not valid: ${r.problems.map((p) => p.message).join("; ")}`,
      first.param !== undefined && first.code !== "unknown-parameter"
        ? `params.${first.param}`
        : "expression",
    );
  }
}

export function putRecord(r: Registry, kind: RecordKind, raw: unknown, mode: WriteMode): Promise<unknown> {
  switch (kind) {
    case "device":
      return r.putDevice(raw, mode);
    case "term":
      return r.putTerm(raw, mode);
    case "item":
      return r.putItem(raw, mode);
    case "point":
      return r.putPoint(raw, mode);
    case "formula":
      checkFormulaRecord(raw);
      return r.putFormula(raw, mode);
  }
}

/** Delete a record and what depends on it; the changes made (none when it did not exist). */
export function removeRecord(r: Registry, kind: RecordKind, id: string): Promise<RegistryChange[]> {
  switch (kind) {
    case "device":
      return r.deleteDevice(id);
    case "term":
      return r.deleteTerm(id);
    case "item":
      return r.deleteItem(id);
    case "point":
      return r.deletePoint(id);
    case "formula":
      return r.deleteFormula(id);
  }
}
