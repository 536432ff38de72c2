/**
 * 2,000 malformed requests over real HTTP — bad JSON, wrong types, huge bodies, unicode, path traversal
 * and injection-looking ids — from a seeded generator, so a failure replays exactly. Every one must get a
 * 4xx (never a 5xx, never a 2xx), and the registry must be as it was before.
 */
import assert from "node:assert/strict";
import { helper, nodeModule, useNodeRed } from "../support/node-red";
import { HttpServer, apiFlow, httpNodes } from "../integration/rest/http-flow";
import { linkManager, type ManagerNodeLike } from "../../nodes/datacoll-api/manager-link";
import type { Store } from "../../src/core/store/store";

const COUNT = 2000;
const MAX_BODY = 20_000;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Fuzz {
  readonly method: string;
  readonly path: string;
  readonly body?: string | Buffer;
  readonly type?: string;
}

// Ids no record has: each either breaks the id rule or simply does not exist.
const NASTY_IDS = [
  "'; DROP TABLE devices;--",
  "$(rm -rf /)",
  '{"$gt":""}',
  "<script>alert(1)</script>",
  "dc:*",
  "*",
  "../../etc/passwd",
  "..",
  ".",
  "%00",
  "a\u0000b",
  "\u202eevil",
  "zero\u200bwidth",
  "😀",
  "e\u0301",
  "x".repeat(300),
  "\r\nSet-Cookie: a=b",
  "__proto__",
  "constructor",
  "KEYS *",
  "SELECT * FROM points",
];

const BAD_JSON = [
  '{"id": "x",',
  "{id: 'x'}",
  "[1,2",
  "nul",
  '{"a":1}}',
  "\u0000\u0001",
  '{"id":"x"}garbage',
  "{".repeat(5000),
];

// Values no field accepts where they are sent: not text (ids, names, protocols), not a list of records.
const WRONG_VALUES: unknown[] = [
  null,
  true,
  1.5,
  [],
  [1, 2],
  {},
  { nested: { deep: [1] } },
  "x".repeat(5000),
  "has space",
];

const PATHS_WITH_ID = [
  "/v1/devices/{}",
  "/v1/terms/{}",
  "/v1/items/{}",
  "/v1/formulas/{}",
  "/v1/terms/t1/items/{}",
  "/v1/devices/{}/terms",
  "/v1/terms/{}/items",
  "/v1/devices/{}/status",
  // Not the datas paths: as in the older system, data of a point nobody knows is an empty answer (200).
];

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)];
}

function generate(rand: () => number): Fuzz {
  const kind = Math.floor(rand() * 9);
  const id = pick(rand, NASTY_IDS);
  switch (kind) {
    case 0: // bad JSON on a write
      return {
        method: pick(rand, ["POST", "PUT"]),
        path: pick(rand, [
          "/v1/devices",
          "/v1/devices/plc1",
          "/v2/items",
          "/v1/terms/t1/items",
          "/v1/formula_check",
          "/v2/import",
        ]),
        body: pick(rand, BAD_JSON),
        type: "application/json",
      };
    case 1: {
      // a create whose required field has the wrong type
      const v = pick(rand, WRONG_VALUES);
      const target = pick(rand, [
        ["/v1/devices", { id: "new1", protocol: v }],
        ["/v1/devices", { id: v, protocol: "virtual" }],
        ["/v1/terms", { id: "new1", deviceId: v }],
        ["/v1/items", { id: v }],
        ["/v1/terms/t1/items", { itemId: v }],
        ["/v1/formulas", { id: "new1", expression: v, params: {}, result: "calc:c1:power" }],
        ["/v2/devices", [{ id: "new1", protocol: v }]],
        ["/v2/items", Array.isArray(v) ? [v] : v],
        ["/v1/device_ctrl", { key: "plc1:t1:power", value: typeof v === "object" ? v : [v] }],
      ] as const);
      return { method: "POST", path: target[0], body: JSON.stringify(target[1]), type: "application/json" };
    }
    case 2: // huge body
      return {
        method: pick(rand, ["POST", "PUT"]),
        path: pick(rand, ["/v1/devices", "/v2/items", "/v1/items/power", "/v2/import"]),
        body: Buffer.alloc(MAX_BODY + 1 + Math.floor(rand() * 50_000), "a"),
        type: pick(rand, ["application/json", "text/csv", "text/plain"]),
      };
    case 3: // nasty ids in the path of a read, change or delete: nothing has them
      return {
        method: pick(rand, ["GET", "PUT", "DELETE"]),
        path: pick(rand, PATHS_WITH_ID).replace("{}", encodeURIComponent(id)),
        body: JSON.stringify({ name: "renamed" }),
        type: "application/json",
      };
    case 4: // traversal and odd paths
      return {
        method: pick(rand, ["GET", "POST", "DELETE"]),
        path: pick(rand, [
          "/v1/devices/../../../etc/passwd",
          "/v1/devices/%2e%2e%2f%2e%2e%2fetc",
          "/v1//devices",
          "/v1/devices/%ED%A0%80",
          "/v1/devices/%E0%A4%A",
          "/v3/devices",
          "/v1/../v2/devices/x",
          "/v1/devices/plc1/../../..",
          "/%00",
          "/v1/devices/%0d%0aX:%20y",
        ]),
      };
    case 5: // nasty ids inside bodies that are otherwise wrong too
      return {
        method: "POST",
        path: pick(rand, ["/v1/devices", "/v2/devices"]),
        body: JSON.stringify(pick(rand, [{ id, protocol: "teleport" }, [{ id, protocol: "modbus-tcp" }]])),
        type: "application/json",
      };
    case 6: // wrong method on a path
      return {
        method: pick(rand, ["PUT", "DELETE"]),
        path: pick(rand, [
          "/v1/devices",
          "/v1/device_protocols",
          "/openapi.json",
          "/v1/latest",
          "/v1/formula_check",
        ]),
      };
    case 7: // bytes that are not UTF-8, poisoned keys, forms
      return pick(rand, [
        {
          method: "POST",
          path: "/v1/items",
          body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
          type: "application/json",
        },
        {
          method: "POST",
          path: "/v1/items",
          body: '{"id":"p1","__proto__":{"admin":true}}',
          type: "application/json",
        },
        {
          method: "POST",
          path: "/v1/items",
          body: "__proto__=1&id=p2",
          type: "application/x-www-form-urlencoded",
        },
        {
          method: "POST",
          path: "/v1/devices",
          body: "id=p3&protocol=carrier-pigeon",
          type: "application/x-www-form-urlencoded",
        },
        { method: "POST", path: "/v2/import", body: 'kind,id\nitem,"unclosed\n', type: "text/csv" },
        { method: "POST", path: "/v2/import", body: "kind,id\nwidget,x\n", type: "text/csv" },
      ]);
    default: {
      // bad query values
      const bad = (list: readonly string[]): string => encodeURIComponent(pick(rand, list));
      return {
        method: "GET",
        path: pick(rand, [
          `/v1/latest?pattern=${bad(["a:b:c:d", "#:x", "a b:c", "*:#:x", "a::b"])}`,
          `/v1/alarms?key=${bad(["a:b", "a:b:c:d", "x", "a b:c:d", id])}`,
          `/v1/devices/plc1/terms/t1/items/power/datas?count=${bad(["-1", "1e999", "abc", "0", "10001", "1.5"])}`,
        ]),
      };
    }
  }
}

async function snapshot(store: Store): Promise<string> {
  const r = store.registry;
  return JSON.stringify([
    await r.listDevices(),
    await r.listTerms(),
    await r.listItems(),
    await r.listPoints(),
    await r.listFormulas(),
  ]);
}

describe("datacoll-api fuzz", function () {
  this.timeout(120_000);
  useNodeRed();
  const http = new HttpServer();
  before(() => http.start());
  after(() => http.stop());

  it(`answers ${COUNT} malformed requests with 4xx only and leaves the registry unchanged`, async function () {
    await helper.load(
      [nodeRedManager(), nodeModule("datacoll-api"), httpNodes],
      apiFlow({ api: { maxBody: MAX_BODY } }),
    );
    const link = linkManager(helper.getNode("m1") as unknown as ManagerNodeLike);
    try {
      const reg = link.store.registry;
      await reg.putDevice({ id: "plc1", protocol: "modbus-tcp", host: "10.0.0.5" });
      await reg.putDevice({ id: "calc", protocol: "formula" });
      await reg.putTerm({ id: "t1", deviceId: "plc1" });
      await reg.putTerm({ id: "c1", deviceId: "calc" });
      await reg.putItem({ id: "power" });
      await reg.putPoint({ deviceId: "plc1", termId: "t1", itemId: "power", address: "HR40001" });
      await reg.putPoint({ deviceId: "calc", termId: "c1", itemId: "power" });
      await reg.putFormula({
        id: "f1",
        expression: "p1",
        params: { p1: "plc1:t1:power" },
        result: "calc:c1:power",
      });
      const before = await snapshot(link.store);
      const rand = mulberry32(20261121);
      const wrong: string[] = [];
      const statuses = new Map<number, number>();
      for (let i = 0; i < COUNT; i++) {
        const f = generate(rand);
        const r = await http.request(
          f.method,
          `/api${f.path}`,
          f.body,
          f.type ? { "content-type": f.type } : {},
        );
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status < 400 || r.status >= 500)
          wrong.push(`#${i} ${f.method} ${f.path} → ${r.status} ${r.text.slice(0, 120)}`);
      }
      assert.deepEqual(wrong, []);
      assert.equal(await snapshot(link.store), before, "the registry is unchanged");
      // The generator reaches each kind of refusal, so the run tests what it claims to.
      for (const s of [400, 404, 405, 413])
        assert.ok((statuses.get(s) ?? 0) > 20, `few ${s}: ${JSON.stringify([...statuses])}`);
    } finally {
      await link.release();
    }
  });
});

function nodeRedManager(): ReturnType<typeof nodeModule> {
  return nodeModule("datacoll-manager");
}
