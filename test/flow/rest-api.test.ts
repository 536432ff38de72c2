import assert from "node:assert/strict";
import { helper, nodeModule, useNodeRed } from "../support/node-red";
import { HttpServer, apiFlow, httpNodes, type Reply } from "../integration/rest/http-flow";
import { ROUTES } from "../../src/core/rest/routes";
import { Router } from "../../src/core/rest/router";
import type { RestActions } from "../../src/core/rest/types";
import { GOOD } from "../../src/core/model/datapoint";
import { createMysqlPool } from "../../src/core/history/mysql-settings";
import { alarmsTableDdl, historyTableDdl } from "../../src/core/history/schema";
import { poolHistorySource, registerHistorySource } from "../../src/core/history/sources";
import { createTestDatabase, testSettings } from "../support-history/mysql";
import {
  linkManager,
  type ManagerNodeLike,
  type ManagerWithActions,
} from "../../nodes/datacoll-api/manager-link";

const manager = nodeModule("datacoll-manager");
const api = nodeModule("datacoll-api");

interface Step {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  readonly type?: string;
  readonly status: number;
  /** Plain-text answer (the older paths), exactly or by pattern. */
  readonly text?: string | RegExp;
  /** The field a 400 must name: `field` in JSON errors, the start of the message in plain text. */
  readonly field?: string;
  readonly json?: unknown;
}

const D = "/api/v1/devices/plc1/terms/t1/items/power/datas";
const T0 = 1_700_000_000_000;
// T0 and T0 + 1 ms as the older system wrote times (UTC isoformat with microseconds).
const T0_TEXT = "2023-11-14T22:13:20.000000";
const T1_TEXT = "2023-11-14T22:13:20.001000";

// In order: each step sees what the previous ones did. Every route has at least one 200 here (checked).
const STEPS: readonly Step[] = [
  { method: "GET", path: "/api/", status: 200 },
  // Read from the MySQL tables of the history source the test registers (the only one: picked by blank).
  {
    method: "GET",
    path: "/api/v2/history?points=ra:t:v&from=0&to=1000&step=100",
    status: 200,
    json: { from: 0, to: 1000, step: 100, series: [{ key: "ra:t:v", buckets: [] }] },
  },
  {
    method: "GET",
    path: "/api/v2/history?points=ra:t:v&from=yesterday&to=1000",
    status: 400,
    field: "from",
  },
  { method: "GET", path: "/api/v2/alarm-journal?from=0&to=1000", status: 200, json: { rows: [] } },
  { method: "GET", path: "/api/openapi.json", status: 200 },
  {
    method: "GET",
    path: "/api/v1/device_protocols",
    status: 200,
    json: {
      iec104: "DL/T 634.5104-2009(远动设备及系统传输规约)",
      "modbus-tcp": "GB/T 19582-2008(基于Modbus协议的工业自动化网络规范) over TCP",
      formula: "公式计算（配置计算公式，数据来源为其他物理采集设备）",
      virtual: "虚拟设备（直连终端，公式计算终端）",
      gdwnx: "Q/GDW xnx-2014(电力能效监测系统通信协议)",
      gdw376: "Q/GDW 376.1-2009(电力用户用电信息采集系统通信协议)",
    },
  },
  { method: "GET", path: "/api/v1/term_protocols", status: 200 },
  // devices
  {
    method: "POST",
    path: "/api/v1/devices",
    body: { id: "plc1", protocol: "modbus-tcp", host: "10.0.0.5" },
    status: 200,
  },
  { method: "POST", path: "/api/v1/devices", body: { id: "calc", protocol: "formula" }, status: 200 },
  {
    method: "POST",
    path: "/api/v1/devices",
    body: { id: "plc1", protocol: "virtual" },
    status: 409,
    text: "device already exists!",
  },
  {
    method: "POST",
    path: "/api/v1/devices",
    body: { id: "x", protocol: "modbus-tcp", host: "h", port: 0 },
    status: 400,
    field: "port",
  },
  { method: "POST", path: "/api/v1/devices", body: { id: "x" }, status: 400, field: "protocol" },
  { method: "GET", path: "/api/v1/devices", status: 200, json: ["calc", "plc1"] },
  { method: "GET", path: "/api/v1/devices/plc1", status: 200 },
  { method: "GET", path: "/api/v1/devices/nope", status: 404, text: "device_id not found!" },
  { method: "PUT", path: "/api/v1/devices/plc1", body: { name: "Main" }, status: 200, text: "" },
  {
    method: "PUT",
    path: "/api/v1/devices/nope",
    body: { name: "Main" },
    status: 404,
    text: "device_id not found!",
  },
  { method: "PUT", path: "/api/v1/devices/plc1", body: { host: "bad host!" }, status: 400, field: "host" },
  {
    method: "PUT",
    path: "/api/v1/devices/plc1",
    body: { id: "calc" },
    status: 409,
    text: "device already exists!",
  },
  { method: "POST", path: "/api/v1/devices", body: { id: "tmp", protocol: "virtual" }, status: 200 },
  { method: "PUT", path: "/api/v1/devices/tmp", body: { id: "tmp2" }, status: 200 },
  { method: "DELETE", path: "/api/v1/devices/tmp2", status: 200, text: "" },
  { method: "DELETE", path: "/api/v1/devices/tmp2", status: 404, text: "device_id not found!" },
  // terms
  { method: "POST", path: "/api/v1/terms", body: { id: "t1", device_id: "plc1", address: 1 }, status: 200 },
  { method: "POST", path: "/api/v1/terms", body: { id: "c1", device_id: "calc" }, status: 200 },
  {
    method: "POST",
    path: "/api/v1/terms",
    body: { id: "t1", device_id: "plc1" },
    status: 409,
    text: "term already exists!",
  },
  {
    method: "POST",
    path: "/api/v1/terms",
    body: { id: "t2", device_id: "ghost" },
    status: 404,
    text: "device_id not found!",
  },
  {
    method: "POST",
    path: "/api/v1/terms",
    body: { id: "t2", device_id: "plc1", address: 256 },
    status: 400,
    field: "address",
  },
  { method: "GET", path: "/api/v1/terms", status: 200, json: ["c1", "t1"] },
  { method: "GET", path: "/api/v1/terms/t1", status: 200 },
  { method: "GET", path: "/api/v1/terms/nope", status: 404, text: "term_id not found!" },
  { method: "PUT", path: "/api/v1/terms/t1", body: { pollInterval: 500 }, status: 200 },
  { method: "PUT", path: "/api/v1/terms/t1", body: { pollInterval: 5 }, status: 400, field: "pollInterval" },
  { method: "PUT", path: "/api/v1/terms/nope", body: {}, status: 404, text: "term_id not found!" },
  { method: "GET", path: "/api/v1/devices/plc1/terms", status: 200, json: ["t1"] },
  { method: "GET", path: "/api/v1/devices/nope/terms", status: 404, text: "device_id not found!" },
  // items
  { method: "POST", path: "/api/v1/items", body: { id: "power", unit: "kW" }, status: 200, text: "" },
  { method: "POST", path: "/api/v1/items", body: { id: "energy", unit: "kWh" }, status: 200 },
  { method: "POST", path: "/api/v1/items", body: { id: "power" }, status: 409, text: "item already exists!" },
  { method: "POST", path: "/api/v1/items", body: { id: "a:b" }, status: 400, field: "id" },
  { method: "GET", path: "/api/v1/items", status: 200, json: ["energy", "power"] },
  { method: "GET", path: "/api/v1/items/power", status: 200 },
  { method: "GET", path: "/api/v1/items/nope", status: 404, text: "item_id not found!" },
  { method: "PUT", path: "/api/v1/items/power", body: { description: "active power" }, status: 200 },
  { method: "PUT", path: "/api/v1/items/power", body: { unit: 5 }, status: 400, field: "unit" },
  { method: "PUT", path: "/api/v1/items/nope", body: {}, status: 404, text: "item_id not found!" },
  // term items
  {
    method: "POST",
    path: "/api/v1/terms/t1/items",
    body: { item_id: "power", address: "HR40001" },
    status: 200,
    text: "",
  },
  {
    method: "POST",
    path: "/api/v1/terms/t1/items",
    body: { item_id: "energy", address: "HR40003" },
    status: 200,
  },
  { method: "POST", path: "/api/v1/terms/c1/items", body: { item_id: "power" }, status: 200 },
  {
    method: "POST",
    path: "/api/v1/terms/t1/items",
    body: { item_id: "power", address: "HR1" },
    status: 409,
    text: "term_item already exists!",
  },
  {
    method: "POST",
    path: "/api/v1/terms/t1/items",
    body: { item_id: "ghost", address: "HR1" },
    status: 404,
    text: "item_id not found!",
  },
  {
    method: "POST",
    path: "/api/v1/terms/nope/items",
    body: { item_id: "power" },
    status: 404,
    text: "term_id not found!",
  },
  {
    method: "POST",
    path: "/api/v1/terms/t1/items",
    body: { item_id: "energy", deadband: -1 },
    status: 400,
    field: "deadband",
  },
  { method: "GET", path: "/api/v1/terms/t1/items", status: 200, json: ["energy", "power"] },
  { method: "GET", path: "/api/v1/terms/nope/items", status: 404, text: "term_id not found!" },
  { method: "GET", path: "/api/v1/terms/t1/items/power", status: 200 },
  { method: "GET", path: "/api/v1/terms/t1/items/nope", status: 404, text: "item_id not found!" },
  { method: "GET", path: "/api/v1/terms/c1/items/energy", status: 404, text: "term_item not found!" },
  {
    method: "PUT",
    path: "/api/v1/terms/t1/items/power",
    body: { coefficient: 0.1 },
    status: 200,
    text: "",
  },
  {
    method: "PUT",
    path: "/api/v1/terms/t1/items/power",
    body: { limits: { low: 5, lowLow: 10 } },
    status: 400,
    field: "limits.low",
  },
  { method: "PUT", path: "/api/v1/terms/t1/items/nope", body: {}, status: 404, text: "term_item not found!" },
  // formulas
  {
    method: "POST",
    path: "/api/v1/formulas",
    body: { id: "f1", expression: "p1 * 2", params: { p1: "plc1:t1:power" }, result: "calc:c1:power" },
    status: 200,
  },
  {
    method: "POST",
    path: "/api/v1/formulas",
    body: { id: "f1", expression: "p1", params: { p1: "plc1:t1:power" }, result: "calc:c1:power" },
    status: 409,
    text: "formula already exists!",
  },
  {
    method: "POST",
    path: "/api/v1/formulas",
    body: { id: "f2", expression: "p1", params: { x: "plc1:t1:power" }, result: "calc:c1:power" },
    status: 400,
    field: "params.x",
  },
  {
    method: "POST",
    path: "/api/v1/formulas",
    body: { id: "f3", expression: "p1 +* (", params: { p1: "plc1:t1:power" }, result: "calc:c1:power" },
    status: 400,
    field: "expression",
  },
  {
    method: "POST",
    path: "/api/v1/formulas",
    body: { id: "f3", expression: "p1", params: { p1: "plc1:t1:ghost" }, result: "calc:c1:power" },
    status: 404,
    text: "term_item not found!",
  },
  { method: "GET", path: "/api/v1/formulas", status: 200, json: ["f1"] },
  { method: "GET", path: "/api/v1/formulas/f1", status: 200 },
  { method: "GET", path: "/api/v1/formulas/nope", status: 404, text: "formula_id not found!" },
  { method: "PUT", path: "/api/v1/formulas/f1", body: { expression: "p1 * 3" }, status: 200 },
  { method: "PUT", path: "/api/v1/formulas/f1", body: { expression: "" }, status: 400, field: "expression" },
  { method: "PUT", path: "/api/v1/formulas/nope", body: {}, status: 404, text: "formula_id not found!" },
  { method: "POST", path: "/api/v1/formula_check", body: { expression: "p1 + p2" }, status: 200, text: "OK" },
  {
    method: "POST",
    path: "/api/v1/formula_check",
    body: { expression: "p1 +" },
    status: 200,
    text: /^(?!OK$)./,
  },
  {
    method: "POST",
    path: "/api/v1/formula_check",
    body: { formula: 'avg(p2,"5m")', p1: "plc1:t1:power" },
    status: 200,
    text: "p2 is used but not bound to a point; add it to the parameters",
  },
  {
    method: "POST",
    path: "/api/v1/formula_check",
    body: { name: "no expression" },
    status: 400,
    field: "expression",
  },
  // data
  { method: "POST", path: D, body: { value: 1.5, time: T0 }, status: 200, text: "OK" },
  { method: "POST", path: D, body: { value: 2.5, time: T0 + 1 }, status: 200, text: "OK" },
  { method: "POST", path: D, body: { value: [1] }, status: 400, field: "value" },
  { method: "GET", path: D, status: 200, json: { [T1_TEXT]: "2.5", [T0_TEXT]: "1.5" } },
  { method: "GET", path: `${D}?count=abc`, status: 400, field: "count" },
  { method: "GET", path: `${D}/1`, status: 200, json: { [T1_TEXT]: "2.5" } },
  { method: "GET", path: `${D}/-1`, status: 200, json: { [T1_TEXT]: "2.5" } },
  { method: "GET", path: `${D}/0`, status: 200, json: { [T0_TEXT]: "1.5" } },
  { method: "GET", path: `${D}/9`, status: 200, json: { null: null } },
  { method: "GET", path: `${D}/x`, status: 400, field: "index" },
  {
    method: "GET",
    path: "/api/v1/devices/plc1/terms/t1/items/nope/datas",
    status: 200,
    json: {},
  },
  {
    method: "GET",
    path: "/api/v1/devices/plc1/terms/t1/items/nope/datas/0",
    status: 200,
    json: { null: null },
  },
  {
    method: "POST",
    path: "/api/v1/device_call",
    body: { device_id: "plc1", term_id: "t1", item_id: "power" },
    status: 503,
  },
  {
    method: "POST",
    path: "/api/v1/device_call",
    body: { key: "plc1:t1:nope" },
    status: 404,
    text: "item_id not found!",
  },
  { method: "POST", path: "/api/v1/device_call", body: { device_id: "plc1" }, status: 400, field: "term_id" },
  { method: "POST", path: "/api/v1/device_ctrl", body: { key: "plc1:t1:power", value: 1 }, status: 503 },
  {
    method: "POST",
    path: "/api/v1/device_ctrl",
    body: { key: "plc1:t1:power" },
    status: 400,
    field: "value",
  },
  {
    method: "POST",
    path: "/api/v1/device_ctrl",
    body: { key: "plc1:t1:nope", value: 1 },
    status: 404,
    text: "item_id not found!",
  },
  { method: "GET", path: "/api/v1/latest?pattern=plc1", status: 200 },
  { method: "GET", path: "/api/v1/latest?pattern=a:b:c:d", status: 400, field: "pattern" },
  // + and # must be escaped in a URL: unescaped, + is a space and # ends the URL.
  { method: "GET", path: "/api/v1/latest?pattern=plc1:+:power", status: 400, field: "pattern" },
  { method: "GET", path: "/api/v1/latest?pattern=plc1:%2B:power", status: 200 },
  { method: "GET", path: "/api/v1/latest?pattern=plc1:#", status: 400, field: "pattern" },
  { method: "GET", path: "/api/v1/latest?pattern=plc1:%23", status: 200 },
  { method: "GET", path: "/api/v1/alarms", status: 200, json: [] },
  { method: "GET", path: "/api/v1/alarms?key=nokey", status: 400, field: "key" },
  { method: "POST", path: "/api/v1/alarms/plc1:t1:power/high/ack", status: 404, field: "condition" },
  {
    method: "POST",
    path: "/api/v1/alarms/plc1:t1:power/high/shelve",
    body: { minutes: 5 },
    status: 404,
    field: "condition",
  },
  { method: "GET", path: "/api/v1/status", status: 200, json: [] },
  { method: "GET", path: "/api/v1/devices/plc1/status", status: 200, json: { id: "plc1", online: false } },
  { method: "GET", path: "/api/v1/devices/plc1/frames", status: 200, json: [] },
  { method: "GET", path: "/api/v1/devices/ghost/frames", status: 404, field: "id" },
  { method: "GET", path: "/api/v1/devices/nope/status", status: 404, field: "id" },
  // v2
  { method: "GET", path: "/api/v2/devices", status: 200 },
  { method: "GET", path: "/api/v2/terms", status: 200 },
  { method: "GET", path: "/api/v2/items", status: 200 },
  { method: "GET", path: "/api/v2/formulas", status: 200 },
  {
    method: "POST",
    path: "/api/v2/devices",
    body: [
      { id: "v1", protocol: "virtual" },
      { id: "v2", protocol: "virtual" },
    ],
    status: 200,
    text: "",
  },
  // The older system's batch create had no 409: an existing id is merged (the fields not sent kept).
  {
    method: "POST",
    path: "/api/v2/devices",
    body: [
      { id: "v3", protocol: "virtual" },
      { id: "v1", name: "Virtual one" },
    ],
    status: 200,
    text: "",
  },
  {
    method: "GET",
    path: "/api/v1/devices/v1",
    status: 200,
    text: /^(?=.*"name":"Virtual one")(?=.*"protocol":"virtual")/,
  },
  {
    method: "POST",
    path: "/api/v2/devices",
    body: [{ id: "v3", protocol: "nope" }],
    status: 400,
    field: "protocol",
  },
  { method: "POST", path: "/api/v2/terms", body: [{ id: "vt1", deviceId: "v1" }], status: 200 },
  {
    method: "POST",
    path: "/api/v2/terms",
    body: [{ id: "vt2", deviceId: "ghost" }],
    status: 404,
    field: "deviceId",
  },
  { method: "POST", path: "/api/v2/items", body: [{ id: "i1" }, { id: "i2" }], status: 200 },
  { method: "POST", path: "/api/v2/items", body: { not: "a list" }, status: 400 },
  {
    method: "POST",
    path: "/api/v2/terms/vt1/items",
    body: [{ itemId: "i1" }, { itemId: "i2" }],
    status: 200,
  },
  { method: "POST", path: "/api/v2/terms/nope/items", body: [{ itemId: "i1" }], status: 404, field: "id" },
  {
    method: "POST",
    path: "/api/v2/formulas",
    body: [{ id: "f9", expression: "p1", params: { p1: "v1:vt1:i1" }, result: "v1:vt1:i2" }],
    status: 200,
  },
  {
    method: "POST",
    path: "/api/v2/formulas",
    body: [{ id: "f9", expression: "p1 + 1", params: { p1: "v1:vt1:i1" }, result: "v1:vt1:i2" }],
    status: 200,
    text: "",
  },
  { method: "DELETE", path: "/api/v2/formulas", body: ["f9"], status: 200, json: { deleted: ["f9"] } },
  { method: "DELETE", path: "/api/v2/terms/vt1/items", body: ["i1", "ghost"], status: 404, field: "ids" },
  { method: "DELETE", path: "/api/v2/terms/vt1/items?ids=i1,i2", status: 200 },
  { method: "DELETE", path: "/api/v2/items", body: { ids: ["i1", "i2"] }, status: 200 },
  { method: "DELETE", path: "/api/v2/items", body: { ids: "i1" }, status: 400, field: "ids" },
  { method: "DELETE", path: "/api/v2/terms", body: ["vt1"], status: 200 },
  { method: "DELETE", path: "/api/v2/devices", body: ["v1", "v2", "v9"], status: 404, field: "ids" },
  { method: "DELETE", path: "/api/v2/devices", body: ["v1", "v2"], status: 200 },
  // the older system's v2 forms: bare records, term items by ids, deletes by POST …/del
  { method: "POST", path: "/api/v2/devices", body: { id: "o1", protocol: "virtual" }, status: 200 },
  { method: "POST", path: "/api/v2/terms", body: [{ id: "ot1", device_id: "o1" }], status: 200 },
  { method: "POST", path: "/api/v2/items", body: [{ id: "oi1" }], status: 200 },
  {
    method: "POST",
    path: "/api/v2/term_items",
    body: [{ device_id: "o1", term_id: "ot1", item_id: "oi1", base_val: "2" }],
    status: 200,
    text: "",
  },
  {
    method: "POST",
    path: "/api/v2/term_items",
    body: { device_id: "o1", term_id: "ot1", item_id: "oi1", coefficient: "3" },
    status: 200,
    text: "",
  },
  {
    method: "GET",
    path: "/api/v1/terms/ot1/items/oi1",
    status: 200,
    json: { device_id: "o1", term_id: "ot1", item_id: "oi1", base_val: "2", coefficient: "3" },
  },
  {
    method: "POST",
    path: "/api/v2/term_items",
    body: [{ device_id: "o1", term_id: "ot9", item_id: "oi1" }],
    status: 404,
    field: "termId",
  },
  {
    method: "POST",
    path: "/api/v2/formulas",
    body: [
      { id: "of1", formula: "p1 * 2", p1: "o1:ot1:oi1", device_id: "calc", term_id: "c1", item_id: "power" },
    ],
    status: 200,
  },
  { method: "POST", path: "/api/v2/formulas/del", body: ["of1"], status: 200, text: "" },
  { method: "POST", path: "/api/v2/formulas/del", body: ["of1"], status: 404, text: "formula_id not found!" },
  {
    method: "POST",
    path: "/api/v2/term_items/del",
    body: [{ device_id: "o1", term_id: "ot1", item_id: "oi1" }],
    status: 200,
    text: "",
  },
  { method: "POST", path: "/api/v2/items/del", body: JSON.stringify("oi1"), status: 200 },
  { method: "POST", path: "/api/v2/terms/del", body: ["ot1"], status: 200 },
  {
    method: "POST",
    path: "/api/v2/devices/del",
    body: ["o1", "o9"],
    status: 404,
    text: "device_id not found!",
  },
  { method: "POST", path: "/api/v2/devices/del", body: ["o1"], status: 200, text: "" },
  {
    method: "POST",
    path: "/api/v2/import?kind=item",
    body: "id,unit\nvolt,V\ncurrent,A\n",
    type: "text/csv",
    status: 200,
    json: { created: ["volt", "current"], updated: [] },
  },
  {
    method: "POST",
    path: "/api/v2/import?kind=item",
    body: "id,unit\nbad id,V\n",
    type: "text/csv",
    status: 400,
    field: "id",
  },
  // deletes last: cascades
  { method: "DELETE", path: "/api/v1/terms/t1/items/energy", status: 200, text: "" },
  { method: "DELETE", path: "/api/v1/terms/t1/items/energy", status: 404, text: "term_item not found!" },
  { method: "DELETE", path: "/api/v1/formulas/f1", status: 200, text: "" },
  { method: "DELETE", path: "/api/v1/formulas/f1", status: 404, text: "formula_id not found!" },
  { method: "DELETE", path: "/api/v1/items/energy", status: 200, text: "" },
  { method: "DELETE", path: "/api/v1/items/energy", status: 404, text: "item_id not found!" },
  { method: "DELETE", path: "/api/v1/terms/c1", status: 200, text: "" },
  { method: "DELETE", path: "/api/v1/terms/c1", status: 404, text: "term_id not found!" },
];

// With a manager runtime attached (restActions) and an alarm raised.
const RUNTIME_STEPS: readonly Step[] = [
  {
    method: "POST",
    path: "/api/v1/device_call",
    body: { device_id: "plc1", term_id: "t1", item_id: "power" },
    status: 200,
    // A 64-bit register's raw value is a bigint; JSON carries it as decimal text.
    json: {
      key: "plc1:t1:power",
      deviceId: "plc1",
      termId: "t1",
      itemId: "power",
      value: 42,
      raw: "9223372036854775808",
      ts: 7,
      quality: {},
      cause: "call",
      // the older reply's fields
      device_id: "plc1",
      term_id: "t1",
      item_id: "power",
      time: "1970-01-01T00:00:00.007000",
    },
  },
  {
    method: "POST",
    path: "/api/v1/device_ctrl",
    body: { key: "plc1:t1:power", value: 5 },
    status: 200,
    json: {
      key: "plc1:t1:power",
      value: 5,
      confirmed: true,
      ts: 7,
      device_id: "plc1",
      term_id: "t1",
      item_id: "power",
      time: "1970-01-01T00:00:00.007000",
    },
  },
  {
    method: "POST",
    path: "/api/v1/device_ctrl",
    body: { key: "plc1:t1:power", value: -1 },
    status: 502,
    text: "negative confirmation",
  },
  { method: "POST", path: "/api/v1/alarms/plc1:t1:power/high/ack", status: 200 },
  { method: "POST", path: "/api/v1/alarms/plc1:t1:power/high/shelve", body: { until: T0 * 2 }, status: 200 },
  {
    method: "POST",
    path: "/api/v1/alarms/plc1:t1:power/high/shelve",
    body: { until: "later" },
    status: 400,
    field: "until",
  },
];

function check(step: Step, r: Reply): void {
  const label = `${step.method} ${step.path}`;
  assert.equal(r.status, step.status, `${label}: ${r.text}`);
  const plain = String(r.headers["content-type"]).startsWith("text/plain");
  if (step.text instanceof RegExp) assert.match(r.text, step.text, label);
  else if (step.text !== undefined) assert.equal(r.text, step.text, label);
  if (step.json !== undefined) assert.deepEqual(r.json(), step.json, label);
  if (step.field !== undefined) {
    if (plain)
      assert.ok(r.text.startsWith(`${step.field} `), `${label}: ${r.text} should name ${step.field}`);
    else assert.equal((r.json() as { field?: string }).field, step.field, `${label}: ${r.text}`);
  }
  if (step.status >= 400 && !plain) {
    const body = r.json() as { error?: unknown; message?: unknown };
    assert.equal(typeof body.error, "string", label);
    assert.equal(typeof body.message, "string", label);
  }
}

describe("datacoll-api over real HTTP", function () {
  useNodeRed();
  const http = new HttpServer();
  before(() => http.start());
  after(() => http.stop());

  it("answers every endpoint: success, 404, 409 and 400 naming the field", async function () {
    const db = await createTestDatabase("dc_rest_hist");
    await db.admin.query(historyTableDdl("ra_history"));
    await db.admin.query(alarmsTableDdl("ra_alarms"));
    const pool = createMysqlPool(testSettings(db.name));
    const unregister = registerHistorySource(
      poolHistorySource(pool, { id: "ra", name: "ra", historyTable: "ra_history", alarmsTable: "ra_alarms" }),
    );
    try {
      await helper.load([manager, api, httpNodes], apiFlow());
      for (const step of STEPS) {
        const r = await http.request(
          step.method,
          step.path,
          step.body,
          step.type ? { "content-type": step.type } : {},
        );
        check(step, r);
      }
    } finally {
      unregister();
      await pool.end();
      await db.drop();
    }
  });

  it("covers every route of the table with a successful step", function () {
    const router = new Router();
    const ok = new Set<string>();
    for (const s of [...STEPS, ...RUNTIME_STEPS]) {
      if (s.status !== 200) continue;
      const { route } = router.match(s.method, s.path.replace(/^\/api/, "").split("?")[0]);
      ok.add(`${route.method} ${route.path}`);
    }
    const missing = ROUTES.map((r) => `${r.method} ${r.path}`).filter((r) => !ok.has(r));
    assert.deepEqual(missing, []);
  });

  it("calls the manager runtime for device_call, device_ctrl and alarms", async function () {
    await helper.load([manager, api, httpNodes], apiFlow());
    const calls: string[] = [];
    const actions: RestActions = {
      call: async (key) => {
        calls.push(`call ${key}`);
        return {
          key,
          deviceId: "plc1",
          termId: "t1",
          itemId: "power",
          value: 42,
          raw: 2n ** 63n,
          ts: 7,
          quality: GOOD,
          cause: "call",
        };
      },
      control: async (key, value) => {
        calls.push(`ctrl ${key} ${String(value)}`);
        if (value === -1) throw new Error("negative confirmation");
        return { key, value, confirmed: true, ts: 7 };
      },
    };
    // As the manager runtime will: it sets restActions on the Manager the config node owns.
    const m1 = helper.getNode("m1") as unknown as ManagerNodeLike;
    (m1.manager as ManagerWithActions).restActions = actions;
    const link = linkManager(m1);
    try {
      await link.store.registry.putDevice({ id: "plc1", protocol: "modbus-tcp", host: "h" });
      await link.store.registry.putTerm({ id: "t1", deviceId: "plc1" });
      await link.store.registry.putItem({ id: "power" });
      await link.store.registry.putPoint({ deviceId: "plc1", termId: "t1", itemId: "power", address: "HR1" });
      await link.store.putAlarm({
        key: "plc1:t1:power",
        condition: "high",
        active: true,
        acked: false,
        ts: 1,
      });
      for (const step of RUNTIME_STEPS) check(step, await http.request(step.method, step.path, step.body));
      const [alarm] = await link.store.alarms("plc1:t1:power");
      assert.deepEqual([alarm.acked, (alarm as { shelvedUntil?: number }).shelvedUntil], [true, T0 * 2]);
    } finally {
      await link.release();
    }
    assert.deepEqual(calls, ["call plc1:t1:power", "ctrl plc1:t1:power 5", "ctrl plc1:t1:power -1"]);
  });

  it("publishes a hand-written value through the manager, so its subscribers see it", async function () {
    await helper.load([manager, api, httpNodes], apiFlow());
    const m1 = helper.getNode("m1") as unknown as ManagerNodeLike;
    const reg = m1.manager?.registry;
    assert.ok(reg);
    await reg.putDevice({ id: "v1", protocol: "virtual" });
    await reg.putTerm({ id: "t1", deviceId: "v1" });
    await reg.putItem({ id: "sp" });
    await reg.putPoint({ deviceId: "v1", termId: "t1", itemId: "sp" });
    const seen: unknown[] = [];
    const sub = m1.manager?.subscribe("v1", (points) =>
      seen.push(...points.map((p) => [p.key, p.value, p.cause])),
    );
    try {
      const r = await http.request("POST", "/api/v1/devices/v1/terms/t1/items/sp/datas", { value: 21.5 });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(seen, [["v1:t1:sp", 21.5, "manual"]]);
      assert.equal((await m1.manager?.store.latest("v1:t1:sp"))?.value, 21.5);
      const latest = await http.request("GET", "/api/v1/latest?pattern=v1");
      assert.deepEqual(
        (latest.json() as { key: string; value: number }[]).map((p) => [p.key, p.value]),
        [["v1:t1:sp", 21.5]],
      );
    } finally {
      sub?.unsubscribe();
    }
  });

  it("tags the latest answer with an ETag and answers 304 to a client that has it", async function () {
    await helper.load([manager, api, httpNodes], apiFlow());
    const m1 = helper.getNode("m1") as unknown as ManagerNodeLike;
    const reg = m1.manager?.registry;
    assert.ok(reg && m1.manager);
    await reg.putDevice({ id: "v1", protocol: "virtual" });
    await reg.putTerm({ id: "t1", deviceId: "v1" });
    await reg.putItem({ id: "sp" });
    await reg.putPoint({ deviceId: "v1", termId: "t1", itemId: "sp" });
    await http.request("POST", "/api/v1/devices/v1/terms/t1/items/sp/datas", { value: 1 });
    const first = await http.request("GET", "/api/v1/latest?pattern=v1");
    const etag = first.headers.etag;
    assert.equal(typeof etag, "string");
    assert.equal(first.headers["content-type"], "application/json; charset=utf-8");
    const same = await http.request("GET", "/api/v1/latest?pattern=v1", undefined, {
      "if-none-match": String(etag),
    });
    assert.deepEqual([same.status, same.text], [304, ""]);
    await http.request("POST", "/api/v1/devices/v1/terms/t1/items/sp/datas", { value: 2 });
    const changed = await http.request("GET", "/api/v1/latest?pattern=v1", undefined, {
      "if-none-match": String(etag),
    });
    assert.equal(changed.status, 200);
    assert.notEqual(changed.headers.etag, etag);
    assert.deepEqual(
      (changed.json() as { value: number }[]).map((p) => p.value),
      [2],
    );
  });

  it("answers bad JSON with 400 and an oversized body with 413, never Node-RED's 500", async function () {
    await helper.load([manager, api, httpNodes], apiFlow({ api: { maxBody: 1000 } }));
    const bad = await http.request("POST", "/api/v1/devices", '{"id": "x",', {
      "content-type": "application/json",
    });
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.text, /not valid JSON/);
    const huge = await http.request(
      "POST",
      "/api/v2/items",
      JSON.stringify([{ id: "x", description: "y".repeat(5000) }]),
    );
    assert.equal(huge.status, 413, huge.text);
    const wrong = await http.request("DELETE", "/api/openapi.json");
    assert.deepEqual([wrong.status, wrong.headers.allow], [405, "GET"]);
  });

  it("puts Node-RED's httpNodeMiddleware in front of the API", async function () {
    const seen: string[] = [];
    helper.settings({
      httpNodeMiddleware: (
        req: { path: string; headers: Record<string, string> },
        res: { status(n: number): { end(t: string): void } },
        next: () => void,
      ) => {
        seen.push(req.path);
        if (req.headers.authorization === "Bearer secret") next();
        else res.status(401).end("unauthorized");
      },
    });
    try {
      await helper.load([manager, api, httpNodes], apiFlow());
      const denied = await http.request("POST", "/api/v1/items", { id: "i1" });
      assert.equal(denied.status, 401);
      const allowed = await http.request(
        "POST",
        "/api/v1/items",
        { id: "i1" },
        { authorization: "Bearer secret" },
      );
      assert.equal(allowed.status, 200, allowed.text);
      const list = await http.request("GET", "/api/v1/items", undefined, { authorization: "Bearer secret" });
      assert.deepEqual(list.json(), ["i1"], "the denied request wrote nothing");
      assert.deepEqual(seen, ["/api/v1/items", "/api/v1/items", "/api/v1/items"]);
    } finally {
      helper.settings({ httpNodeMiddleware: undefined });
    }
  });

  it("finds its manager by name or namespace when no config node is selected", async function () {
    const flow = apiFlow({
      manager: { name: "plant", namespace: "plantns:" },
      api: { manager: "", managerName: "plantns" },
    });
    await helper.load([manager, api, httpNodes], flow);
    const r = await http.request("POST", "/api/v1/items", { id: "i1" });
    assert.equal(r.status, 200, r.text);
  });

  it("answers 503 naming the problem when the manager cannot be found", async function () {
    const flow = apiFlow({ api: { manager: "", managerName: "nobody" } });
    await helper.load([manager, api, httpNodes], flow);
    // In each path's own shape: plain text on the older system's paths, JSON on the others.
    const r = await http.request("GET", "/api/v1/items");
    assert.equal(r.status, 503);
    assert.match(String(r.headers["content-type"]), /^text\/plain/);
    assert.match(r.text, /no deployed datacoll-manager .*nobody/);
    const v2 = await http.request("GET", "/api/v2/items");
    assert.equal(v2.status, 503);
    assert.match(String((v2.json() as { message: string }).message), /no deployed datacoll-manager .*nobody/);
  });

  it("sends the detail of an older fixed text in X-Datacoll-Detail, the text unchanged", async function () {
    await helper.load([manager, api, httpNodes], apiFlow());
    const formula = { id: "f1", formula: "p1 + 1", device_id: "calc", term_id: "c1", item_id: "out" };
    const r = await http.request("POST", "/api/v1/formulas", { ...formula, p1: "1:10:1000" });
    assert.deepEqual([r.status, r.text], [404, "term_item not found!"]);
    assert.match(String(r.headers["content-type"]), /^text\/plain/);
    assert.equal(r.headers["x-datacoll-detail"], "point 1:10:1000 does not exist");
    // An id beyond ASCII travels percent-encoded: Node would refuse the raw text and fail the answer.
    const chinese = await http.request("GET", `/api/v1/devices/${encodeURIComponent("电表")}`);
    assert.deepEqual([chinese.status, chinese.text], [404, "device_id not found!"]);
    assert.equal(
      decodeURIComponent(String(chinese.headers["x-datacoll-detail"])),
      "device 电表 does not exist",
    );
  });

  it("answers 503 saying what to change when two managers share the namespace or the name it names", async function () {
    const second = (over: Record<string, unknown>): Record<string, unknown> => ({
      id: "m2",
      type: "datacoll-manager",
      store: "embedded",
      runDevices: false,
      ...over,
    });
    // As when a flow on the default namespace dc: is imported into the demo (also on dc:).
    await helper.load(
      [manager, api, httpNodes],
      [
        ...apiFlow({ manager: { name: "demo", namespace: "dc:" }, api: { manager: "", managerName: "dc:" } }),
        second({ name: "example 06", namespace: "dc:" }),
      ],
    );
    const shared = await http.request("GET", "/api/v1/items");
    assert.equal(shared.status, 503);
    assert.equal(shared.text, '2 managers use the namespace "dc:": give one another namespace or delete one');
    const v2 = await http.request("GET", "/api/v2/items");
    assert.equal(
      (v2.json() as { message: string }).message,
      '2 managers use the namespace "dc:": give one another namespace or delete one',
    );
    await helper.unload();

    await helper.load(
      [manager, api, httpNodes],
      [
        ...apiFlow({
          manager: { name: "plant", namespace: "a:" },
          api: { manager: "", managerName: "plant" },
        }),
        second({ name: "plant", namespace: "b:" }),
      ],
    );
    const named = await http.request("GET", "/api/v1/items");
    assert.equal(named.status, 503);
    assert.equal(named.text, '2 managers are named "plant": rename one or delete one');
  });
});
