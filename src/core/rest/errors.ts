/**
 * Errors as the API answers them. The older system's paths answer in plain text with its exact
 * messages (`device_id not found!`); every other path answers `{error, field?, message}` as JSON.
 */
import { DataCollError, errorMessage } from "../errors";

export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    /** More to say in the JSON body, e.g. a batch's per-row report. */
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = "RestError";
  }
}

/** The HTTP status of a model or store error, by its code. */
export function statusOf(err: DataCollError): number {
  switch (err.code) {
    case "invalid":
    case "bad-message":
      return 400;
    case "not-found":
      return 404;
    case "conflict":
      return 409;
    // Busy, or the embedded store's file is locked by another process, damaged or refused by the disk:
    // the service is unavailable (until an operator acts, and the message says what to do).
    case "busy":
    case "store-locked":
    case "store-corrupt":
    case "store-io":
    case "store-write":
      return 503;
    default:
      return 500;
  }
}

export function badRequest(message: string, field?: string): RestError {
  return new RestError(400, "invalid", message, field);
}

export function notFound(message: string, field?: string): RestError {
  return new RestError(404, "not-found", message, field);
}

export function conflict(message: string, field?: string): RestError {
  return new RestError(409, "conflict", message, field);
}

/**
 * Whether `err` says the store's server cannot be reached (Redis down or restarting): ioredis gives up a
 * command after its retries (MaxRetriesPerRequestError) or finds the connection closed. That is the
 * service being unavailable for a moment, not a fault of the API.
 */
export function isStoreUnreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (
    err.name === "MaxRetriesPerRequestError" ||
    err.message === "Connection is closed." ||
    /\b(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT)\b/.test(err.message)
  );
}

/**
 * Any thrown value as a RestError: the store out of reach is 503 (try again), other errors nobody
 * expected are 500 with their message.
 */
export function toRestError(err: unknown): RestError {
  if (err instanceof RestError) return err;
  if (err instanceof DataCollError) return new RestError(statusOf(err), err.code, err.message, err.field);
  if (isStoreUnreachable(err)) {
    return new RestError(503, "unavailable", `the store is unreachable, try again: ${errorMessage(err)}`);
  }
  return new RestError(500, "internal", err instanceof Error ? err.message : String(err));
}
