/**
 * Errors carry a stable code (for the editor's translations and for callers that branch on it),
 * the field at fault when there is one, and a message a plant engineer understands.
 */

/**
 * Every code a DataCollError can carry. A closed union so that the compiler catches a misspelt code:
 * "not_found" beside "not-found" once made unwatched alarms and unknown formulas answer 500 instead of 404,
 * because the REST layer maps codes to statuses by exact match (rest/errors.ts `statusOf`).
 */
export type ErrorCode =
  // The caller's fault: bad input, a missing or clashing entity, a request the target cannot do.
  | "invalid"
  | "bad-message"
  | "not-found"
  | "conflict"
  | "unsupported"
  // Not available now: busy, not started, closed, or the embedded store refused by the disk or locked.
  | "busy"
  | "not-running"
  | "closed"
  | "no-redis"
  | "aborted"
  | "store-locked"
  | "store-corrupt"
  | "store-io"
  | "store-write"
  // A stored record that does not parse; a change listener that threw.
  | "corrupt"
  | "listener"
  // Modbus client and device driver.
  | "modbus-closed"
  | "modbus-config"
  | "modbus-internal"
  | "modbus-plan"
  | "modbus-point"
  | "modbus-value"
  | "modbus-read-only"
  // A Modbus request that failed: `modbus-` and the session's RequestFailure kind (core/modbus/client.ts).
  | "modbus-timeout"
  | "modbus-exception"
  | "modbus-invalid-request"
  | "modbus-queue-full"
  | "modbus-queue-timeout"
  | "modbus-unit-backoff"
  | "modbus-malformed-reply"
  | "modbus-disconnected"
  // An IEC 104 request that failed: the failing outcomes of the session's RequestOutcome.
  | IecRequestFailure;

/** The outcomes of an IEC 104 request that end it in failure (a subset of the session's RequestOutcome). */
export type IecRequestFailure = "negative" | "timeout" | "cancelled" | "rejected";

export class DataCollError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;

  constructor(code: ErrorCode, message: string, field?: string) {
    super(message);
    this.name = "DataCollError";
    this.code = code;
    this.field = field;
  }
}

/** Narrow an unknown thrown value to a message without losing the original text. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    // ioredis gives up a command after a few reconnect attempts with text about one of its own options,
    // which a user of ours cannot set: say what happened instead.
    if (err.name === "MaxRetriesPerRequestError") return "Redis did not answer: the connection to it is down";
    return err.message;
  }
  return String(err);
}
