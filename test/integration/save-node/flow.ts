/**
 * Building blocks for the save node's flow tests: a `datacoll-mysql` config node on the test server (or
 * a proxy in front of it), a save node with two collectors on its outputs, and a way to watch what the
 * node reports through `done(err)`.
 */
import type { NodeMessageInFlow } from "node-red";
import { helper, nodeModule } from "../../support/node-red";
import { MYSQL_URL } from "../../support/services";
import { mysqlConfigNode } from "../../support-history/mysql";

export const modules = ["datacoll-mysql", "datacoll-save", "datacoll-manager"].map(nodeModule);

const url = new URL(MYSQL_URL);

export interface FlowNode {
  readonly id: string;
  readonly type: string;
  readonly [k: string]: unknown;
}

export function mysqlNode(id: string, database: string, extra: Record<string, unknown> = {}): FlowNode {
  return mysqlConfigNode(id, database, extra);
}

export function mysqlCredentials(id: string, password = decodeURIComponent(url.password)): object {
  return { [id]: { password } };
}

/** A save node `id` on tab `tab` with collectors `${id}-out` and `${id}-dead` on its two outputs. */
export function saveFlow(id: string, mysql: string, props: Record<string, unknown> = {}): FlowNode[] {
  return [
    {
      id,
      type: "datacoll-save",
      z: "tab",
      mysql,
      batchSize: "200",
      maxDelay: "20",
      ...props,
      wires: [[`${id}-out`], [`${id}-dead`]],
    },
    { id: `${id}-out`, type: "helper", z: "tab" },
    { id: `${id}-dead`, type: "helper", z: "tab" },
  ];
}

export const TAB: FlowNode = { id: "tab", type: "tab" };

/** What arrives at a helper node, as it arrives. */
export function collect(id: string): NodeMessageInFlow[] {
  const got: NodeMessageInFlow[] = [];
  helper.getNode(id).on("input", (m: NodeMessageInFlow) => got.push(m));
  return got;
}

/** The errors a node reports (done(err) and node.error), as their message texts. */
export function errorsOf(id: string): string[] {
  const got: string[] = [];
  helper.getNode(id).on("call:error", (call: { args: unknown[] }) => {
    const e = call.args[0];
    got.push(e instanceof Error ? e.message : String(e));
  });
  return got;
}

/** The node's status texts as they are set. */
export function statusesOf(id: string): { fill?: string; shape?: string; text?: string }[] {
  const got: { fill?: string; shape?: string; text?: string }[] = [];
  helper.getNode(id).on("call:status", (call: { args: unknown[] }) => {
    got.push(call.args[0] as { fill?: string; text?: string });
  });
  return got;
}

/**
 * Deploy `flow` as the editor would: "full" restarts every node, "nodes" only the changed ones. Resolves
 * once the runtime says the flows started.
 */
export async function redeploy(flow: readonly object[], type: "full" | "nodes"): Promise<void> {
  // Not the test helper's setFlows: it starts listening for "flows:started" only after the deploy's
  // promise resolved, and gives up 300 ms after that. The runtime starts the new flows without waiting
  // on that promise, so on a busy machine (a test file running beside this one, another CI job) the
  // event can come before the listener or after the 300 ms, and a deploy that worked fails. Here the
  // listener is there before the deploy, and the test's own timeout bounds the wait.
  // Both fields are the helper's (the runtime's events and nodes API); types.d.ts does not declare them.
  const h = helper as unknown as {
    _events: NodeJS.EventEmitter;
    _redNodes: { setFlows(f: readonly object[], credentials: object, t: string): Promise<unknown> };
  };
  const started = new Promise<void>((resolve) => h._events.once("flows:started", () => resolve()));
  await h._redNodes.setFlows(flow, {}, type);
  await started;
}

/** Counts of the node's done() and done(err) calls, as Node-RED's runtime sees them complete. */
export function completions(id: string): { ok: number; failed: number } {
  const counts = { ok: 0, failed: 0 };
  const node = helper.getNode(id) as unknown as { _complete(msg: object, err?: unknown): void };
  const complete = node._complete.bind(node);
  node._complete = (msg, err) => {
    if (err === undefined) counts.ok++;
    else counts.failed++;
    complete(msg, err);
  };
  return counts;
}
