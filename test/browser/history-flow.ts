/**
 * The Trends and Alarm journal tests' flow: a manager, a datacoll-save node writing to tables of the
 * test's own database, and a check node fed by inject nodes the test presses through the admin API (a
 * tank level that goes high and back, a pump temperature that goes high and stays), whose alarm
 * transitions the save node writes to the alarms table — the journal's rows come from the real pipeline.
 * A second save node, fed nothing, makes two history sources to choose from.
 */
import { mysqlConfigNode } from "../support-history/mysql";
import { highLimitCheck } from "./live-flow";

const TAB = "e2e-hist-tab";
export const MANAGER = "e2e-hist-manager";
export const SAVE = "e2e-hist-save";
export const OTHER_SAVE = "e2e-hist-save-2";
export const HISTORY_TABLE = "e2e_trend_history";
export const ALARMS_TABLE = "e2e_trend_alarms";
export const TANK = "hv:tank:level";
export const PUMP = "hv:pump:temp";
/** Inject nodes the test presses: id → what they send. */
export const INJECT = {
  tankHigh: "e2e-hist-tank-high",
  tankLow: "e2e-hist-tank-low",
  pumpHigh: "e2e-hist-pump-high",
} as const;

function saveNode(props: Record<string, unknown>, historyTable: string, alarmsTable: string): unknown {
  return {
    type: "datacoll-save",
    mysql: "e2e-hist-mysql",
    manager: MANAGER,
    historyTable,
    alarmsTable,
    createTables: true,
    batchSize: "100",
    maxDelay: "20",
    saveUnchanged: true,
    deadband: "0",
    customSql: "",
    overflow: "drop-oldest",
    backlogSize: "10000",
    durable: false,
    wires: [[], []],
    ...props,
  };
}

export function historyFlow(database: string): unknown[] {
  const common = { z: TAB, x: 200, y: 100 };
  const inject = (id: string, topic: string, payload: string, y: number): unknown => ({
    ...common,
    y,
    id,
    type: "inject",
    name: `${topic} = ${payload}`,
    props: [{ p: "payload" }, { p: "topic", vt: "str" }],
    repeat: "",
    crontab: "",
    once: false,
    onceDelay: 0.1,
    topic,
    payload,
    payloadType: "num",
    wires: [["e2e-hist-check"]],
  });
  return [
    { id: TAB, type: "tab", label: "Historian", disabled: false, info: "" },
    {
      id: MANAGER,
      type: "datacoll-manager",
      name: "History plant",
      store: "embedded",
      redisUrl: "",
      namespace: "hv:",
      instanceId: "",
      runDevices: false,
      leaseMs: 10000,
    },
    mysqlConfigNode("e2e-hist-mysql", database),
    inject(INJECT.tankHigh, TANK, "80", 60),
    inject(INJECT.tankLow, TANK, "10", 100),
    inject(INJECT.pumpHigh, PUMP, "95", 140),
    highLimitCheck({
      ...common,
      x: 420,
      id: "e2e-hist-check",
      name: "limits",
      manager: MANAGER,
      high: "50",
      severity: "3",
      message: "too high",
      wires: [[], [SAVE]],
    }),
    saveNode({ ...common, x: 640, id: SAVE, name: "plant history" }, HISTORY_TABLE, ALARMS_TABLE),
    // A second history source, fed nothing: the pages must let the user pick, and the routes ask which.
    saveNode(
      { ...common, x: 640, y: 200, id: OTHER_SAVE, name: "spare" },
      "e2e_trend_history2",
      "e2e_trend_alarms2",
    ),
  ];
}
