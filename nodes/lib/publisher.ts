/**
 * Sending a node's samples to its (optional) manager, so flow-drawn devices feed the same latest values,
 * history, data nodes and live view as registry devices. A store outage is logged once, not per batch.
 */
import type { Node, NodeAPI } from "node-red";
import { errorMessage } from "../../src/core/errors";
import type { ManagerHandle } from "../../src/core/manager";
import type { DataPoint } from "../../src/core/model/datapoint";
import type { ManagerConfigNode } from "../datacoll-manager/api";

export interface Publisher {
  publish(points: readonly DataPoint[]): void;
  close(): Promise<void>;
}

/** Undefined when no manager is chosen; throws with the manager's own reason when it cannot run. */
export function publisherFor(RED: NodeAPI, node: Node, managerId: string | undefined): Publisher | undefined {
  if (managerId === undefined || managerId === "") return undefined;
  const config = RED.nodes.getNode(managerId) as ManagerConfigNode | null;
  const handle: ManagerHandle | undefined = config?.acquireManager();
  if (!handle) throw new Error(config?.settingsError ?? "the chosen manager is not deployed");
  let failing = false;
  return {
    publish: (points) => {
      if (points.length === 0) return;
      handle.manager.publish(points).then(
        () => {
          failing = false;
        },
        (err: unknown) => {
          if (!failing) node.warn(`samples not stored by the manager: ${errorMessage(err)}`);
          failing = true;
        },
      );
    },
    close: () => handle.release(),
  };
}
