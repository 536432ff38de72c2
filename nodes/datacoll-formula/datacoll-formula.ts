/**
 * The datacoll-formula node: the Node-RED face of FormulaController (src/core/formula/controller.ts).
 * It maps the editor's settings in, the controller's notices and status to translated log lines and a
 * status dot, and results to messages; which formulas run and when is the controller's business.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow, NodeStatus } from "node-red";
import { errorMessage } from "../../src/core/errors";
import { FormulaController, type FormulaNotice, type FormulaStatus } from "../../src/core/formula/controller";
import type { FormulaRow } from "../../src/core/formula/table";
import type { DataPoint } from "../../src/core/model/datapoint";
import type { ManagerConfigNode } from "../datacoll-manager/api";
import { messagesFor, pointsFromMessage, type OutputMode } from "../lib/messages";
import { registerFormulaCheck } from "../lib/formula-check-endpoint";
import { RateMeter } from "../lib/rate";
import { registerNodeType } from "../lib/register";
import { errorStatus, rateText, shorten, showConfigError } from "../lib/status";

interface FormulaDef extends NodeDef {
  manager: string;
  formulas: FormulaRow[];
  useRegistry: boolean;
  fromBus: boolean;
  interval: string;
  output: OutputMode;
}

/** Each notice's level and locale key under datacoll-formula.errors (a failed registry change as it is). */
const NOTICES = {
  "formula-refused": ["error", "formula"],
  "history-unreadable": ["warn", "history"],
  "publish-failed": ["warn", "publish"],
  "registry-unreadable": ["error", "registry"],
  "registry-change-failed": ["warn", undefined],
} as const satisfies Record<FormulaNotice["code"], readonly ["error" | "warn", string | undefined]>;

function statusOf(s: FormulaStatus, perSecond: number): NodeStatus {
  if (s.kind === "refused")
    return { fill: "red", shape: "ring", text: shorten(`${s.count} bad: ${s.id}: ${s.reason}`) };
  if (s.kind === "publish-failed") return errorStatus(s.reason);
  const text = `${s.formulas} formula${s.formulas === 1 ? "" : "s"} · ${rateText(perSecond, 0)}`;
  return { fill: "green", shape: "dot", text };
}

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

export = function register(RED: NodeAPI): void {
  registerFormulaCheck(RED);
  function DataCollFormula(this: Node, def: FormulaDef): void {
    RED.nodes.createNode(this, def);
    const configError = (reason: string): void =>
      showConfigError(RED, this, "datacoll-formula.errors.config", reason);
    const output: OutputMode = def.output === "point" ? "point" : "batch";
    const interval =
      def.interval === undefined || String(def.interval).trim() === "" ? 0 : Number(def.interval);
    if (!Number.isFinite(interval) || interval < 0)
      return configError(RED._("datacoll-formula.errors.interval"));
    const m = def.manager ? (RED.nodes.getNode(def.manager) as ManagerConfigNode | null) : undefined;
    const handle = m?.acquireManager();
    if (m !== undefined && handle === undefined)
      return configError(m?.settingsError ?? RED._("datacoll-formula.errors.noManager"));

    const rate = new RateMeter();
    const sender = (send: (msgs: NodeMessage[][]) => void) => (points: readonly DataPoint[]) => {
      rate.add(points.length, Date.now());
      send([messagesFor(points, output)]);
    };
    const controller = new FormulaController({
      rows: def.formulas ?? [],
      everyMs: interval * 1000,
      manager: handle?.manager,
      useRegistry: def.useRegistry === true,
      fromBus: def.fromBus === true,
      onResults: sender((msgs) => this.send(msgs)),
      onNotice: (n) => {
        const [level, key] = NOTICES[n.code];
        this[level](key === undefined ? n.reason : RED._(`datacoll-formula.errors.${key}`, { ...n }));
        if (n.code !== "registry-unreadable") return;
        this.status(errorStatus(n.reason));
        clearInterval(statusTimer);
      },
      onChange: () => showStatus(),
    });

    let shown = "";
    const showStatus = (): void => {
      const status = statusOf(controller.status(), rate.perSecond(Date.now()));
      const key = JSON.stringify(status);
      if (key !== shown) this.status(status);
      shown = key;
    };
    showStatus();
    const statusTimer = setInterval(showStatus, 1000);

    this.on("input", (msg: NodeMessageInFlow, send, done) => {
      // A message of neither shape rejects here too: every error ends in done(err), for a Catch node.
      new Promise<DataPoint[]>((read) => read(pointsFromMessage(msg as Record<string, unknown>, Date.now())))
        .then((points) => controller.input(points, sender(send)))
        .then(() => undefined, asError)
        .then(done);
    });

    this.on("close", (_removed: boolean, done: () => void) => {
      controller.close();
      clearInterval(statusTimer);
      Promise.resolve(handle?.release()).then(done, (err: unknown) => {
        this.warn(errorMessage(err));
        done();
      });
    });
  }
  registerNodeType(RED, "datacoll-formula", DataCollFormula);
};
