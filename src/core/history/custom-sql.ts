/**
 * Custom SQL for users with their own history schema: one statement per row with named placeholders
 * (`:key`, `:value`, `:ts`, …). mysql2 turns the names into a prepared statement's parameters, so a value —
 * whatever text it holds — is data and never SQL. The statement is checked up front so a typo in a name is
 * an error in the editor rather than a NULL in every row.
 */
import { DataCollError } from "../errors";
import type { PointRow } from "./rows";
import { sqlTime } from "./rows";

/** What a custom statement may use; ts is UTC text for DATETIME columns, tsMs the epoch milliseconds. */
export const CUSTOM_SQL_PLACEHOLDERS = [
  "key",
  "deviceId",
  "termId",
  "itemId",
  "ts",
  "tsMs",
  "value",
  "valueText",
  "quality",
  "cause",
] as const;

export type CustomSqlPlaceholder = (typeof CUSTOM_SQL_PLACEHOLDERS)[number];

const KNOWN: ReadonlySet<string> = new Set(CUSTOM_SQL_PLACEHOLDERS);

/**
 * The placeholders used in `sql` outside quoted text, in order. Scans the way mysql2's named-placeholder
 * parser does (quotes with backslash and doubled-quote escapes) so both agree on what is a placeholder.
 */
export function placeholdersOf(sql: string): { readonly named: string[]; readonly positional: number } {
  const named: string[] = [];
  let positional = 0;
  let quote: string | undefined;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (quote !== undefined) {
      if (c === "\\") i++;
      else if (c === quote && sql[i + 1] === quote) i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
    } else if (c === "?") {
      positional++;
    } else if (c === ":") {
      const m = /^[A-Za-z][A-Za-z0-9_]*|^\d+/.exec(sql.slice(i + 1));
      if (m) {
        named.push(m[0]);
        i += m[0].length;
      }
    }
  }
  return { named, positional };
}

/** Check a custom statement; returns it trimmed. Throws a DataCollError on field `customSql`. */
export function validateCustomSql(raw: unknown): string {
  const field = "customSql";
  if (typeof raw !== "string" || raw.trim() === "") {
    throw new DataCollError("invalid", "customSql must be an SQL statement", field);
  }
  const sql = raw.trim().replace(/;\s*$/, "");
  const { named, positional } = placeholdersOf(sql);
  if (positional > 0) {
    throw new DataCollError("invalid", "customSql takes named placeholders such as :value, not '?'", field);
  }
  const unknown = named.filter((n) => !KNOWN.has(n));
  if (unknown.length > 0) {
    throw new DataCollError(
      "invalid",
      `customSql uses unknown placeholder(s) ${unknown.map((n) => `:${n}`).join(", ")}; ` +
        `known: ${CUSTOM_SQL_PLACEHOLDERS.map((n) => `:${n}`).join(", ")}`,
      field,
    );
  }
  if (named.length === 0) {
    throw new DataCollError("invalid", "customSql must use at least one placeholder, e.g. :value", field);
  }
  return sql;
}

export function customSqlParams(r: PointRow): Record<CustomSqlPlaceholder, string | number | null> {
  return {
    key: r.key,
    deviceId: r.deviceId,
    termId: r.termId,
    itemId: r.itemId,
    ts: sqlTime(r.ts),
    tsMs: r.ts,
    value: r.value,
    valueText: r.valueText,
    quality: r.quality,
    cause: r.cause,
  };
}
