/**
 * A MySQL/MariaDB connection as the `datacoll-mysql` config node describes it: validated with the field
 * at fault named, turned into a mysql2 pool, and checked in plain words for the editor's "test connection"
 * button.
 */
import mysql from "mysql2/promise";
import type { Pool, PoolOptions } from "mysql2/promise";
import { DataCollError, errorMessage } from "../errors";
import { explainNetworkError } from "../link-test";
import { flagSetting, textSetting, wholeSetting } from "../settings";
import { parseTls, tlsConnectOptions, type TlsSettings } from "../tls-options";

export type MysqlTls = TlsSettings;

export interface MysqlSettings {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  /** Connections the pool may open; also how many batches may be in flight at once. */
  readonly poolSize: number;
  /** undefined: plain TCP. */
  readonly tls: MysqlTls | undefined;
  readonly connectTimeoutMs: number;
}

export interface RawMysqlSettings {
  readonly host?: unknown;
  readonly port?: unknown;
  readonly database?: unknown;
  readonly user?: unknown;
  readonly password?: unknown;
  readonly poolSize?: unknown;
  readonly tls?: unknown;
  readonly ca?: unknown;
  readonly cert?: unknown;
  readonly key?: unknown;
  readonly rejectUnauthorized?: unknown;
  readonly connectTimeoutMs?: unknown;
}

export const MYSQL_DEFAULTS = Object.freeze({
  host: "127.0.0.1",
  port: 3306,
  user: "root",
  poolSize: 4,
  connectTimeoutMs: 10_000,
});

// MySQL's own rule for unquoted names is looser; we keep to what works unquoted everywhere and in URLs.
const DATABASE_RULE = /^[A-Za-z0-9_$]{1,64}$/;
const HOST_RULE = /^[A-Za-z0-9.:_[\]-]{1,253}$/;

/** Validate a connection as the editor saved it; throws a DataCollError naming the field at fault. */
export function parseMysqlSettings(raw: RawMysqlSettings): MysqlSettings {
  const host = textSetting(raw.host, "host", MYSQL_DEFAULTS.host);
  if (!HOST_RULE.test(host)) {
    throw new DataCollError("invalid", "host must be a host name or an IP address", "host");
  }
  const database = textSetting(raw.database, "database", "");
  if (!DATABASE_RULE.test(database)) {
    throw new DataCollError(
      "invalid",
      database === "" ? "database is required" : "database must be 1-64 letters, digits, '_' or '$'",
      "database",
    );
  }
  const user = textSetting(raw.user, "user", MYSQL_DEFAULTS.user);
  if (user.length > 80) throw new DataCollError("invalid", "user must be at most 80 characters", "user");
  if (raw.password !== undefined && raw.password !== null && typeof raw.password !== "string") {
    throw new DataCollError("invalid", "password must be text", "password");
  }
  const useTls = flagSetting(raw.tls, "tls", false);
  const tls: MysqlTls | undefined = useTls
    ? parseTls(raw, { ca: "ca", cert: "cert", key: "key", rejectUnauthorized: "rejectUnauthorized" })
    : undefined;
  return {
    host,
    port: wholeSetting(raw.port, "port", MYSQL_DEFAULTS.port, 1, 65535),
    database,
    user,
    // A password is kept exactly as typed: spaces may be part of it.
    password: typeof raw.password === "string" ? raw.password : "",
    poolSize: wholeSetting(raw.poolSize, "poolSize", MYSQL_DEFAULTS.poolSize, 1, 64),
    tls,
    connectTimeoutMs: wholeSetting(
      raw.connectTimeoutMs,
      "connectTimeoutMs",
      MYSQL_DEFAULTS.connectTimeoutMs,
      100,
      300_000,
    ),
  };
}

function connectionOptions(s: MysqlSettings): PoolOptions {
  return {
    host: s.host,
    port: s.port,
    database: s.database,
    user: s.user,
    password: s.password,
    connectTimeout: s.connectTimeoutMs,
    ...(s.tls ? { ssl: tlsConnectOptions(s.tls) } : {}),
    // Times travel as UTC text we format ourselves (rows.ts sqlTime); 'Z' keeps anything mysql2 converts
    // (custom SQL users reading back) in UTC too rather than in the Node-RED host's zone.
    timezone: "Z",
    supportBigNumbers: true,
    enableKeepAlive: true,
  };
}

// Strict mode makes a value that does not fit an error instead of a silently clipped row, which is what
// lets bad rows reach the dead letters. Added to, not replacing, the server's own modes.
const STRICT_SESSION =
  "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'STRICT_ALL_TABLES')";

/** A pool for the batch writer: `poolSize` connections, strict SQL mode on each, UTC times. */
export function createMysqlPool(s: MysqlSettings): Pool {
  const pool = mysql.createPool({
    ...connectionOptions(s),
    connectionLimit: s.poolSize,
    maxIdle: s.poolSize,
    waitForConnections: true,
    queueLimit: 0,
  });
  pool.pool.on("connection", (conn) => {
    // Queued on this connection before any statement of ours, so no batch runs without strict mode.
    conn.query(STRICT_SESSION, (err: unknown) => {
      if (err) conn.destroy();
    });
  });
  return pool;
}

export type ConnectionTest =
  | { readonly ok: true; readonly message: string; readonly serverVersion: string }
  | { readonly ok: false; readonly code: string; readonly message: string };

function errCode(err: unknown): string {
  if (typeof err === "object" && err !== null) {
    const code = (err as Record<string, unknown>).code;
    if (typeof code === "string") return code;
  }
  return "UNKNOWN";
}

// mysql2 reports a failed TLS handshake as HANDSHAKE_SSL_ERROR with Node's message; Node's code is lost.
const TLS_MESSAGES: readonly (readonly [RegExp, string])[] = [
  [/self[- ]signed certificate|unable to verify|unable to get (local )?issuer/i, "SELF_SIGNED_CERT_IN_CHAIN"],
  [/Hostname\/IP does not match|altnames/i, "ERR_TLS_CERT_ALTNAME_INVALID"],
  [/certificate has expired/i, "CERT_HAS_EXPIRED"],
];

function tlsCode(err: unknown): string {
  const code = errCode(err);
  if (code !== "HANDSHAKE_SSL_ERROR") return code;
  const message = errorMessage(err);
  return TLS_MESSAGES.find(([pattern]) => pattern.test(message))?.[1] ?? code;
}

/** Plain words for what went wrong, for a plant engineer looking at the config dialog. */
export function explainConnectionError(s: MysqlSettings, err: unknown): string {
  const where = `${s.host}:${s.port}`;
  const code = tlsCode(err);
  const network = explainNetworkError(code, {
    host: s.host,
    port: s.port,
    service: "MySQL",
    timeoutMs: s.connectTimeoutMs,
  });
  if (network !== undefined) return network;
  switch (code) {
    case "ECONNRESET":
    case "PROTOCOL_CONNECTION_LOST":
      return `${where} accepted the connection and closed it. Is it a MySQL server, and does it allow this host?`;
    case "ER_ACCESS_DENIED_ERROR":
      return `The server refused user "${s.user}": wrong password, or the user may not connect from this host.`;
    case "ER_DBACCESS_DENIED_ERROR":
      return `User "${s.user}" may not use database "${s.database}".`;
    case "ER_BAD_DB_ERROR":
      return `The database "${s.database}" does not exist. Create it first (the saver creates tables, not databases).`;
    case "ER_HOST_NOT_PRIVILEGED":
    case "ER_HOST_IS_BLOCKED":
      return `The server does not accept connections from this host: ${errorMessage(err)}`;
    case "ER_CON_COUNT_ERROR":
    case "ER_TOO_MANY_USER_CONNECTIONS":
      return "The server has too many connections open. Lower the pool size or raise max_connections.";
    case "HANDSHAKE_NO_SSL_SUPPORT":
      return `TLS is switched on but the server at ${where} does not offer TLS.`;
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
      return "The server's TLS certificate is not signed by a trusted CA. Paste its CA certificate into 'CA'.";
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return `The server's TLS certificate is not issued for "${s.host}".`;
    case "CERT_HAS_EXPIRED":
      return "The server's TLS certificate has expired.";
    case "HANDSHAKE_SSL_ERROR":
      return `The TLS handshake with ${where} failed: ${errorMessage(err)}`;
    default:
      return `Could not connect to ${where}: ${errorMessage(err)}`;
  }
}

/** Open one connection, ask the server's version, close. Never throws: the answer is for a person. */
export async function testConnection(s: MysqlSettings): Promise<ConnectionTest> {
  let conn: mysql.Connection | undefined;
  try {
    conn = await mysql.createConnection(connectionOptions(s));
    const [rows] = await conn.query<mysql.RowDataPacket[]>("SELECT VERSION() AS version");
    const version = String(rows[0]?.version ?? "unknown");
    const tlsNote = s.tls ? " over TLS" : "";
    return {
      ok: true,
      serverVersion: version,
      message: `Connected to ${s.host}:${s.port}${tlsNote} as "${s.user}", database "${s.database}" (server ${version}).`,
    };
  } catch (err) {
    return { ok: false, code: errCode(err), message: explainConnectionError(s, err) };
  } finally {
    if (conn) await closeQuietly(conn);
  }
}

async function closeQuietly(conn: mysql.Connection): Promise<void> {
  try {
    await conn.end();
  } catch {
    // The answer is already decided; a failing goodbye only means the socket is gone. Destroy to be sure.
    conn.destroy();
  }
}
