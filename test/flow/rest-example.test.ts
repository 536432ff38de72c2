/**
 * examples/06-rest-api.json as users import it, driven by a client written the way the older system's
 * integrators wrote theirs: ids as text, numbers as text, object fields as JSON text, plain-text errors
 * compared exactly, and batch deletes through /api/v2.
 */
import assert from "node:assert/strict";
import { useNodeRed } from "../support/node-red";
import { HttpServer } from "../integration/rest/http-flow";
import { readExample, useExampleDatabase } from "../support/example-flow";

const example = readExample("06-rest-api.json");

/** The older client: each call checks the status it expects and returns the body. */
class OldClient {
  constructor(
    private readonly http: HttpServer,
    private readonly root: string,
  ) {}

  async call(method: string, p: string, body?: unknown, expect = 200): Promise<string> {
    const r = await this.http.request(method, `${this.root}${p}`, body);
    assert.equal(r.status, expect, `${method} ${p}: ${r.text}`);
    return r.text;
  }

  async json(method: string, p: string, body?: unknown): Promise<unknown> {
    return JSON.parse(await this.call(method, p, body)) as unknown;
  }
}

describe("examples/06-rest-api.json", function () {
  useNodeRed();
  const http = new HttpServer();
  before(() => http.start());
  after(() => http.stop());
  // The example saves what its registry points sample: into a database of this file's own.
  const db = useExampleDatabase("dc_ex06");
  const load = (): Promise<void> => db.load(example);

  it("has a Comment node explaining it", function () {
    const comments = example.filter((n) => (n as { type: string }).type === "comment") as { info?: string }[];
    assert.equal(comments.length, 1);
    assert.match(comments[0].info ?? "", /\/api/);
  });

  it("serves an older client's CRUD sequence unchanged", async function () {
    await load();
    const c = new OldClient(http, "/api");
    await c.call("GET", "/");
    assert.ok("modbus-tcp" in ((await c.json("GET", "/v1/device_protocols")) as object));
    assert.ok("iec104" in ((await c.json("GET", "/v1/term_protocols")) as object));

    // devices
    await c.call("POST", "/v1/devices", {
      id: "d1",
      name: "Meter gateway",
      protocol: "modbus-tcp",
      host: "127.0.0.1",
      port: "502",
    });
    await c.call("POST", "/v1/devices", { id: "d2", protocol: "iec104", host: "10.1.1.2", port: "2404" });
    await c.call("POST", "/v1/devices", { id: "calc", protocol: "formula" });
    assert.equal(
      await c.call("POST", "/v1/devices", { id: "d1", protocol: "modbus-tcp", host: "x" }, 409),
      "device already exists!",
    );
    assert.deepEqual(await c.json("GET", "/v1/devices"), ["calc", "d1", "d2"]);
    await c.call("PUT", "/v1/devices/d1", { name: "Boiler" });
    const d1 = (await c.json("GET", "/v1/devices/d1")) as Record<string, string>;
    assert.deepEqual([d1.name, d1.port, d1.host], ["Boiler", "502", "127.0.0.1"]);
    await c.call("PUT", "/v1/devices/d2", { id: "d3" });
    assert.equal(await c.call("GET", "/v1/devices/d2", undefined, 404), "device_id not found!");
    assert.equal(((await c.json("GET", "/v1/devices/d3")) as Record<string, string>).protocol, "iec104");

    // terms
    await c.call("POST", "/v1/terms", { id: "t1", name: "Meter 1", device_id: "d1", address: "1" });
    await c.call("POST", "/v1/terms", { id: "t2", device_id: "d3", address: "5", poll_interval: "0" });
    await c.call("POST", "/v1/terms", { id: "c1", device_id: "calc" });
    assert.equal(
      await c.call("POST", "/v1/terms", { id: "t9", device_id: "d2" }, 404),
      "device_id not found!",
    );
    assert.deepEqual(await c.json("GET", "/v1/devices/d1/terms"), ["t1"]);
    assert.equal(((await c.json("GET", "/v1/terms/t2")) as Record<string, string>).poll_interval, "0");

    // items and term items
    for (const [id, unit] of [
      ["i1", "kW"],
      ["i2", "kWh"],
      ["i3", "kW"],
    ])
      await c.call("POST", "/v1/items", { id, name: id.toUpperCase(), unit });
    assert.equal(await c.call("POST", "/v1/items", { id: "i1" }, 409), "item already exists!");
    await c.call("POST", "/v1/terms/t1/items", { item_id: "i1", address: "HR40001", coefficient: "0.1" });
    await c.call("POST", "/v1/terms/t1/items", { item_id: "i2", address: "HR40003" });
    await c.call("POST", "/v1/terms/t2/items", { item_id: "i1", address: "1001" });
    await c.call("POST", "/v1/terms/c1/items", { item_id: "i3" });
    assert.equal(
      await c.call("POST", "/v1/terms/t1/items", { item_id: "i1", address: "HR1" }, 409),
      "term_item already exists!",
    );
    assert.deepEqual(await c.json("GET", "/v1/terms/t1/items"), ["i1", "i2"]);
    await c.call("PUT", "/v1/terms/t1/items/i2", { address: "HR40010" });
    const ti = (await c.json("GET", "/v1/terms/t1/items/i2")) as Record<string, string>;
    assert.deepEqual([ti.address, ti.item_id, ti.term_id, ti.device_id], ["HR40010", "i2", "t1", "d1"]);
    assert.equal(await c.call("GET", "/v1/terms/t1/items/i3", undefined, 404), "term_item not found!");

    // formulas
    assert.equal(await c.call("POST", "/v1/formula_check", { expression: "p1 + p2" }), "OK");
    await c.call("POST", "/v1/formulas", {
      id: "f1",
      expression: "p1 + p2",
      params: JSON.stringify({ p1: "d1:t1:i1", p2: "d1:t1:i2" }),
      result: "calc:c1:i3",
    });
    const f1 = (await c.json("GET", "/v1/formulas/f1")) as Record<string, string>;
    assert.deepEqual(JSON.parse(f1.params), { p1: "d1:t1:i1", p2: "d1:t1:i2" });
    await c.call("PUT", "/v1/formulas/f1", { ...f1, expression: "p1 - p2" });
    assert.deepEqual(await c.json("GET", "/v1/formulas"), ["f1"]);

    // data
    await c.call("POST", "/v1/devices/d1/terms/t1/items/i1/datas", { value: 12.5, time: 1_700_000_000_000 });
    assert.deepEqual(await c.json("GET", "/v1/devices/d1/terms/t1/items/i1/datas"), {
      "2023-11-14T22:13:20.000000": "12.5",
    });

    // batch deletes, then nothing is left
    assert.deepEqual(await c.json("DELETE", "/v2/formulas", ["f1"]), { deleted: ["f1"] });
    await c.call("DELETE", "/v2/terms/t1/items", ["i1", "i2"]);
    await c.call("DELETE", "/v2/terms", ["t1", "t2", "c1"]);
    await c.call("DELETE", "/v2/items", ["i1", "i2", "i3"]);
    await c.call("DELETE", "/v2/devices", ["d1", "d3", "calc"]);
    for (const kind of ["devices", "terms", "items", "formulas"])
      assert.deepEqual(await c.json("GET", `/v1/${kind}`), []);
    assert.equal(await c.call("DELETE", "/v1/devices/d1", undefined, 404), "device_id not found!");
  });

  it("serves the same plant through its datacoll-rest node at /rest", async function () {
    await load();
    const api = new OldClient(http, "/api");
    const rest = new OldClient(http, "/rest");
    await api.call("POST", "/v1/items", { id: "i1" });
    assert.deepEqual(await rest.json("GET", "/v1/items"), ["i1"]);
    await rest.call("DELETE", "/v1/items/i1");
    assert.deepEqual(await api.json("GET", "/v1/items"), []);
  });
});
