/**
 * The datacoll-data node: the Node-RED face of DataController (src/core/bus/data-controller.ts). It maps
 * the editor's settings in, the controller's messages to Node-RED messages, and the manager's
 * connection and the rate to a status dot; what passes and when is the controller's business.
 */
import type { Node, NodeAPI, NodeDef, NodeStatus } from "node-red";
import { DataController, type DataStatus } from "../../src/core/bus/data-controller";
import { errorMessage } from "../../src/core/errors";
import type { ManagerConfigNode } from "../datacoll-manager/api";
import { messagesFor, type OutputMode } from "../lib/messages";
import { RateMeter } from "../lib/rate";
import { registerNodeType } from "../lib/register";
import { rateText, shorten, showConfigError } from "../lib/status";

interface DataDef extends NodeDef {
  manager: string;
  pattern: string;
  output: OutputMode;
  onlyChange: boolean;
  maxRate: string;
}

/**
 * The manager's connection first (data from other instances stops with it), then the rate; while Redis is
 * away or being caught up, the outage buffer's fill (samples kept of the bound) and what it dropped.
 */
function statusOf({ state, waiting, outage }: DataStatus, perSecond: number): NodeStatus {
  const kept =
    outage && (outage.held > 0 || outage.outage)
      ? ` · ${outage.held}/${outage.capacity} kept${outage.dropped > 0 ? `, ${outage.dropped} lost` : ""}`
      : "";
  switch (state.kind) {
    case "connected":
      return {
        fill: kept === "" ? "green" : "yellow",
        shape: "dot",
        text: `${rateText(perSecond, 0)}${waiting > 0 ? ` · ${waiting} waiting` : ""}${kept}`,
      };
    case "connecting":
      return { fill: "yellow", shape: "ring", text: "connecting" };
    case "reconnecting":
      return { fill: "red", shape: "ring", text: `reconnecting (attempt ${state.attempt})${kept}` };
    case "error":
      return { fill: "red", shape: "ring", text: shorten(state.message) + kept };
    case "closed":
      return { fill: "grey", shape: "ring", text: "closed" };
  }
}

export = function register(RED: NodeAPI): void {
  function DataCollData(this: Node, def: DataDef): void {
    RED.nodes.createNode(this, def);
    const output: OutputMode = def.output === "point" ? "point" : "batch";
    const maxRate = def.maxRate === undefined || String(def.maxRate).trim() === "" ? 0 : Number(def.maxRate);
    const fail = (err: unknown): void => showConfigError(RED, this, "datacoll-data.errors.config", err);
    if (!Number.isFinite(maxRate) || maxRate < 0) return fail(RED._("datacoll-data.errors.maxRate"));
    const m = RED.nodes.getNode(def.manager) as ManagerConfigNode | null;
    const handle = m?.acquireManager();
    if (handle === undefined) return fail(m?.settingsError ?? RED._("datacoll-data.errors.noManager"));
    const rate = new RateMeter();
    let controller: DataController;
    try {
      controller = new DataController({
        manager: handle.manager,
        pattern: def.pattern ?? "",
        mode: output,
        onlyChange: def.onlyChange === true,
        maxRate,
        onMessages: (batches) => {
          const msgs = batches.flatMap((b) => messagesFor(b, output));
          rate.add(msgs.length, Date.now());
          this.send([msgs]);
        },
        onState: () => showStatus(),
      });
    } catch (err) {
      fail(err); // a bad pattern
      handle.release().catch((e: unknown) => this.warn(errorMessage(e)));
      return;
    }

    let shown = "";
    const showStatus = (): void => {
      const status = statusOf(controller.status(), rate.perSecond(Date.now()));
      const text = JSON.stringify(status);
      if (text !== shown) this.status(status);
      shown = text;
    };
    showStatus();
    const statusTimer = setInterval(showStatus, 1000);

    this.on("close", (_removed: boolean, done: () => void) => {
      controller.close();
      clearInterval(statusTimer);
      handle.release().then(done, (err: unknown) => {
        this.warn(errorMessage(err));
        done();
      });
    });
  }
  registerNodeType(RED, "datacoll-data", DataCollData);
};
