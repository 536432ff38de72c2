/**
 * The Node-RED runtime the flow tests load nodes into. `npm test` uses the Node-RED in devDependencies;
 * `npm run test:compat` points NODE_RED_PATH at another install (Node-RED 5 under Node 22).
 */
import helper from "node-red-node-test-helper";
import type { NodeAPI, NodeStatus } from "node-red";
import fs from "node:fs";
import path from "node:path";
import { expectNoLeaks, snapshotResources, type Snapshot } from "./leaks";
import { until } from "./net";

const nodeRedPath = process.env.NODE_RED_PATH
  ? require.resolve(path.resolve(process.env.NODE_RED_PATH))
  : require.resolve("node-red");
helper.init(nodeRedPath);

export { helper };

/** The version of the Node-RED the tests run against, e.g. "4.1.15". */
export function nodeRedVersion(): string {
  // The runtime entry is node-red/lib/red.js; its package.json is one folder up.
  const pkg = path.join(path.dirname(nodeRedPath), "..", "package.json");
  return (JSON.parse(fs.readFileSync(pkg, "utf8")) as { version: string }).version;
}

/**
 * A node's runtime module, loaded from its TypeScript source through tsx, so flow tests need no build and
 * several people can run them while others edit. The built package (dist/, what users install) is
 * loaded end to end by test/integration/package-load.test.ts.
 */
export function nodeModule(type: string): (RED: NodeAPI) => void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- nodes are CommonJS modules loaded by path
  return require(path.resolve(__dirname, "../../nodes", type, `${type}.ts`));
}

/**
 * Wire a mocha suite to the test runtime: one server for the suite, and after each test the flow is
 * unloaded and the leak check runs — a socket, server or timer of ours still alive fails the test.
 */
export function useNodeRed(): void {
  let baseline: Snapshot = new Set();
  before(function (done) {
    helper.startServer(done);
  });
  beforeEach(function () {
    baseline = snapshotResources();
  });
  afterEach(async function () {
    await helper.unload();
    await expectNoLeaks(baseline);
  });
  after(function (done) {
    helper.stopServer(done);
  });
}

/** Every status node `id` of the loaded flow shows from now on, in order. */
export function statusesOf(id: string): NodeStatus[] {
  const statuses: NodeStatus[] = [];
  helper.getNode(id).on("call:status", (call: { args: [NodeStatus] }) => statuses.push(call.args[0]));
  return statuses;
}

/** Wait until one of `statuses` passes `test`; a failure lists every status shown. */
export async function untilStatus(
  statuses: readonly NodeStatus[],
  test: (s: NodeStatus) => boolean,
  what: string,
  withinMs = 10_000,
): Promise<void> {
  await until(() => statuses.some(test), withinMs, what).catch((err: unknown) => {
    throw new Error(`${String(err)}; statuses: ${statuses.map((s) => `${s.fill} ${s.text}`).join(" | ")}`);
  });
}
