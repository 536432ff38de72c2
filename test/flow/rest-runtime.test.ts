/**
 * device_call and device_ctrl end to end: the manager config node runs the registry's devices, the plant
 * is created through the REST API, and the device is our Modbus simulator over real TCP.
 */
import assert from "node:assert/strict";
import { helper, nodeModule, useNodeRed } from "../support/node-red";
import { HttpServer, apiFlow, httpNodes, type Reply } from "../integration/rest/http-flow";
import { ModbusSimulator } from "../../src/core/modbus/simulator";
import { systemClock } from "../../src/transport/connection";
import { until } from "../support/net";

const manager = nodeModule("datacoll-manager");
const api = nodeModule("datacoll-api");

describe("datacoll-api with the manager runtime (Modbus simulator)", function () {
  useNodeRed();
  const http = new HttpServer();
  let sim: ModbusSimulator;
  let port = 0;
  // The simulator lives for the suite, so the leak check after each test sees only what the flow made.
  before(async function () {
    await http.start();
    sim = new ModbusSimulator({ units: [1], clock: systemClock });
    port = await sim.listen(0);
    sim.set(1, "HR0:float32", 230.5);
  });
  after(async function () {
    await sim.close();
    await http.stop();
  });

  it("reads a point on demand and writes a setpoint, answering with the value and the confirmation", async function () {
    await helper.load([manager, api, httpNodes], apiFlow({ manager: { runDevices: true } }));
    const ok = async (method: string, path: string, body: unknown): Promise<void> => {
      const r = await http.request(method, path, body);
      assert.equal(r.status, 200, `${path}: ${r.text}`);
    };
    await ok("POST", "/api/v1/devices", {
      id: "m1",
      protocol: "modbus-tcp",
      host: "127.0.0.1",
      port,
      options: { timeout: 500 },
    });
    await ok("POST", "/api/v1/terms", { id: "t1", device_id: "m1", address: 1, pollInterval: 60_000 });
    await ok("POST", "/api/v1/items", { id: "volts" });
    await ok("POST", "/api/v1/items", { id: "setpoint" });
    await ok("POST", "/api/v1/terms/t1/items", { item_id: "volts", address: "HR0:float32" });
    await ok("POST", "/api/v1/terms/t1/items", { item_id: "setpoint", address: "HR10:int16" });
    // The runner applies registry changes on its own schedule; a call before that is refused.
    let call: Reply | undefined;
    await until(
      async () => {
        call = await http.request("POST", "/api/v1/device_call", {
          device_id: "m1",
          term_id: "t1",
          item_id: "volts",
        });
        // 503 until the device runs here, 404 from the runtime until it has planned the new point.
        return call.status !== 503 && call.status !== 404;
      },
      3000,
      "device_call answered",
    );
    assert.equal(call?.status, 200, call?.text);
    const sample = call?.json() as { value: number; cause: string; key: string };
    assert.deepEqual([sample.key, sample.value], ["m1:t1:volts", 230.5]);
    const ctrl = await http.request("POST", "/api/v1/device_ctrl", { key: "m1:t1:setpoint", value: 55 });
    assert.equal(ctrl.status, 200, ctrl.text);
    const confirmation = ctrl.json() as { confirmed: boolean; value: number };
    assert.deepEqual([confirmation.confirmed, confirmation.value], [true, 55]);
    assert.equal(sim.get(1, "HR10:int16"), 55);
  });
});
