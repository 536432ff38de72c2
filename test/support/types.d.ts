declare module "node-red-node-test-helper" {
  import type { Node, NodeAPI } from "node-red";
  type NodeModule = (RED: NodeAPI) => void;
  /** A node in the test runtime; `on("input")` listeners see whatever the test expects a message to be. */
  interface TestNode extends Omit<Node, "on"> {
    receive(msg: object): void;
    on(event: "input", listener: (msg: import("node-red").NodeMessageInFlow) => void): this;
    // Two overloads, not a union: the first gives untyped listeners a message type, the second accepts typed ones.
    // eslint-disable-next-line @typescript-eslint/unified-signatures
    on(event: "input", listener: (msg: never) => void): this;
    on(event: string, listener: (...args: never[]) => void): this;
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
    /** The admin app of the last load (RED.httpAdmin); the test server at url() does not serve it. */
    _httpAdmin: import("node:http").RequestListener;
    log(): { args: unknown[][] };
  }
  const helper: Helper;
  export = helper;
}
