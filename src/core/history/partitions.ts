/**
 * Time partitions of the history and alarms tables, and retention by dropping them. Old history leaves
 * by `ALTER TABLE … DROP PARTITION`, which throws away a period's files at once, where a `DELETE` of the
 * same rows walks and logs every one of them and holds row locks the writers run into.
 *
 * Tables are partitioned `RANGE COLUMNS(ts)` — a syntax MariaDB and MySQL 8 share, allowed because ts is
 * in every unique key (the primary keys end in it) — into one partition per UTC day or month, named for
 * the period it starts (`p20261206`, `p202612`), plus `pmax` (`MAXVALUE`) so a row with a time beyond the
 * prepared periods is still stored. Periods ahead are split out of `pmax` with `REORGANIZE PARTITION`;
 * the first partition also holds every row older than its period.
 *
 * Maintenance takes a named server lock (GET_LOCK) first, so of several save nodes sharing a table only
 * one alters it at a time; the others find the work done. Its DDL waits at most a few seconds for the
 * table's metadata lock, so a long SELECT that holds it makes maintenance give up until its next run
 * rather than hold the writers queued behind it.
 *
 * A table made unpartitioned by an earlier version is left alone unless the save node is told to
 * migrate it (`migrateTables`): migrating rebuilds the whole table, during which writes wait (the save
 * node's rows wait in its backlog), so it is the user's call when to pay that.
 */
import { escapeId } from "mysql2";
import { DataCollError } from "../errors";
import { sqlTime } from "./rows";
import type { SqlValue } from "./schema";

export type PartitionUnit = "day" | "month";

export interface PartitionPolicy {
  /** "none": tables are made and kept unpartitioned, as before partitions existed. */
  readonly unit: PartitionUnit | "none";
  /** Periods prepared beyond the current one. */
  readonly ahead: number;
  /** Partitions whose whole period is older than this many days are dropped; 0 keeps everything. */
  readonly retentionDays: number;
  /** Partition an existing unpartitioned table (rebuilds it). */
  readonly migrate: boolean;
}

export const DEFAULT_PARTITIONS: PartitionPolicy = Object.freeze({
  unit: "month",
  ahead: 3,
  retentionDays: 0,
  migrate: false,
});

const DAY_MS = 86_400_000;
/** More partitions than this from one migration would be slow to make; older rows go to the first. */
const MOST_AT_MIGRATION = 400;
/** Seconds the DDL waits for the table's metadata lock before giving up until the next run. */
const LOCK_WAIT_S = 5;

export function parsePartitionPolicy(raw: {
  readonly partition?: unknown;
  readonly retentionDays?: unknown;
  readonly partitionsAhead?: unknown;
  readonly migrateTables?: unknown;
}): PartitionPolicy {
  const blank = (v: unknown): boolean => v === undefined || v === null || String(v).trim() === "";
  const unit = blank(raw.partition) ? DEFAULT_PARTITIONS.unit : raw.partition;
  if (unit !== "day" && unit !== "month" && unit !== "none")
    throw new DataCollError("invalid", "partition must be day, month or none", "partition");
  const retentionDays = blank(raw.retentionDays) ? 0 : Number(raw.retentionDays);
  if (!Number.isInteger(retentionDays) || retentionDays < 0 || retentionDays > 100_000)
    throw new DataCollError(
      "invalid",
      "retentionDays must be a whole number of days, 0 (keep everything) or more",
      "retentionDays",
    );
  const ahead = blank(raw.partitionsAhead) ? DEFAULT_PARTITIONS.ahead : Number(raw.partitionsAhead);
  if (!Number.isInteger(ahead) || ahead < 1 || ahead > 60)
    throw new DataCollError(
      "invalid",
      "partitionsAhead must be a whole number from 1 to 60",
      "partitionsAhead",
    );
  return { unit, ahead, retentionDays, migrate: raw.migrateTables === true };
}

/** The UTC start of the period holding `ms`. */
export function periodStart(ms: number, unit: PartitionUnit): number {
  if (unit === "day") return Math.floor(ms / DAY_MS) * DAY_MS;
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** The start of the period after the one starting at `start`. */
export function nextPeriod(start: number, unit: PartitionUnit): number {
  if (unit === "day") return start + DAY_MS;
  const d = new Date(start);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

export function partitionName(start: number, unit: PartitionUnit): string {
  const iso = new Date(start).toISOString();
  return `p${iso.slice(0, 4)}${iso.slice(5, 7)}${unit === "day" ? iso.slice(8, 10) : ""}`;
}

/** One partition as the server describes it: the bound its rows are below, or none (`pmax`). */
export interface PartitionInfo {
  readonly name: string;
  readonly lessThan: number | "max";
}

function definition(p: PartitionInfo): string {
  const bound = p.lessThan === "max" ? "MAXVALUE" : `'${sqlTime(p.lessThan)}'`;
  return `PARTITION ${escapeId(p.name)} VALUES LESS THAN (${bound})`;
}

/** The periods starting at `first` up to `ahead` periods past the one holding `now`, plus pmax. */
function periodsFrom(
  first: number,
  now: number,
  policy: PartitionPolicy & { unit: PartitionUnit },
): PartitionInfo[] {
  let end = periodStart(now, policy.unit);
  for (let i = 0; i <= policy.ahead; i++) end = nextPeriod(end, policy.unit);
  const out: PartitionInfo[] = [];
  for (let s = first; s < end; s = nextPeriod(s, policy.unit))
    out.push({ name: partitionName(s, policy.unit), lessThan: nextPeriod(s, policy.unit) });
  out.push({ name: "pmax", lessThan: "max" });
  return out;
}

/** The clause a new table is created with: this period, the ones ahead, and pmax. */
export function partitionClause(policy: PartitionPolicy, now: number): string {
  if (policy.unit === "none") return "";
  const unit = policy.unit;
  const parts = periodsFrom(periodStart(now, unit), now, { ...policy, unit });
  return `PARTITION BY RANGE COLUMNS(ts) (\n  ${parts.map(definition).join(",\n  ")}\n)`;
}

export interface MaintenancePlan {
  /** Split out of pmax (or added, with no pmax), oldest first. */
  readonly add: readonly PartitionInfo[];
  /** Partitions whose whole period is past retention. */
  readonly drop: readonly string[];
}

/** What to change on a table partitioned as `parts` (in order) for `policy` at `now`. */
export function maintenancePlan(
  parts: readonly PartitionInfo[],
  policy: PartitionPolicy & { unit: PartitionUnit },
  now: number,
): MaintenancePlan {
  const bounded = parts.filter((p): p is PartitionInfo & { lessThan: number } => p.lessThan !== "max");
  const last = bounded.length > 0 ? bounded[bounded.length - 1].lessThan : periodStart(now, policy.unit);
  // The periods still missing up to the prepared horizon, from the last bound on: after days without a
  // run (Node-RED stopped) the gap gets its periods too, as far back as one migration would make.
  const add = periodsFrom(periodStart(last, policy.unit), now, policy)
    .filter((p) => p.lessThan !== "max" && p.lessThan > last)
    .slice(-MOST_AT_MIGRATION);
  const drop: string[] = [];
  if (policy.retentionDays > 0) {
    const cutoff = now - policy.retentionDays * DAY_MS;
    const names = new Set(add.map((p) => p.name));
    for (const p of bounded) if (p.lessThan <= cutoff && !names.has(p.name)) drop.push(p.name);
    // A table needs one partition left besides pmax; the horizon's partitions are never past the cutoff.
    if (drop.length === bounded.length && add.length === 0) drop.pop();
  }
  return { add, drop };
}

/** What one SQL connection offers maintenance (mysql2's pool connection fits). */
export interface MaintenanceConnection {
  query(sql: string, values?: SqlValue[]): Promise<unknown>;
  release(): void;
}
export interface MaintenancePool {
  getConnection(): Promise<MaintenanceConnection>;
}

type Rows = readonly Readonly<Record<string, unknown>>[];
async function select(c: MaintenanceConnection, sql: string, values: SqlValue[]): Promise<Rows> {
  const answer = await c.query(sql, values);
  return (Array.isArray(answer) ? answer[0] : []) as Rows;
}

/** A table's partitioning as found: missing, not partitioned, ours (RANGE COLUMNS on ts), or another. */
export type TableLayout =
  | { readonly kind: "missing" }
  | { readonly kind: "unpartitioned" }
  | { readonly kind: "foreign"; readonly method: string }
  | { readonly kind: "ranges"; readonly parts: readonly PartitionInfo[] };

/** Parse `'2026-12-07 00:00:00'` (or MySQL's unquoted form) as UTC epoch ms. */
function boundOf(description: unknown): number | "max" {
  const text = String(description ?? "").trim();
  if (/^MAXVALUE$/i.test(text)) return "max";
  const m = /^'?(\d{4}-\d{2}-\d{2})(?: (\d{2}:\d{2}:\d{2}(?:\.\d+)?))?'?$/.exec(text);
  if (!m) return Number.NaN;
  return Date.parse(`${m[1]}T${m[2] ?? "00:00:00"}Z`);
}

/**
 * The layout `SHOW CREATE TABLE` gives, when the answer is plain: a table with no partitioning, or ours
 * (RANGE COLUMNS on ts, no subpartitions, every partition read). Anything else answers undefined and is
 * read from information_schema instead (readLayout). Accepts MariaDB's form (names in backticks) and
 * MySQL 8's (the clause inside a versioned comment `/*!50500 … *\/`, names bare).
 */
export function layoutOfCreateTable(ddl: string): TableLayout | undefined {
  if (!/PARTITION/i.test(ddl)) return { kind: "unpartitioned" };
  const header = /\n\s*(?:\/\*!\d+\s*)?PARTITION BY RANGE\s+COLUMNS\s*\(\s*`?ts`?\s*\)\s*\(/i.exec(ddl);
  if (header === null || /SUBPARTITION/i.test(ddl)) return undefined;
  const body = ddl.slice(header.index + header[0].length);
  const entry = /PARTITION\s+(?:`((?:[^`]|``)+)`|(\w+))\s+VALUES\s+LESS\s+THAN\s*\(([^)]*)\)/gi;
  const parts: PartitionInfo[] = [];
  for (const m of body.matchAll(entry)) {
    const lessThan = boundOf(m[3]);
    if (Number.isNaN(lessThan)) return undefined;
    parts.push({ name: m[1] === undefined ? m[2] : m[1].replace(/``/g, "`"), lessThan });
  }
  // Every partition the clause names must have been read, or the answer is not plain.
  const named = body.match(/\bPARTITION\b/gi)?.length ?? 0;
  return parts.length > 0 && parts.length === named ? { kind: "ranges", parts } : undefined;
}

async function layoutFromSchema(c: MaintenanceConnection, table: string): Promise<TableLayout> {
  const rows = await select(
    c,
    "SELECT PARTITION_NAME AS name, PARTITION_METHOD AS method, PARTITION_EXPRESSION AS expr, " +
      "PARTITION_DESCRIPTION AS descr FROM information_schema.PARTITIONS " +
      "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY PARTITION_ORDINAL_POSITION",
    [table],
  );
  if (rows.length === 0) return { kind: "missing" };
  if (rows[0].name === null) return { kind: "unpartitioned" };
  const method = String(rows[0].method);
  const expr = String(rows[0].expr).replace(/[`\s]/g, "");
  if (method !== "RANGE COLUMNS" || expr !== "ts") return { kind: "foreign", method: `${method}(${expr})` };
  const parts = rows.map((r) => ({ name: String(r.name), lessThan: boundOf(r.descr) }));
  if (parts.some((p) => Number.isNaN(p.lessThan))) return { kind: "foreign", method: `${method}(${expr})` };
  return { kind: "ranges", parts };
}

/**
 * A table's partitioning. `SHOW CREATE TABLE` first: it reads the table's definition only, where
 * information_schema.PARTITIONS (MariaDB) opens every partition for its statistics — about a
 * millisecond more, measured, on each maintenance run, which retention's drop is timed with
 * (bench/history.bench.ts). information_schema answers whatever the first does not read plainly.
 */
export async function readLayout(c: MaintenanceConnection, table: string): Promise<TableLayout> {
  let ddl: unknown;
  try {
    const [row] = await select(c, `SHOW CREATE TABLE ${escapeId(table)}`, []);
    ddl = row?.["Create Table"];
  } catch (err) {
    if ((err as { code?: unknown }).code === "ER_NO_SUCH_TABLE") return { kind: "missing" };
    throw err;
  }
  return (typeof ddl === "string" ? layoutOfCreateTable(ddl) : undefined) ?? layoutFromSchema(c, table);
}

/** What a maintenance run did or found, for the node's log and status. */
export type MaintenanceReport =
  | {
      readonly kind: "done";
      readonly table: string;
      readonly added: readonly string[];
      readonly dropped: readonly string[];
    }
  | { readonly kind: "migrated"; readonly table: string; readonly partitions: number }
  | { readonly kind: "busy"; readonly table: string }
  | {
      readonly kind: "skipped";
      readonly table: string;
      readonly why: "missing" | "unpartitioned" | "foreign";
      readonly method?: string;
    };

// The server lock of one table's maintenance, named by a digest of the database and table: lock names
// are server-wide and limited to 64 characters.
const LOCK = "CONCAT('dc_parts:', SHA1(CONCAT(DATABASE(), '.', ?)))";

async function migrate(
  c: MaintenanceConnection,
  table: string,
  policy: PartitionPolicy & { unit: PartitionUnit },
  now: number,
): Promise<number> {
  const [row] = await select(
    c,
    `SELECT TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', MIN(ts)) DIV 1000 AS first FROM ${escapeId(table)}`,
    [],
  );
  const oldest = row?.first === null || row?.first === undefined ? now : Number(row.first);
  // Older rows than the first period kept go to the first partition (see MOST_AT_MIGRATION).
  const parts = periodsFrom(periodStart(Math.min(oldest, now), policy.unit), now, policy).slice(
    -MOST_AT_MIGRATION,
  );
  await c.query(
    `ALTER TABLE ${escapeId(table)} PARTITION BY RANGE COLUMNS(ts) (${parts.map(definition).join(", ")})`,
  );
  return parts.length;
}

/**
 * Run `work` on one connection holding `table`'s maintenance lock (a named server lock), with DDL
 * waiting at most LOCK_WAIT_S for the table's metadata lock. Answers "busy" when another process holds
 * the lock: several save nodes sharing a table then do the work once, not once each. Partition
 * maintenance and the roll-up of a table (rollup.ts) share the lock, so they never run over each other.
 */
export async function withTableLock<T>(
  pool: MaintenancePool,
  table: string,
  work: (c: MaintenanceConnection) => Promise<T>,
): Promise<T | "busy"> {
  const c = await pool.getConnection();
  let locked = false;
  try {
    const [got] = await select(c, `SELECT GET_LOCK(${LOCK}, 0) AS got`, [table]);
    locked = Number(got?.got) === 1;
    if (!locked) return "busy";
    await c.query(`SET SESSION lock_wait_timeout = ${LOCK_WAIT_S}`);
    return await work(c);
  } finally {
    try {
      // One statement, one round trip: the setting back and the lock let go.
      if (locked)
        await c.query(`SET SESSION lock_wait_timeout = DEFAULT, @dc_released = RELEASE_LOCK(${LOCK})`, [
          table,
        ]);
    } finally {
      c.release();
    }
  }
}

/**
 * One maintenance run on `table`: under the table's server lock, prepare the periods ahead and drop
 * those past retention; migrate an unpartitioned table when the policy says so. Never runs a DELETE.
 */
export async function maintainTable(
  pool: MaintenancePool,
  table: string,
  policy: PartitionPolicy,
  now: number,
): Promise<MaintenanceReport> {
  if (policy.unit === "none") return { kind: "done", table, added: [], dropped: [] };
  const p = { ...policy, unit: policy.unit };
  const report = await withTableLock(pool, table, async (c): Promise<MaintenanceReport> => {
    const layout = await readLayout(c, table);
    if (layout.kind === "unpartitioned" && policy.migrate)
      return { kind: "migrated", table, partitions: await migrate(c, table, p, now) };
    if (layout.kind !== "ranges")
      return layout.kind === "foreign"
        ? { kind: "skipped", table, why: "foreign", method: layout.method }
        : { kind: "skipped", table, why: layout.kind };
    const plan = maintenancePlan(layout.parts, p, now);
    const t = escapeId(table);
    if (plan.add.length > 0) {
      const hasMax = layout.parts.some((x) => x.lessThan === "max");
      await c.query(
        hasMax
          ? `ALTER TABLE ${t} REORGANIZE PARTITION pmax INTO (${[...plan.add, { name: "pmax", lessThan: "max" as const }].map(definition).join(", ")})`
          : `ALTER TABLE ${t} ADD PARTITION (${plan.add.map(definition).join(", ")})`,
      );
    }
    if (plan.drop.length > 0)
      await c.query(`ALTER TABLE ${t} DROP PARTITION ${plan.drop.map((n) => escapeId(n)).join(", ")}`);
    return { kind: "done", table, added: plan.add.map((x) => x.name), dropped: plan.drop };
  });
  return report === "busy" ? { kind: "busy", table } : report;
}
