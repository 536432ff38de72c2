/** A device: one communication endpoint (one TCP connection) of a plant (docs/architecture.md §2). */
import { RecordReader, invalid, type Extra } from "./fields";

export const PROTOCOLS = ["modbus-tcp", "iec104", "formula", "virtual", "gdwnx", "gdw376"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export function isProtocol(raw: unknown): raw is Protocol {
  return typeof raw === "string" && (PROTOCOLS as readonly string[]).includes(raw);
}

/**
 * Protocols the older system listed without a driver for them: its clients store such devices, so they
 * are stored here too, and nothing runs them (their status says so).
 */
export const NO_DRIVER_PROTOCOLS: ReadonlySet<Protocol> = new Set(["gdwnx", "gdw376"]);

/** The well-known port of each protocol that talks over TCP. */
export const DEFAULT_PORTS: Readonly<Partial<Record<Protocol, number>>> = { "modbus-tcp": 502, iec104: 2404 };

/**
 * The device id in point keys of a device set up in a node: its `deviceId`, else its name, else host_port,
 * with whitespace and ':' (the point key separator) turned into '_'. Every protocol's device node uses it.
 */
export function deviceIdFor(def: {
  deviceId?: string;
  name?: string;
  host?: string;
  port?: string | number;
}): string {
  const raw = def.deviceId?.trim() || def.name?.trim() || `${def.host ?? "modbus"}_${def.port ?? 502}`;
  return raw.replace(/[\s:]+/g, "_");
}

export interface Device {
  readonly id: string;
  readonly name: string;
  readonly protocol: Protocol;
  /** Host name or IP address; empty for `formula` and `virtual` devices, which have no connection. */
  readonly host: string;
  /** TCP port; absent for devices without a connection. */
  readonly port?: number;
  /** Protocol options (timeouts, k/w, requests in flight …), validated by the protocol's own node. */
  readonly options: Readonly<Record<string, unknown>>;
  readonly enabled: boolean;
  readonly extra: Extra;
}

const MAX_OPTIONS_JSON = 16384;
const HOST = /^[A-Za-z0-9_.:[\]-]{1,253}$/;

export function parseDevice(raw: unknown): Device {
  const r = RecordReader.of(raw, "device");
  const id = r.id("id");
  const protocolRaw: unknown = r.has("protocol") ? (raw as Record<string, unknown>).protocol : undefined;
  r.text("protocol", { max: 32 });
  if (!isProtocol(protocolRaw)) {
    throw invalid("protocol", `must be one of ${PROTOCOLS.join(", ")}, not ${JSON.stringify(protocolRaw)}`);
  }
  const protocol = protocolRaw;
  const connected = DEFAULT_PORTS[protocol] !== undefined;
  const name = r.text("name", { max: 200, def: id });
  const host = r.text("host", { max: 253, def: "" });
  if (connected && host === "") throw invalid("host", `is required for a ${protocol} device`);
  if (host !== "" && !HOST.test(host))
    throw invalid("host", `${JSON.stringify(host)} is not a host name or IP address`);
  const port = r.optionalNumber("port", { integer: true, min: 1, max: 65535, def: DEFAULT_PORTS[protocol] });
  const options = r.json("options", MAX_OPTIONS_JSON);
  const enabled = r.bool("enabled", true);
  const extra = r.extra();
  return port === undefined
    ? { id, name, protocol, host, options, enabled, extra }
    : { id, name, protocol, host, port, options, enabled, extra };
}

/** The flat JSON form the registry stores and the REST API returns: known fields plus extras as given. */
export function deviceRecord(d: Device): Record<string, unknown> {
  const { extra, ...known } = d;
  return { ...extra, ...known };
}
