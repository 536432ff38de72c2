declare module "node-red-node-test-helper" {
  import type { Node, NodeAPI } from "node-red";
  type NodeModule = (RED: NodeAPI) => void;
  interface TestNode extends Node {
    receive(msg: object): void;
  }
  interface Helper {
    init(nodeRedRuntime: string, settings?: object): void;
    load(nodes: NodeModule | NodeModule[], flow: object[], credentials?: object): Promise<void>;
    unload(): Promise<void>;
    getNode(id: string): TestNode;
    startServer(done: (err?: unknown) => void): void;
    stopServer(done: (err?: unknown) => void): void;
    clearFlows(): Promise<void>;
    settings(s: object): void;
    request(): unknown;
    url(): string;
    /** The node-red module itself (not the NodeAPI a node gets). */
    _RED: { version(): string; settings: Record<string, unknown> };
    log(): { args: unknown[][] };
  }
  const helper: Helper;
  export = helper;
}
