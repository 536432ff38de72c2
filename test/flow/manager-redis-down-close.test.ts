/**
 * Stopping flows while the manager's Redis does not answer (#21): every node closes without waiting for
 * it, so Node-RED logs no "Close timed out" (its 15 s limit per node). The demo flow (example 07) is
 * loaded with its manager on Redis at a port nobody listens on: the manager, its device runtime and
 * leases, the check node's and the saver's own connections all hold commands for a server that is away.
 */
import assert from "node:assert/strict";
import { managers } from "../../src/core/manager";
import { useExampleDatabase, readExample } from "../support/example-flow";
import { freePort, until } from "../support/net";
import { helper, useNodeRed } from "../support/node-red";

interface LogEntry {
  readonly level: number;
  readonly type?: string;
  readonly msg?: unknown;
}
const logged = (): LogEntry[] => (helper.log().args as LogEntry[][]).flat();
const logText = (): string => JSON.stringify(logged());
/** What was logged as an error (Node-RED's level 20) or worse, e.g. "datacoll-save: Close timed out". */
const errorsLogged = (): string[] =>
  logged()
    .filter((e) => e.level <= 20)
    .map((e) => `${e.type ?? "runtime"}: ${String(e.msg)}`);

describe("stopping flows with Redis unreachable", function () {
  // A failure shows as Node-RED's close timeout (15 s per node); the default would end the test first.
  this.timeout(60_000);
  const example = useExampleDatabase("dc_redisdown");
  useNodeRed();

  it("closes every node of the demo flow without a close timeout", async function () {
    const port = await freePort(); // nobody listens there: Redis is unreachable
    const flow = readExample("07-full-pipeline.json").map((n) =>
      n.type === "datacoll-manager" ? { ...n, store: "redis", redisUrl: `redis://127.0.0.1:${port}` } : n,
    );
    const managerId = flow.find((n) => n.type === "datacoll-manager")?.id ?? "";
    await example.load(flow);
    const manager = managers.get(managerId);
    assert.ok(manager, "the manager was made");
    // Wait until the connections have failed and the users of Redis have asked it for something: the
    // registry load has given up once and the saver could not read its backlog.
    // (The test runtime logs message keys, not their texts.)
    await until(() => logText().includes("datacoll-manager.errors.device"), 20_000, "the failed load");
    await until(() => logText().includes("datacoll-save.outage.backlog"), 20_000, "the failed read");
    await until(() => manager.state.kind === "reconnecting", 20_000, "the store waiting to reconnect");
    // And one command of the test's own, queued while Redis is away: it must settle when the flow stops.
    const queued = manager.store.latest("dev:term:item").then(
      () => "answered",
      (err: Error) => err.message,
    );
    // Stopped, not unloaded: unloading stops logging first, and the close timeout is logged.
    await helper.clearFlows();
    assert.deepEqual(errorsLogged(), []);
    assert.equal(await queued, "Connection is closed.");
    assert.equal(manager.state.kind, "closed");
    assert.equal(managers.get(managerId), undefined, "the manager left the pool");
  });
});
