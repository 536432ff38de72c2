/**
 * The history and alarms tables: names, DDL and the multi-row INSERTs the batch writer sends.
 *
 * Replays are idempotent by key, not by luck: history rows are keyed by (point_key, ts) and alarm rows by
 * (point_key, condition, ts, state), and rows go in with INSERT … ON DUPLICATE KEY UPDATE. We chose that
 * over INSERT IGNORE because IGNORE also turns content errors (a string too long, a value out of range)
 * into warnings and stores a clipped value; with ON DUPLICATE KEY UPDATE such a row still fails, goes to the
 * dead letters, and a replayed row simply writes the same values again (the last write of a key wins).
 *
 * Table names are checked against a strict identifier rule and then quoted with mysql2's escapeId; every
 * value travels as a parameter, never inside the SQL text.
 */
import { escapeId } from "mysql2";
import { DataCollError } from "../errors";
import type { AlarmRow, PointRow } from "./rows";
import { sqlTime } from "./rows";

export interface TableNames {
  readonly history: string;
  readonly alarms: string;
}

export const DEFAULT_TABLES: TableNames = Object.freeze({ history: "dc_history", alarms: "dc_alarms" });

// Stricter than MySQL allows on purpose: letters, digits, '_' and '$', not all digits, at most 64 — a name
// that survives any sql_mode, any case-sensitivity setting and being typed into the editor.
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/;

export function validateTableName(raw: unknown, field: string): string {
  if (typeof raw !== "string" || !IDENTIFIER.test(raw)) {
    throw new DataCollError(
      "invalid",
      `${field} must be 1-64 letters, digits, '_' or '$', not starting with a digit (got ${JSON.stringify(raw)})`,
      field,
    );
  }
  return raw;
}

export function validateTableNames(raw: {
  readonly history?: unknown;
  readonly alarms?: unknown;
}): TableNames {
  const history = validateTableName(raw.history ?? DEFAULT_TABLES.history, "historyTable");
  const alarms = validateTableName(raw.alarms ?? DEFAULT_TABLES.alarms, "alarmsTable");
  if (history.toLowerCase() === alarms.toLowerCase()) {
    throw new DataCollError(
      "invalid",
      "the history and alarms tables must have different names",
      "alarmsTable",
    );
  }
  return { history, alarms };
}

// Ids are limited by the model to text without ':'; 128 characters each leaves the key (three ids and two
// colons) within 400, and the primary key within InnoDB's 3072-byte index limit in utf8mb4.
// utf8mb4_bin: ids are case-sensitive names, so 'T1' and 't1' are different points.
const POINT_COLUMNS = `  point_key VARCHAR(400) NOT NULL,
  device_id VARCHAR(128) NOT NULL,
  term_id VARCHAR(128) NOT NULL,
  item_id VARCHAR(128) NOT NULL,`;
const TABLE_OPTIONS = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

/** `partitions` is a PARTITION BY clause (partitions.ts partitionClause), or empty for none. */
export function historyTableDdl(table: string, partitions = ""): string {
  return `CREATE TABLE IF NOT EXISTS ${escapeId(table)} (
${POINT_COLUMNS}
  ts DATETIME(3) NOT NULL COMMENT 'UTC',
  value DOUBLE NULL,
  value_text VARCHAR(255) NULL,
  quality TINYINT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'IEC 104 QDS bits: IV 0x80, NT 0x40, SB 0x20, BL 0x10, OV 0x01',
  cause VARCHAR(16) NOT NULL,
  PRIMARY KEY (point_key, ts),
  KEY ts (ts)
) ${TABLE_OPTIONS}${partitions === "" ? "" : `\n${partitions}`}`;
}

export function alarmsTableDdl(table: string, partitions = ""): string {
  return `CREATE TABLE IF NOT EXISTS ${escapeId(table)} (
${POINT_COLUMNS}
  \`condition\` VARCHAR(32) NOT NULL,
  state VARCHAR(16) NOT NULL,
  previous VARCHAR(16) NOT NULL,
  active TINYINT(1) NOT NULL,
  ts DATETIME(3) NOT NULL COMMENT 'UTC',
  severity SMALLINT UNSIGNED NOT NULL COMMENT '1 (least) to 1000 (most)',
  text VARCHAR(512) NOT NULL,
  value DOUBLE NULL,
  value_text VARCHAR(255) NULL,
  ack_by VARCHAR(128) NULL COMMENT 'who acknowledged or shelved',
  PRIMARY KEY (point_key, \`condition\`, ts, state),
  KEY ts (ts)
) ${TABLE_OPTIONS}${partitions === "" ? "" : `\n${partitions}`}`;
}

/** Create the tables when missing; leaves existing ones as they are. */
export async function ensureTables(
  // Only DDL runs here: any pool that can run a statement will do (mysql2's, or a test's fake).
  pool: { query(sql: string): Promise<unknown> },
  tables: TableNames,
  which: { readonly history: boolean; readonly alarms: boolean },
  partitions = "",
): Promise<void> {
  if (which.history) await pool.query(historyTableDdl(tables.history, partitions));
  if (which.alarms) await pool.query(alarmsTableDdl(tables.alarms, partitions));
}

const HISTORY_COLUMNS = [
  "point_key",
  "device_id",
  "term_id",
  "item_id",
  "ts",
  "value",
  "value_text",
  "quality",
  "cause",
] as const;
const ALARM_COLUMNS = [
  "point_key",
  "device_id",
  "term_id",
  "item_id",
  "condition",
  "state",
  "previous",
  "active",
  "ts",
  "severity",
  "text",
  "value",
  "value_text",
  "ack_by",
] as const;

function upsertSql(table: string, columns: readonly string[], keyColumns: readonly string[]): string {
  const cols = columns.map((c) => escapeId(c)).join(", ");
  const updates = columns
    .filter((c) => !keyColumns.includes(c))
    .map((c) => `${escapeId(c)} = VALUES(${escapeId(c)})`)
    .join(", ");
  // `VALUES ?` with an array of row arrays: mysql2 expands it to (…),(…) with every value escaped.
  return `INSERT INTO ${escapeId(table)} (${cols}) VALUES ? ON DUPLICATE KEY UPDATE ${updates}`;
}

export function historyInsertSql(table: string): string {
  return upsertSql(table, HISTORY_COLUMNS, ["point_key", "ts"]);
}

export function alarmsInsertSql(table: string): string {
  return upsertSql(table, ALARM_COLUMNS, ["point_key", "condition", "ts", "state"]);
}

export type SqlValue = string | number | null;

export function historyValues(r: PointRow): SqlValue[] {
  return [r.key, r.deviceId, r.termId, r.itemId, sqlTime(r.ts), r.value, r.valueText, r.quality, r.cause];
}

export function alarmValues(r: AlarmRow): SqlValue[] {
  return [
    r.key,
    r.deviceId,
    r.termId,
    r.itemId,
    r.condition,
    r.state,
    r.previous,
    r.active,
    sqlTime(r.ts),
    r.severity,
    r.text,
    r.value,
    r.valueText,
    r.by,
  ];
}
