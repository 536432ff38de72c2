/**
 * The process-wide set of Modbus connections over TCP (MBAP or RTU framed), one per host:port, shared
 * by every node and by the manager. The first user's options make the connection; later users of the
 * same host:port share it as it is (a device answers on one socket whatever the node that asked).
 */
import { DataCollError } from "../errors";
import { ModbusClient } from "./client";
import { wholeSetting } from "../settings";
import type { ModbusSessionOptions } from "../../protocols/modbus/session/client-session";
import { isModbusFraming, type ModbusFraming } from "../../protocols/modbus/codec/framing";
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
  /** "tcp" (MBAP, the default and the meaning of a device saved without it) or "rtu-over-tcp". */
  readonly transport?: unknown;
}

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
      maxInFlight: framing === "rtu-over-tcp" ? 1 : inFlight,
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
  throw new DataCollError("invalid", 'transport must be "tcp" or "rtu-over-tcp"', "transport");
}

const pool = new SharedPool<ModbusClient>((client) => client.close());

/** The shared client for a device's host:port, started on first use. */
export function acquireModbusClient(settings: ModbusDeviceSettings): PoolLease<ModbusClient> {
  return pool.acquire(`${settings.host}:${settings.port}`, () => {
    const client = ModbusClient.tcp(settings.host, settings.port, {
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
