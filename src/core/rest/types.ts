/**
 * The REST API as pure functions: request in, response out (docs/architecture.md §8). Nothing here knows
 * HTTP servers or Node-RED; the `datacoll-api` node maps `msg.req` to a RestRequest and the answer to
 * `msg.payload`/`msg.statusCode`/`msg.headers` for `http response`.
 */
import type { DataPoint, PointKey } from "../model/datapoint";
import type { Store } from "../store/store";
import type { HistorySource } from "../history/sources";
import type { LatestView } from "./latest-view";

export type Method = "GET" | "POST" | "PUT" | "DELETE";

export interface RestRequest {
  readonly method: string;
  /** The path below the API's base path, e.g. `/v1/devices/d1` (base `/api` already removed). */
  readonly path: string;
  readonly query: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /**
   * The body as received: text (parsed here by its content type), or a value a body parser in front
   * already produced (an object from JSON or a form). Undefined when there is none.
   */
  readonly body: unknown;
}

export interface RestResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** A JSON-able value, or text when the content type is text/plain. */
  readonly body: unknown;
  /**
   * The body is JSON already, as text or as its UTF-8 bytes (a JSON content type whose body must not be
   * encoded again).
   */
  readonly encoded?: boolean;
}

/** What a `device_ctrl` command reports once the device confirmed it (or refused it). */
export interface ControlConfirmation {
  readonly key: PointKey;
  readonly value: number | boolean | string;
  /** True when the device confirmed the command; false when it refused it (negative confirmation). */
  readonly confirmed: boolean;
  readonly ts: number;
  readonly message?: string;
}

/**
 * What the running system does on request: the manager runtime (the poller and the command path of the
 * device that owns the point) implements this. Until one is attached the API answers 503.
 */
export interface RestActions {
  /** Read a point now ("call") and answer with the fresh sample. */
  call(key: PointKey): Promise<DataPoint>;
  /** Send a command or setpoint to a point and answer once the device confirmed it. */
  control(key: PointKey, value: number | boolean | string): Promise<ControlConfirmation>;
  /** Acknowledge an alarm through the checker that owns it; false when there is no such alarm. */
  ackAlarm?(key: PointKey, condition: string): Promise<boolean>;
  /** Shelve an alarm until `until` (epoch ms); false when there is no such alarm. */
  shelveAlarm?(key: PointKey, condition: string, until: number): Promise<boolean>;
}

export interface RestContext {
  readonly store: Store;
  /**
   * How a hand-written sample enters the system: the manager's publish (local subscribers see it at
   * once, then it is stored and sent to other instances). Without it the sample is only stored.
   */
  readonly publish?: (points: readonly DataPoint[]) => Promise<void>;
  /** Latest samples kept from the manager's bus; without it `GET /v1/latest` reads the store. */
  readonly latest?: LatestView;
  /** Undefined until a manager runtime provides it: `device_call`/`device_ctrl` answer 503. */
  readonly actions?: RestActions;
  /**
   * The MySQL history `/v2/history` and `/v2/alarm-journal` read: a running datacoll-save node's tables,
   * looked up at each request (the save node may start after the API). Without it they answer 503.
   */
  readonly history?: () => { readonly source: HistorySource } | { readonly problem: string };
  /** The base path the API is mounted under, for the OpenAPI document's server URL. */
  readonly basePath: string;
  /** Largest accepted body in bytes (text bodies; a parsed body is measured as JSON). */
  readonly maxBodyBytes: number;
  readonly now: () => number;
  /**
   * A request was answered 503 because the store could not be reached; `reason` is the client
   * library's own text, kept out of the answer, for the log.
   */
  readonly onStoreUnreachable?: (reason: string) => void;
}

export const DEFAULT_MAX_BODY_BYTES = 1_000_000;
