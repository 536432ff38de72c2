/**
 * The process-wide set of Modbus connections over TCP or UDP (MBAP or RTU framed), one per endpoint, shared
 * by every node and by the manager. The first user's options make the connection; later users of the
 * same host:port share it as it is (a device answers on one socket whatever the node that asked).
 */
import { DataCollError } from "../errors";
import { ModbusClient } from "./client";
import { wholeSetting } from "../settings";
import type { ModbusSessionOptions } from "../../protocols/modbus/session/client-session";
import {
  MODBUS_FRAMINGS,
  framingHasTransactionId,
  isDatagramFraming,
  isModbusFraming,
  type ModbusFraming,
} from "../../protocols/modbus/codec/framing";
import type { ConnectionOptions } from "../../transport/connection";
import { SharedPool, type PoolLease } from "../runtime/shared-pool";

export interface ModbusDeviceSettings {
  readonly host: string;
  readonly port: number;
  readonly session: Partial<ModbusSessionOptions>;
  readonly connection: Partial<ConnectionOptions>;
}

export interface RawModbusDeviceSettings {
  readonly host?: unknown;
  readonly port?: unknown;
  readonly timeout?: unknown;
  readonly inFlight?: unknown;
  readonly queueSize?: unknown;
  readonly backoff?: unknown;
  readonly backoffMax?: unknown;
  readonly acceptRewrittenUnit?: unknown;
  /**
   * "tcp" (MBAP, the default and the meaning of a device saved without it), "rtu-over-tcp", "udp"
   * (Modbus UDP) or "rtu-over-udp".
   */
  readonly transport?: unknown;
  /** Resends after a timeout; blank means 2 over UDP (which loses datagrams) and 0 over TCP. */
  readonly retries?: unknown;
}

/** Resends after a timeout when the device names none: UDP loses datagrams, TCP does not lose replies. */
export const DEFAULT_UDP_RETRIES = 2;

// Numbers are read the one way settings are (core/settings.ts).
const int = wholeSetting;

/** Validate a Modbus device's settings as the editor (or the registry) gives them. */
export function parseModbusDeviceSettings(raw: RawModbusDeviceSettings): ModbusDeviceSettings {
  const host = typeof raw.host === "string" ? raw.host.trim() : "";
  if (!/^[A-Za-z0-9.\-:[\]]{1,253}$/.test(host)) {
    throw new DataCollError("invalid", "host must be a host name or IP address", "host");
  }
  const backoff = int(raw.backoff, "backoff", 1000, 10, 600_000);
  const backoffMax = int(raw.backoffMax, "backoffMax", 30_000, 10, 3_600_000);
  if (backoffMax < backoff) {
    throw new DataCollError("invalid", "backoffMax must not be less than backoff", "backoffMax");
  }
  const framing = parseModbusTransport(raw.transport);
  const inFlight = int(raw.inFlight, "inFlight", 1, 1, 64);
  return {
    host,
    port: int(raw.port, "port", 502, 1, 65535),
    session: {
      framing,
      timeoutMs: int(raw.timeout, "timeout", 1000, 10, 600_000),
      // RTU has no transaction id to match more than one reply; the in-flight setting is for MBAP
      // only (help says so), so a device switched to RTU keeps working with the number it had.
      maxInFlight: framingHasTransactionId(framing) ? inFlight : 1,
      retries: int(raw.retries, "retries", isDatagramFraming(framing) ? DEFAULT_UDP_RETRIES : 0, 0, 10),
      maxQueue: int(raw.queueSize, "queueSize", 1000, 1, 1_000_000),
      acceptRewrittenUnitId: raw.acceptRewrittenUnit === true || raw.acceptRewrittenUnit === "true",
    },
    connection: { reconnectInitialMs: backoff, reconnectMaxMs: backoffMax },
  };
}

/** A device's or simulator's transport setting; absent (a flow saved before it) means "tcp". */
export function parseModbusTransport(raw: unknown): ModbusFraming {
  if (raw === undefined || raw === "") return "tcp";
  if (isModbusFraming(raw)) return raw;
  const names = MODBUS_FRAMINGS.map((f) => `"${f}"`).join(", ");
  throw new DataCollError("invalid", `transport must be one of ${names}`, "transport");
}

const pool = new SharedPool<ModbusClient>((client) => client.close());

/** The shared client for a device's host:port, started on first use. */
export function acquireModbusClient(settings: ModbusDeviceSettings): PoolLease<ModbusClient> {
  // A UDP endpoint is not the TCP one on the same port number: keyed apart, so neither takes the other's.
  const framing = settings.session.framing ?? "tcp";
  const key = isDatagramFraming(framing)
    ? `udp:${settings.host}:${settings.port}`
    : `${settings.host}:${settings.port}`;
  return pool.acquire(key, () => {
    const client = ModbusClient.network(settings.host, settings.port, {
      session: settings.session,
      connection: settings.connection,
    });
    client.start();
    return client;
  });
}

/** Open Modbus connections in this process (for the leak checks and status). */
export function modbusConnections(): number {
  return pool.size;
}
