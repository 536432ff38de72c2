/**
 * How the API node reaches its manager: by config-node id when the node is in a flow; by the manager's
 * name or namespace when it sits inside the `datacoll-rest` subflow module, which cannot carry a config
 * node (node-red issue #5449). The manager pool is keyed by config-node id only, so the name lookup goes
 * through the deployed node definitions.
 */
import type { NodeAPI, NodeDef } from "node-red";
import { DataCollError } from "../../src/core/errors";
import type { Manager } from "../../src/core/manager";
import type { Store } from "../../src/core/store/store";
import type { DataPoint } from "../../src/core/model/datapoint";
import type { RestActions } from "../../src/core/rest/types";
import type { SampleFeed } from "../../src/core/rest/latest-view";
import type { ManagerConfigNode } from "../datacoll-manager/api";

export type ManagerNodeLike = ManagerConfigNode;

/** The manager runtime (poller and command path) offers device_call/device_ctrl here once it runs. */
export type ManagerWithActions = Manager & { restActions?: RestActions };

export interface ManagerLink {
  readonly store: Store;
  /** The runtime's device_call/device_ctrl, read at each request (the runtime may start later). */
  actions(): RestActions | undefined;
  publish(points: readonly DataPoint[]): Promise<void>;
  /** Every sample the manager's bus carries (local and from other instances). */
  feed: SampleFeed;
  release(): Promise<void>;
}

function isManager(n: unknown): n is ManagerConfigNode {
  return typeof n === "object" && n !== null && (n as { type?: unknown }).type === "datacoll-manager";
}

/**
 * The manager node a reference names: a config-node id, or else the name or namespace of exactly one
 * deployed manager (`dc:` and `dc` both name namespace `dc:`). When several match, the message says
 * whether they share the namespace or the name, and what to change, since the one who reads it (on the
 * node's dot and in every 503 answer) must fix the flow. The texts are the REST API's, in English like
 * all its answers; the node's status and log put them behind its translated words.
 */
export function findManager(RED: NodeAPI, ref: string): ManagerConfigNode {
  const byId: unknown = ref === "" ? undefined : RED.nodes.getNode(ref);
  if (isManager(byId)) return byId;
  const want = ref.trim();
  if (want === "") throw new DataCollError("invalid", "no manager is selected", "manager");
  const ns = want.endsWith(":") ? want : `${want}:`;
  const byName: string[] = [];
  const byNamespace: string[] = [];
  RED.nodes.eachNode((def: NodeDef & { namespace?: unknown }) => {
    if (def.type !== "datacoll-manager") return;
    const defNs = typeof def.namespace === "string" ? def.namespace : "";
    if (defNs === want || defNs === ns) byNamespace.push(def.id);
    else if (def.name === want) byName.push(def.id);
  });
  const ids = [...byNamespace, ...byName];
  if (ids.length > 1) {
    const n = ids.length;
    const name = JSON.stringify(want);
    throw new DataCollError(
      "invalid",
      byName.length === 0
        ? `${n} managers use the namespace ${JSON.stringify(ns)}: give one another namespace or delete one`
        : byNamespace.length === 0
          ? `${n} managers are named ${name}: rename one or delete one`
          : `${n} managers have the name or namespace ${name}: rename one, give one another namespace, or delete one`,
      "manager",
    );
  }
  const found: unknown = ids.length === 1 ? RED.nodes.getNode(ids[0]) : undefined;
  if (!isManager(found)) {
    throw new DataCollError(
      "not-found",
      `no deployed datacoll-manager has the name or namespace ${JSON.stringify(want)}`,
      "manager",
    );
  }
  return found;
}

/** A share of the manager's store; release it when the node closes. */
export function linkManager(m: ManagerConfigNode): ManagerLink {
  const handle = m.acquireManager();
  if (!handle) {
    throw new DataCollError(
      "invalid",
      `the manager's settings are invalid: ${m.settingsError ?? "unknown"}`,
      "manager",
    );
  }
  const manager: ManagerWithActions = handle.manager;
  return {
    store: manager.store,
    actions: () => manager.restActions,
    publish: (points) => manager.publish(points),
    feed: (listener) => {
      const sub = manager.subscribe("#", (points) => listener(points));
      return () => sub.unsubscribe();
    },
    release: () => handle.release(),
  };
}
