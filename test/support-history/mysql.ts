/**
 * A database of its own for each history test file: created on the shared MariaDB, dropped after.
 */
import mysql from "mysql2/promise";
import type { MysqlSettings } from "../../src/core/history/mysql-settings";
import { parseMysqlSettings } from "../../src/core/history/mysql-settings";
import { MYSQL_URL, uniqueDatabase } from "../support/services";

const url = new URL(MYSQL_URL);

/** Settings for `database` on the test server, optionally through another port (the TCP proxy). */
export function testSettings(
  database: string,
  overrides: { port?: number; poolSize?: number; connectTimeoutMs?: number } = {},
): MysqlSettings {
  return parseMysqlSettings({
    host: url.hostname,
    port: overrides.port ?? Number(url.port || 3306),
    user: decodeURIComponent(url.username || "root"),
    password: decodeURIComponent(url.password),
    database,
    poolSize: overrides.poolSize ?? 4,
    connectTimeoutMs: overrides.connectTimeoutMs,
  });
}

/** A `datacoll-mysql` config node for `database` on the test server, as a flow file holds it. */
export function mysqlConfigNode(
  id: string,
  database: string,
  extra: Record<string, unknown> = {},
): { id: string; type: string; [k: string]: unknown } {
  return {
    id,
    type: "datacoll-mysql",
    host: url.hostname,
    port: url.port || "3306",
    database,
    user: decodeURIComponent(url.username || "root"),
    poolSize: "2",
    connectTimeout: "2000",
    ...extra,
  };
}

export function serverPort(): number {
  return Number(url.port || 3306);
}

/** One connection for the test's own checks (not through the writer). */
export async function adminConnection(database?: string): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: url.hostname,
    port: serverPort(),
    user: decodeURIComponent(url.username || "root"),
    password: decodeURIComponent(url.password),
    ...(database === undefined ? {} : { database }),
    timezone: "Z",
  });
}

export interface TestDatabase {
  readonly name: string;
  readonly admin: mysql.Connection;
  drop(): Promise<void>;
}

export async function createTestDatabase(prefix = "dc_hist"): Promise<TestDatabase> {
  const name = uniqueDatabase(prefix);
  const admin = await adminConnection();
  await admin.query(`CREATE DATABASE ${mysql.escapeId(name)}`);
  await admin.query(`USE ${mysql.escapeId(name)}`);
  return {
    name,
    admin,
    async drop() {
      await admin.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(name)}`);
      await admin.end();
    },
  };
}

/**
 * The rows `sql` selects, or none while a table it reads does not exist yet (the save node creates its
 * tables when it first connects, so a test polling for rows starts before they are there). Any other
 * error is the test's or the server's fault and is thrown.
 */
export async function rowsOnceCreated(
  admin: mysql.Connection,
  sql: string,
  params: unknown[] = [],
): Promise<mysql.RowDataPacket[]> {
  try {
    const [rows] = await admin.query<mysql.RowDataPacket[]>(sql, params);
    return rows;
  } catch (err) {
    if ((err as { code?: unknown }).code === "ER_NO_SUCH_TABLE") return [];
    throw err;
  }
}
