/** The manager config node running registry devices: no poll node drawn, no redeploy. */
import assert from "node:assert/strict";
import { managers } from "../../src/core/manager";
import { freePort, until } from "../support/net";
import { helper, nodeModule, useNodeRed } from "../support/node-red";

const nodes = ["datacoll-manager", "datacoll-modbus-server"].map(nodeModule);

describe("datacoll-manager running the registry", function () {
  useNodeRed();

  it("polls a device created in its registry within a second and stops when it is deleted", async function () {
    const port = await freePort();
    await helper.load(nodes, [
      { id: "mgr", type: "datacoll-manager", store: "embedded", namespace: "rt:" },
      {
        id: "srv",
        type: "datacoll-modbus-server",
        port: String(port),
        units: "3",
        generators: [],
        wires: [[]],
      },
    ]);
    helper.getNode("srv").receive({ unit: 3, topic: "HR7:int32", payload: -123456 });
    const manager = managers.get("mgr");
    assert.ok(manager, "the config node made its manager");
    const r = manager.registry;
    await r.putDevice({ id: "meter", protocol: "modbus-tcp", host: "127.0.0.1", port });
    await r.putTerm({ id: "m3", deviceId: "meter", address: 3, pollInterval: 200 });
    await r.putItem({ id: "energy" });
    await r.putPoint({ deviceId: "meter", termId: "m3", itemId: "energy", address: "HR7:int32" });
    await until(
      async () => (await manager.store.latest("meter:m3:energy"))?.value === -123456,
      1000,
      "the value",
    );
    assert.equal((await manager.store.deviceStatus("meter"))?.online, true);
    const call = await manager.restActions?.call("meter:m3:energy");
    assert.equal(call?.cause, "call");
    await r.deleteDevice("meter");
    await until(
      async () =>
        (await manager.restActions?.call("meter:m3:energy").then(
          () => false,
          (err: Error) => /not running/.test(err.message),
        )) === true,
      1000,
      "the device to stop",
    );
  });
});
