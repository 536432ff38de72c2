import type { Node, NodeAPI, NodeDef, NodeStatus } from "node-red";
import type { Subscription } from "../../src/core/bus/event-bus";
import { errorMessage } from "../../src/core/errors";
import type { ManagerHandle, ManagerState } from "../../src/core/manager";
import type { DataPoint } from "../../src/core/model/datapoint";
import type { ManagerConfigNode } from "../datacoll-manager/api";
import { messagesFor, type OutputMode } from "../lib/messages";
import { RateMeter } from "../lib/rate";
import { errorStatus, rateText, shorten } from "../lib/status";
import { ChangeFilter, RateLimit } from "./pace";
import { registerNodeType } from "../lib/register";

interface DataDef extends NodeDef {
  manager: string;
  pattern: string;
  output: OutputMode;
  onlyChange: boolean;
  maxRate: string;
}

/** The manager's connection first (data from other instances stops with it), then the rate. */
function managerStatus(state: ManagerState, detail: string): NodeStatus {
  switch (state.kind) {
    case "connected":
      return { fill: "green", shape: "dot", text: detail };
    case "connecting":
      return { fill: "yellow", shape: "ring", text: "connecting" };
    case "reconnecting":
      return { fill: "red", shape: "ring", text: `reconnecting (attempt ${state.attempt})` };
    case "error":
      return { fill: "red", shape: "ring", text: shorten(state.message) };
    case "closed":
      return { fill: "grey", shape: "ring", text: "closed" };
  }
}

export = function register(RED: NodeAPI): void {
  function DataCollData(this: Node, def: DataDef): void {
    RED.nodes.createNode(this, def);
    const output: OutputMode = def.output === "point" ? "point" : "batch";
    const maxRate = def.maxRate === undefined || String(def.maxRate).trim() === "" ? 0 : Number(def.maxRate);
    let handle: ManagerHandle | undefined;
    try {
      if (!Number.isFinite(maxRate) || maxRate < 0) throw new Error(RED._("datacoll-data.errors.maxRate"));
      const m = RED.nodes.getNode(def.manager) as ManagerConfigNode | null;
      if (m === null) throw new Error(RED._("datacoll-data.errors.noManager"));
      handle = m.acquireManager();
      if (handle === undefined) throw new Error(m.settingsError ?? RED._("datacoll-data.errors.noManager"));
    } catch (err) {
      const reason = errorMessage(err);
      this.error(RED._("datacoll-data.errors.config", { reason }));
      this.status(errorStatus(reason));
      return;
    }
    const manager = handle.manager;
    const changes = def.onlyChange === true ? new ChangeFilter() : undefined;
    const limit = new RateLimit(maxRate, output, Date.now());
    const rate = new RateMeter();
    let timer: NodeJS.Timeout | undefined;

    const send = (batches: readonly (readonly DataPoint[])[], now: number): void => {
      if (batches.length === 0) return;
      const msgs = batches.flatMap((b) => messagesFor(b, output));
      rate.add(msgs.length, now);
      this.send([msgs]);
    };
    const drainLater = (): void => {
      const due = limit.nextDue();
      if (timer !== undefined || due === undefined) return;
      timer = setTimeout(
        () => {
          timer = undefined;
          const now = Date.now();
          send(limit.drain(now), now);
          drainLater();
        },
        Math.max(0, due - Date.now()),
      );
    };

    let sub: Subscription;
    try {
      sub = manager.subscribe(def.pattern ?? "", (points) => {
        const now = Date.now();
        const chosen = changes ? changes.filter(points) : points;
        if (chosen.length === 0) return;
        send(limit.offer(chosen, now), now);
        drainLater();
      });
    } catch (err) {
      const reason = errorMessage(err);
      this.error(RED._("datacoll-data.errors.config", { reason }));
      this.status(errorStatus(reason));
      void handle.release();
      return;
    }

    let shown = "";
    const showStatus = (): void => {
      const now = Date.now();
      const waiting = limit.pending > 0 ? ` · ${limit.pending} waiting` : "";
      const status = managerStatus(manager.state, `${rateText(rate.perSecond(now), 0)}${waiting}`);
      const text = JSON.stringify(status);
      if (text === shown) return;
      shown = text;
      this.status(status);
    };
    const offState = manager.onState(showStatus);
    showStatus();
    const statusTimer = setInterval(showStatus, 1000);

    this.on("close", (_removed: boolean, done: () => void) => {
      sub.unsubscribe();
      offState();
      clearInterval(statusTimer);
      if (timer !== undefined) clearTimeout(timer);
      void handle.release().then(
        () => done(),
        (err: unknown) => {
          this.warn(errorMessage(err));
          done();
        },
      );
    });
  }
  registerNodeType(RED, "datacoll-data", DataCollData);
};
