/**
 * The registry paths: the older system's `/v1` CRUD of devices, terms, items, term items (points) and
 * formulas, and the `/v2` batch forms (all-or-nothing create and delete, JSON records and errors). The
 * paths the older system had answer a successful write as it did, 200 with an empty body; the paths that
 * are ours alone answer what they wrote.
 */
import { DataCollError } from "../errors";
import { isPlainObject, normalizeId } from "../model/fields";
import { pointKey } from "../model/datapoint";
import { pointRecord } from "../model/point";
import type { Registry } from "../store/registry";
import { writeAll, type BatchKind, type BatchRow, type RowProblem } from "./batch";
import { RestError, badRequest } from "./errors";
import {
  checkAddressParts,
  fromLegacy,
  legacyError,
  legacyNotFound,
  legacyRecord,
  spelledError,
  V1_FIELDS,
  type Kind,
  usesOlderNames,
  type LegacyBody,
} from "./legacy";
import { change } from "./rename";
import { getRecord, listRecords, putRecord, removeRecord } from "./entities";
import { queryText, type Call, type Reply, type Route } from "./route";
import { ref, listOf, EMPTY, TEXT, SCHEMAS } from "./schemas";

type EntityKind = "device" | "term" | "item" | "formula";

interface Entity {
  readonly kind: EntityKind;
  readonly plural: string;
  readonly schema: keyof typeof SCHEMAS;
  get(r: Registry, id: string): Promise<Record<string, unknown> | undefined>;
  list(r: Registry): Promise<Record<string, unknown>[]>;
}

const ENTITIES: readonly Entity[] = (
  [
    ["device", "devices", "Device"],
    ["term", "terms", "Term"],
    ["item", "items", "Item"],
    ["formula", "formulas", "Formula"],
  ] as const
).map(([kind, plural, schema]) => ({
  kind,
  plural,
  schema,
  get: (r: Registry, id: string) => getRecord(r, kind, id),
  list: (r: Registry) => listRecords(r, kind),
}));

const article = (kind: string): string => (/^[aeiou]/.test(kind) ? `an ${kind}` : `a ${kind}`);

const sorted = (ids: string[]): string[] => ids.sort();

/** A successful write on a path of the older system: 200 with an empty body, as it answered. */
const EMPTY_OK = { schema: EMPTY, description: "an empty body, as the older system answered", text: true };
const emptyReply = (): Reply => ({ body: "", text: true });

/** Run a registry write on a v1 path, turning model errors into the older messages and names. */
async function legacyWrite<T>(kind: Kind, body: LegacyBody, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (err instanceof DataCollError) throw legacyError(spelledError(err, body.spelled), kind);
    throw err;
  }
}

/** Whether a record was written through v1 and so remembers the field names its client used. */
const remembers = (rec: Readonly<Record<string, unknown>>): boolean => typeof rec[V1_FIELDS] === "string";

/** A path id, checked like any id so that an id no record can have is a plain 404. */
function pathId(raw: string): string | undefined {
  try {
    return normalizeId(raw, "id");
  } catch {
    // Not a valid id, so no record has it: the caller answers 404, as for any id not found.
    return undefined;
  }
}

function entityRoutes(e: Entity): Route[] {
  const one = `/v1/${e.plural}/{id}`;
  const common = { legacy: true, kind: e.kind, tag: e.plural } as const;
  const gone = (id: string): RestError => legacyNotFound(e.kind, `${e.kind} ${id} does not exist`);
  const found = async (c: Call): Promise<Record<string, unknown>> => {
    const id = pathId(c.params.id);
    const rec = id === undefined ? undefined : await e.get(c.ctx.store.registry, id);
    if (!rec) throw gone(c.params.id);
    return rec;
  };
  return [
    {
      ...common,
      method: "GET",
      path: `/v1/${e.plural}`,
      summary: `The ids of all ${e.plural}`,
      ok: { schema: ref("IdList"), description: "ids" },
      errors: [],
      handler: async (c) => ({ body: sorted((await e.list(c.ctx.store.registry)).map((r) => String(r.id))) }),
    },
    {
      ...common,
      method: "POST",
      path: `/v1/${e.plural}`,
      summary: `Create ${article(e.kind)}`,
      body: { schema: ref(e.schema), required: true },
      ok: EMPTY_OK,
      errors: [404, 409],
      handler: async (c) => {
        const body = fromLegacy(c.body, e.kind, { remember: true });
        const reg = c.ctx.store.registry;
        await legacyWrite(e.kind, body, () => putRecord(reg, e.kind, body.raw, "create"));
        return emptyReply();
      },
    },
    {
      ...common,
      method: "GET",
      path: one,
      summary: `One ${e.kind}, every field as text`,
      ok: { schema: ref("LegacyRecord"), description: `the ${e.kind}` },
      errors: [404],
      handler: async (c) => ({ body: legacyRecord(await found(c), e.kind) }),
    },
    {
      ...common,
      method: "PUT",
      path: one,
      summary: `Change ${article(e.kind)}: the fields given replace those stored; a new id renames it`,
      body: { schema: ref(e.schema), required: true },
      ok: EMPTY_OK,
      errors: [404, 409],
      handler: async (c) => {
        const old = await found(c);
        // Read once here for the names the client used (errors speak them); the merge itself reads the
        // record as the atomic step sees it, so racing PUTs and renames plan from what is stored.
        const body = fromLegacy(c.body, e.kind, { old, remember: remembers(old) });
        const reg = c.ctx.store.registry;
        const done = await legacyWrite(e.kind, body, () =>
          change(
            reg,
            e.kind,
            String(old.id),
            (current) => ({
              ...current,
              ...fromLegacy(c.body, e.kind, { old: current, remember: remembers(current) }).raw,
            }),
            (merged) => normalizeId(merged.id, "id"),
          ),
        );
        if (!done) throw gone(String(old.id));
        return emptyReply();
      },
    },
    {
      ...common,
      method: "DELETE",
      path: one,
      summary: `Delete ${article(e.kind)} and what depends on it`,
      ok: EMPTY_OK,
      errors: [404],
      handler: async (c) => {
        const rec = await found(c);
        // Nothing deleted: another request deleted it since it was found.
        if ((await removeRecord(c.ctx.store.registry, e.kind, String(rec.id))).length === 0)
          throw gone(String(rec.id));
        return emptyReply();
      },
    },
  ];
}

/** The term of a `/terms/{id}/…` path, or the older 404. */
async function termOf(c: Call): Promise<{ id: string; deviceId: string }> {
  const id = pathId(c.params.id);
  const t = id === undefined ? undefined : await c.ctx.store.registry.getTerm(id);
  if (!t) throw legacyNotFound("term", `term ${c.params.id} does not exist`);
  return t;
}

/**
 * A term item body: the point's fields with the item named by itemId (or item_id) and the term's ids.
 * The key follows from the ids; a stale one sent back from GET must not contradict them.
 */
function termItemBody(
  body: unknown,
  term: { id: string; deviceId: string },
  opts: Parameters<typeof fromLegacy>[2] = {},
): LegacyBody {
  const b = fromLegacy(body, "term_item", opts);
  const raw: Record<string, unknown> = { ...b.raw, termId: term.id, deviceId: term.deviceId };
  delete raw.key;
  return { raw, spelled: b.spelled };
}

/** The body's term id, in either spelling, when it names another term than the path (older 400). */
function checkBodyTerm(body: unknown, termId: string): void {
  if (!isPlainObject(body)) return;
  const given = body.term_id ?? body.termId;
  if (given !== undefined && given !== null && String(given) !== termId)
    throw new RestError(
      400,
      "invalid",
      "term_id mismatch in url and body!",
      "term_id",
      undefined,
      `the body's term_id ${JSON.stringify(String(given))} is not the path's ${JSON.stringify(termId)}`,
    );
}

/** A term item's address checked by its device's protocol, naming protocol_code or code_type. */
async function checkTermItemAddress(reg: Registry, deviceId: string, body: LegacyBody): Promise<void> {
  const device = await reg.getDevice(deviceId);
  if (device) checkAddressParts(device.protocol, body.raw.address, body.spelled);
}

function termItemRoutes(): Route[] {
  const common = { legacy: true, kind: "term_item", tag: "terms" } as const;
  const one = "/v1/terms/{id}/items/{item}";
  /**
   * The term item of the path. A read tells which part is missing, in the older order (term, item, term
   * item); a change or delete answers `term_item not found!` for any of them, as the older system did.
   */
  const found = async (c: Call, read = false): Promise<Record<string, unknown>> => {
    const reg = c.ctx.store.registry;
    const termId = pathId(c.params.id);
    const term = termId === undefined ? undefined : await reg.getTerm(termId);
    if (!term && read) throw legacyNotFound("term", `term ${c.params.id} does not exist`);
    const item = pathId(c.params.item);
    if (read && (item === undefined || !(await reg.getItem(item))))
      throw legacyNotFound("item", `item ${c.params.item} does not exist`);
    const p =
      term === undefined || item === undefined
        ? undefined
        : await reg.getPoint(pointKey(term.deviceId, term.id, item));
    if (!p) {
      throw legacyNotFound(
        "term_item",
        term === undefined
          ? `term ${c.params.id} does not exist`
          : `point ${term.deviceId}:${term.id}:${c.params.item} does not exist`,
      );
    }
    return pointRecord(p);
  };
  return [
    {
      method: "GET",
      path: "/v1/devices/{id}/terms",
      legacy: true,
      kind: "device",
      tag: "devices",
      summary: "The ids of a device's terms; 404 when it has none, as the older system answered",
      ok: { schema: ref("IdList"), description: "term ids" },
      errors: [404],
      handler: async (c) => {
        const id = pathId(c.params.id);
        const reg = c.ctx.store.registry;
        const terms = id === undefined ? [] : await reg.listTerms(id);
        // The older system answered a parent without children as if it did not exist; clients rely on it.
        // The header tells which it is.
        if (terms.length === 0) {
          const exists = id !== undefined && (await reg.getDevice(id)) !== undefined;
          throw legacyNotFound(
            "device",
            exists ? `device ${id} has no terms` : `device ${c.params.id} does not exist`,
          );
        }
        return { body: sorted(terms.map((t) => t.id)) };
      },
    },
    {
      ...common,
      method: "GET",
      path: "/v1/terms/{id}/items",
      summary: "The ids of the items bound to a term (its points); 404 when it has none, as the older system",
      ok: { schema: ref("IdList"), description: "item ids" },
      errors: [404],
      handler: async (c) => {
        const term = await termOf(c);
        const points = await c.ctx.store.registry.listPoints({ termId: term.id });
        if (points.length === 0) throw legacyNotFound("term", `term ${term.id} has no items`);
        return { body: sorted(points.map((p) => p.itemId)) };
      },
    },
    {
      ...common,
      method: "POST",
      path: "/v1/terms/{id}/items",
      summary: "Bind an item to a term: create the point deviceId:termId:itemId",
      body: { schema: ref("TermItem"), required: true },
      ok: EMPTY_OK,
      errors: [404, 409],
      handler: async (c) => {
        // The older order: the body's term against the path, the term, the item, then a duplicate.
        checkBodyTerm(c.body, c.params.id);
        const term = await termOf(c);
        const body = termItemBody(c.body, term, { remember: true });
        const reg = c.ctx.store.registry;
        await legacyWrite("term_item", body, async () => {
          await checkTermItemAddress(reg, term.deviceId, body);
          return reg.putPoint(body.raw, "create");
        });
        return emptyReply();
      },
    },
    {
      ...common,
      method: "GET",
      path: one,
      summary: "One term item (point), every field as text",
      ok: { schema: ref("LegacyRecord"), description: "the point" },
      errors: [404],
      handler: async (c) => ({ body: legacyRecord(await found(c, true), "term_item") }),
    },
    {
      ...common,
      method: "PUT",
      path: one,
      summary: "Change a term item; a new itemId binds the point to that item instead",
      body: { schema: ref("TermItem"), required: true },
      ok: EMPTY_OK,
      errors: [404, 409],
      handler: async (c) => {
        const old = await found(c);
        const term = await termOf(c);
        const body = termItemBody(c.body, term, { old, remember: remembers(old) });
        const reg = c.ctx.store.registry;
        const done = await legacyWrite("term_item", body, async () => {
          await checkTermItemAddress(reg, term.deviceId, body);
          return change(
            reg,
            "point",
            String(old.key),
            (current) => {
              const merged = {
                ...current,
                ...termItemBody(c.body, term, { old: current, remember: remembers(current) }).raw,
              };
              delete merged.key;
              return merged;
            },
            (merged) => pointKey(term.deviceId, term.id, normalizeId(merged.itemId, "item_id")),
          );
        });
        if (!done) throw legacyNotFound("term_item", `point ${String(old.key)} does not exist`);
        return emptyReply();
      },
    },
    {
      ...common,
      method: "DELETE",
      path: one,
      summary: "Unbind an item from a term: delete the point",
      ok: EMPTY_OK,
      errors: [404],
      handler: async (c) => {
        const p = await found(c);
        if ((await c.ctx.store.registry.deletePoint(String(p.key))).length === 0)
          throw legacyNotFound("term_item", `point ${String(p.key)} does not exist`);
        return emptyReply();
      },
    },
  ];
}

// ---- v2: JSON records, batch create and delete

/** A batch's records: a list, `{items: [...]}`, or one bare record (the older v2 form's one-element list). */
function batchList(body: unknown): unknown[] {
  if (Array.isArray(body)) return body;
  if (isPlainObject(body) && Array.isArray(body.items)) return body.items as unknown[];
  if (isPlainObject(body)) return [body];
  throw badRequest("the body must be a list of records");
}

const LEGACY_KIND: Readonly<Record<BatchKind, Kind>> = {
  device: "device",
  term: "term",
  item: "item",
  point: "term_item",
  formula: "formula",
};

/** A batch row that uses the older field names, read as the model's record (see fromLegacy). */
function olderRow(kind: BatchKind, raw: unknown): unknown {
  if (!isPlainObject(raw) || !usesOlderNames(raw, LEGACY_KIND[kind])) return raw;
  return fromLegacy(raw, LEGACY_KIND[kind], { remember: true }).raw;
}

/**
 * The older v2 create: every row written or none, and a row whose id exists is merged into the stored
 * record (the fields it does not give are kept), as the older system's hash write did, instead of being
 * refused. `read` turns a row into the model's record, given the stored one to complete a field given
 * in part. Success is 200 with an empty body, as there.
 */
async function mergeAll(
  c: Call,
  kind: BatchKind,
  read: (raw: unknown, old: Record<string, unknown> | undefined) => unknown,
): Promise<Reply> {
  const list = batchList(c.body);
  if (list.length > MAX_BATCH) throw badRequest(`at most ${MAX_BATCH} records at once`);
  const reg = c.ctx.store.registry;
  const merge = (raw: unknown, old: Readonly<Record<string, unknown>>): unknown => {
    const completed = read(raw, { ...old });
    if (!isPlainObject(completed)) return undefined;
    const merged: Record<string, unknown> = { ...old, ...completed };
    delete merged.key;
    return merged;
  };
  // Merged once with the record as read here, so that each row is checked whole (a row may give only the
  // fields it changes); the write merges again with the record as its atomic step reads it.
  const rows: BatchRow[] = await Promise.all(
    list.map(async (raw, row) => {
      // Read alone only when it is new: a row merged into a stored record may give only the fields it
      // changes, which read as a new record would be refused (a formula without its result point).
      // Rows other than points name their id in either spelling.
      let alone: { readonly value: unknown } | undefined;
      const fresh = (): unknown => (alone ??= { value: read(raw, undefined) }).value;
      const id = (kind === "point" ? undefined : rowId(kind, raw)) ?? rowId(kind, fresh());
      // A row without a usable id is written as it is, so that the batch reports it.
      const old = id === undefined ? undefined : await getRecord(reg, kind, id);
      return { kind, row, raw: (old && merge(raw, old)) ?? fresh() };
    }),
  );
  const result = await writeAll(reg, rows, "upsert", (r, stored) => merge(list[r.row], stored) ?? r.raw);
  if (!result.ok) throw batchError(result.status, result.problems);
  return emptyReply();
}

/** The id a batch row names (a point's key), before the rest of the row is read; undefined if none. */
function rowId(kind: BatchKind, raw: unknown): string | undefined {
  if (!isPlainObject(raw)) return undefined;
  try {
    if (kind !== "point") return normalizeId(raw.id, "id");
    return pointKey(
      normalizeId(raw.deviceId, "deviceId"),
      normalizeId(raw.termId, "termId"),
      normalizeId(raw.itemId, "itemId"),
    );
  } catch {
    // Reading the whole row names the bad field; this only pairs rows by id: a row without one pairs none.
    return undefined;
  }
}

/** An older v2 row as the model's record; on a merge the stored record completes it, as a v1 PUT. */
const olderMergeRow =
  (kind: BatchKind) =>
  (raw: unknown, old: Record<string, unknown> | undefined): unknown => {
    // A record written through v1 answers with the names its clients sent: a merge adds the row's.
    if (
      old === undefined ||
      !isPlainObject(raw) ||
      (!remembers(old) && !usesOlderNames(raw, LEGACY_KIND[kind]))
    )
      return olderRow(kind, raw);
    return fromLegacy(raw, LEGACY_KIND[kind], { old, remember: remembers(old) }).raw;
  };

const MAX_BATCH = 10_000;

function batchReply(result: Awaited<ReturnType<typeof writeAll>>): Reply {
  if (!result.ok) throw batchError(result.status, result.problems);
  return {
    body: {
      created: result.written.filter((w) => w.op === "create").map((w) => w.id),
      updated: result.written.filter((w) => w.op === "update").map((w) => w.id),
    },
  };
}

/** A batch that failed: its status and the report of every row that was wrong. */
export function batchError(status: number, problems: readonly RowProblem[]): RestError {
  const first = problems[0];
  return new RestError(
    status,
    first?.error ?? "invalid",
    `${problems.length} row(s) were wrong, nothing was written; first: row ${first?.row}: ${first?.message}`,
    first?.field,
    { problems },
  );
}

/** Ids for a batch delete: the body as a list or `{ids}`, or `?ids=a,b`. */
function deleteIds(c: Call): string[] {
  const q = queryText(c.query, "ids");
  const raw: unknown = q !== undefined ? q.split(",") : isPlainObject(c.body) ? c.body.ids : c.body;
  if (!Array.isArray(raw))
    throw badRequest("give the ids to delete as a list, {ids: [...]} or ?ids=a,b", "ids");
  if (raw.length > MAX_BATCH) throw badRequest(`at most ${MAX_BATCH} ids at once`, "ids");
  return raw.map((v, i) => normalizeId(v, `ids[${i}]`));
}

/** How a batch's rows and ids are read; term items take the term from the path. */
interface Shape {
  row(raw: unknown): unknown;
  id(id: string): string;
}

const asGiven = (kind: BatchKind): Shape => ({ row: (raw) => olderRow(kind, raw), id: (id) => id });

function batchRoutes(
  kind: BatchKind,
  path: string,
  tag: string,
  /** What the rows are, for the summaries: "devices", "items of a term". */
  noun: string,
  schema: keyof typeof SCHEMAS,
  shape: (c: Call) => Promise<Shape> = async () => asGiven(kind),
): Route[] {
  const common = { legacy: false, tag } as const;
  return [
    {
      ...common,
      method: "POST",
      path,
      summary: `Create many ${noun} at once: all or nothing`,
      body: { schema: listOf(ref(schema)), required: true },
      ok: { schema: ref("BatchResult"), description: "the ids created" },
      errors: [404, 409, 413],
      handler: async (c) => {
        const s = await shape(c);
        const list = batchList(c.body);
        if (list.length > MAX_BATCH) throw badRequest(`at most ${MAX_BATCH} records at once`);
        const rows: BatchRow[] = list.map((raw, row) => ({ kind, row, raw: s.row(raw) }));
        return batchReply(await writeAll(c.ctx.store.registry, rows, "create"));
      },
    },
    ...batchDeleteRoute(kind, path, tag, noun, shape),
  ];
}

/**
 * The older system's v2 create of devices, terms, items or formulas: no 409, a row whose id exists is
 * merged into the stored record; all or nothing, and 200 with an empty body as it answered.
 */
function olderBatchRoutes(e: Entity): Route[] {
  const path = `/v2/${e.plural}`;
  return [
    {
      legacy: false,
      tag: e.plural,
      method: "POST",
      path,
      summary: `Create or change many ${e.plural} at once, all or nothing: a row whose id exists is merged`,
      body: { schema: listOf(ref(e.schema)), required: true },
      ok: EMPTY_OK,
      errors: [404, 413],
      handler: (c) => mergeAll(c, e.kind, olderMergeRow(e.kind)),
    },
    ...batchDeleteRoute(e.kind, path, e.plural, e.plural, async () => asGiven(e.kind)),
  ];
}

function batchDeleteRoute(
  kind: BatchKind,
  path: string,
  tag: string,
  noun: string,
  shape: (c: Call) => Promise<Shape>,
): Route[] {
  const common = { legacy: false, tag } as const;
  return [
    {
      ...common,
      method: "DELETE",
      path,
      summary: `Delete many ${noun} at once: all or nothing (every id must exist)`,
      body: { schema: ref("BatchIds"), required: false },
      query: [{ name: "ids", description: "comma-separated ids, instead of a body", schema: TEXT }],
      ok: { schema: ref("BatchResult"), description: "the ids deleted" },
      errors: [404],
      handler: async (c) => {
        const s = await shape(c);
        const ids = deleteIds(c).map((id) => s.id(id));
        return deleteAll(c.ctx.store.registry, kind, ids, (missing) => batchError(404, missing));
      },
    },
  ];
}

/**
 * Delete every id of a batch, or none when one does not exist (`refuse` names every missing one). The ids
 * are checked in the atomic step itself: a delete cannot leave half the list deleted, and of two deletes
 * racing, the second finds the ids gone instead of reporting them deleted.
 */
async function deleteAll(
  reg: Registry,
  kind: BatchKind,
  ids: readonly string[],
  refuse: (missing: readonly RowProblem[]) => RestError,
): Promise<Reply> {
  let missing: RowProblem[] = [];
  await reg.transact(async (view) => {
    const found = await view.exists(kind, ids);
    missing = ids.flatMap((id, row): RowProblem[] =>
      found[row]
        ? []
        : [{ row, kind, id, error: "not-found", field: "ids", message: `${kind} ${id} does not exist` }],
    );
    return missing.length > 0 ? [] : ids.map((id) => ({ op: "delete", kind, id }));
  });
  if (missing.length > 0) throw refuse(missing);
  return { body: { deleted: ids } };
}

/**
 * The older system's v2 forms: `POST /v2/<kind>/del` with a list of ids (or one bare id), and term items
 * as a list of `{device_id, term_id, item_id, …}` at `POST /v2/term_items` and `POST /v2/term_items/del`.
 * The deletes answer its plain-text 404s; unlike there, a delete naming an unknown id deletes nothing at
 * all. The create merges as the other older v2 creates; unlike there, it checks each row (JSON errors).
 * Each answers success as the older system did: 200, empty.
 */
function olderV2Routes(): Route[] {
  const list = (body: unknown): unknown[] => (Array.isArray(body) ? body : body === undefined ? [] : [body]);
  const pointOf = (raw: unknown, i: number): string => {
    const ids = fromLegacy(raw, "term_item").raw;
    const id = (f: string): string => normalizeId(ids[f], `[${i}].${f}`);
    return pointKey(id("deviceId"), id("termId"), id("itemId"));
  };
  const olderDelete = async (
    c: Call,
    kind: BatchKind,
    idOf: (raw: unknown, i: number) => string,
  ): Promise<Reply> => {
    const raw = list(c.body);
    if (raw.length > MAX_BATCH) throw badRequest(`at most ${MAX_BATCH} ids at once`, "ids");
    await deleteAll(c.ctx.store.registry, kind, raw.map(idOf), (missing) =>
      legacyNotFound(LEGACY_KIND[kind], missing.map((m) => m.message).join("; ")),
    );
    return emptyReply();
  };
  const routes: Route[] = ENTITIES.map((e) => ({
    method: "POST",
    path: `/v2/${e.plural}/del`,
    legacy: true,
    kind: e.kind,
    tag: e.plural,
    summary: `Delete many ${e.plural} (the older form of DELETE /v2/${e.plural}): all or nothing`,
    body: { schema: ref("IdList"), required: true },
    ok: EMPTY_OK,
    errors: [404],
    handler: (c) => olderDelete(c, e.kind, (v, i) => normalizeId(v, `[${i}]`)),
  }));
  routes.push(
    {
      method: "POST",
      path: "/v2/term_items",
      legacy: false,
      tag: "terms",
      summary:
        "Create or change many term items (points) named by device_id, term_id and item_id, all or " +
        "nothing: a point that exists is merged",
      body: { schema: listOf(ref("Point")), required: true },
      ok: EMPTY_OK,
      errors: [404, 413],
      handler: (c) =>
        mergeAll(
          c,
          "point",
          (raw, old) =>
            fromLegacy(raw, "term_item", { ...(old === undefined ? {} : { old }), remember: true }).raw,
        ),
    },
    {
      method: "POST",
      path: "/v2/term_items/del",
      legacy: true,
      kind: "term_item",
      tag: "terms",
      summary: "Delete many term items named by {device_id, term_id, item_id}: all or nothing",
      body: { schema: listOf(ref("PointRef")), required: true },
      ok: EMPTY_OK,
      errors: [404],
      handler: (c) => olderDelete(c, "point", pointOf),
    },
  );
  return routes;
}

function v2Routes(): Route[] {
  const routes: Route[] = [];
  for (const e of ENTITIES) {
    routes.push({
      method: "GET",
      path: `/v2/${e.plural}`,
      legacy: false,
      tag: e.plural,
      summary: `All ${e.plural} as JSON records`,
      ok: { schema: listOf(ref(e.schema)), description: e.plural },
      errors: [],
      handler: async (c) => ({ body: await e.list(c.ctx.store.registry) }),
    });
    routes.push(...olderBatchRoutes(e));
  }
  const termShape = async (c: Call): Promise<Shape> => {
    const id = pathId(c.params.id);
    const t = id === undefined ? undefined : await c.ctx.store.registry.getTerm(id);
    if (!t) throw new RestError(404, "not-found", `term ${c.params.id} does not exist`, "id");
    return {
      row: (raw) => (isPlainObject(raw) ? termItemBody(raw, t).raw : raw),
      id: (item) => pointKey(t.deviceId, t.id, item),
    };
  };
  routes.push(
    ...batchRoutes(
      "point",
      "/v2/terms/{id}/items",
      "terms",
      "items of a term (points)",
      "TermItem",
      termShape,
    ),
  );
  return routes;
}

export function registryRoutes(): Route[] {
  return [...ENTITIES.flatMap(entityRoutes), ...termItemRoutes(), ...v2Routes(), ...olderV2Routes()];
}
