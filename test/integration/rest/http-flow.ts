/**
 * Real HTTP to `http in` nodes in the test runtime. node-red-node-test-helper gives each load a fresh
 * express app for RED.httpNode but serves none of them, so this serves whichever app the loaded `http in`
 * module received, on a loopback port of its own. Requests close their connection, so no keep-alive
 * socket outlives a test and trips the leak check.
 */
import http from "node:http";
import path from "node:path";
import type { AddressInfo } from "node:net";
import type { NodeAPI } from "node-red";
import { httpRequest, type Reply } from "../../support/net";

export { httpRequest, type Reply };

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

const nodeRedDir = path.dirname(
  process.env.NODE_RED_PATH
    ? require.resolve(path.resolve(process.env.NODE_RED_PATH))
    : require.resolve("node-red"),
);
/** A core node module of the Node-RED under test, e.g. `network/21-httpin.js`. */
function coreNode(file: string): (RED: NodeAPI) => void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- Node-RED's core nodes are CommonJS
  return require(require.resolve(`@node-red/nodes/core/${file}`, { paths: [nodeRedDir] })) as (
    RED: NodeAPI,
  ) => void;
}

const httpIn = coreNode("network/21-httpin.js");

/** The Comment node, which examples carry. */
export const commentNode = coreNode("common/90-comment.js");

/** The Inject and Switch nodes, for examples that start a query by hand and loop over its pages. */
export const injectNode = coreNode("common/20-inject.js");
export const switchNode = coreNode("function/10-switch.js");

/** The Change node, for flows that set a payload (the benchmark's sized echo). */
export const changeNode = coreNode("function/15-change.js");

let app: Handler | undefined;

/** The `http in` / `http response` module, noting the app their routes go to. */
export function httpNodes(RED: NodeAPI): void {
  app = RED.httpNode as unknown as Handler;
  httpIn(RED);
}

/** A request handler serving whichever app the last loaded `http in` module received. */
export function requestHandler(): Handler {
  return (req, res) => {
    if (app) app(req, res);
    else {
      res.statusCode = 502;
      res.end("no flow loaded");
    }
  };
}

export class HttpServer {
  private server: http.Server | undefined;
  private port = 0;

  async start(): Promise<void> {
    this.server = http.createServer(requestHandler());
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  request(
    method: string,
    urlPath: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply> {
    return httpRequest(this.port, method, urlPath, body, headers);
  }
}

/**
 * As in docs/architecture.md §8: an `http in` per method on `<base>/*` → datacoll-api → http response. With
 * `tab`, the flow nodes sit on a tab of that id, as a flow file a Node-RED process loads needs them.
 */
export function apiFlow(
  opts: {
    base?: string;
    manager?: Record<string, unknown>;
    api?: Record<string, unknown>;
    tab?: string;
  } = {},
): Record<string, unknown>[] {
  const flow = apiNodes(opts);
  const tab = opts.tab;
  if (tab === undefined) return flow;
  return [
    { id: tab, type: "tab", label: "REST API" },
    // Node-RED takes a node without a position for a config node.
    ...flow.map((n, i) => (n.type === "datacoll-manager" ? n : { ...n, z: tab, x: 150, y: 40 + 40 * i })),
  ];
}

function apiNodes(opts: {
  base?: string;
  manager?: Record<string, unknown>;
  api?: Record<string, unknown>;
}): Record<string, unknown>[] {
  const base = opts.base ?? "/api";
  const methods = ["get", "post", "put", "delete"];
  return [
    // The API alone: the manager does not run the registry's devices unless a test asks for it.
    {
      id: "m1",
      type: "datacoll-manager",
      store: "embedded",
      namespace: "rest:",
      runDevices: false,
      ...opts.manager,
    },
    ...methods.map((method) => ({
      id: `in-${method}`,
      type: "http in",
      url: `${base}/*`,
      method,
      wires: [["api"]],
    })),
    {
      id: "api",
      type: "datacoll-api",
      manager: "m1",
      basePath: base,
      maxBody: 100_000,
      wires: [["out"]],
      ...opts.api,
    },
    { id: "out", type: "http response", wires: [] },
  ];
}
