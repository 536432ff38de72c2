/**
 * Node status dots that tell the truth: the connection's state first (a poll node whose device is
 * unreachable is red even if its last values are recent), then what the node is doing.
 */
import type { Node, NodeAPI, NodeStatus } from "node-red";
import { errorMessage } from "../../src/core/errors";
import type { ConnectionState } from "../../src/transport/connection";

export function connectionStatus(state: ConnectionState, detail?: string): NodeStatus {
  switch (state) {
    case "connected":
      return { fill: "green", shape: "dot", text: detail ?? "connected" };
    case "connecting":
      return { fill: "yellow", shape: "ring", text: "connecting" };
    case "backoff":
      return { fill: "red", shape: "ring", text: detail ? `reconnecting: ${detail}` : "reconnecting" };
    case "idle":
      return { fill: "grey", shape: "ring", text: "idle" };
    case "closed":
      return { fill: "grey", shape: "ring", text: "closed" };
  }
}

export function errorStatus(text: string): NodeStatus {
  return { fill: "red", shape: "dot", text: shorten(text) };
}

/** Status text stays short: the editor shows one line under the node. */
export function shorten(text: string, max = 48): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** "12.5/s" for a rate, "3 fail" when there were failures. */
export function rateText(perSecond: number, failures: number): string {
  const rate = perSecond >= 100 ? Math.round(perSecond).toString() : perSecond.toFixed(1);
  return failures > 0 ? `${rate}/s · ${failures} fail` : `${rate}/s`;
}

/** Settings that do not hold: said once in the log (under the node's own message key) and on the node. */
export function showConfigError(RED: NodeAPI, node: Node, messageKey: string, err: unknown): void {
  const reason = errorMessage(err);
  node.error(RED._(messageKey, { reason }));
  node.status(errorStatus(reason));
}
