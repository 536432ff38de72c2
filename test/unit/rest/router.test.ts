import assert from "node:assert/strict";
import { api, seed, type Api } from "./helpers";
import type { RestActions } from "../../../src/core/rest/types";
import { GOOD } from "../../../src/core/model/datapoint";
import { PROTOCOLS } from "../../../src/core/model/device";

describe("REST handlers", function () {
  let a: Api;
  afterEach(async function () {
    await a.close();
  });

  describe("older v1 paths", function () {
    beforeEach(async function () {
      a = api();
      await seed(a);
    });

    it("lists ids and returns records as objects of string fields", async function () {
      assert.deepEqual((await a.call("GET", "/v1/devices")).body, ["calc", "plc1"]);
      const d = await a.call("GET", "/v1/devices/plc1");
      assert.equal(d.status, 200);
      // A record written through v1 answers with the fields its client sent, as text.
      assert.deepEqual(d.body, { id: "plc1", protocol: "modbus-tcp", host: "10.0.0.5" });
      const t = (await a.call("GET", "/v1/terms/t1")).body as Record<string, string>;
      assert.deepEqual(t, { id: "t1", device_id: "plc1", address: "1" });
      // One written otherwise answers with every field, ids in both spellings.
      assert.equal((await a.call("POST", "/v2/devices", [{ id: "v2", protocol: "virtual" }])).status, 200);
      const body = (await a.call("GET", "/v1/devices/v2")).body as Record<string, unknown>;
      assert.deepEqual([body.enabled, body.options, body.host], ["true", "{}", ""]);
      assert.ok(Object.values(body).every((v) => typeof v === "string"));
      await a.call("POST", "/v2/terms", [{ id: "t2", deviceId: "v2" }]);
      const t2 = (await a.call("GET", "/v1/terms/t2")).body as Record<string, string>;
      assert.deepEqual([t2.device_id, t2.deviceId, t2.pollInterval], ["v2", "v2", "1000"]);
      assert.deepEqual((await a.call("GET", "/v1/devices/plc1/terms")).body, ["t1"]);
      assert.deepEqual((await a.call("GET", "/v1/terms/t1/items")).body, ["energy", "power"]);
    });

    it("answers unknown ids with 404 and the older plain-text messages", async function () {
      const cases: [string, string, string][] = [
        ["GET", "/v1/devices/nope", "device_id not found!"],
        ["DELETE", "/v1/terms/nope", "term_id not found!"],
        ["PUT", "/v1/items/nope", "item_id not found!"],
        ["GET", "/v1/formulas/nope", "formula_id not found!"],
        ["GET", "/v1/terms/t1/items/nope", "item_id not found!"],
        ["GET", "/v1/terms/c1/items/energy", "term_item not found!"],
        ["PUT", "/v1/terms/nope/items/power", "term_item not found!"],
        ["GET", "/v1/terms/nope/items", "term_id not found!"],
        ["GET", "/v1/devices/nope/terms", "device_id not found!"],
      ];
      for (const [method, path, message] of cases) {
        const r = await a.call(method, path, method === "PUT" ? { name: "x" } : undefined);
        assert.equal(r.status, 404, `${method} ${path}`);
        assert.equal(r.body, message, `${method} ${path}`);
        assert.match(r.headers["content-type"], /^text\/plain/);
      }
      const r = await a.call("POST", "/v1/terms", { id: "t9", device_id: "ghost" });
      assert.deepEqual([r.status, r.body], [404, "device_id not found!"]);
    });

    it("answers duplicates with 409 and the older messages", async function () {
      const cases: [string, unknown, string][] = [
        ["/v1/devices", { id: "plc1", protocol: "virtual" }, "device already exists!"],
        ["/v1/terms", { id: "t1", deviceId: "plc1" }, "term already exists!"],
        ["/v1/items", { id: "power" }, "item already exists!"],
        ["/v1/terms/t1/items", { item_id: "power", address: "HR40010" }, "term_item already exists!"],
      ];
      for (const [path, body, message] of cases) {
        const r = await a.call("POST", path, body);
        assert.deepEqual([r.status, r.body], [409, message], path);
      }
    });

    it("keeps the older fixed texts and says which record beside them, in X-Datacoll-Detail", async function () {
      const formula = { id: "f9", formula: "p1+1", device_id: "calc", term_id: "c1", item_id: "power" };
      const cases: [string, string, unknown, number, string, string][] = [
        // The formula's point is missing: the text older clients compare, and which point.
        [
          "POST",
          "/v1/formulas",
          { ...formula, p1: "1:10:1000" },
          404,
          "term_item not found!",
          "point 1:10:1000 does not exist",
        ],
        [
          "POST",
          "/v1/formulas",
          { ...formula, item_id: "nope", p1: "plc1:t1:power" },
          404,
          "term_item not found!",
          "point calc:c1:nope does not exist",
        ],
        ["GET", "/v1/devices/nope", undefined, 404, "device_id not found!", "device nope does not exist"],
        [
          "POST",
          "/v1/terms",
          { id: "t9", device_id: "ghost" },
          404,
          "device_id not found!",
          "device ghost does not exist",
        ],
        [
          "GET",
          "/v1/terms/c1/items/energy",
          undefined,
          404,
          "term_item not found!",
          "point calc:c1:energy does not exist",
        ],
        [
          "POST",
          "/v1/terms/t1/items",
          { item_id: "ghost" },
          404,
          "item_id not found!",
          "item ghost does not exist",
        ],
        [
          "POST",
          "/v1/devices",
          { id: "plc1", protocol: "virtual" },
          409,
          "device already exists!",
          "device plc1 already exists",
        ],
        [
          "POST",
          "/v1/terms/t1/items",
          { term_id: "t2", item_id: "power" },
          400,
          "term_id mismatch in url and body!",
          'the body\'s term_id "t2" is not the path\'s "t1"',
        ],
        [
          "POST",
          "/v2/formulas/del",
          ["nope", "nope2"],
          404,
          "formula_id not found!",
          "formula nope does not exist; formula nope2 does not exist",
        ],
        [
          "POST",
          "/v1/device_call",
          { device_id: "plc1", term_id: "t1", item_id: "zz" },
          404,
          "item_id not found!",
          "item zz does not exist",
        ],
      ];
      for (const [method, path, body, status, text, detail] of cases) {
        const r = await a.call(method, path, body);
        assert.deepEqual([r.status, r.body], [status, text], `${method} ${path}`);
        assert.equal(r.headers["x-datacoll-detail"], detail, `${method} ${path}`);
      }
      // A parent without children answers as if it did not exist; the header tells which it is.
      await a.call("POST", "/v1/devices", { id: "empty", protocol: "virtual" });
      const none = await a.call("GET", "/v1/devices/empty/terms");
      assert.deepEqual(
        [none.body, none.headers["x-datacoll-detail"]],
        ["device_id not found!", "device empty has no terms"],
      );
      const ghost = await a.call("GET", "/v1/devices/ghost/terms");
      assert.equal(ghost.headers["x-datacoll-detail"], "device ghost does not exist");
      // Header values are visible ASCII: other characters and % itself are percent-encoded (UTF-8).
      const chinese = await a.call("GET", "/v1/devices/%E7%94%B5%E8%A1%A8%25");
      assert.equal(chinese.headers["x-datacoll-detail"], "device %E7%94%B5%E8%A1%A8%25 does not exist");
      assert.equal(
        decodeURIComponent(String(chinese.headers["x-datacoll-detail"])),
        "device 电表% does not exist",
      );
      // A JSON error says it all in its body and has no such header.
      const json = await a.call("GET", "/v1/alarms?key=nokey");
      assert.equal(json.headers["x-datacoll-detail"], undefined);
    });

    it("answers invalid fields with 400 naming the field", async function () {
      const r = await a.call("POST", "/v1/devices", {
        id: "d2",
        protocol: "modbus-tcp",
        host: "h",
        port: 70000,
      });
      assert.equal(r.status, 400);
      assert.match(String(r.body), /^port must be at most 65535/);
      const t = await a.call("POST", "/v1/terms", { id: "t2", deviceId: "plc1", address: 300 });
      assert.equal(t.status, 400);
      assert.match(String(t.body), /^address must be a Modbus unit id/);
    });

    it("accepts a form body and JSON text in object fields", async function () {
      const r = await a.call(
        "POST",
        "/v1/devices",
        "id=d3&protocol=modbus-tcp&host=10.0.0.9&port=1502&options=%7B%22timeout%22%3A500%7D",
        { contentType: "application/x-www-form-urlencoded" },
      );
      assert.equal(r.status, 200, String(r.body));
      const d = await a.store.registry.getDevice("d3");
      assert.equal(d?.port, 1502);
      assert.deepEqual(d?.options, { timeout: 500 });
    });

    it("reads a bare id as JSON whatever its label, as the older system did (a v2 delete of one id)", async function () {
      // Python's urllib and `curl -d` label a body a form; as a form, `2290` would be a field named 2290.
      for (const [id, contentType] of [
        ["2290", "application/x-www-form-urlencoded"],
        ["2291", "text/plain"],
        ["2292", undefined],
      ] as const) {
        assert.equal((await a.call("POST", "/v1/items", { id })).status, 200);
        const r = await a.call("POST", "/v2/items/del", id, { contentType });
        assert.deepEqual([r.status, r.body], [200, ""], `${id} as ${contentType ?? "no type"}`);
        assert.equal(await a.store.registry.getItem(id), undefined, `${id} deleted`);
      }
    });

    it("PUT merges the fields given and a record read back can be sent again", async function () {
      const got = (await a.call("GET", "/v1/devices/plc1")).body;
      const r = await a.call("PUT", "/v1/devices/plc1", { ...(got as object), name: "Main PLC" });
      assert.equal(r.status, 200, String(r.body));
      const d = await a.store.registry.getDevice("plc1");
      assert.equal(d?.name, "Main PLC");
      assert.equal(d?.host, "10.0.0.5");
      const p = (await a.call("GET", "/v1/terms/t1/items/power")).body as Record<string, string>;
      const r2 = await a.call("PUT", "/v1/terms/t1/items/power", { ...p, coefficient: "0.1" });
      assert.equal(r2.status, 200, String(r2.body));
      assert.equal((await a.store.registry.getPoint("plc1:t1:power"))?.coefficient, 0.1);
    });

    it("names a missing address as the older client spells it, protocol_code", async function () {
      await a.call("POST", "/v1/items", { id: "volts" });
      const older = await a.call("POST", "/v1/terms/t1/items", { term_id: "t1", item_id: "volts" });
      assert.deepEqual(
        [older.status, older.body],
        [400, "protocol_code is required for a point on a modbus-tcp device"],
      );
      // A client of the model's names hears the model's.
      const newer = await a.call("POST", "/v2/terms/t1/items", [{ itemId: "volts" }]);
      assert.equal(newer.status, 400);
      assert.match(JSON.stringify(newer.body), /address is required for a point on a modbus-tcp device/);
    });

    it("stores an older client's constant formula, and names in its spelling what a formula needs", async function () {
      const constant = { id: "k1", formula: "1+1", device_id: "calc", term_id: "c1", item_id: "power" };
      const r = await a.call("POST", "/v1/formulas", constant);
      assert.deepEqual([r.status, r.body], [200, ""]);
      assert.deepEqual((await a.call("GET", "/v1/formulas/k1")).body, constant);
      assert.deepEqual((await a.store.registry.getFormula("k1"))?.params, {});
      const v2 = await a.call("POST", "/v2/formulas", [{ ...constant, id: "k2", formula: "2*3" }]);
      assert.deepEqual([v2.status, v2.body], [200, ""]);
      // A v2 row merged into a stored formula gives only what it changes, as the older clients send it.
      const merged = await a.call("POST", "/v2/formulas", [{ id: "k2", formula: "3*4" }]);
      assert.deepEqual([merged.status, merged.body], [200, ""]);
      const k2 = await a.store.registry.getFormula("k2");
      assert.deepEqual([k2?.expression, k2?.result], ["3*4", "calc:c1:power"]);
      const noResult = await a.call("POST", "/v1/formulas", {
        id: "k3",
        formula: "p1+1",
        p1: "plc1:t1:power",
      });
      assert.equal(noResult.status, 400);
      assert.match(String(noResult.body), /^device_id, term_id and item_id are required/);
      const noFormula = await a.call("POST", "/v1/formulas", { ...constant, id: "k4", formula: undefined });
      assert.deepEqual(
        [noFormula.status, noFormula.body],
        [400, "formula is required: the expression to compute"],
      );
      assert.deepEqual(
        (await a.store.registry.listFormulas())
          .map((f) => f.id)
          .filter((id) => id.startsWith("k"))
          .sort(),
        ["k1", "k2"],
      );
    });

    it("PUT with a new id renames the entity and re-keys what depends on it", async function () {
      await a.call("POST", "/v1/formulas", {
        id: "f1",
        expression: "p1 * 2",
        params: { p1: "plc1:t1:power" },
        result: "calc:c1:power",
      });
      let r = await a.call("PUT", "/v1/devices/plc1", { id: "plc9" });
      assert.deepEqual([r.status, r.body], [200, ""]);
      assert.equal(((await a.call("GET", "/v1/devices/plc9")).body as Record<string, string>).id, "plc9");
      assert.equal(await a.store.registry.getDevice("plc1"), undefined);
      assert.equal((await a.store.registry.getTerm("t1"))?.deviceId, "plc9");
      assert.deepEqual((await a.store.registry.listPoints({ deviceId: "plc9" })).map((p) => p.key).sort(), [
        "plc9:t1:energy",
        "plc9:t1:power",
      ]);
      assert.deepEqual((await a.store.registry.getFormula("f1"))?.params, { p1: "plc9:t1:power" });
      r = await a.call("PUT", "/v1/items/power", { id: "kw" });
      assert.equal(r.status, 200, String(r.body));
      assert.equal((await a.store.registry.getFormula("f1"))?.result, "calc:c1:kw");
      r = await a.call("PUT", "/v1/terms/t1/items/energy", { item_id: "kw" });
      assert.deepEqual([r.status, r.body], [409, "term_item already exists!"]);
      r = await a.call("PUT", "/v1/items/kw", { id: "energy" });
      assert.deepEqual([r.status, r.body], [409, "item already exists!"]);
      assert.ok(await a.store.registry.getPoint("plc9:t1:kw"), "a refused rename changes nothing");
    });

    it("a rename that fails part-way (a point the new record refuses) writes nothing", async function () {
      const before = await a.store.registry.listPoints({ deviceId: "plc1" });
      // The device's points have Modbus addresses, which an IEC 104 device refuses: the rename fails at
      // the first re-created point, after the old device was deleted and the new one put in the batch.
      const r = await a.call("PUT", "/v1/devices/plc1", { id: "plc9", protocol: "iec104", host: "10.0.0.9" });
      assert.equal(r.status, 400, String(r.body));
      assert.match(String(r.body), /address/);
      assert.equal(await a.store.registry.getDevice("plc9"), undefined);
      assert.equal((await a.store.registry.getDevice("plc1"))?.protocol, "modbus-tcp");
      assert.equal((await a.store.registry.getTerm("t1"))?.deviceId, "plc1");
      assert.deepEqual(await a.store.registry.listPoints({ deviceId: "plc1" }), before);
    });

    it("DELETE cascades and answers 200 with an empty body, as the older system", async function () {
      const r = await a.call("DELETE", "/v1/devices/plc1");
      assert.deepEqual([r.status, r.body], [200, ""]);
      assert.equal(await a.store.registry.getTerm("t1"), undefined);
      assert.deepEqual((await a.call("GET", "/v1/terms")).body, ["c1"]);
    });

    it("datas answers {time: value} maps as the older system, newest first, and one sample by index", async function () {
      const T = 1_700_000_000_000;
      // The older system's keys: Python isoformat of the UTC time, with microseconds; values as Python
      // wrote its floats (every stored value was raw × coefficient + base_val, a float).
      const t = (ms: number): string => `2023-11-14T22:13:20.00${ms}000`;
      for (const [i, v] of [10, 20, 30].entries()) {
        const r = await a.call("POST", "/v1/devices/plc1/terms/t1/items/power/datas", {
          value: v,
          time: T + i,
        });
        assert.equal(r.status, 200, String(r.body));
      }
      const all = await a.call("GET", "/v1/devices/plc1/terms/t1/items/power/datas");
      assert.deepEqual(all.body, { [t(2)]: "30.0", [t(1)]: "20.0", [t(0)]: "10.0" });
      assert.deepEqual(Object.keys(all.body as object), [t(2), t(1), t(0)]);
      const one = await a.call("GET", "/v1/devices/plc1/terms/t1/items/power/datas?count=1");
      assert.deepEqual(one.body, { [t(2)]: "30.0" });
      // As the older system's list: 0 the oldest, -1 the newest, a pair of nulls past either end.
      const at = async (i: number): Promise<unknown> =>
        (await a.call("GET", `/v1/devices/plc1/terms/t1/items/power/datas/${i}`)).body;
      assert.deepEqual(await at(0), { [t(0)]: "10.0" });
      assert.deepEqual(await at(1), { [t(1)]: "20.0" });
      assert.deepEqual(await at(-1), { [t(2)]: "30.0" });
      assert.deepEqual(await at(-3), { [t(0)]: "10.0" });
      assert.deepEqual(await at(7), { null: null });
      assert.deepEqual(await at(-4), { null: null });
      const none = await a.call("GET", "/v1/devices/plc1/terms/t1/items/nope/datas");
      assert.deepEqual([none.status, none.body], [200, {}]);
      const bad = await a.call("GET", "/v1/devices/plc1/terms/t1/items/power/datas?count=0");
      assert.equal(bad.status, 400);
      const latest = await a.store.latest("plc1:t1:power");
      assert.deepEqual([latest?.cause, latest?.quality], ["manual", { substituted: true }]);
    });

    it("datas without a count answers the whole history kept, as the older system's whole hash", async function () {
      // Old clients ask for no count: a short default would cut their history silently.
      for (let i = 0; i < 150; i++) {
        const r = await a.call("POST", "/v1/devices/plc1/terms/t1/items/energy/datas", {
          value: i,
          time: 1_700_000_000_000 + i * 1000,
        });
        assert.equal(r.status, 200, String(r.body));
      }
      const all = (await a.call("GET", "/v1/devices/plc1/terms/t1/items/energy/datas")).body as object;
      assert.equal(Object.keys(all).length, 150);
      assert.deepEqual(Object.values(all).slice(-2), ["1.0", "0.0"]);
      // Any whole index is asked as in the older list: past what is read, a pair of nulls; not a 400.
      const at = async (i: string): Promise<[number, unknown]> => {
        const r = await a.call("GET", `/v1/devices/plc1/terms/t1/items/energy/datas/${i}`);
        return [r.status, r.body];
      };
      for (const i of ["10000", "-10001", "99999999", "-150000"])
        assert.deepEqual(await at(i), [200, { null: null }], i);
      assert.deepEqual(await at("149"), [200, { "2023-11-14T22:15:49.000000": "149.0" }]);
      assert.equal((await at("abc"))[0], 400);
      assert.equal((await at("1.5"))[0], 400);
    });

    it("formula_check answers OK or the formula engine's words", async function () {
      const ok = await a.call("POST", "/v1/formula_check", { expression: "p1 + p2 * 2" });
      assert.deepEqual([ok.status, ok.body], [200, "OK"]);
      const bound = await a.call("POST", "/v1/formula_check", {
        expression: "p1",
        params: { p1: "plc1:t1:nope" },
      });
      // Always 200, as in the older system: the text says what is wrong.
      assert.equal(bound.status, 200);
      assert.match(String(bound.body), /not a known point/);
      const older = await a.call("POST", "/v1/formula_check", { formula: "p1 + p2", p1: "plc1:t1:power" });
      assert.match(String(older.body), /p2/);
      // A window over a parameter nobody bound names the parameter, not the function's first argument.
      const window = await a.call("POST", "/v1/formula_check", {
        formula: 'avg(p2,"5m")',
        p1: "plc1:t1:power",
      });
      assert.deepEqual(
        [window.status, window.body],
        [200, "p2 is used but not bound to a point; add it to the parameters"],
      );
      const bad = await a.call("POST", "/v1/formula_check", { expression: "p1 +* (" });
      assert.equal(bad.status, 200);
      assert.equal(typeof bad.body, "string");
      assert.notEqual(bad.body, "OK");
    });

    it("lists the protocols this product speaks", async function () {
      const device = (await a.call("GET", "/v1/device_protocols")).body as Record<string, string>;
      assert.deepEqual(Object.keys(device).sort(), [...PROTOCOLS].sort());
      const term = (await a.call("GET", "/v1/term_protocols")).body as Record<string, string>;
      for (const p of ["modbus-tcp", "iec104", "formula", "dlt645", "gdw130", "Modbus"])
        assert.ok(term[p], p);
    });
  });

  describe("device_call and device_ctrl", function () {
    it("answer 503 with a clear message when no runtime provides actions", async function () {
      a = api();
      await seed(a);
      const r = await a.call("POST", "/v1/device_call", {
        device_id: "plc1",
        term_id: "t1",
        item_id: "power",
      });
      assert.equal(r.status, 503);
      assert.match(String(r.body), /device_call needs the device runtime/);
      const c = await a.call("POST", "/v1/device_ctrl", { key: "plc1:t1:power", value: 1 });
      assert.equal(c.status, 503);
    });

    it("call the runtime and answer with the value or the confirmation", async function () {
      const seen: string[] = [];
      const actions: RestActions = {
        call: async (key) => {
          seen.push(`call ${key}`);
          if (key === "plc1:t1:energy") {
            const quality = { notTopical: true };
            return {
              key,
              deviceId: "plc1",
              termId: "t1",
              itemId: "energy",
              value: null,
              ts: 5,
              quality,
              cause: "call",
              error: "unit 1: no answer in 1000 ms",
            };
          }
          return {
            key,
            deviceId: "plc1",
            termId: "t1",
            itemId: "power",
            value: 42,
            ts: 5,
            quality: GOOD,
            cause: "call",
          };
        },
        control: async (key, value) => {
          seen.push(`ctrl ${key}=${String(value)}`);
          if (value === 666) throw new Error("the device refused the command");
          return { key, value, confirmed: true, ts: 6 };
        },
      };
      a = api(actions);
      await seed(a);
      const r = await a.call("POST", "/v1/device_call", {
        device_id: "plc1",
        term_id: "t1",
        item_id: "power",
      });
      assert.equal(r.status, 200);
      assert.equal((r.body as { value: number }).value, 42);
      const c = await a.call("POST", "/v1/device_ctrl", { key: "plc1:t1:power", value: 7 });
      assert.deepEqual(c.body, {
        key: "plc1:t1:power",
        value: 7,
        confirmed: true,
        ts: 6,
        // The older reply's fields, besides ours.
        device_id: "plc1",
        term_id: "t1",
        item_id: "power",
        time: "1970-01-01T00:00:00.006000",
      });
      const refused = await a.call("POST", "/v1/device_ctrl", { key: "plc1:t1:power", value: 666 });
      assert.deepEqual([refused.status, refused.body], [502, "the device refused the command"]);
      const failed = await a.call("POST", "/v1/device_call", { key: "plc1:t1:energy" });
      assert.deepEqual([failed.status, failed.body], [502, "unit 1: no answer in 1000 ms"]);
      const unknown = await a.call("POST", "/v1/device_call", { key: "plc1:t1:nope" });
      assert.deepEqual([unknown.status, unknown.body], [404, "item_id not found!"]);
      const notBound = await a.call("POST", "/v1/device_call", { key: "calc:c1:energy" });
      assert.deepEqual([notBound.status, notBound.body], [404, "term_item not found!"]);
      const noValue = await a.call("POST", "/v1/device_ctrl", { key: "plc1:t1:power" });
      assert.equal(noValue.status, 400);
      assert.deepEqual(seen, [
        "call plc1:t1:power",
        "ctrl plc1:t1:power=7",
        "ctrl plc1:t1:power=666",
        "call plc1:t1:energy",
      ]);
    });
  });

  describe("v2 batch forms", function () {
    beforeEach(async function () {
      a = api();
      await seed(a);
    });

    it("creates all records or none, reporting every wrong row; an existing id is merged", async function () {
      const r = await a.call("POST", "/v2/items", [
        { id: "i1" },
        { id: "power" },
        { id: "bad id" },
        { id: "i1" },
      ]);
      assert.equal(r.status, 400);
      const body = r.body as { error: string; problems: { row: number; field?: string }[] };
      assert.deepEqual(
        body.problems.map((p) => [p.row, p.field]),
        [
          [2, "id"],
          [3, "id"],
        ],
      );
      assert.equal(await a.store.registry.getItem("i1"), undefined);
      const ok = await a.call("POST", "/v2/items", [{ id: "i1", name: "one" }, { id: "i2" }]);
      assert.deepEqual([ok.status, ok.body], [200, ""]);
      // The older system had no 409 here: an existing id is merged, the fields not sent are kept.
      const power = await a.store.registry.getItem("power");
      const again = await a.call("POST", "/v2/items", [
        { id: "i1", unit: "kV" },
        { id: "power", name: "P" },
      ]);
      assert.deepEqual([again.status, again.body], [200, ""]);
      assert.deepEqual(
        [(await a.store.registry.getItem("i1"))?.name, (await a.store.registry.getItem("i1"))?.unit],
        ["one", "kV"],
      );
      // power was written through v1, which answers only the fields its clients sent: the merge adds name.
      assert.deepEqual(await a.store.registry.getItem("power"), {
        ...power,
        name: "P",
        extra: { ...power?.extra, v1Fields: "id,unit,name" },
      });
      const v1 = await a.call("GET", "/v1/items/power");
      assert.equal((v1.body as Record<string, string>).name, "P");
    });

    it("undoes what it wrote when a later write fails", async function () {
      const r = await a.call("POST", "/v2/terms/t1/items", [
        { itemId: "power2", address: "HR1" },
        { itemId: "energy2", address: "HR40001" },
      ]);
      assert.equal(r.status, 404, JSON.stringify(r.body));
      await a.call("POST", "/v2/items", [{ id: "power2" }, { id: "energy2" }]);
      const clash = await a.call("POST", "/v2/terms/t1/items", [
        { itemId: "power2", address: "HR40100" },
        { itemId: "energy2", address: "HR40001" },
      ]);
      assert.equal(clash.status, 409, JSON.stringify(clash.body));
      assert.equal((clash.body as { field: string }).field, "address");
      assert.equal(await a.store.registry.getPoint("plc1:t1:power2"), undefined);
    });

    it("deletes all ids or none (404 naming the unknown ones)", async function () {
      const miss = await a.call("DELETE", "/v2/items", ["power", "ghost"]);
      assert.equal(miss.status, 404);
      assert.equal((miss.body as { problems: { id: string }[] }).problems[0].id, "ghost");
      assert.ok(await a.store.registry.getItem("power"));
      const ok = await a.call("DELETE", "/v2/terms/t1/items?ids=power,energy");
      assert.deepEqual([ok.status, ok.body], [200, { deleted: ["plc1:t1:power", "plc1:t1:energy"] }]);
      const ok2 = await a.call("DELETE", "/v2/devices", { ids: ["plc1", "calc"] });
      assert.equal(ok2.status, 200);
      assert.deepEqual((await a.call("GET", "/v2/devices")).body, []);
    });

    it("refuses a merged row that would move a term to another device, writing nothing", async function () {
      const r = await a.call("POST", "/v2/terms", [
        { id: "t1", device_id: "calc" },
        { id: "t7", deviceId: "calc" },
      ]);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal((r.body as { field: string }).field, "deviceId");
      assert.equal((await a.store.registry.getTerm("t1"))?.deviceId, "plc1");
      assert.equal(await a.store.registry.getTerm("t7"), undefined);
    });

    it("answers JSON errors with the field named", async function () {
      const r = await a.call("POST", "/v2/devices", [{ id: "x", protocol: "carrier-pigeon" }]);
      assert.equal(r.status, 400);
      assert.match(r.headers["content-type"], /^application\/json/);
      const body = r.body as { error: string; field: string; message: string };
      assert.deepEqual([body.error, body.field], ["invalid", "protocol"]);
    });
  });

  describe("CSV import", function () {
    beforeEach(function () {
      a = api();
    });

    it("imports devices, terms, items and points in one step", async function () {
      const csv = [
        "kind,id,protocol,host,device_id,address,unit,term_id,item_id,limits.high",
        "device,plc1,modbus-tcp,10.0.0.5,,,,,,",
        "term,t1,,,plc1,1,,,,",
        "item,power,,,,,kW,,,",
        "point,,,,plc1,HR40001,,t1,power,100",
      ].join("\n");
      const r = await a.call("POST", "/v2/import", csv, { contentType: "text/csv" });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body, { created: ["plc1", "t1", "power", "plc1:t1:power"], updated: [] });
      assert.deepEqual((await a.store.registry.getPoint("plc1:t1:power"))?.limits, { high: 100 });
      const again = await a.call("POST", "/v2/import", csv, { contentType: "text/csv" });
      assert.deepEqual(again.body, { created: [], updated: ["plc1", "t1", "power", "plc1:t1:power"] });
    });

    it("reports every wrong row by line and writes nothing", async function () {
      const csv = [
        "kind,id,protocol,host,deviceId,address",
        "device,plc1,modbus-tcp,10.0.0.5,,",
        "device,plc2,modbus-tcp,,,",
        "gizmo,x,,,,",
        "term,t1,,,plc1,999",
      ].join("\r\n");
      const r = await a.call("POST", "/v2/import", csv, { contentType: "text/csv" });
      assert.equal(r.status, 400);
      const problems = (r.body as { problems: { row: number; field?: string }[] }).problems;
      assert.deepEqual(
        problems.map((p) => [p.row, p.field]),
        [
          [3, "host"],
          [4, "kind"],
        ],
      );
      assert.deepEqual(await a.store.registry.listDevices(), []);
      // The term address rule needs the device, so it is found when written — and undone.
      const late = await a.call(
        "POST",
        "/v2/import",
        csv
          .split("\r\n")
          .filter((_, i) => i !== 2 && i !== 3)
          .join("\n"),
        {
          contentType: "text/csv",
        },
      );
      assert.equal(late.status, 400);
      assert.deepEqual(
        (late.body as { problems: { row: number; field?: string }[] }).problems.map((p) => [p.row, p.field]),
        [[3, "address"]],
      );
      assert.deepEqual(await a.store.registry.listDevices(), []);
    });
  });

  describe("beyond the older API", function () {
    beforeEach(async function () {
      a = api();
      await seed(a);
    });

    it("latest values by pattern", async function () {
      await a.call("POST", "/v1/devices/plc1/terms/t1/items/power/datas", { value: 1 });
      await a.call("POST", "/v1/devices/plc1/terms/t1/items/energy/datas", { value: 2 });
      await a.call("POST", "/v1/devices/calc/terms/c1/items/power/datas", { value: 3 });
      const all = (await a.call("GET", "/v1/latest")).body as { key: string }[];
      assert.deepEqual(all.map((p) => p.key).sort(), ["calc:c1:power", "plc1:t1:energy", "plc1:t1:power"]);
      const some = (await a.call("GET", "/v1/latest?pattern=*:*:power")).body as { key: string }[];
      assert.deepEqual(some.map((p) => p.key).sort(), ["calc:c1:power", "plc1:t1:power"]);
      const bad = await a.call("GET", "/v1/latest?pattern=a:b:c:d");
      assert.deepEqual([bad.status, (bad.body as { field: string }).field], [400, "pattern"]);
      // Escaped, + and # are the wildcards they are.
      const plus = (await a.call("GET", "/v1/latest?pattern=plc1:%2B:power")).body as { key: string }[];
      assert.deepEqual(
        plus.map((p) => p.key),
        ["plc1:t1:power"],
      );
      const hash = (await a.call("GET", "/v1/latest?pattern=plc1:%23")).body as { key: string }[];
      assert.deepEqual(hash.map((p) => p.key).sort(), ["plc1:t1:energy", "plc1:t1:power"]);
    });

    it("latest refuses a pattern that shows + or # sent unescaped, saying how to escape them", async function () {
      // What arrives when a client writes ?pattern=plc1:+:power, ?pattern=+ or ?pattern=plc1:t1:#
      // (the query parser turns + into a space; # ends the URL, the rest never sent).
      const cases: [string, string, RegExp][] = [
        ["plc1:+:power", '"plc1: :power"', /holds a space: a \+ sent unescaped in a URL arrives as a space/],
        ["+", '" "', /holds a space/],
        ["plc1:t1:", '"plc1:t1:"', /ends in ":": a # sent unescaped in a URL ends it there/],
      ];
      for (const [sent, shown, why] of cases) {
        const r = await a.call("GET", "/v1/latest", undefined, {
          query: { pattern: sent.replace(/\+/g, " ") },
        });
        const body = r.body as { error: string; field: string; message: string };
        assert.deepEqual([r.status, body.error, body.field], [400, "invalid", "pattern"], sent);
        assert.match(r.headers["content-type"], /^application\/json/);
        assert.ok(body.message.startsWith(`pattern ${shown} `), body.message);
        assert.match(body.message, why, sent);
        assert.match(body.message, /escape # as %23 and \+ as %2B/, sent);
      }
      const viaUrl = await a.call("GET", "/v1/latest?pattern=plc1:+:power");
      assert.equal((viaUrl.body as { field: string }).field, "pattern");
    });

    it("latest sees a point created after the last request at once", async function () {
      assert.deepEqual((await a.call("GET", "/v1/latest")).body, []);
      await a.call("POST", "/v1/items", { id: "volt" });
      await a.call("POST", "/v1/terms/t1/items", { item_id: "volt", address: "HR40100" });
      await a.call("POST", "/v1/devices/plc1/terms/t1/items/volt/datas", { value: 230 });
      const after = (await a.call("GET", "/v1/latest")).body as { key: string; value: number }[];
      assert.deepEqual(
        after.map((p) => [p.key, p.value]),
        [["plc1:t1:volt", 230]],
      );
    });

    it("alarms: list, acknowledge, shelve", async function () {
      await a.store.putAlarm({ key: "plc1:t1:power", condition: "high", active: true, acked: false, ts: 1 });
      assert.equal(((await a.call("GET", "/v1/alarms")).body as unknown[]).length, 1);
      const ack = await a.call("POST", "/v1/alarms/plc1:t1:power/high/ack");
      assert.equal(ack.status, 200);
      assert.equal((ack.body as { acked: boolean }).acked, true);
      const shelve = await a.call("POST", "/v1/alarms/plc1:t1:power/high/shelve", { minutes: 10 });
      assert.equal((shelve.body as { shelvedUntil: number }).shelvedUntil, 1_700_000_000_000 + 600_000);
      const none = await a.call("POST", "/v1/alarms/plc1:t1:power/low/ack");
      assert.deepEqual([none.status, (none.body as { field: string }).field], [404, "condition"]);
      const badShelve = await a.call("POST", "/v1/alarms/plc1:t1:power/high/shelve", { minutes: -1 });
      assert.deepEqual([badShelve.status, (badShelve.body as { field: string }).field], [400, "minutes"]);
    });

    it("alarms held by no check node here are acknowledged and shelved in the store", async function () {
      const asked: string[] = [];
      const actions: RestActions = {
        call: async () => {
          throw new Error("not used");
        },
        control: async () => {
          throw new Error("not used");
        },
        ackAlarm: async (key, condition) => (asked.push(`ack ${key} ${condition}`), false),
        shelveAlarm: async (key, condition) => (asked.push(`shelve ${key} ${condition}`), false),
      };
      const b = api(actions);
      try {
        await seed(b);
        await b.store.putAlarm({
          key: "plc1:t1:power",
          condition: "high",
          active: true,
          acked: false,
          ts: 1,
        });
        const ack = await b.call("POST", "/v1/alarms/plc1:t1:power/high/ack");
        assert.equal((ack.body as { acked: boolean }).acked, true);
        const sh = await b.call("POST", "/v1/alarms/plc1:t1:power/high/shelve", { minutes: 1 });
        assert.equal((sh.body as { shelvedUntil: number }).shelvedUntil, 1_700_000_060_000);
        assert.deepEqual(asked, ["ack plc1:t1:power high", "shelve plc1:t1:power high"]);
      } finally {
        await b.close();
      }
    });

    it("device status", async function () {
      await a.store.setDeviceStatus("plc1", { online: true, ts: 5, lastSeen: 5 });
      assert.deepEqual((await a.call("GET", "/v1/devices/plc1/status")).body, {
        id: "plc1",
        online: true,
        ts: 5,
        lastSeen: 5,
      });
      assert.deepEqual((await a.call("GET", "/v1/devices/calc/status")).body, { id: "calc", online: false });
      assert.equal((await a.call("GET", "/v1/devices/ghost/status")).status, 404);
      assert.deepEqual((await a.call("GET", "/v1/status")).body, [
        { id: "plc1", online: true, ts: 5, lastSeen: 5 },
      ]);
    });

    it("device frame log, newest first, with a count", async function () {
      await a.store.appendFrames("plc1", [
        { ts: 1, dir: "tx", data: "000100000006010300000001" },
        { ts: 2, dir: "rx", data: "00010000000501030200ff" },
      ]);
      assert.deepEqual((await a.call("GET", "/v1/devices/plc1/frames")).body, [
        { ts: 2, dir: "rx", data: "00010000000501030200ff" },
        { ts: 1, dir: "tx", data: "000100000006010300000001" },
      ]);
      assert.deepEqual(
        ((await a.call("GET", "/v1/devices/plc1/frames?count=1")).body as { ts: number }[]).map((f) => f.ts),
        [2],
      );
      assert.deepEqual((await a.call("GET", "/v1/devices/calc/frames")).body, []);
      assert.equal((await a.call("GET", "/v1/devices/ghost/frames")).status, 404);
      const bad = await a.call("GET", "/v1/devices/plc1/frames?count=0");
      assert.deepEqual([bad.status, (bad.body as { field?: string }).field], [400, "count"]);
    });
  });

  describe("malformed requests", function () {
    beforeEach(function () {
      a = api();
    });

    it("bad JSON, poisoned keys, bad encoding and huge bodies are 4xx", async function () {
      const bad = await a.call("POST", "/v2/items", "[{", { contentType: "application/json" });
      assert.deepEqual([bad.status, (bad.body as { error: string }).error], [400, "invalid"]);
      const poison = await a.call("POST", "/v2/items", '[{"id":"x","__proto__":{"a":1}}]');
      assert.equal(poison.status, 400);
      const big = await a.call("POST", "/v2/items", [{ id: "x", description: "y".repeat(200) }], {
        maxBodyBytes: 100,
      });
      assert.equal(big.status, 413);
      const enc = await a.call("GET", "/v1/devices/%E0%A4%A");
      assert.equal(enc.status, 400);
    });

    it("unknown paths are 404 and wrong methods 405 with Allow", async function () {
      const r = await a.call("GET", "/v3/things");
      assert.equal(r.status, 404);
      const m = await a.call("PUT", "/v1/devices");
      assert.equal(m.status, 405);
      assert.equal(m.headers.allow, "GET, POST");
    });
  });
});
