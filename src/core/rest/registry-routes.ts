/**
 * The registry paths: the older system's `/v1` CRUD of devices, terms, items, term items (points) and
 * formulas, and the `/v2` batch forms (all-or-nothing create and delete, JSON records and errors).
 */
import { DataCollError } from "../errors";
import { isPlainObject, normalizeId } from "../model/fields";
import { pointKey } from "../model/datapoint";
import { pointRecord } from "../model/point";
import type { Registry } from "../store/registry";
import { writeAll, type BatchKind, type BatchRow, type RowProblem } from "./batch";
import { RestError, badRequest } from "./errors";
import { fromLegacy, legacyError, legacyNotFound, legacyRecord, type Kind } from "./legacy";
import { change } from "./rename";
import { getRecord, listRecords, putRecord, removeRecord } from "./entities";
import { queryText, type Call, type Reply, type Route } from "./route";
import { ref, listOf, TEXT, SCHEMAS } from "./schemas";

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

/** An object body on a v1 path, as the model reads it. */
function objectBody(body: unknown): Record<string, unknown> {
  const b = fromLegacy(body);
  if (!isPlainObject(b)) throw badRequest("the body must be an object of fields");
  return { ...b };
}

/** Run a registry write on a v1 path, turning model errors into the older messages. */
async function legacyWrite<T>(kind: Kind, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (err instanceof DataCollError) throw legacyError(err, kind);
    throw err;
  }
}

/** A path id, checked like any id so that an id no record can have is a plain 404. */
function pathId(raw: string): string | undefined {
  try {
    return normalizeId(raw, "id");
  } catch {
    return undefined;
  }
}

function entityRoutes(e: Entity): Route[] {
  const one = `/v1/${e.plural}/{id}`;
  const common = { legacy: true, kind: e.kind, tag: e.plural } as const;
  const found = async (c: Call): Promise<Record<string, unknown>> => {
    const id = pathId(c.params.id);
    const rec = id === undefined ? undefined : await e.get(c.ctx.store.registry, id);
    if (!rec) throw legacyNotFound(e.kind);
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
      ok: { schema: ref("LegacyRecord"), description: `the ${e.kind} as stored` },
      errors: [404, 409],
      handler: async (c) => {
        const raw = objectBody(c.body);
        const reg = c.ctx.store.registry;
        await legacyWrite(e.kind, () => putRecord(reg, e.kind, raw, "create"));
        return { body: legacyRecord((await e.get(reg, String(normalizeId(raw.id, "id")))) ?? raw) };
      },
    },
    {
      ...common,
      method: "GET",
      path: one,
      summary: `One ${e.kind}, every field as text`,
      ok: { schema: ref("LegacyRecord"), description: `the ${e.kind}` },
      errors: [404],
      handler: async (c) => ({ body: legacyRecord(await found(c)) }),
    },
    {
      ...common,
      method: "PUT",
      path: one,
      summary: `Change ${article(e.kind)}: the fields given replace those stored; a new id renames it`,
      body: { schema: ref(e.schema), required: true },
      ok: { schema: ref("LegacyRecord"), description: `the ${e.kind} as stored` },
      errors: [404, 409],
      handler: async (c) => {
        const old = await found(c);
        const fields = objectBody(c.body);
        const reg = c.ctx.store.registry;
        const done = await legacyWrite(e.kind, () =>
          change(
            reg,
            e.kind,
            String(old.id),
            (current) => ({ ...current, ...fields }),
            (merged) => normalizeId(merged.id, "id"),
          ),
        );
        if (!done) throw legacyNotFound(e.kind);
        return { body: legacyRecord((await e.get(reg, done.id)) ?? done.record) };
      },
    },
    {
      ...common,
      method: "DELETE",
      path: one,
      summary: `Delete ${article(e.kind)} and what depends on it`,
      ok: { schema: TEXT, description: "OK", text: true },
      errors: [404],
      handler: async (c) => {
        const rec = await found(c);
        // Nothing deleted: another request deleted it since it was found.
        if ((await removeRecord(c.ctx.store.registry, e.kind, String(rec.id))).length === 0)
          throw legacyNotFound(e.kind);
        return { body: "OK", text: true };
      },
    },
  ];
}

/** The term of a `/terms/{id}/…` path, or the older 404. */
async function termOf(c: Call): Promise<{ id: string; deviceId: string }> {
  const id = pathId(c.params.id);
  const t = id === undefined ? undefined : await c.ctx.store.registry.getTerm(id);
  if (!t) throw legacyNotFound("term");
  return t;
}

/** A term item body: the point's fields with the item named by itemId (or item_id) and the term's ids. */
function termItemBody(body: unknown, term: { id: string; deviceId: string }): Record<string, unknown> {
  // The key follows from the ids; a stale one sent back from GET must not contradict them.
  const raw = objectBody(body);
  delete raw.key;
  return { ...raw, termId: term.id, deviceId: term.deviceId };
}

function termItemRoutes(): Route[] {
  const common = { legacy: true, kind: "term_item", tag: "terms" } as const;
  const one = "/v1/terms/{id}/items/{item}";
  const found = async (c: Call): Promise<Record<string, unknown>> => {
    const term = await termOf(c);
    const item = pathId(c.params.item);
    const p =
      item === undefined
        ? undefined
        : await c.ctx.store.registry.getPoint(pointKey(term.deviceId, term.id, item));
    if (!p) throw legacyNotFound("term_item");
    return pointRecord(p);
  };
  return [
    {
      method: "GET",
      path: "/v1/devices/{id}/terms",
      legacy: true,
      kind: "device",
      tag: "devices",
      summary: "The ids of a device's terms",
      ok: { schema: ref("IdList"), description: "term ids" },
      errors: [404],
      handler: async (c) => {
        const id = pathId(c.params.id);
        const reg = c.ctx.store.registry;
        if (id === undefined || !(await reg.getDevice(id))) throw legacyNotFound("device");
        return { body: sorted((await reg.listTerms(id)).map((t) => t.id)) };
      },
    },
    {
      ...common,
      method: "GET",
      path: "/v1/terms/{id}/items",
      summary: "The ids of the items bound to a term (its points)",
      ok: { schema: ref("IdList"), description: "item ids" },
      errors: [404],
      handler: async (c) => {
        const term = await termOf(c);
        return {
          body: sorted((await c.ctx.store.registry.listPoints({ termId: term.id })).map((p) => p.itemId)),
        };
      },
    },
    {
      ...common,
      method: "POST",
      path: "/v1/terms/{id}/items",
      summary: "Bind an item to a term: create the point deviceId:termId:itemId",
      body: { schema: ref("TermItem"), required: true },
      ok: { schema: ref("LegacyRecord"), description: "the point as stored" },
      errors: [404, 409],
      handler: async (c) => {
        const term = await termOf(c);
        const raw = termItemBody(c.body, term);
        const reg = c.ctx.store.registry;
        await legacyWrite("term_item", () => reg.putPoint(raw, "create"));
        const p = await reg.getPoint(pointKey(term.deviceId, term.id, normalizeId(raw.itemId, "itemId")));
        return { body: legacyRecord(p ? pointRecord(p) : raw) };
      },
    },
    {
      ...common,
      method: "GET",
      path: one,
      summary: "One term item (point), every field as text",
      ok: { schema: ref("LegacyRecord"), description: "the point" },
      errors: [404],
      handler: async (c) => ({ body: legacyRecord(await found(c)) }),
    },
    {
      ...common,
      method: "PUT",
      path: one,
      summary: "Change a term item; a new itemId binds the point to that item instead",
      body: { schema: ref("TermItem"), required: true },
      ok: { schema: ref("LegacyRecord"), description: "the point as stored" },
      errors: [404, 409],
      handler: async (c) => {
        const old = await found(c);
        const term = await termOf(c);
        const fields = termItemBody(c.body, term);
        const reg = c.ctx.store.registry;
        const done = await legacyWrite("term_item", () =>
          change(
            reg,
            "point",
            String(old.key),
            (current) => {
              const merged = { ...current, ...fields };
              delete merged.key;
              return merged;
            },
            (merged) => pointKey(term.deviceId, term.id, normalizeId(merged.itemId, "itemId")),
          ),
        );
        if (!done) throw legacyNotFound("term_item");
        const p = await reg.getPoint(done.id);
        return { body: legacyRecord(p ? pointRecord(p) : done.record) };
      },
    },
    {
      ...common,
      method: "DELETE",
      path: one,
      summary: "Unbind an item from a term: delete the point",
      ok: { schema: TEXT, description: "OK", text: true },
      errors: [404],
      handler: async (c) => {
        const p = await found(c);
        if ((await c.ctx.store.registry.deletePoint(String(p.key))).length === 0)
          throw legacyNotFound("term_item");
        return { body: "OK", text: true };
      },
    },
  ];
}

// ---- v2: JSON records, batch create and delete

function batchList(body: unknown): unknown[] {
  if (Array.isArray(body)) return body;
  if (isPlainObject(body) && Array.isArray(body.items)) return body.items as unknown[];
  throw badRequest("the body must be a list of records");
}

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

const AS_GIVEN: Shape = { row: (raw) => raw, id: (id) => id };

function batchRoutes(
  kind: BatchKind,
  path: string,
  tag: string,
  /** What the rows are, for the summaries: "devices", "items of a term". */
  noun: string,
  schema: keyof typeof SCHEMAS,
  shape: (c: Call) => Promise<Shape> = async () => AS_GIVEN,
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
        let missing: RowProblem[] = [];
        // One atomic write, the ids checked in it: a delete cannot leave half the list deleted, and of
        // two deletes racing, the second finds the ids gone (404) instead of reporting them deleted.
        await c.ctx.store.registry.transact(async (view) => {
          const found = await view.exists(kind, ids);
          missing = ids.flatMap((id, row): RowProblem[] =>
            found[row]
              ? []
              : [
                  {
                    row,
                    kind,
                    id,
                    error: "not-found",
                    field: "ids",
                    message: `${kind} ${id} does not exist`,
                  },
                ],
          );
          return missing.length > 0 ? [] : ids.map((id) => ({ op: "delete", kind, id }));
        });
        if (missing.length > 0) throw batchError(404, missing);
        return { body: { deleted: ids } };
      },
    },
  ];
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
    routes.push(...batchRoutes(e.kind, `/v2/${e.plural}`, e.plural, e.plural, e.schema));
  }
  const termShape = async (c: Call): Promise<Shape> => {
    const id = pathId(c.params.id);
    const t = id === undefined ? undefined : await c.ctx.store.registry.getTerm(id);
    if (!t) throw new RestError(404, "not-found", `term ${c.params.id} does not exist`, "id");
    return {
      row: (raw) => (isPlainObject(raw) ? termItemBody(raw, t) : raw),
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
  return [...ENTITIES.flatMap(entityRoutes), ...termItemRoutes(), ...v2Routes()];
}
