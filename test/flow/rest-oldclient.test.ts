/**
 * An unchanged client of the older Python system against examples/06-rest-api.json over real HTTP: the
 * older interface test's sequence, call by call in its order, with the older test data (docs/migration.md
 * lists where the answers differ on purpose). Bodies are sent as the older client sent them — every value
 * as text, ids sometimes as numbers — and records must come back as objects of strings holding exactly
 * the fields sent. A second test drives our IEC 104 outstation simulator end to end through the same API.
 */
import assert from "node:assert/strict";
import { Iec104Simulator, parseSimCommands, parseSimPoints } from "../../src/core/iec104/simulator";
import type { CommandObject } from "../../src/protocols/iec104/codec";
import { systemClock } from "../../src/transport/connection";
import { HttpServer } from "../integration/rest/http-flow";
import { readExample, useExampleDatabase } from "../support/example-flow";
import { until } from "../support/net";
import { helper, useNodeRed } from "../support/node-red";

const example = readExample("06-rest-api.json");

type Rec = Record<string, string>;

// The older system's test data (its test/mock_device/mock_data.py): a plant of two IEC 104 devices and a
// formula device, then one record of each kind that the test creates, changes and deletes.
const device1 = {
  id: "1",
  name: "测试集中器1",
  ip: "127.0.0.1",
  port: "2404",
  status: "on",
  identify: "111",
  protocol: "iec104",
};
const device2 = {
  id: "2",
  name: "测试集中器2",
  ip: "127.0.0.1",
  port: "2405",
  status: "on",
  identify: "222",
  protocol: "iec104",
};
const device3 = { id: "3", name: "测试集中器3", protocol: "formula" };
const term10 = {
  id: "10",
  name: "测试终端1",
  address: "5",
  identify: "term10",
  protocol: "dlt645",
  device_id: "1",
};
const term20 = {
  id: "20",
  name: "测试终端2",
  address: "6",
  identify: "term20",
  protocol: "dlt645",
  device_id: "1",
};
const term30 = {
  id: "30",
  name: "测试终端3",
  address: "7",
  identify: "term30",
  protocol: "dlt645",
  device_id: "2",
};
const term40 = { id: "40", name: "测试终端4", protocol: "formula", device_id: "3" };
const item1000 = { id: "1000", name: "A相电压", view_code: "1000", func_type: "遥测量" };
const item2000 = { id: "2000", name: "继电器开关", view_code: "2000", func_type: "遥控量" };
const term10item1000 = {
  device_id: "1",
  term_id: "10",
  item_id: "1000",
  protocol_code: "100",
  code_type: "36",
  base_val: "0",
  coefficient: "1",
  down_limit: "220",
  up_limit: "230",
  protocol: "iec104",
};
const term10item2000 = {
  device_id: "1",
  term_id: "10",
  item_id: "2000",
  protocol_code: "200",
  code_type: "63",
  base_val: "0",
  coefficient: "1",
  protocol: "iec104",
};
const term20item1000 = { ...term10item2000, term_id: "20", item_id: "1000", protocol_code: "300" };
const term30item1000 = {
  ...term10item2000,
  device_id: "2",
  term_id: "30",
  item_id: "1000",
  protocol_code: "100",
};
const term40item1000 = { device_id: "3", term_id: "40", item_id: "1000", base_val: "0", coefficient: "1" };
const formula1 = {
  id: "1",
  formula: "max(p1[-1], p2[-1])",
  device_id: "3",
  term_id: "40",
  item_id: "1000",
  p1: "1:10:1000",
  p2: "2:30:1000",
};
const testDevice = {
  id: "4",
  name: "测试集中器4",
  ip: "127.0.0.1",
  port: "2407",
  identify: "444",
  status: "on",
  protocol: "iec104",
};
const testTerm = {
  id: "90",
  name: "测试终端9",
  address: "99",
  identify: "term90",
  protocol: "dlt645",
  device_id: "1",
};
const testItem = { id: "3000", name: "C相电压", view_code: "3000", func_type: "遥测量" };
const testTermItem = {
  device_id: "1",
  term_id: "20",
  item_id: "2000",
  protocol_code: "400",
  base_val: "0",
  coefficient: "1",
};
const testFormula = {
  id: "9",
  formula: "p1+p2",
  device_id: "3",
  term_id: "40",
  item_id: "1000",
  p1: "1:10:1000",
  p2: "2:30:1000",
};

/** The older client: each call states the status it expects and gets the body's text. */
class OldClient {
  constructor(private readonly http: HttpServer) {}

  async call(method: string, p: string, body?: unknown, expect = 200): Promise<string> {
    // The older client posted JSON text without a content type (aiohttp `data=json.dumps(...)`).
    const text = body === undefined ? undefined : JSON.stringify(body);
    const r = await this.http.request(
      method,
      `/api${p}`,
      text,
      text === undefined ? {} : { "content-type": "text/plain; charset=utf-8" },
    );
    assert.equal(r.status, expect, `${method} ${p}: ${r.text}`);
    return r.text;
  }

  /** A write that succeeds: 200 with an empty body, as the older server answered. */
  async write(method: string, p: string, body?: unknown): Promise<void> {
    assert.equal(await this.call(method, p, body), "", `${method} ${p} answers an empty body`);
  }

  async json<T = unknown>(method: string, p: string, body?: unknown): Promise<T> {
    return JSON.parse(await this.call(method, p, body)) as T;
  }

  /** An error answer: its status and exact text. */
  async fails(method: string, p: string, status: number, text: string, body?: unknown): Promise<void> {
    assert.equal(await this.call(method, p, body, status), text, `${method} ${p}`);
  }
}

async function createPlant(c: OldClient): Promise<void> {
  for (const d of [device1, device2, device3]) await c.write("POST", "/v1/devices", d);
  for (const t of [term10, term20, term30, term40]) await c.write("POST", "/v1/terms", t);
  for (const i of [item1000, item2000]) await c.write("POST", "/v1/items", i);
  for (const ti of [term10item1000, term10item2000, term20item1000, term30item1000, term40item1000])
    await c.write("POST", `/v1/terms/${ti.term_id}/items`, ti);
  await c.write("POST", "/v1/formulas", formula1);
}

describe("an older system's client, unchanged, on examples/06-rest-api.json", function () {
  useNodeRed();
  const http = new HttpServer();
  before(() => http.start());
  after(() => http.stop());
  // The example saves what its registry points sample: into a database of this file's own.
  const db = useExampleDatabase("dc_oldcl");
  const load = (): Promise<void> => db.load(example);

  it("runs the older interface test's sequence and gets the older answers", async function () {
    await load();
    const c = new OldClient(http);
    await createPlant(c);

    // protocols: the older descriptions, word for word, of the protocols that run here
    const dp = await c.json<Rec>("GET", "/v1/device_protocols");
    assert.equal(dp.iec104, "DL/T 634.5104-2009(远动设备及系统传输规约)");
    assert.equal(dp.formula, "公式计算（配置计算公式，数据来源为其他物理采集设备）");
    assert.equal(dp.virtual, "虚拟设备（直连终端，公式计算终端）");
    assert.equal(dp.gdwnx, "Q/GDW xnx-2014(电力能效监测系统通信协议)");
    assert.equal(dp.gdw376, "Q/GDW 376.1-2009(电力用户用电信息采集系统通信协议)");
    // A device of a listed protocol without a driver is stored, as the older system stored it, and not run.
    const meter = { id: "8", name: "能效终端", ip: "127.0.0.1", port: "9001", protocol: "gdwnx" };
    await c.write("POST", "/v1/devices", meter);
    assert.deepEqual(await c.json("GET", "/v1/devices/8"), meter);
    const status = async (): Promise<{ online?: boolean; lastError?: string }> =>
      c.json("GET", "/v1/devices/8/status");
    await until(
      async () => /no gdwnx driver/.test(String((await status()).lastError)),
      2000,
      "device 8 status",
    );
    assert.equal((await status()).online, false);
    await c.write("DELETE", "/v1/devices/8");
    const tp = await c.json<Rec>("GET", "/v1/term_protocols");
    assert.equal(tp.dlt645, "DL/T 645-2007(多功能电能表通信协议)");
    assert.equal(tp.gdw130, "Q/GDW 130-2005(电力负荷管理系统数据传输规约)");
    assert.equal(tp.Modbus, "GB/T 19582-2008(基于Modbus协议的工业自动化网络规范)");
    assert.equal(tp.formula, dp.formula);

    // formulas
    assert.deepEqual(await c.json("GET", "/v1/formulas"), ["1"]);
    assert.deepEqual(await c.json("GET", "/v1/formulas/1"), formula1);
    await c.fails("GET", "/v1/formulas/99", 404, "formula_id not found!");
    await c.write("POST", "/v1/formulas", testFormula);
    assert.equal((await c.json<Rec>("GET", "/v1/formulas/9")).formula, "p1+p2");
    await c.fails("POST", "/v1/formulas", 409, "formula already exists!", testFormula);
    await c.write("PUT", "/v1/formulas/9", { ...testFormula, formula: "p1-p2", id: 5 });
    await c.fails("GET", "/v1/formulas/9", 404, "formula_id not found!");
    assert.deepEqual(await c.json("GET", "/v1/formulas/5"), { ...testFormula, id: "5", formula: "p1-p2" });
    await c.fails("PUT", "/v1/formulas/99", 404, "formula_id not found!", testFormula);
    await c.write("DELETE", "/v1/formulas/5");
    await c.fails("GET", "/v1/formulas/5", 404, "formula_id not found!");
    assert.equal(await c.call("POST", "/v1/formula_check", { formula: "p1[-1]+10", p1: "1:10:1000" }), "OK");
    assert.notEqual(await c.call("POST", "/v1/formula_check", { formula: "p1+p2", p1: "1:10:1000" }), "OK");

    // devices
    assert.deepEqual(await c.json("GET", "/v1/devices"), ["1", "2", "3"]);
    assert.deepEqual(await c.json("GET", "/v1/devices/1"), device1);
    await c.fails("GET", "/v1/devices/99", 404, "device_id not found!");
    await c.write("POST", "/v1/devices", testDevice);
    assert.deepEqual(await c.json("GET", "/v1/devices/4"), testDevice);
    // A parent with no children answers its child list as if it did not exist, as the older server did.
    await c.fails("GET", "/v1/devices/4/terms", 404, "device_id not found!");
    await c.fails("POST", "/v1/devices", 409, "device already exists!", testDevice);
    await c.write("PUT", "/v1/devices/4", { ...testDevice, name: "测试集中器5", id: 5 });
    await c.fails("GET", "/v1/devices/4", 404, "device_id not found!");
    assert.deepEqual(await c.json("GET", "/v1/devices/5"), { ...testDevice, name: "测试集中器5", id: "5" });
    await c.fails("PUT", "/v1/devices/99", 404, "device_id not found!", testDevice);
    await c.write("DELETE", "/v1/devices/5");
    await c.fails("GET", "/v1/devices/5", 404, "device_id not found!");
    // A change merges: the fields not sent are kept.
    await c.write("PUT", "/v1/devices/1", { status: "off" });
    assert.deepEqual(await c.json("GET", "/v1/devices/1"), { ...device1, status: "off" });

    // terms
    assert.deepEqual(await c.json("GET", "/v1/terms"), ["10", "20", "30", "40"]);
    assert.deepEqual(await c.json("GET", "/v1/terms/10"), term10);
    await c.fails("GET", "/v1/terms/99", 404, "term_id not found!");
    assert.deepEqual(await c.json("GET", "/v1/devices/1/terms"), ["10", "20"]);
    await c.fails("GET", "/v1/devices/99/terms", 404, "device_id not found!");
    await c.write("POST", "/v1/terms", testTerm);
    assert.deepEqual(await c.json("GET", "/v1/terms/90"), testTerm);
    await c.fails("GET", "/v1/terms/90/items", 404, "term_id not found!");
    assert.deepEqual(await c.json("GET", "/v1/devices/1/terms"), ["10", "20", "90"]);
    await c.fails("POST", "/v1/terms", 409, "term already exists!", testTerm);
    await c.write("PUT", "/v1/terms/90", { ...testTerm, name: "测试终端5", id: 50, device_id: 2 });
    await c.fails("GET", "/v1/terms/90", 404, "term_id not found!");
    assert.deepEqual(await c.json("GET", "/v1/terms/50"), {
      ...testTerm,
      name: "测试终端5",
      id: "50",
      device_id: "2",
    });
    assert.deepEqual(await c.json("GET", "/v1/devices/1/terms"), ["10", "20"]);
    assert.deepEqual(await c.json("GET", "/v1/devices/2/terms"), ["30", "50"]);
    await c.fails("PUT", "/v1/terms/99", 404, "term_id not found!", testTerm);
    await c.write("DELETE", "/v1/terms/50");
    await c.fails("GET", "/v1/terms/50", 404, "term_id not found!");

    // items
    assert.deepEqual(await c.json("GET", "/v1/items"), ["1000", "2000"]);
    assert.deepEqual(await c.json("GET", "/v1/items/1000"), item1000);
    await c.fails("GET", "/v1/items/99", 404, "item_id not found!");
    assert.deepEqual(await c.json("GET", "/v1/terms/10/items"), ["1000", "2000"]);
    await c.fails("GET", "/v1/terms/99/items", 404, "term_id not found!");
    await c.write("POST", "/v1/items", testItem);
    assert.deepEqual(await c.json("GET", "/v1/items/3000"), testItem);
    await c.fails("POST", "/v1/items", 409, "item already exists!", testItem);
    await c.write("PUT", "/v1/items/3000", { ...testItem, name: "功率因数", id: 4000 });
    await c.fails("GET", "/v1/items/3000", 404, "item_id not found!");
    assert.equal((await c.json<Rec>("GET", "/v1/items/4000")).name, "功率因数");
    await c.fails("PUT", "/v1/items/99", 404, "item_id not found!", testItem);
    await c.write("DELETE", "/v1/items/4000");
    await c.fails("GET", "/v1/items/4000", 404, "item_id not found!");

    // data: the older {time: value} with Python isoformat times and values as Python wrote its floats
    // ("100.0"); arrival order, 0 the
    // oldest and -1 the newest; a point never heard of has none
    const data = "/v1/devices/1/terms/10/items/1000/datas";
    const t0 = Date.UTC(2015, 11, 1, 8, 50, 15);
    for (const [i, value] of [100, 101, 102.5].entries()) await c.call("POST", data, { value, time: t0 + i });
    const time = (ms: number): string => `2015-12-01T08:50:15.00${ms}000`;
    assert.deepEqual(await c.json("GET", data), {
      [time(2)]: "102.5",
      [time(1)]: "101.0",
      [time(0)]: "100.0",
    });
    assert.deepEqual(await c.json("GET", `${data}/-1`), { [time(2)]: "102.5" });
    assert.deepEqual(await c.json("GET", `${data}/0`), { [time(0)]: "100.0" });
    assert.deepEqual(await c.json("GET", `${data}/9`), { null: null });
    assert.deepEqual(await c.json("GET", "/v1/devices/99/terms/99/items/99/datas"), {});

    // term items: the older 404 order, 400 for a body naming another term, 409, a change, a delete
    assert.deepEqual(await c.json("GET", "/v1/terms/10/items/1000"), term10item1000);
    await c.fails("GET", "/v1/terms/99/items/1000", 404, "term_id not found!");
    await c.fails("GET", "/v1/terms/10/items/99", 404, "item_id not found!");
    await c.fails("GET", "/v1/terms/20/items/2000", 404, "term_item not found!");
    await c.fails("POST", "/v1/terms/30/items", 400, "term_id mismatch in url and body!", testTermItem);
    await c.fails("POST", "/v1/terms/99/items", 404, "term_id not found!", {
      ...testTermItem,
      term_id: "99",
    });
    await c.fails("POST", "/v1/terms/20/items", 404, "item_id not found!", {
      ...testTermItem,
      item_id: "99",
    });
    await c.write("POST", "/v1/terms/20/items", testTermItem);
    assert.deepEqual(await c.json("GET", "/v1/terms/20/items/2000"), testTermItem);
    await c.fails("POST", "/v1/terms/20/items", 409, "term_item already exists!", testTermItem);
    await c.write("PUT", "/v1/terms/20/items/2000", { ...testTermItem, protocol_code: "401" });
    assert.deepEqual(await c.json("GET", "/v1/terms/20/items/2000"), {
      ...testTermItem,
      protocol_code: "401",
    });
    // The address moved with it: 400 is free again for another item of the station, 401 is not.
    await c.write("PUT", "/v1/terms/20/items/1000", { protocol_code: "400" });
    assert.equal((await c.json<Rec>("GET", "/v1/terms/20/items/1000")).protocol_code, "400");
    assert.equal(
      await c.call("PUT", "/v1/terms/20/items/1000", { protocol_code: "401" }, 409),
      "protocol_code 401:63 is already used by point 1:20:2000",
    );
    await c.fails("PUT", "/v1/terms/30/items/2000", 404, "term_item not found!", testTermItem);
    await c.write("DELETE", "/v1/terms/20/items/2000");
    await c.fails("GET", "/v1/terms/20/items/2000", 404, "term_item not found!");
    await c.fails("DELETE", "/v1/terms/20/items/2000", 404, "term_item not found!");

    // device_call and device_ctrl name a missing part in the older order
    await c.fails("POST", "/v1/device_call", 404, "device_id not found!", {
      device_id: "99",
      term_id: "10",
      item_id: 1000,
    });
    await c.fails("POST", "/v1/device_ctrl", 404, "term_id not found!", {
      device_id: "1",
      term_id: "99",
      item_id: "1000",
      value: 1,
    });
    await c.fails("POST", "/v1/device_ctrl", 404, "item_id not found!", {
      device_id: "1",
      term_id: "10",
      item_id: "99",
      value: 1,
    });
    await c.fails("POST", "/v1/device_call", 404, "term_item not found!", {
      device_id: "1",
      term_id: "30",
      item_id: 1000,
    });

    // v2: lists (or one bare record) of records with the older names; deletes by id lists
    await c.write("POST", "/v2/devices", [{ ...testDevice, id: "6", port: "2408" }]);
    assert.deepEqual(await c.json("GET", "/v1/devices/6"), { ...testDevice, id: "6", port: "2408" });
    // No 409 on a v2 create: an existing id is merged, the fields not sent kept.
    await c.write("POST", "/v2/devices", { id: "6", name: "测试集中器6" });
    await c.write("POST", "/v2/devices", [{ id: "6", port: "2409" }]);
    assert.deepEqual(await c.json("GET", "/v1/devices/6"), {
      ...testDevice,
      id: "6",
      name: "测试集中器6",
      port: "2409",
    });
    await c.write("POST", "/v2/terms", { ...testTerm, id: "60", device_id: "6" });
    await c.write("POST", "/v2/items", [{ ...testItem, id: "5000" }]);
    const ti = { ...testTermItem, device_id: "6", term_id: "60", item_id: "5000", code_type: "13" };
    await c.write("POST", "/v2/term_items", [ti]);
    assert.deepEqual(await c.json("GET", "/v1/terms/60/items/5000"), ti);
    await c.write("POST", "/v2/term_items/del", [{ device_id: "6", term_id: "60", item_id: "5000" }]);
    await c.fails("POST", "/v2/term_items/del", 404, "term_item not found!", [
      { device_id: "6", term_id: "60", item_id: "5000" },
    ]);
    await c.write("POST", "/v2/items/del", [5000]);
    await c.write("POST", "/v2/terms/del", ["60"]);
    await c.fails("POST", "/v2/devices/del", 404, "device_id not found!", [6, 66]);
    assert.equal((await c.json<Rec>("GET", "/v1/devices/6")).port, "2409");
    await c.write("POST", "/v2/devices/del", 6);
    await c.fails("GET", "/v1/devices/6", 404, "device_id not found!");
    await c.fails("POST", "/v2/formulas/del", 404, "formula_id not found!", ["9"]);

    // deletes and cascades, without the older system's losses
    await c.write("DELETE", "/v1/items/2000");
    assert.deepEqual(await c.json("GET", "/v1/terms/10/items"), ["1000"]);
    assert.deepEqual(await c.json("GET", "/v1/terms/30/items"), ["1000"]);
    // A renamed device keeps its terms, term items and the formulas reading them.
    await c.write("PUT", "/v1/devices/2", { id: "7" });
    assert.deepEqual(await c.json("GET", "/v1/devices/7/terms"), ["30"]);
    assert.equal((await c.json<Rec>("GET", "/v1/terms/30")).device_id, "7");
    assert.deepEqual(await c.json("GET", "/v1/terms/30/items"), ["1000"]);
    assert.equal((await c.json<Rec>("GET", "/v1/formulas/1")).p2, "7:30:1000");
    // A rename onto an id in use changes nothing (the older system lost the renamed entity).
    await c.fails("PUT", "/v1/devices/3", 409, "device already exists!", { id: "7" });
    assert.deepEqual(await c.json("GET", "/v1/devices/3"), device3);
    // A term given another device moves there whole, its term items and formulas with it.
    await c.write("PUT", "/v1/terms/10", { device_id: 7 });
    assert.deepEqual(await c.json("GET", "/v1/devices/7/terms"), ["10", "30"]);
    assert.deepEqual(await c.json("GET", "/v1/devices/1/terms"), ["20"]);
    assert.deepEqual(await c.json("GET", "/v1/terms/10/items/1000"), { ...term10item1000, device_id: "7" });
    assert.equal((await c.json<Rec>("GET", "/v1/formulas/1")).p1, "7:10:1000");
    await c.write("DELETE", "/v1/devices/1");
    assert.deepEqual(await c.json("GET", "/v1/terms"), ["10", "30", "40"]);
    await c.fails("GET", "/v1/terms/20/items/1000", 404, "term_id not found!");
    assert.deepEqual(await c.json("GET", "/v1/formulas"), ["1"]);
    // Formula 1 reads 7:10:1000, which goes with term 10.
    await c.write("DELETE", "/v1/terms/10");
    assert.deepEqual(await c.json("GET", "/v1/formulas"), []);
    await c.fails("DELETE", "/v1/devices/1", 404, "device_id not found!");

    // GET /: the older text index
    const index = await c.call("GET", "/");
    const lines = index.split("\n");
    assert.deepEqual(lines.slice(0, 2), ["PyDataColl is running, available API:", ""]);
    const host = new URL(http.base).host;
    assert.ok(lines.includes(`method: GET      URL: http://${host}/api/v1/devices`), index);
    assert.ok(lines.includes(`method: DELETE   URL: http://${host}/api/v1/devices/{id}`), index);
    const methods = lines.slice(2).map((l) => /^method: (\w+)/.exec(l)?.[1]);
    assert.deepEqual([...new Set(methods)], ["GET", "POST", "PUT", "DELETE"]);
  });

  it("drives an IEC 104 outstation end to end: create, bind by protocol_code, read datas/-1, device_ctrl", async function () {
    const station = new Iec104Simulator({
      commonAddress: 5,
      points: parseSimPoints([
        { ioa: 100, type: "M_ME_NC_1", value: 230.5 },
        { ioa: 201, type: "M_ME_NC_1", value: 0 },
      ]),
      // Select before operate required, as the older driver did it: a direct execute would be refused.
      commands: parseSimCommands([{ ioa: 200, type: "setpoint-float", feedback: 201, sbo: "true" }]),
      clock: systemClock,
    });
    const port = await station.listen(0);
    const commands: CommandObject[] = [];
    const off = station.on((e) => {
      if (e.type === "command") commands.push(e.command);
    });
    try {
      await load();
      const c = new OldClient(http);
      await c.write("POST", "/v1/devices", { ...device1, port: String(port) });
      await c.write("POST", "/v1/terms", term10);
      for (const i of [item1000, item2000]) await c.write("POST", "/v1/items", i);
      await c.write("POST", "/v1/terms/10/items", term10item1000);
      await c.write("POST", "/v1/terms/10/items", term10item2000);
      const newest = async (): Promise<Record<string, unknown>> =>
        c.json("GET", "/v1/devices/1/terms/10/items/1000/datas/-1");
      await until(async () => Object.values(await newest())[0] === "230.5", 2000, "datas/-1 of 1:10:1000");
      assert.match(Object.keys(await newest())[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);

      const reply = await c.json<Record<string, unknown>>("POST", "/v1/device_ctrl", {
        device_id: "1",
        term_id: "10",
        item_id: "2000",
        value: 123.4,
      });
      assert.deepEqual([reply.device_id, reply.term_id, reply.item_id], ["1", "10", "2000"]);
      assert.equal(typeof reply.value, "number");
      assert.ok(Math.abs(Number(reply.value) - 123.4) < 1e-4);
      assert.match(String(reply.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
      const executed = commands.filter((x) => x.ioa === 200 && !("select" in x && x.select));
      assert.equal(executed.length, 1, JSON.stringify(commands));
      assert.ok(Math.abs(Number(executed[0].value) - 123.4) < 1e-4);

      const call = await c.json<Record<string, unknown>>("POST", "/v1/device_call", {
        device_id: "1",
        term_id: "10",
        item_id: 1000,
      });
      assert.equal(call.value, 230.5);
      assert.match(String(call.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    } finally {
      off();
      await helper.unload();
      await station.close();
    }
  });
});
