/**
 * The process-wide set of IEC 104 master connections, one per outstation address (host list and port),
 * shared by every node and by the manager, and the validation of a device's settings as the editor or the
 * registry gives them. The first user's options make the connection; later users share it as it is.
 */
import { checkMasterOptions, type MasterOptions } from "../../protocols/iec104/session";
import type { ConnectionOptions } from "../../transport/connection";
import { DataCollError } from "../errors";
import { numberSetting, wholeSetting } from "../settings";
import { Iec104Master, failoverSocketFactory } from "./master";
import { SharedPool, type PoolLease } from "../runtime/shared-pool";

export interface Iec104DeviceSettings {
  /** Redundant outstations (or links), tried in turn after a failure. */
  readonly hosts: readonly string[];
  readonly port: number;
  readonly master: MasterOptions;
  readonly connection: Partial<ConnectionOptions>;
  readonly frameLog: boolean;
}

/** Settings as text cells (editor) or JSON (registry device options); times in seconds as the standard gives them. */
export interface RawIec104DeviceSettings {
  readonly host?: unknown;
  readonly port?: unknown;
  readonly commonAddress?: unknown;
  readonly originator?: unknown;
  readonly k?: unknown;
  readonly w?: unknown;
  readonly t0?: unknown;
  readonly t1?: unknown;
  readonly t2?: unknown;
  readonly t3?: unknown;
  /** General interrogation on start (default true). */
  readonly giOnStart?: unknown;
  /** General interrogation every this many seconds; 0 = only on start. */
  readonly giInterval?: unknown;
  /** Counter interrogation every this many seconds; 0 = never. */
  readonly ciInterval?: unknown;
  readonly clockSyncOnStart?: unknown;
  readonly clockSyncInterval?: unknown;
  readonly frameLog?: unknown;
  readonly backoff?: unknown;
  readonly backoffMax?: unknown;
}

const HOST = /^[A-Za-z0-9.\-:[\]_]{1,253}$/;

// Numbers are read the one way settings are (core/settings.ts); the stack's own checks bound them.
const num = numberSetting;

function bool(raw: unknown, def: boolean): boolean {
  if (raw === undefined || raw === null || raw === "") return def;
  return raw === true || raw === "true" || raw === 1 || raw === "1";
}

/** "a, b c" or ["a", "b"] → ["a", "b"]. */
export function parseHosts(raw: unknown): string[] {
  const list = Array.isArray(raw) ? raw.map(String) : typeof raw === "string" ? raw.split(/[\s,;]+/) : [];
  const hosts = list.map((h) => h.trim()).filter((h) => h !== "");
  if (hosts.length === 0 || hosts.length > 8 || hosts.some((h) => !HOST.test(h))) {
    throw new DataCollError(
      "invalid",
      "host must be a host name or IP address, or up to 8 of them separated by commas",
      "host",
    );
  }
  return [...new Set(hosts)];
}

// The stack's option paths, as the editor names its fields.
const FIELD_OF: Readonly<Record<string, string>> = {
  "link.k": "k",
  "link.w": "w",
  "link.t0Ms": "t0",
  "link.t1Ms": "t1",
  "link.t2Ms": "t2",
  "link.t3Ms": "t3",
  interrogationIntervalMs: "giInterval",
  counterInterrogationIntervalMs: "ciInterval",
  clockSyncIntervalMs: "clockSyncInterval",
};

/** Validate an IEC 104 device's settings; the error names the field at fault (the stack's own checks). */
export function parseIec104DeviceSettings(raw: RawIec104DeviceSettings): Iec104DeviceSettings {
  const hosts = parseHosts(raw.host);
  const port = wholeSetting(raw.port, "port", 2404, 1, 65535);
  const s = (field: keyof RawIec104DeviceSettings, def: number): number =>
    Math.round(num(raw[field], field, def) * 1000);
  const master: MasterOptions = {
    commonAddress: num(raw.commonAddress, "commonAddress", 1),
    originator: num(raw.originator, "originator", 0),
    link: {
      k: num(raw.k, "k", 12),
      w: num(raw.w, "w", 8),
      t0Ms: s("t0", 30),
      t1Ms: s("t1", 15),
      t2Ms: s("t2", 10),
      t3Ms: s("t3", 20),
    },
    interrogateOnStart: bool(raw.giOnStart, true),
    interrogationIntervalMs: s("giInterval", 0),
    counterInterrogationIntervalMs: s("ciInterval", 0),
    clockSyncOnStart: bool(raw.clockSyncOnStart, false),
    clockSyncIntervalMs: s("clockSyncInterval", 0),
  };
  const [problem] = checkMasterOptions(master);
  if (problem !== undefined) {
    const field = FIELD_OF[problem.field] ?? problem.field;
    throw new DataCollError("invalid", `${field}: ${problem.message}`, field);
  }
  const backoff = num(raw.backoff, "backoff", 1000);
  const backoffMax = num(raw.backoffMax, "backoffMax", 30_000);
  if (!(backoff >= 10 && backoffMax >= backoff)) {
    throw new DataCollError("invalid", "backoff must be at least 10 ms and backoffMax no less", "backoff");
  }
  return {
    hosts,
    port,
    master,
    // t0 is the transport's connect timeout (the stack leaves it to the transport).
    connection: {
      connectTimeoutMs: master.link?.t0Ms ?? 30_000,
      reconnectInitialMs: backoff,
      reconnectMaxMs: backoffMax,
    },
    frameLog: bool(raw.frameLog, false),
  };
}

/** The pool key: the same outstation(s) on the same port share one connection. */
export function iec104Key(settings: Pick<Iec104DeviceSettings, "hosts" | "port">): string {
  return `${settings.hosts.join(",")}:${settings.port}`;
}

const pool = new SharedPool<Iec104Master>((master) => master.close());

/** The shared master for a device's outstation(s), started on first use. */
export function acquireIec104Master(settings: Iec104DeviceSettings): PoolLease<Iec104Master> {
  return pool.acquire(iec104Key(settings), () => {
    const master = new Iec104Master({
      master: settings.master,
      connection: settings.connection,
      socketFactory: failoverSocketFactory(settings.hosts, settings.port),
      frameLog: settings.frameLog,
    });
    master.start();
    return master;
  });
}

/** Open IEC 104 connections in this process (for the leak checks and status). */
export function iec104Connections(): number {
  return pool.size;
}
