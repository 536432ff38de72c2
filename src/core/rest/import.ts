/**
 * `POST /v2/import`: devices, terms, items and points from one CSV text, written all or nothing, with a
 * report of every row that is wrong. Each row says what it is in a `kind` column (device, term, item,
 * point), or `?kind=` gives one kind for the whole text. Columns are the record's fields (`deviceId` or
 * `device_id`, `limits.high` for a nested field); an empty cell means "not given".
 */
import { parseCsvSliced } from "../csv";
import { Slicer } from "../slicer";
import type { WriteMode } from "../store/registry";
import { checkRows, writeAll, type BatchKind, type BatchRow, type RowProblem } from "./batch";
import { badRequest } from "./errors";
import { batchError } from "./registry-routes";
import { queryText, type Route } from "./route";
import { ref } from "./schemas";

const KINDS: Readonly<Record<string, BatchKind>> = {
  device: "device",
  devices: "device",
  term: "term",
  terms: "term",
  item: "item",
  items: "item",
  point: "point",
  points: "point",
  term_item: "point",
  term_items: "point",
};

/** Known field names as the CSV header (lower-cased by the parser) may spell them. */
const FIELDS: Readonly<Record<string, string>> = Object.fromEntries(
  [
    "id",
    "name",
    "protocol",
    "host",
    "port",
    "enabled",
    "deviceId",
    "address",
    "pollInterval",
    "unit",
    "description",
    "termId",
    "itemId",
    "coefficient",
    "base",
    "deadband",
    "limits.lowLow",
    "limits.low",
    "limits.high",
    "limits.highHigh",
    "save.enabled",
    "save.interval",
  ].flatMap((f) => [
    [f.toLowerCase(), f],
    [f.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), f],
  ]),
);

/**
 * Rows of one import. Every step of an import yields to the event loop, but the final write is one atomic
 * step of the store (one Lua call on Redis), and its time grows with the rows: this bounds it.
 */
export const MAX_IMPORT_ROWS = 100_000;

function record(header: readonly string[], cells: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  header.forEach((h, i) => {
    const v = cells[i];
    if (v === undefined || v === "" || h === "kind") return;
    const name = FIELDS[h] ?? h;
    const dot = name.indexOf(".");
    if (dot > 0 && FIELDS[h] !== undefined) {
      const outer = name.slice(0, dot);
      const nested = (out[outer] ??= {}) as Record<string, unknown>;
      nested[name.slice(dot + 1)] = v;
    } else out[name] = v;
  });
  return out;
}

export function importRoutes(): Route[] {
  return [
    {
      method: "POST",
      path: "/v2/import",
      legacy: false,
      tag: "import",
      summary: "Import devices, terms, items and points from CSV: all or nothing, with a per-row report",
      body: { schema: { type: "string" }, contentType: "text/csv", required: true },
      query: [
        {
          name: "kind",
          description: "the kind of every row when there is no kind column",
          schema: { type: "string", enum: ["device", "term", "item", "point"] },
        },
        {
          name: "mode",
          description: "upsert (default): create or update; create: every id must be new",
          schema: { type: "string", enum: ["upsert", "create"] },
        },
      ],
      ok: { schema: ref("BatchResult"), description: "the ids created and updated" },
      errors: [404, 409, 413],
      handler: async (c) => {
        if (typeof c.body !== "string")
          throw badRequest("the body must be CSV text (Content-Type: text/csv)");
        const modeText = queryText(c.query, "mode") ?? "upsert";
        if (modeText !== "upsert" && modeText !== "create")
          throw badRequest("mode must be upsert or create", "mode");
        const mode: WriteMode = modeText;
        const kindText = queryText(c.query, "kind");
        const fixed = kindText === undefined ? undefined : KINDS[kindText.toLowerCase()];
        if (kindText !== undefined && fixed === undefined)
          throw badRequest("kind must be device, term, item or point", "kind");
        const slicer = new Slicer();
        let table;
        try {
          table = await parseCsvSliced(c.body, slicer);
        } catch (err) {
          throw badRequest(`the CSV cannot be read: ${err instanceof Error ? err.message : String(err)}`);
        }
        if (table.header.length === 0) throw badRequest("the CSV is empty");
        if (fixed === undefined && !table.header.includes("kind"))
          throw badRequest("the CSV needs a kind column (device, term, item, point) or ?kind=", "kind");
        if (table.rows.length > MAX_IMPORT_ROWS)
          throw badRequest(
            `the CSV has ${table.rows.length} rows; at most ${MAX_IMPORT_ROWS} rows are imported at once`,
          );
        const kindAt = table.header.indexOf("kind");
        const rows: BatchRow[] = [];
        const problems: RowProblem[] = [];
        for (const r of table.rows) {
          const k = fixed ?? KINDS[(r.cells[kindAt] ?? "").toLowerCase()];
          if (k === undefined) {
            problems.push({
              row: r.line,
              kind: "unknown",
              error: "invalid",
              field: "kind",
              message: `kind must be device, term, item or point, not ${JSON.stringify(r.cells[kindAt] ?? "")}`,
            });
            continue;
          }
          rows.push({ kind: k, row: r.line, raw: record(table.header, r.cells) });
          await slicer.tick();
        }
        if (problems.length > 0) {
          const all = [...problems, ...(await checkRows(rows)).problems].sort((a, b) => a.row - b.row);
          throw batchError(400, all);
        }
        const result = await writeAll(c.ctx.store.registry, rows, mode);
        if (!result.ok) throw batchError(result.status, result.problems);
        return {
          body: {
            created: result.written.filter((w) => w.op === "create").map((w) => w.id),
            updated: result.written.filter((w) => w.op === "update").map((w) => w.id),
          },
        };
      },
    },
  ];
}
