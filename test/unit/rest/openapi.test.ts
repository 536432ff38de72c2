import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ROUTES } from "../../../src/core/rest/routes";
import { Router } from "../../../src/core/rest/router";
import { SCHEMAS } from "../../../src/core/rest/schemas";
import { api } from "./helpers";

interface Doc {
  openapi: string;
  servers: { url: string }[];
  paths: Record<string, Record<string, { operationId: string; responses: Record<string, unknown> }>>;
}

describe("OpenAPI document", function () {
  it("is served at /openapi.json and lists exactly the routes the router answers", async function () {
    const a = api();
    const r = await a.call("GET", "/openapi.json");
    await a.close();
    assert.equal(r.status, 200);
    const doc = r.body as Doc;
    assert.equal(doc.openapi, "3.0.3");
    assert.deepEqual(doc.servers, [{ url: "/api" }]);
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    const routed = ROUTES.map((x) => `${x.method} ${x.path}`);
    assert.deepEqual(documented.sort(), [...routed].sort());
    assert.equal(new Set(routed).size, routed.length, "no route is listed twice");
    // Every documented operation reaches its own route when called with sample parameter values.
    const router = new Router();
    for (const [path, ops] of Object.entries(doc.paths)) {
      const concrete = path.replace(/\{(\w+)\}/g, (_m, n: string) => `sample-${n}`);
      for (const method of Object.keys(ops)) {
        const m = router.match(method.toUpperCase(), concrete);
        assert.equal(`${m.route.method} ${m.route.path}`, `${method.toUpperCase()} ${path}`);
      }
    }
    const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((o) => o.operationId));
    assert.equal(new Set(ids).size, ids.length, "operation ids are unique");
  });

  it("docs/rest-api.md lists every route", function () {
    const doc = fs.readFileSync(path.resolve(__dirname, "../../../docs/rest-api.md"), "utf8");
    const missing = ROUTES.filter((r) => !doc.includes(`| \`${r.method}\` | \`${r.path}\` |`)).map(
      (r) => `${r.method} ${r.path}`,
    );
    assert.deepEqual(missing, []);
  });

  it("refers only to schemas it defines", function () {
    const a = JSON.stringify(ROUTES.map((r) => [r.body?.schema, r.ok.schema]));
    for (const m of a.matchAll(/#\/components\/schemas\/(\w+)/g)) assert.ok(m[1] in SCHEMAS, m[1]);
  });
});
