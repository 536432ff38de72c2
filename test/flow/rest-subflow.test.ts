import assert from "node:assert/strict";
import { helper, nodeModule, useNodeRed } from "../support/node-red";
import { HttpServer, httpNodes } from "../integration/rest/http-flow";

const manager = nodeModule("datacoll-manager");
const api = nodeModule("datacoll-api");
const rest = nodeModule("datacoll-rest");

describe("datacoll-rest subflow module", function () {
  useNodeRed();
  const http = new HttpServer();
  before(() => http.start());
  after(() => http.stop());

  it("serves the API at its URL and reaches its manager by namespace, with no config node inside", async function () {
    const flow = [
      { id: "f1", type: "tab", label: "plant" },
      { id: "m1", type: "datacoll-manager", name: "plant", store: "embedded", namespace: "plant:" },
      {
        id: "r1",
        type: "datacoll-rest",
        z: "f1",
        MANAGER: "plant:",
        URL: "/scada/*",
        MAX_BODY: 5000,
        x: 100,
        y: 100,
        wires: [],
      },
    ];
    await helper.load([manager, api, httpNodes, rest], flow);
    let r = await http.request("POST", "/scada/v1/items", { id: "power", unit: "kW" });
    assert.equal(r.status, 200, r.text);
    r = await http.request("GET", "/scada/v1/items/power");
    assert.equal((r.json() as { unit: string }).unit, "kW");
    r = await http.request("GET", "/scada/openapi.json");
    assert.deepEqual((r.json() as { servers: unknown }).servers, [{ url: "/scada" }]);
    r = await http.request(
      "POST",
      "/scada/v2/items",
      JSON.stringify([{ id: "x", description: "d".repeat(6000) }]),
    );
    assert.equal(r.status, 413, "MAX_BODY reaches the inner api node");
    r = await http.request("GET", "/api/v1/items");
    assert.equal(r.status, 404, "nothing is served outside its URL");
  });

  it("finds the manager by name too", async function () {
    const flow = [
      { id: "f1", type: "tab", label: "plant" },
      { id: "m1", type: "datacoll-manager", name: "plant", store: "embedded", namespace: "plant:" },
      {
        id: "r1",
        type: "datacoll-rest",
        z: "f1",
        MANAGER: "plant",
        URL: "/api/*",
        MAX_BODY: 1000000,
        x: 100,
        y: 100,
        wires: [],
      },
    ];
    await helper.load([manager, api, httpNodes, rest], flow);
    const r = await http.request("GET", "/api/v1/device_protocols");
    assert.equal(r.status, 200, r.text);
    const items = await http.request("GET", "/api/v1/items");
    assert.deepEqual(items.json(), []);
  });
});
