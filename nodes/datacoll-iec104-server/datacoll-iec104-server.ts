import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from "node-red";
import { DataCollError, errorMessage } from "../../src/core/errors";
import {
  IEC104_IDLE_TIMEOUT_MS,
  Iec104Simulator,
  parseSimCommands,
  parseSimPoints,
  type SimCommandRow,
  type SimPointRow,
} from "../../src/core/iec104/simulator";
import { systemClock } from "../../src/transport/connection";
import { errorStatus } from "../lib/status";
import { registerNodeType } from "../lib/register";

interface ServerDef extends NodeDef {
  host: string;
  port: string;
  commonAddress: string;
  points: SimPointRow[];
  commands: SimCommandRow[];
  updateMs: string;
  periodic: string;
  selectTimeout: string;
  /** Seconds without a frame before a master is disconnected; 0 = never. Flows before it: migration 1. */
  idleTimeout?: string | number;
}

interface SetRequest {
  ioa?: unknown;
  value?: unknown;
  quality?: unknown;
}

export = function register(RED: NodeAPI): void {
  function DataCollIec104Server(this: Node, def: ServerDef): void {
    RED.nodes.createNode(this, def);
    let sim: Iec104Simulator;
    try {
      const updateMs = Number(def.updateMs || 1000);
      if (!Number.isFinite(updateMs) || updateMs < 10)
        throw new Error("update interval must be at least 10 ms");
      const periodicMs = Number(def.periodic || 0) * 1000;
      if (!Number.isFinite(periodicMs) || (periodicMs !== 0 && periodicMs < 100)) {
        throw new Error("periodic interval must be 0 (off) or at least 0.1 s");
      }
      sim = new Iec104Simulator({
        commonAddress: Number(def.commonAddress || 1),
        points: parseSimPoints(def.points ?? []),
        commands: parseSimCommands(def.commands ?? []),
        updateMs,
        periodicMs,
        selectTimeoutMs: Number(def.selectTimeout || 10) * 1000,
        idleTimeoutMs:
          def.idleTimeout === undefined || def.idleTimeout === ""
            ? IEC104_IDLE_TIMEOUT_MS
            : Number(def.idleTimeout) * 1000,
        clock: systemClock,
      });
    } catch (err) {
      const reason = errorMessage(err);
      this.error(RED._("datacoll-iec104-server.errors.config", { reason }));
      this.status(errorStatus(reason));
      return;
    }
    const port = Number(def.port || 2404);
    const host = def.host?.trim() || "127.0.0.1";
    let actual = port;
    let warning: string | undefined;
    const show = (): void => {
      this.status(
        warning
          ? { fill: "yellow", shape: "dot", text: `:${actual} · ${sim.connections} master(s) · ${warning}` }
          : { fill: "green", shape: "dot", text: `:${actual} · ${sim.connections} master(s)` },
      );
    };
    const off = sim.on((e) => {
      if (e.type === "command") {
        warning = undefined;
        this.send({ topic: `command/${e.command.ioa}`, payload: { ...e.command, peer: e.peer } });
      } else if (e.type === "warning") {
        warning = e.message;
      } else if (e.type === "clock-sync") {
        this.send({ topic: "clock-sync", payload: { time: e.time, peer: e.peer } });
      }
      show();
    });
    const listening = sim
      .listen(port, host)
      .then((p) => {
        actual = p;
        show();
      })
      .catch((err: unknown) => {
        const reason = RED._("datacoll-iec104-server.errors.listen", { port, reason: errorMessage(err) });
        this.error(reason);
        this.status(errorStatus(reason));
      });

    this.on("input", (msg: NodeMessageInFlow & { ioa?: unknown; quality?: unknown }, _send, done) => {
      // msg.topic (or msg.ioa) = IOA + msg.payload = value, or msg.payload = [{ioa, value, quality?}, ...].
      try {
        const requests: SetRequest[] = Array.isArray(msg.payload)
          ? (msg.payload as SetRequest[])
          : [{ ioa: msg.ioa ?? msg.topic, value: msg.payload, quality: msg.quality }];
        for (const [i, r] of requests.entries()) {
          const ioa = Number(r.ioa);
          if (!Number.isInteger(ioa)) {
            throw new DataCollError("invalid", `set ${i + 1}: ioa (msg.topic) must be an IOA number`, "ioa");
          }
          const q =
            typeof r.quality === "object" && r.quality !== null ? (r.quality as Record<string, boolean>) : {};
          sim.set(ioa, r.value, q);
        }
        done();
      } catch (err) {
        done(err instanceof Error ? err : new Error(String(err)));
      }
    });

    this.on("close", (_removed: boolean, done: () => void) => {
      off();
      void listening.then(() => sim.close()).then(done, done);
    });
  }
  registerNodeType(RED, "datacoll-iec104-server", DataCollIec104Server);
};
