import os from "node:os";
import { DataCollError } from "./errors";

/** Where the shared state lives: Redis (several instances) or the embedded in-memory store (one). */
export type StoreKind = "embedded" | "redis";

export interface ManagerSettings {
  readonly store: StoreKind;
  readonly redisUrl: string;
  readonly redisPassword: string | undefined;
  readonly namespace: string;
  readonly instanceId: string;
}

export interface RawManagerSettings {
  readonly store?: unknown;
  readonly redisUrl?: unknown;
  readonly redisPassword?: unknown;
  readonly namespace?: unknown;
  readonly instanceId?: unknown;
}

export const DEFAULT_NAMESPACE = "dc:";

/** The instance id other instances see in leases and event envelopes. */
export function defaultInstanceId(): string {
  return `${os.hostname()}-${process.pid}`;
}

const NAMESPACE_RULE = /^[A-Za-z0-9_.-]{1,64}:$/;

function optionalString(raw: unknown, field: string): string | undefined {
  if (raw === undefined || raw === null || raw === "") return undefined;
  if (typeof raw !== "string") throw new DataCollError("invalid", `${field} must be text`, field);
  return raw.trim() || undefined;
}

/** Validate a manager's settings as the editor saved them; names the field at fault. */
export function parseManagerSettings(raw: RawManagerSettings): ManagerSettings {
  const store = raw.store ?? "embedded";
  if (store !== "embedded" && store !== "redis") {
    throw new DataCollError(
      "invalid",
      `store must be "embedded" or "redis", not ${JSON.stringify(store)}`,
      "store",
    );
  }
  const redisUrl = optionalString(raw.redisUrl, "redisUrl") ?? "redis://127.0.0.1:6379";
  if (store === "redis" && !/^rediss?:\/\//.test(redisUrl)) {
    throw new DataCollError("invalid", "redisUrl must start with redis:// or rediss://", "redisUrl");
  }
  const namespace = optionalString(raw.namespace, "namespace") ?? DEFAULT_NAMESPACE;
  if (!NAMESPACE_RULE.test(namespace)) {
    throw new DataCollError(
      "invalid",
      "namespace must be 1-64 letters, digits, '_', '.' or '-' followed by ':' (e.g. dc:)",
      "namespace",
    );
  }
  return {
    store,
    redisUrl,
    redisPassword: optionalString(raw.redisPassword, "redisPassword"),
    namespace,
    instanceId: optionalString(raw.instanceId, "instanceId") ?? defaultInstanceId(),
  };
}
