import os from "node:os";
import type { RedisOptions } from "ioredis";
import { DataCollError } from "./errors";
import { parseTls, tlsConnectOptions, type TlsSettings } from "./tls-options";
import { choiceSetting, flagSetting, optionalTextSetting, textSetting, wholeSetting } from "./settings";
import type { OutageCapacity } from "./store/outage-buffer";
import { DEFAULT_BOUNDS } from "./store/store";

/** Where the shared state lives: Redis (several instances) or the embedded in-memory store (one). */
export type StoreKind = "embedded" | "redis";

/** How the manager finds Redis: one server by URL, or the master a group of Sentinels names. */
export type RedisMode = "standalone" | "sentinel";

/** Redis Sentinel: where the sentinels listen and which master of theirs holds the plant. */
export interface SentinelSettings {
  readonly sentinels: readonly { readonly host: string; readonly port: number }[];
  /** The master's name in the sentinels' configuration (`sentinel monitor <name> …`). */
  readonly name: string;
  /** The sentinels' own password (`requirepass` in sentinel.conf), if they ask for one: a credential. */
  readonly password: string | undefined;
}

export interface ManagerSettings {
  readonly store: StoreKind;
  readonly redisUrl: string;
  /** Set in Sentinel mode: the URL is then not used. */
  readonly redisSentinel?: SentinelSettings;
  readonly redisPassword: string | undefined;
  /** Set for a `rediss://` URL or Sentinel with TLS: the CA to verify the server with, a client certificate, verify on/off. */
  readonly redisTls?: TlsSettings;
  readonly namespace: string;
  readonly instanceId: string;
  /**
   * Samples kept while Redis is unreachable, in points (store/outage-buffer.ts): `auto` (a minute at the
   * instance's rate) unless the dialog gives a number; 0 keeps none.
   */
  readonly outageBuffer?: OutageCapacity;
  /**
   * Samples kept in each point's history (the store's `history` bound): in Node-RED's memory with the
   * embedded store, in Redis with Redis. About 150 bytes a sample, so it sizes the store. Parsed settings
   * always have it; settings made in code may leave it out for the default.
   */
  readonly historyLength?: number;
}

/** The most samples a point's history may keep. */
export const MAX_HISTORY_LENGTH = 1_000_000;

/** The most points an outage buffer may be given (about 3 GB of samples at ~300 bytes each). */
export const MAX_OUTAGE_BUFFER = 10_000_000;

export interface RawManagerSettings {
  readonly store?: unknown;
  readonly redisUrl?: unknown;
  readonly redisMode?: unknown;
  /** `host:port` of each sentinel, separated by commas, spaces or lines. */
  readonly sentinels?: unknown;
  readonly sentinelName?: unknown;
  readonly sentinelPassword?: unknown;
  /** Sentinel mode: whether the sentinels and the servers speak TLS (standalone says so by `rediss://`). */
  readonly sentinelTls?: unknown;
  readonly redisPassword?: unknown;
  readonly redisCa?: unknown;
  readonly redisCert?: unknown;
  /** The client certificate's private key: a credential. */
  readonly redisKey?: unknown;
  readonly redisRejectUnauthorized?: unknown;
  readonly namespace?: unknown;
  readonly instanceId?: unknown;
  /** Empty or "auto": sized for a minute at the instance's rate. */
  readonly outageBuffer?: unknown;
  /** Empty: the default, 10,000. */
  readonly historyLength?: unknown;
}

export const DEFAULT_NAMESPACE = "dc:";

/** The instance id other instances see in leases and event envelopes. */
export function defaultInstanceId(): string {
  return `${os.hostname()}-${process.pid}`;
}

const NAMESPACE_RULE = /^[A-Za-z0-9_.-]{1,64}:$/;

/** Validate a manager's settings as the editor saved them; names the field at fault. */
export function parseManagerSettings(raw: RawManagerSettings): ManagerSettings {
  const store = choiceSetting(raw.store, "store", "embedded", ["embedded", "redis"] as const);
  const redisUrl = optionalTextSetting(raw.redisUrl, "redisUrl") ?? "redis://127.0.0.1:6379";
  // Flows saved before Sentinel was offered have no mode: they are standalone, as they always were.
  const mode = choiceSetting<RedisMode>(raw.redisMode, "redisMode", "standalone", ["standalone", "sentinel"]);
  const sentinel = store === "redis" && mode === "sentinel";
  if (store === "redis" && !sentinel) {
    if (!/^rediss?:\/\//.test(redisUrl)) {
      throw new DataCollError("invalid", "redisUrl must start with redis:// or rediss://", "redisUrl");
    }
    refuseCluster(redisUrl);
    refuseUrlPassword(redisUrl);
  }
  const redisSentinel = sentinel ? parseSentinel(raw) : undefined;
  const tlsOn = sentinel
    ? flagSetting(raw.sentinelTls, "sentinelTls", false)
    : redisUrl.startsWith("rediss://");
  const tlsFields = {
    ca: "redisCa",
    cert: "redisCert",
    key: "redisKey",
    rejectUnauthorized: "redisRejectUnauthorized",
  };
  const redisTls =
    store === "redis" && tlsOn
      ? parseTls(
          {
            ca: raw.redisCa,
            cert: raw.redisCert,
            key: raw.redisKey,
            rejectUnauthorized: raw.redisRejectUnauthorized,
          },
          tlsFields,
        )
      : undefined;
  const namespace = optionalTextSetting(raw.namespace, "namespace") ?? DEFAULT_NAMESPACE;
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
    ...(redisSentinel === undefined ? {} : { redisSentinel }),
    redisPassword: optionalTextSetting(raw.redisPassword, "redisPassword"),
    ...(redisTls === undefined ? {} : { redisTls }),
    namespace,
    instanceId: optionalTextSetting(raw.instanceId, "instanceId") ?? defaultInstanceId(),
    ...(store === "redis" ? { outageBuffer: outageBufferSetting(raw.outageBuffer) } : {}),
    historyLength: wholeSetting(
      raw.historyLength,
      "historyLength",
      DEFAULT_BOUNDS.history,
      1,
      MAX_HISTORY_LENGTH,
    ),
  };
}

/** The sentinels' addresses, the master's name and the sentinels' password, each checked. */
function parseSentinel(raw: RawManagerSettings): SentinelSettings {
  const list = textSetting(raw.sentinels, "sentinels", "")
    .split(/[\s,]+/)
    .filter((t) => t !== "");
  if (list.length === 0) {
    throw new DataCollError("invalid", "sentinels must list at least one host:port", "sentinels");
  }
  const sentinels = list.map((text) => {
    const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/.exec(text);
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) {
      throw new DataCollError(
        "invalid",
        `sentinels: ${JSON.stringify(text)} is not host:port (e.g. 10.0.0.5:26379)`,
        "sentinels",
      );
    }
    return { host: m[1].replace(/^\[|\]$/g, ""), port };
  });
  const name = textSetting(raw.sentinelName, "sentinelName", "mymaster");
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
    throw new DataCollError(
      "invalid",
      "sentinelName must be 1-64 letters, digits, '_', '.' or '-' (the name in `sentinel monitor`)",
      "sentinelName",
    );
  }
  return { sentinels, name, password: optionalTextSetting(raw.sentinelPassword, "sentinelPassword") };
}

/**
 * The runtime does not run on Redis Cluster (docs/scale-out.md, "Outgrowing one Redis"): its registry
 * writes, leases and events stream need one server's atomic multi-key steps. A URL that names a Cluster
 * the way other clients do is refused here, with the reason, rather than half working.
 */
function refuseCluster(redisUrl: string): void {
  if (/^rediss?:\/\/[^/]*,/.test(redisUrl) || /[?&]cluster=(true|1|yes)\b/i.test(redisUrl)) {
    throw new DataCollError(
      "invalid",
      "redisUrl names a Redis Cluster, which DataColl does not run on: use one Redis server or Sentinel " +
        "(see docs/scale-out.md)",
      "redisUrl",
    );
  }
}

function outageBufferSetting(raw: unknown): OutageCapacity {
  if (typeof raw === "string" && raw.trim().toLowerCase() === "auto") return "auto";
  const n = wholeSetting(raw, "outageBuffer", -1, 0, MAX_OUTAGE_BUFFER);
  return n < 0 ? "auto" : n;
}

/**
 * The URL is saved in the flow file and shown as the node's label, so a password in it would be a secret
 * in plain text; it belongs in the Password field, which Node-RED keeps as an encrypted credential. (And
 * ioredis would let the URL's password win over the field's without a word.)
 */
function refuseUrlPassword(redisUrl: string): void {
  let url: URL;
  try {
    url = new URL(redisUrl);
  } catch {
    throw new DataCollError("invalid", "redisUrl is not a valid URL", "redisUrl");
  }
  if (url.password !== "") {
    throw new DataCollError(
      "invalid",
      "redisUrl must not contain a password: put it in the Password field, which is kept as a credential",
      "redisUrl",
    );
  }
}

/**
 * The ioredis options a manager's settings give every connection it opens (store, subscriber, leases,
 * blocking reader, the saver's backlog): AUTH, TLS and, in Sentinel mode, the sentinels to ask for the
 * master, so each of them follows a failover.
 */
export function redisConnectOptions(s: ManagerSettings): RedisOptions {
  const tls = s.redisTls === undefined ? undefined : tlsConnectOptions(s.redisTls);
  return {
    ...(s.redisPassword === undefined ? {} : { password: s.redisPassword }),
    ...(tls === undefined ? {} : { tls }),
    ...(s.redisSentinel === undefined ? {} : sentinelOptions(s.redisSentinel, tls)),
  };
}

/** ioredis's Sentinel options; the store adds its retry timing (redis-store.ts, SENTINEL_MAX_DELAY_MS). */
function sentinelOptions(
  s: SentinelSettings,
  tls: ReturnType<typeof tlsConnectOptions> | undefined,
): RedisOptions {
  return {
    sentinels: s.sentinels.map((n) => ({ host: n.host, port: n.port })),
    name: s.name,
    ...(s.password === undefined ? {} : { sentinelPassword: s.password }),
    ...(tls === undefined ? {} : { sentinelTLS: tls, enableTLSForSentinelMode: true }),
  };
}
