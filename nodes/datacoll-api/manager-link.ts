/**
 * How the API node reaches its manager's store. By config-node id when the node is in a flow; by the
 * manager's name or namespace when it sits inside the `datacoll-rest` subflow module, which cannot carry
 * a config node (node-red issue #5449).
 *
 * Until the manager runtime (src/core/manager.ts) hands out its store, this opens one store per manager
 * node from the manager's settings and shares it among the API nodes that use that manager, closing it
 * when the last one lets go.
 */
import type { Node, NodeAPI, NodeDef } from "node-red";
import { DataCollError } from "../../src/core/errors";
import type { ManagerSettings } from "../../src/core/manager-config";
import type { Store } from "../../src/core/store/store";
import { MemoryStore } from "../../src/core/store/memory-store";
import { RedisStore } from "../../src/core/store/redis-store";
import type { RestActions } from "../../src/core/rest/types";

/** What a manager config node offers the API node. `restActions` is set by the manager runtime. */
export interface ManagerNodeLike extends Node {
  readonly settings?: ManagerSettings;
  readonly settingsError?: string;
  readonly restActions?: RestActions;
}

export interface ManagerLink {
  readonly store: Store;
  /** The manager runtime's device_call/device_ctrl, read at each request (it may start later). */
  actions(): RestActions | undefined;
  release(): Promise<void>;
}

interface Shared {
  readonly store: Store;
  users: number;
}

const stores = new Map<string, Shared>();

function isManager(n: unknown): n is ManagerNodeLike {
  return typeof n === "object" && n !== null && (n as { type?: unknown }).type === "datacoll-manager";
}

/**
 * The manager node a reference names: a config-node id, or else the name or namespace of exactly one
 * deployed manager (`dc:` and `dc` both name namespace `dc:`).
 */
export function findManager(RED: NodeAPI, ref: string): ManagerNodeLike {
  const byId: unknown = ref === "" ? undefined : RED.nodes.getNode(ref);
  if (isManager(byId)) return byId;
  const want = ref.trim();
  if (want === "") throw new DataCollError("invalid", "no manager is selected", "manager");
  const ids: string[] = [];
  RED.nodes.eachNode((def: NodeDef & { namespace?: unknown }) => {
    if (def.type !== "datacoll-manager") return;
    const ns = typeof def.namespace === "string" ? def.namespace : "";
    if (def.name === want || ns === want || ns === `${want}:`) ids.push(def.id);
  });
  if (ids.length > 1)
    throw new DataCollError(
      "invalid",
      `${ids.length} managers are named ${JSON.stringify(want)}; name one uniquely`,
      "manager",
    );
  const found: unknown = ids.length === 1 ? RED.nodes.getNode(ids[0]) : undefined;
  if (!isManager(found))
    throw new DataCollError(
      "not-found",
      `no deployed datacoll-manager has the name or namespace ${JSON.stringify(want)}`,
      "manager",
    );
  return found;
}

function openStore(m: ManagerNodeLike): Store {
  const s = m.settings;
  if (!s)
    throw new DataCollError(
      "invalid",
      `the manager's settings are invalid: ${m.settingsError ?? "unknown"}`,
      "manager",
    );
  if (s.store === "embedded") return new MemoryStore({ namespace: s.namespace, instanceId: s.instanceId });
  return new RedisStore({
    namespace: s.namespace,
    instanceId: s.instanceId,
    url: s.redisUrl,
    ...(s.redisPassword === undefined ? {} : { password: s.redisPassword }),
  });
}

export function linkManager(m: ManagerNodeLike): ManagerLink {
  let shared = stores.get(m.id);
  if (!shared) {
    shared = { store: openStore(m), users: 0 };
    stores.set(m.id, shared);
  }
  shared.users++;
  const entry = shared;
  let released = false;
  return {
    store: entry.store,
    actions: () => m.restActions,
    release: async () => {
      if (released) return;
      released = true;
      if (--entry.users > 0) return;
      stores.delete(m.id);
      await entry.store.close();
    },
  };
}
