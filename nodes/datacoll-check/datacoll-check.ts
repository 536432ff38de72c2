/**
 * The datacoll-check node: the Node-RED face of CheckController (src/core/check/controller.ts). It maps
 * the editor's form in, the controller's notices and status to translated log lines and a status dot,
 * and checked samples and alarm transitions to messages; what is checked, the alarm state, the lease and
 * the commands between instances are the controller's business.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow, NodeStatus } from "node-red";
import { CheckController, type CheckNotice, type CheckStatus } from "../../src/core/check/controller";
import type { AlarmTransition, PointAlarms } from "../../src/core/check/checker";
import { COMMAND_NAMES } from "../../src/core/check/command";
import { blank, parseCheckForm, type CheckForm, type ParsedCheckForm } from "../../src/core/check/form";
import { errorMessage } from "../../src/core/errors";
import type { ManagerHandle } from "../../src/core/manager";
import type { ManagerConfigNode } from "../datacoll-manager/api";
import { pointsFromMessage } from "../lib/messages";
import { registerNodeType } from "../lib/register";
import { errorStatus, rateText } from "../lib/status";

type CheckDef = NodeDef & CheckForm & { manager: string };

/** Each notice's level and locale key under datacoll-check.errors (a failed registry change as it is). */
const NOTICES = {
  "point-settings": ["warn", "point"],
  rule: ["warn", "rule"],
  "open-failed": ["error", "open"],
  "store-failed": ["warn", "store"],
  "forward-failed": ["warn", "forward"],
  "commands-unheard": ["warn", "commandsUnheard"],
  "registry-change-failed": ["warn", undefined],
} as const satisfies Record<CheckNotice["code"], readonly ["error" | "warn", string | undefined]>;

/** The plant, not a fault of the node: red while an alarm is present and not acknowledged. */
function statusOf(s: CheckStatus, t: (key: string, vars?: Record<string, string>) => string): NodeStatus {
  const text = (key: string): string => t(`datacoll-check.status.${key}`);
  switch (s.kind) {
    case "problem": {
      const { code, reason } = s.problem;
      return errorStatus(
        code === "open-failed" ? reason : t(`datacoll-check.errors.${NOTICES[code][1]}`, { reason }),
      );
    }
    case "starting":
      return { fill: "grey", shape: "ring", text: text("starting") };
    case "standby":
      return { fill: "blue", shape: "ring", text: `${text("standby")} · ${rateText(s.perSecond, 0)}` };
    case "active": {
      const toAck = s.toAcknowledge > 0 ? ` · ${s.toAcknowledge} ${text("toAcknowledge")}` : "";
      const fill = s.unacknowledged > 0 ? "red" : s.active > 0 || s.toAcknowledge > 0 ? "yellow" : "green";
      return {
        fill,
        shape: "dot",
        text: `${s.active} ${text("active")}${toAck} · ${rateText(s.perSecond, 0)}`,
      };
    }
  }
}

const transitionMessages = (ts: readonly AlarmTransition[]): NodeMessage[] =>
  ts.map((t) => ({ topic: t.key, payload: t.text, alarm: t }) as NodeMessage);
const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

export = function register(RED: NodeAPI): void {
  function DataCollCheck(this: Node, def: CheckDef): void {
    RED.nodes.createNode(this, def);
    let form: ParsedCheckForm;
    let handle: ManagerHandle | undefined;
    let leaseMs: number | undefined;
    try {
      form = parseCheckForm(def);
      if (form.scope.kind === "registry" && blank(def.manager))
        throw new Error(RED._("datacoll-check.errors.registryNeedsManager"));
      if (!blank(def.manager)) {
        const m = RED.nodes.getNode(def.manager) as ManagerConfigNode | null;
        handle = m?.acquireManager();
        if (handle === undefined)
          throw new Error(m?.settingsError ?? RED._("datacoll-check.errors.noManager"));
        leaseMs = m?.leaseMs;
      }
    } catch (err) {
      const reason = errorMessage(err);
      this.error(RED._("datacoll-check.errors.config", { reason }));
      this.status(errorStatus(reason));
      return;
    }

    const controller = new CheckController({
      nodeId: this.id,
      ...form,
      manager: handle?.manager,
      leaseMs,
      onTransitions: (ts) => this.send([null, transitionMessages(ts)]),
      onNotice: (n) => {
        const [level, key] = NOTICES[n.code];
        this[level](key === undefined ? n.reason : RED._(`datacoll-check.errors.${key}`, { ...n }));
      },
      onChange: () => showStatus(),
    });

    let shown = "";
    const showStatus = (): void => {
      const status = statusOf(controller.status(), (key, vars) => RED._(key, vars));
      const key = JSON.stringify(status);
      if (key !== shown) this.status(status);
      shown = key;
    };
    showStatus();
    // Counting alarms walks every point: once a second, and when something changed. Also retries a
    // write that failed (Redis away) when no new message would.
    const statusTimer = setInterval(() => {
      controller.retry();
      showStatus();
    }, 1000);

    this.on("input", (msg: NodeMessageInFlow, send, done) => {
      const topic = typeof msg.topic === "string" ? msg.topic : "";
      const sendTransitions = (ts: readonly AlarmTransition[]): void => {
        if (ts.length === 0) return;
        send([null, transitionMessages(ts)]);
        showStatus();
      };
      // A bad command or message rejects here too: every error ends in done(err), for a Catch node.
      new Promise<void>((resolve) => {
        if (COMMAND_NAMES.has(topic))
          return resolve(controller.command(topic, msg.payload).then(sendTransitions));
        const points = pointsFromMessage(msg as Record<string, unknown>, Date.now());
        const checked = controller.input(points).then(({ points: out, transitions }) => {
          const m = msg as NodeMessage & Record<string, unknown>;
          if (Array.isArray(msg.payload)) m.payload = out;
          else {
            m.point = out[0];
            m.alarm = (out[0] as { alarm?: PointAlarms }).alarm;
          }
          send([m, transitions.length > 0 ? transitionMessages(transitions) : null]);
          if (transitions.length > 0) showStatus();
        });
        resolve(checked);
      })
        .then(() => undefined, asError)
        .then(done);
    });

    this.on("close", (removed: boolean, done: () => void) => {
      clearInterval(statusTimer);
      controller
        .close(removed)
        .then(() => handle?.release())
        .catch((err: unknown) => this.warn(errorMessage(err)))
        .then(() => done());
    });
  }
  registerNodeType(RED, "datacoll-check", DataCollCheck);
};
