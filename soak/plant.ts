/**
 * What the soak runs: the registry (20 Modbus devices, 5 IEC 104 outstations, all behind TCP proxies the
 * fault script can freeze) and the flow each Node-RED instance gets — the same flow in both, as a user
 * would deploy one flow to a pair of instances:
 *
 *   datacoll-data (every point, batches) → datacoll-check (saw points, high limit) → datacoll-save
 *                                        ↘──────────────────────────────────────────↗ (+ alarm transitions)
 *   datacoll-formula (from the bus: calc:m01:double = 2 × m01 seq; results go through the manager)
 *   datacoll-rest at /api/*, and GET /soak/memory (process.memoryUsage() of the instance, for the report).
 *
 * The check node is active in one instance and stands by in the other (its lease), so each alarm
 * transition is written by one instance.
 * Both instances save every event (the data node hears every instance's samples); the history table's
 * key (point, ts) makes the second write of a row a no-op, and either instance alone saves everything
 * while the other is down or redeploying.
 */
import { pointKey } from "../src/core/model/datapoint";
import type { Registry } from "../src/core/store/registry";

export const LEASE_MS = 3000;
export const MODBUS_POLL_MS = 500;
export const IEC_STEP_MS = 500;
export const SAW_HIGH = 90;
export const SAW_HYSTERESIS = 5;
export const FORMULA = { input: "m01:m01t:seq", result: "calc:m01:double", factor: 2 } as const;
export const HISTORY_TABLE = "dc_history";
export const ALARMS_TABLE = "dc_alarms";
/** The check node's id: it names its lease, `<ns>lease:check:<id>`, which the soak watches. */
export const CHECK_NODE_ID = "soak-check";

export interface PlantDevice {
  readonly id: string;
  readonly protocol: "modbus" | "iec104";
  /** Where the simulator listens (picked by its first start). */
  simPort: number;
  /** Where the instances connect: the device's proxy. */
  proxyPort: number;
}

export const seqItem = (d: PlantDevice): string => (d.protocol === "modbus" ? "seq" : "count");
export const seqKey = (d: PlantDevice): string => pointKey(d.id, `${d.id}t`, seqItem(d));
export const sawKey = (d: PlantDevice): string => pointKey(d.id, `${d.id}t`, "saw");

export async function registerPlant(r: Registry, devices: readonly PlantDevice[]): Promise<void> {
  for (const id of ["seq", "saw", "count"]) await r.putItem({ id });
  for (const d of devices) {
    const term = `${d.id}t`;
    if (d.protocol === "modbus") {
      await r.putDevice({
        id: d.id,
        protocol: "modbus-tcp",
        host: "127.0.0.1",
        port: d.proxyPort,
        options: { timeout: 1000 },
      });
      await r.putTerm({ id: term, deviceId: d.id, address: 1, pollInterval: MODBUS_POLL_MS });
      await r.putPoint({ deviceId: d.id, termId: term, itemId: "seq", address: "HR0:uint32" });
      await r.putPoint({ deviceId: d.id, termId: term, itemId: "saw", address: "HR3" });
    } else {
      await r.putDevice({
        id: d.id,
        protocol: "iec104",
        host: "127.0.0.1",
        port: d.proxyPort,
        options: { t1: 5, t2: 2, t3: 4 },
      });
      await r.putTerm({ id: term, deviceId: d.id, address: 1, pollInterval: 0 });
      await r.putPoint({ deviceId: d.id, termId: term, itemId: "count", address: "1:M_ME_NC_1" });
    }
  }
}

export interface FlowSettings {
  readonly instanceId: string;
  readonly redisUrl: string;
  /** Sentinel mode: the sentinels (`host:port,…`) and the master's name; the URL is then not used. */
  readonly sentinel?: { readonly sentinels: string; readonly name: string };
  readonly namespace: string;
  readonly mysqlPort: number;
  readonly database: string;
  /** Bumped at every redeploy so each deploy carries a changed flow. */
  readonly generation: number;
}

export function instanceFlow(s: FlowSettings): object[] {
  const tab = "soak-tab";
  return [
    { id: tab, type: "tab", label: "soak" },
    {
      id: "soak-note",
      type: "comment",
      z: tab,
      name: `soak ${s.instanceId}, deploy ${s.generation}`,
      info: "",
      x: 120,
      y: 40,
      wires: [],
    },
    {
      id: "soak-manager",
      type: "datacoll-manager",
      name: "soak",
      store: "redis",
      redisUrl: s.redisUrl,
      ...(s.sentinel
        ? { redisMode: "sentinel", sentinels: s.sentinel.sentinels, sentinelName: s.sentinel.name }
        : {}),
      namespace: s.namespace,
      instanceId: s.instanceId,
      runDevices: true,
      leaseMs: LEASE_MS,
    },
    {
      id: "soak-db",
      type: "datacoll-mysql",
      name: "soak db",
      host: "127.0.0.1",
      port: String(s.mysqlPort),
      database: s.database,
      user: "root",
      poolSize: "4",
      connectTimeout: "5000",
      tls: false,
      ca: "",
      cert: "",
      rejectUnauthorized: true,
    },
    {
      id: "soak-data",
      type: "datacoll-data",
      z: tab,
      name: "every point",
      manager: "soak-manager",
      pattern: "#",
      output: "batch",
      onlyChange: false,
      maxRate: "",
      x: 120,
      y: 120,
      wires: [[CHECK_NODE_ID, "soak-save"]],
    },
    {
      id: CHECK_NODE_ID,
      type: "datacoll-check",
      z: tab,
      name: "saw limit",
      manager: "soak-manager",
      scope: "*:*:saw",
      lowLow: "",
      low: "",
      high: String(SAW_HIGH),
      highHigh: "",
      hysteresis: String(SAW_HYSTERESIS),
      ratePerSecond: "",
      staleSeconds: "",
      quality: false,
      verify: "",
      onDelay: "",
      offDelay: "",
      severity: "",
      message: "",
      x: 320,
      y: 120,
      wires: [[], ["soak-save"]],
    },
    {
      id: "soak-formula",
      type: "datacoll-formula",
      z: tab,
      name: "double",
      manager: "soak-manager",
      formulas: [
        {
          id: "double",
          expression: `p1 * ${FORMULA.factor}`,
          params: `p1=${FORMULA.input}`,
          result: FORMULA.result,
        },
      ],
      useRegistry: false,
      fromBus: true,
      interval: "",
      output: "batch",
      x: 120,
      y: 200,
      wires: [[]],
    },
    {
      id: "soak-save",
      type: "datacoll-save",
      z: tab,
      name: "history",
      mysql: "soak-db",
      manager: "soak-manager",
      historyTable: HISTORY_TABLE,
      alarmsTable: ALARMS_TABLE,
      createTables: true,
      batchSize: "500",
      maxDelay: "200",
      saveUnchanged: true,
      deadband: "0",
      customSql: "",
      overflow: "drop-oldest",
      backlogSize: "100000",
      durable: true,
      x: 520,
      y: 120,
      wires: [[], []],
    },
    {
      id: "soak-rest",
      type: "datacoll-rest",
      z: tab,
      name: "REST API",
      MANAGER: s.namespace,
      URL: "/api/*",
      MAX_BODY: 1000000,
      x: 120,
      y: 280,
      wires: [],
    },
    {
      id: "soak-mem-in",
      type: "http in",
      z: tab,
      name: "",
      url: "/soak/memory",
      method: "get",
      upload: false,
      swaggerDoc: "",
      x: 120,
      y: 340,
      wires: [["soak-mem-fn"]],
    },
    {
      id: "soak-mem-fn",
      type: "function",
      z: tab,
      name: "memoryUsage",
      func: 'msg.payload = global.get("soakMemoryUsage")();\nreturn msg;',
      outputs: 1,
      x: 320,
      y: 340,
      wires: [["soak-mem-out"]],
    },
    {
      id: "soak-mem-out",
      type: "http response",
      z: tab,
      name: "",
      statusCode: "",
      headers: {},
      x: 500,
      y: 340,
      wires: [],
    },
  ];
}

/**
 * The instances' settings.js: the function node of GET /soak/memory reads the process's own
 * process.memoryUsage() through the global context (a function node cannot see `process`).
 */
export const SETTINGS_JS = `module.exports = {
  flowFile: "flows.json",
  credentialSecret: "soak",
  functionGlobalContext: { soakMemoryUsage: () => process.memoryUsage() },
  logging: { console: { level: "info", metrics: false, audit: false } },
};
`;
