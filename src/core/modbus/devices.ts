/**
 * The process-wide set of Modbus links, one per host:port over TCP (MBAP or RTU framed), one per
 * host:port over UDP (Modbus UDP or RTU over UDP) and one per serial port (RTU or ASCII), shared by every
 * node and by the manager. The first user's options make the link; later users of the same host:port or
 * port share it as it is (a device answers on one socket whatever the node that asked). One serial port
 * is one link, as one TCP gateway is: the units and terms behind it share its one session, which sends
 * one request at a time and serves them in the order they asked, so none waits behind another's whole
 * poll.
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
  isSerialFraming,
  type ModbusFraming,
} from "../../protocols/modbus/codec/framing";
import {
  parseSerialLine,
  serialLineOptions,
  type RawSerialLineSettings,
  type SerialLineSettings,
} from "./serial-line";
import type { ConnectionOptions } from "../../transport/connection";
import { SharedPool, type PoolLease } from "../runtime/shared-pool";

export interface ModbusDeviceSettings {
  readonly host: string;
  readonly port: number;
  readonly session: Partial<ModbusSessionOptions>;
  readonly connection: Partial<ConnectionOptions>;
  /** The serial line, for the serial transports; host and port are then unused ("" and 0). */
  readonly serial?: SerialLineSettings;
}

export interface RawModbusDeviceSettings extends RawSerialLineSettings {
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
   * (Modbus UDP), "rtu-over-udp", "serial-rtu" or "serial-ascii".
   */
  readonly transport?: unknown;
  /** Resends after a timeout; blank means 2 over UDP (which loses datagrams) and 0 over TCP or serial. */
  readonly retries?: unknown;
}

/** Resends after a timeout when the device names none: UDP loses datagrams, TCP does not lose replies. */
export const DEFAULT_UDP_RETRIES = 2;

// Numbers are read the one way settings are (core/settings.ts).
const int = wholeSetting;

/** Validate a Modbus device's settings as the editor (or the registry) gives them. */
export function parseModbusDeviceSettings(raw: RawModbusDeviceSettings): ModbusDeviceSettings {
  const framing = parseModbusTransport(raw.transport);
  const serial = isSerialFraming(framing) ? parseSerialLine(raw, framing) : undefined;
  const host = serial !== undefined ? "" : typeof raw.host === "string" ? raw.host.trim() : "";
  if (serial === undefined && !/^[A-Za-z0-9.\-:[\]]{1,253}$/.test(host)) {
    throw new DataCollError("invalid", "host must be a host name or IP address", "host");
  }
  const backoff = int(raw.backoff, "backoff", 1000, 10, 600_000);
  const backoffMax = int(raw.backoffMax, "backoffMax", 30_000, 10, 3_600_000);
  if (backoffMax < backoff) {
    throw new DataCollError("invalid", "backoffMax must not be less than backoff", "backoffMax");
  }
  const inFlight = int(raw.inFlight, "inFlight", 1, 1, 64);
  return {
    host,
    port: serial !== undefined ? 0 : int(raw.port, "port", 502, 1, 65535),
    serial,
    session: {
      framing,
      timeoutMs: int(raw.timeout, "timeout", 1000, 10, 600_000),
      // RTU and ASCII have no transaction id to match more than one reply; the in-flight setting is for
      // MBAP (TCP or UDP) only (help says so), so a device switched to RTU keeps working with the number
      // it had.
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

/** The pool's key: one link per TCP endpoint, per UDP endpoint or per serial port. */
export function modbusLinkKey(settings: ModbusDeviceSettings): string {
  if (settings.serial !== undefined) return `serial:${settings.serial.path}`;
  // A UDP endpoint is not the TCP one on the same port number: keyed apart, so neither takes the other's.
  const framing = settings.session.framing ?? "tcp";
  return isDatagramFraming(framing)
    ? `udp:${settings.host}:${settings.port}`
    : `${settings.host}:${settings.port}`;
}

/** A client for the device's link, not started. */
export function modbusClientFor(
  settings: ModbusDeviceSettings,
  connection: Partial<ConnectionOptions> = settings.connection,
): ModbusClient {
  const framing = settings.session.framing ?? "tcp";
  if (settings.serial !== undefined && isSerialFraming(framing)) {
    return ModbusClient.serial(serialLineOptions(settings.serial, framing), {
      session: settings.session,
      connection,
    });
  }
  return ModbusClient.network(settings.host, settings.port, { session: settings.session, connection });
}

const pool = new SharedPool<ModbusClient>((client) => client.close());

/** The shared client for a device's host:port or serial port, started on first use. */
export function acquireModbusClient(settings: ModbusDeviceSettings): PoolLease<ModbusClient> {
  return pool.acquire(modbusLinkKey(settings), () => {
    const client = modbusClientFor(settings);
    client.start();
    return client;
  });
}

/** Open Modbus connections in this process (for the leak checks and status). */
export function modbusConnections(): number {
  return pool.size;
}
