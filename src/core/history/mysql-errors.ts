/**
 * What a failed statement means for the rows in it. The saver's whole store-and-forward behaviour rests on
 * this one decision:
 * - `connection`: the server could not be reached or dropped us, or the failure is transient (deadlock,
 *   lock wait). The rows are fine — they wait in the backlog and go again on reconnect.
 * - `content`: the server refused these rows for what is in them (too long, out of range, bad date, a
 *   NULL where none is allowed, a duplicate under custom SQL). Retrying cannot help; the bad rows are
 *   found by bisection and go to the dead letters so the rest pass.
 * - `statement`: the statement or the account is wrong (syntax in custom SQL, no such table, no
 *   privilege). No row is at fault and a person must act, so rows wait like in an outage while the status
 *   says what is wrong.
 */
export type MysqlErrorKind = "connection" | "content" | "statement";

export interface ClassifiedError {
  readonly kind: MysqlErrorKind;
  /** The driver's or server's code, e.g. ER_DATA_TOO_LONG or ECONNREFUSED, when there is one. */
  readonly code: string | undefined;
  readonly message: string;
}

const CONNECTION_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
  "PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR",
  "PROTOCOL_ENQUEUE_AFTER_QUIT",
  "ER_CON_COUNT_ERROR",
  "ER_TOO_MANY_USER_CONNECTIONS",
  "ER_SERVER_SHUTDOWN",
  "ER_NORMAL_SHUTDOWN",
  "ER_SHUTDOWN_COMPLETE",
  "ER_LOCK_WAIT_TIMEOUT",
  "ER_LOCK_DEADLOCK",
  "ER_QUERY_INTERRUPTED",
  "ER_CONNECTION_KILLED",
  "ER_HOST_IS_BLOCKED",
  "ER_OUT_OF_RESOURCES",
  "ER_OUTOFMEMORY",
  "ER_RECORD_FILE_FULL",
  "ER_DISK_FULL",
  // The server is read-only (a replica, or a failover in progress): the rows are fine, the target is not.
  "ER_OPTION_PREVENTS_STATEMENT",
  "ER_READ_ONLY_MODE",
]);

// Content errors whose SQLSTATE is the catch-all HY000, so the class-22/23 rule below does not see them.
const CONTENT_CODES: ReadonlySet<string> = new Set([
  "ER_TRUNCATED_WRONG_VALUE_FOR_FIELD",
  "ER_TRUNCATED_WRONG_VALUE",
  "ER_DATA_TOO_LONG",
  "ER_WARN_DATA_OUT_OF_RANGE",
  "ER_WARN_NULL_TO_NOTNULL",
  "ER_NO_DEFAULT_FOR_FIELD",
  "ER_BAD_NULL_ERROR",
  "ER_DUP_ENTRY",
  "ER_WRONG_VALUE_FOR_TYPE",
  "ER_INVALID_JSON_TEXT",
  "ER_CHECK_CONSTRAINT_VIOLATED",
  "ER_CONSTRAINT_FAILED",
  "ER_WRONG_VALUE",
  "ER_CANT_CREATE_GEOMETRY_OBJECT",
]);

function field(err: object, name: string): unknown {
  return (err as Record<string, unknown>)[name];
}

export function classifyMysqlError(err: unknown): ClassifiedError {
  const message = err instanceof Error ? err.message : String(err);
  if (typeof err !== "object" || err === null) return { kind: "content", code: undefined, message };
  const code = typeof field(err, "code") === "string" ? (field(err, "code") as string) : undefined;
  const sqlState = typeof field(err, "sqlState") === "string" ? (field(err, "sqlState") as string) : "";
  // mysql2 marks errors after which the connection is unusable as fatal, whatever their code.
  if (field(err, "fatal") === true) return { kind: "connection", code, message };
  if (code !== undefined && CONNECTION_CODES.has(code)) return { kind: "connection", code, message };
  // SQLSTATE class 08 is "connection exception", class 40 "transaction rollback" (deadlocks): both pass.
  if (sqlState.startsWith("08") || sqlState.startsWith("40")) return { kind: "connection", code, message };
  if (code !== undefined && CONTENT_CODES.has(code)) return { kind: "content", code, message };
  // SQLSTATE class 22 is "data exception", class 23 "integrity constraint violation": the row's fault.
  if (sqlState.startsWith("22") || sqlState.startsWith("23")) return { kind: "content", code, message };
  if (code !== undefined || sqlState !== "") return { kind: "statement", code, message };
  // No code at all: a driver-side refusal of a value (e.g. a type it cannot send). Treating it as content
  // lets bisection isolate the row instead of stalling every row behind it.
  return { kind: "content", code, message };
}

/**
 * Why rows wait, in the words a person acts on: no server answered (`unreachable`: check the network or
 * start MySQL), or a server answered and refused the connection (`refused`: unknown database, access
 * denied, too many connections, shutting down), or it took the connection and refused the statement
 * (`statement`: no such table, no privilege, bad custom SQL). Example 05 pointed at a database that did
 * not exist was logged as "unreachable" while MySQL was answering every attempt.
 */
export type OutageCause = "unreachable" | "refused" | "statement";

// Refusals at connect time that the server reports with a statement-class SQLSTATE (42000, 28000).
const REFUSED_CODES: ReadonlySet<string> = new Set([
  "ER_BAD_DB_ERROR",
  "ER_ACCESS_DENIED_ERROR",
  "ER_ACCESS_DENIED_NO_PASSWORD_ERROR",
  "ER_DBACCESS_DENIED_ERROR",
  "ER_HOST_NOT_PRIVILEGED",
  "ER_NOT_SUPPORTED_AUTH_MODE",
  "ER_ACCOUNT_HAS_BEEN_LOCKED",
  "ER_MUST_CHANGE_PASSWORD_LOGIN",
]);

export function outageCause(e: {
  readonly kind: MysqlErrorKind;
  readonly code: string | null | undefined;
}): OutageCause {
  // mysql2 names every error the server sent ER_…; socket and driver errors (ECONNREFUSED, a statement
  // timeout as PROTOCOL_SEQUENCE_TIMEOUT) carry other codes, or none: then no server answered.
  const code = e.code ?? undefined;
  if (code === undefined || !code.startsWith("ER_"))
    return e.kind === "connection" ? "unreachable" : "statement";
  return e.kind === "connection" || REFUSED_CODES.has(code) ? "refused" : "statement";
}
