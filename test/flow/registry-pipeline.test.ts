/**
 * The older system's DeviceManager-plus-plugins behaviour in the two examples that carry it: the demo
 * `npm start` opens (examples/07-full-pipeline.json) and the REST example (06). A client creates a
 * device on the example's own Modbus simulator, a term, items, a point with a limit and save settings,
 * and a formula — over real HTTP, with no edit of the flow — and the point is polled, its alarm raised
 * (then cleared by a limit changed over REST) into the MySQL alarms table, its samples saved to the
 * history table (a point whose save settings say no is not), and the formula's result is there.
 */
import assert from "node:assert/strict";
import type { RowDataPacket } from "mysql2/promise";
import { managers } from "../../src/core/manager";
import { HttpServer } from "../integration/rest/http-flow";
import { createTestDatabase, rowsOnceCreated, type TestDatabase } from "../support-history/mysql";
import { loadExample, readExample, type ExampleNode } from "../support/example-flow";
import { until } from "../support/net";
import { useNodeRed } from "../support/node-red";

const EXAMPLES = [
  { file: "07-full-pipeline.json", api: "/api" },
  { file: "06-rest-api.json", api: "/api" },
];

describe("registry points get the whole pipeline in the examples", function () {
  this.timeout(60_000);
  const http = new HttpServer();
  let db: TestDatabase | undefined;
  // Before useNodeRed's leak check, which would count the test's own MySQL connection.
  afterEach(async function () {
    await db?.drop();
    db = undefined;
  });
  useNodeRed();
  before(() => http.start());
  after(() => http.stop());

  for (const { file, api } of EXAMPLES) {
    it(`${file}: a point created over REST is polled, checked, saved and used by a registry formula`, async function () {
      const flow = readExample(file);
      const byType = (type: string): ExampleNode => {
        const n = flow.find((x) => x.type === type);
        assert.ok(n, `${file} has a ${type} node`);
        return n;
      };
      const simulatorPort = Number(byType("datacoll-modbus-server").port);
      const database = await createTestDatabase("dc_regpipe");
      db = database;
      await loadExample(flow, database.name);
      const manager = managers.get(byType("datacoll-manager").id);
      assert.ok(manager, "the example's manager runs");

      const call = async (method: string, p: string, body?: unknown): Promise<unknown> => {
        const r = await http.request(method, `${api}${p}`, body);
        assert.equal(r.status, 200, `${method} ${p}: ${r.text}`);
        return r.text === "" ? undefined : (JSON.parse(r.text) as unknown);
      };
      // The plant, as a client writes it: new field names of the model, through the /api/v1 paths.
      await call("POST", "/v1/devices", {
        id: "plc1",
        protocol: "modbus-tcp",
        host: "127.0.0.1",
        port: simulatorPort,
      });
      await call("POST", "/v1/terms", { id: "t1", device_id: "plc1", address: 1 });
      await call("POST", "/v1/devices", { id: "calc", protocol: "formula" });
      await call("POST", "/v1/terms", { id: "c1", device_id: "calc" });
      for (const id of ["volts", "ramp", "kv"]) await call("POST", "/v1/items", { id });
      // The simulator's voltage swings between 218 and 242: above a high limit of 100 at once.
      await call("POST", "/v1/terms/t1/items", {
        item_id: "volts",
        address: "HR0:float32",
        limits: { high: 100 },
        save: { enabled: true },
      });
      await call("POST", "/v1/terms/t1/items", {
        item_id: "ramp",
        address: "HR2:int16",
        save: { enabled: false },
      });
      await call("POST", "/v1/terms/c1/items", { item_id: "kv" });
      await call("POST", "/v1/formulas", {
        id: "kv",
        expression: "p1 / 1000",
        params: { p1: "plc1:t1:volts" },
        result: "calc:c1:kv",
      });

      const rows = (sql: string, params: unknown[]): Promise<RowDataPacket[]> =>
        rowsOnceCreated(database.admin, sql, params);
      const alarmRows = (state: string): Promise<RowDataPacket[]> =>
        rows(
          "SELECT * FROM dc_alarms WHERE point_key = 'plc1:t1:volts' AND `condition` = 'high' AND state = ?",
          [state],
        );

      // Polled and checked: the alarm is in the store the REST API reads, and in MySQL.
      await until(
        async () => {
          const alarms = (await call("GET", "/v1/alarms?key=plc1:t1:volts")) as {
            condition: string;
            state: string;
          }[];
          return alarms.some((a) => a.condition === "high" && a.state === "raised");
        },
        15_000,
        "GET /v1/alarms shows plc1:t1:volts high raised",
      );
      await until(async () => (await alarmRows("raised")).length > 0, 10_000, "the alarm row in MySQL");
      const raised = (await alarmRows("raised"))[0];
      assert.ok(Number(raised.value) >= 218 && Number(raised.value) <= 242, `alarm value ${raised.value}`);

      // Saved: history rows of the point; none of the point whose save settings say no.
      const history = (key: string, since = 0): Promise<RowDataPacket[]> =>
        rows("SELECT ts, value FROM dc_history WHERE point_key = ? AND ts > FROM_UNIXTIME(? / 1000)", [
          key,
          since,
        ]);
      await until(async () => (await history("plc1:t1:volts")).length > 0, 10_000, "history rows of volts");
      const ramp = await manager.store.latest("plc1:t1:ramp");
      assert.equal(typeof ramp?.value, "number", "the point that is not saved is polled all the same");
      // A volts row of a later poll than that ramp sample: the ramp sample had its chance to be written.
      await until(
        async () => (await history("plc1:t1:volts", ramp?.ts)).length > 0,
        10_000,
        "a later history row of volts",
      );
      assert.deepEqual(await history("plc1:t1:ramp"), [], "save.enabled false keeps the point out");

      // The registry formula's result: in the manager (GET /v1/latest) and saved like any point.
      await until(
        async () => {
          const latest = (await call("GET", "/v1/latest?pattern=calc:c1:kv")) as { value?: unknown }[];
          return latest.some((p) => typeof p.value === "number" && p.value > 0.2 && p.value < 0.25);
        },
        10_000,
        "the formula result calc:c1:kv = volts / 1000",
      );
      await until(async () => (await history("calc:c1:kv")).length > 0, 10_000, "history rows of the result");

      // A limit changed over REST clears the alarm with the next sample.
      await call("PUT", "/v1/terms/t1/items/volts", { limits: { high: 1000 } });
      await until(
        async () => (await alarmRows("cleared-unacked")).length > 0,
        10_000,
        "the clear row in MySQL",
      );
      // An operator acknowledges it over REST: the alarm is over.
      const acked = (await call("POST", "/v1/alarms/plc1:t1:volts/high/ack")) as { acked?: boolean };
      assert.equal(acked.acked, true);
      assert.deepEqual(await call("GET", "/v1/alarms?key=plc1:t1:volts"), []);
      await until(
        async () => (await alarmRows("normal")).length > 0,
        10_000,
        "the acknowledgement row in MySQL",
      );
    });
  }
});
