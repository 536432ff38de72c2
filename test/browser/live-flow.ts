/**
 * The live view test's flow: a simulator ramping a boiler temperature (plus pressure and flow), polled
 * four times a second, checked against a high limit the temperature always exceeds (an alarm at once),
 * and turned by formulas into results on the manager's bus (the values the live view lists).
 */
const TAB = "e2e-live-tab";
export const MANAGER = "e2e-live-manager";
export const POINT = "lv:boiler:temp";
export const RESULT = "calc:boiler:temp_f";

/** A check node with only a high limit (and 2 of hysteresis); `props` names it and sets the rest. */
export function highLimitCheck(props: { id: string; high: string } & Record<string, unknown>): unknown {
  return {
    type: "datacoll-check",
    scope: "",
    lowLow: "",
    low: "",
    highHigh: "",
    hysteresis: "2",
    ratePerSecond: "",
    staleSeconds: "",
    quality: false,
    verify: "",
    onDelay: "",
    offDelay: "",
    ...props,
  };
}

export function liveFlow(port: number): unknown[] {
  const common = { z: TAB, x: 200, y: 100 };
  return [
    { id: TAB, type: "tab", label: "Live view", disabled: false, info: "" },
    {
      ...common,
      id: "e2e-live-sim",
      type: "datacoll-modbus-server",
      name: "boiler simulator",
      host: "127.0.0.1",
      port: String(port),
      units: "1",
      updateMs: "200",
      generators: [
        { unit: "1", address: "HR0:float32", kind: "ramp", min: "60", max: "90", period: "20" },
        { unit: "1", address: "HR2:float32", kind: "sine", min: "1.8", max: "2.4", period: "6" },
        {
          unit: "1",
          address: "HR4:float32",
          kind: "random-walk",
          value: "12",
          min: "8",
          max: "16",
          step: "0.5",
        },
      ],
      wires: [[]],
    },
    {
      id: "e2e-live-device",
      type: "datacoll-modbus",
      name: "lv",
      deviceId: "lv",
      host: "127.0.0.1",
      port: String(port),
      timeout: "1000",
      inFlight: "1",
      queueSize: "1000",
      backoff: "200",
      backoffMax: "1000",
      acceptRewrittenUnit: false,
    },
    {
      ...common,
      y: 180,
      id: "e2e-live-poll",
      type: "datacoll-poll",
      name: "boiler",
      protocol: "modbus",
      modbus: "e2e-live-device",
      termId: "boiler",
      unit: "1",
      interval: "250",
      items: [
        { item: "temp", address: "HR0:float32", coefficient: "", base: "", deadband: "" },
        { item: "pressure", address: "HR2:float32", coefficient: "", base: "", deadband: "" },
        { item: "flow", address: "HR4:float32", coefficient: "", base: "", deadband: "" },
      ],
      output: "batch",
      maxGap: "10",
      wires: [["e2e-live-check", "e2e-live-formula"]],
    },
    {
      id: MANAGER,
      type: "datacoll-manager",
      name: "Live plant",
      store: "embedded",
      redisUrl: "",
      namespace: "lv:",
      instanceId: "",
      runDevices: false,
      leaseMs: 10000,
    },
    highLimitCheck({
      ...common,
      x: 420,
      y: 160,
      id: "e2e-live-check",
      name: "boiler limits",
      manager: MANAGER,
      high: "50",
      severity: "2",
      message: "boiler too hot",
      wires: [[], []],
    }),
    {
      ...common,
      x: 420,
      y: 220,
      id: "e2e-live-formula",
      type: "datacoll-formula",
      name: "derived values",
      manager: MANAGER,
      formulas: [
        { id: "temp_f", expression: "p1 * 9 / 5 + 32", params: `p1=${POINT}`, result: RESULT },
        {
          id: "kpa",
          expression: "p1 * 100",
          params: "p1=lv:boiler:pressure",
          result: "calc:boiler:pressure_kpa",
        },
        {
          id: "power",
          expression: "p1 * 4.19 * (p2 - 20) / 3.6",
          params: "p1=lv:boiler:flow, p2=lv:boiler:temp",
          result: "calc:boiler:heat_kw",
        },
      ],
      useRegistry: false,
      fromBus: false,
      interval: "",
      output: "batch",
      wires: [[]],
    },
  ];
}
