/**
 * The API node's guard on Node-RED's app for nodes (nodes/datacoll-api/http-guard.ts), in the test
 * runtime where RED.httpNode is served alone: a method the flow does not route, a path Express cannot
 * decode, and paths outside the base left to others. The real-process test
 * (test/integration/rest/error-shapes.test.ts) adds the editor's parsers in front.
 */
import assert from "node:assert/strict";
import { helper, nodeModule, useNodeRed } from "../support/node-red";
import { HttpServer, apiFlow, httpNodes } from "../integration/rest/http-flow";

const manager = nodeModule("datacoll-manager");
const api = nodeModule("datacoll-api");

describe("datacoll-api: requests no route handler saw", function () {
  useNodeRed();
  const http = new HttpServer();
  before(() => http.start());
  after(() => http.stop());

  it("answers them in the path's shape, and leaves paths outside its base alone", async function () {
    // Only GET is wired: the API takes POST on this path, the flow does not route it.
    const flow = apiFlow().filter((n) => n.type !== "http in" || n.method === "get");
    await helper.load([manager, api, httpNodes], flow);
    const post = await http.request("POST", "/api/v1/devices", { id: "d1", protocol: "virtual" });
    assert.equal(post.status, 405, post.text);
    assert.match(String(post.headers["content-type"]), /^text\/plain/);
    assert.match(post.text, /no http in node of this flow passes POST/);
    const patch = await http.request("PATCH", "/api/v2/devices");
    assert.deepEqual([patch.status, patch.headers.allow], [405, "GET, POST, DELETE"]);
    assert.equal((patch.json() as { error: string }).error, "method-not-allowed");
    const bad = await http.request("GET", "/api/v1/devices/%E0%A4%A");
    assert.deepEqual([bad.status, bad.text], [400, "the path is not valid URL encoding"]);
    const list = await http.request("GET", "/api/v1/devices");
    assert.equal(list.status, 200, "the wired method still reaches the API");
    // Outside the base: Express's own answer, not ours.
    const other = await http.request("GET", "/elsewhere");
    assert.equal(other.status, 404);
    assert.doesNotMatch(String(other.headers["content-type"]), /json|text\/plain/);
  });
});
