import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from "node-red";
import { DataCollError, errorMessage } from "../../src/core/errors";
import {
  MODBUS_IDLE_TIMEOUT_MS,
  ModbusSimulator,
  identificationObjects,
  parseGenerators,
  parseUnknownUnit,
  type GeneratorRow,
} from "../../src/core/modbus/simulator";
import { systemClock } from "../../src/transport/connection";
import { parseModbusTransport } from "../../src/core/modbus/devices";
import {
  parseSerialLine,
  serialLineOptions,
  type RawSerialLineSettings,
} from "../../src/core/modbus/serial-line";
import { isDatagramFraming, isSerialFraming } from "../../src/protocols/modbus/codec/framing";
import type { SerialLineOptions } from "../../src/transport/serial-port";
import { registerSerialPortsRoute } from "../lib/serial-ports-route";
import { errorStatus } from "../lib/status";
import { registerNodeType } from "../lib/register";

// The serial line's fields (serialPort, baudRate, ...) are read only by the serial transports; flows saved
// before them are TCP and never read them.
interface ServerDef extends NodeDef, RawSerialLineSettings {
  host: string;
  port: string;
  units: string;
  generators: GeneratorRow[];
  updateMs: string;
  /** Seconds without a request before a client is disconnected; 0 = never. Flows before it: migration 1. */
  idleTimeout?: string | number;
  /**
   * "tcp" (MBAP), "rtu-over-tcp", "udp", "rtu-over-udp", "serial-rtu" or "serial-ascii". Flows before it:
   * migration 2.
   */
  transport?: string;
  /**
   * "gateway" answers unknown unit ids with exception 0B, "silent" does not answer, "auto" is 0B for RTU
   * over TCP/UDP and silence otherwise. Flows saved without it were silent: migration 3 says so.
   */
  unknownUnit?: string;
  /** Read device identification objects (FC 43/14); absent in flows saved before, which keep the defaults. */
  vendorName?: string;
  productCode?: string;
  revision?: string;
  productName?: string;
  modelName?: string;
}

/** "1, 2,5" → [1, 2, 5]; names the field when a unit id is not 0..255. */
function parseUnits(text: string): number[] {
  const units = String(text ?? "1")
    .split(/[\s,;]+/)
    .filter((s) => s !== "")
    .map(Number);
  if (units.length === 0 || units.some((u) => !Number.isInteger(u) || u < 0 || u > 255)) {
    throw new DataCollError("invalid", "units must be unit ids 0..255 separated by commas", "units");
  }
  return [...new Set(units)];
}

interface SetRequest {
  unit?: unknown;
  address?: unknown;
  value?: unknown;
}

export = function register(RED: NodeAPI): void {
  registerSerialPortsRoute(RED);
  function DataCollModbusServer(this: Node, def: ServerDef): void {
    RED.nodes.createNode(this, def);
    let sim: ModbusSimulator;
    let units: number[];
    let udp = false;
    let line: SerialLineOptions | undefined;
    try {
      units = parseUnits(def.units);
      const framing = parseModbusTransport(def.transport);
      line = isSerialFraming(framing) ? serialLineOptions(parseSerialLine(def, framing), framing) : undefined;
      udp = isDatagramFraming(framing);
      const updateMs = Number(def.updateMs ?? 1000);
      if (!Number.isFinite(updateMs) || updateMs < 10)
        throw new Error("update interval must be at least 10 ms");
      sim = new ModbusSimulator({
        units,
        framing,
        generators: parseGenerators(def.generators ?? [], units),
        identification: identificationObjects(def),
        unknownUnit: parseUnknownUnit(def.unknownUnit, framing),
        updateMs,
        idleTimeoutMs:
          def.idleTimeout === undefined || def.idleTimeout === ""
            ? MODBUS_IDLE_TIMEOUT_MS
            : Number(def.idleTimeout) * 1000,
        clock: systemClock,
      });
    } catch (err) {
      const reason = errorMessage(err);
      this.error(RED._("datacoll-modbus-server.errors.config", { reason }));
      this.status(errorStatus(reason));
      return;
    }
    let statusTimer: NodeJS.Timeout | undefined;
    const show = (where: string, state: () => string | undefined): void => {
      const gen = sim.generatorError;
      const trouble = gen.last ?? state();
      this.status(
        trouble !== undefined
          ? errorStatus(trouble)
          : {
              fill: "green",
              shape: "dot",
              // UDP has no connections to count.
              text: udp ? `${where} · UDP` : `${where} · ${sim.connections} client(s)`,
            },
      );
    };
    let listening: Promise<void>;
    if (line !== undefined) {
      // A serial port is opened at once and reopened after backoff if it goes away; the status says
      // which (the reason the port is not open, e.g. gone or serial support not installed).
      const serial = sim.openSerial(line);
      let reason: string | undefined;
      serial.onStateChange((c) => {
        reason = c.state === "connected" ? undefined : (c.reason ?? reason);
        show(line.path, () => reason);
      });
      const stateOf = (): string | undefined =>
        serial.state === "connected" ? undefined : (reason ?? serial.state);
      show(line.path, stateOf);
      statusTimer = setInterval(() => show(line.path, stateOf), 2000);
      listening = Promise.resolve();
    } else {
      const port = Number(def.port ?? 5020);
      const host = def.host?.trim() || "127.0.0.1";
      listening = sim
        .listen(port, host)
        .then((actual) => {
          show(`:${actual}`, () => undefined);
          statusTimer = setInterval(() => show(`:${actual}`, () => undefined), 2000);
        })
        .catch((err: unknown) => {
          const reason = RED._("datacoll-modbus-server.errors.listen", { port, reason: errorMessage(err) });
          this.error(reason);
          this.status(errorStatus(reason));
        });
    }

    const stopWrites = sim.core.onWrite((unit, table, address, count) => {
      const values =
        table === "coils"
          ? Array.from(sim.core.unit(unit).coils.subarray(address, address + count), (b) => b === 1)
          : Array.from(sim.core.unit(unit).holdingRegisters.subarray(address, address + count));
      this.send({
        topic: `${table === "coils" ? "C" : "HR"}${address}`,
        payload: { unit, table, address, count, values },
      });
    });

    this.on("input", (msg: NodeMessageInFlow, _send, done) => {
      // msg.topic = address text + msg.payload = value, or msg.payload = [{unit?, address, value}, ...].
      try {
        const requests: SetRequest[] = Array.isArray(msg.payload)
          ? (msg.payload as SetRequest[])
          : [{ unit: (msg as { unit?: unknown }).unit, address: msg.topic, value: msg.payload }];
        for (const [i, r] of requests.entries()) {
          const unit = r.unit === undefined ? units[0] : Number(r.unit);
          if (typeof r.address !== "string") {
            throw new DataCollError(
              "invalid",
              `set ${i + 1}: address (msg.topic) must be text like HR0:float32`,
              "address",
            );
          }
          sim.set(unit, r.address, r.value);
        }
        done();
      } catch (err) {
        done(err instanceof Error ? err : new Error(String(err)));
      }
    });

    this.on("close", (_removed: boolean, done: () => void) => {
      if (statusTimer) clearInterval(statusTimer);
      stopWrites();
      void listening.then(() => sim.close()).then(done, done);
    });
  }
  registerNodeType(RED, "datacoll-modbus-server", DataCollModbusServer);
};
