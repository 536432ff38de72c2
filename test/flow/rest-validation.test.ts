/**
 * Validation at the door, over real HTTP through examples/06-rest-api.json (Node-RED's body parser in
 * front, as users run it): protocol addresses and types, ports and ids are checked when a record is
 * written, in the older spelling and in the model's, with a 400 naming the field as the client spelled
 * it — and nothing is stored that the runtime would later refuse.
 */
import assert from "node:assert/strict";
import { HttpServer } from "../integration/rest/http-flow";
import { readExample, useExampleDatabase } from "../support/example-flow";
import { useNodeRed } from "../support/node-red";

const example = readExample("06-rest-api.json");

interface Refusal {
  readonly what: string;
  readonly method?: string;
  readonly path: string;
  /** JSON text as sent, so values JSON.stringify cannot write (1e309, lone surrogates) reach the server. */
  readonly body: string;
  /** The field the answer must name, as the client spelled it. */
  readonly field: string;
}

const json = (v: unknown): string => JSON.stringify(v);

// The plant the refused writes would join: a Modbus device with a unit, an IEC 104 device with a station.
const PLANT: readonly [string, unknown][] = [
  ["/v1/devices", { id: "plc", protocol: "modbus-tcp", host: "127.0.0.1", port: 1502 }],
  ["/v1/devices", { id: "rtu", protocol: "iec104", ip: "127.0.0.1", port: "2404" }],
  ["/v1/terms", { id: "unit1", device_id: "plc", address: "1" }],
  ["/v1/terms", { id: "ca5", device_id: "rtu", address: "5" }],
  ["/v1/items", { id: "volts" }],
];

const REFUSALS: readonly Refusal[] = [
  // Modbus point addresses and types, as the Modbus runtime reads them
  {
    what: "Modbus address ZZ99",
    path: "/v1/terms/unit1/items",
    body: json({ item_id: "volts", address: "ZZ99" }),
    field: "address",
  },
  {
    what: "Modbus address ZZ99 as protocol_code",
    path: "/v1/terms/unit1/items",
    body: json({ item_id: "volts", protocol_code: "ZZ99" }),
    field: "protocol_code",
  },
  {
    what: "Modbus type float99",
    path: "/v1/terms/unit1/items",
    body: json({ item_id: "volts", address: "HR1:float99" }),
    field: "address",
  },
  {
    what: "Modbus type float99 as code_type",
    path: "/v1/terms/unit1/items",
    body: json({ item_id: "volts", protocol_code: "HR1", code_type: "float99" }),
    field: "code_type",
  },
  {
    what: "Modbus register past 65535",
    path: "/v1/terms/unit1/items",
    body: json({ item_id: "volts", protocol_code: "HR65535", code_type: "float32" }),
    field: "protocol_code",
  },
  {
    what: "Modbus point in a v2 batch",
    path: "/v2/terms/unit1/items",
    body: json([{ itemId: "volts", address: "ZZ99" }]),
    field: "address",
  },
  // IEC 104 IOA range and type ids
  {
    what: "IOA 0",
    path: "/v1/terms/ca5/items",
    body: json({ item_id: "volts", protocol_code: "0" }),
    field: "protocol_code",
  },
  {
    what: "IOA 16777216",
    path: "/v1/terms/ca5/items",
    body: json({ item_id: "volts", address: "16777216" }),
    field: "address",
  },
  {
    what: "IOA 16777216 as protocol_code",
    path: "/v1/terms/ca5/items",
    body: json({ item_id: "volts", protocol_code: "16777216", code_type: "13" }),
    field: "protocol_code",
  },
  {
    what: "type id 99",
    path: "/v1/terms/ca5/items",
    body: json({ item_id: "volts", address: "100:99" }),
    field: "address",
  },
  {
    what: "type id 99 as code_type",
    path: "/v1/terms/ca5/items",
    body: json({ item_id: "volts", protocol_code: "100", code_type: "99" }),
    field: "code_type",
  },
  {
    what: "type id 102 (a read, not data) as code_type",
    path: "/v1/terms/ca5/items",
    body: json({ item_id: "volts", protocol_code: "100", code_type: "102" }),
    field: "code_type",
  },
  {
    what: "an older term item in a v2 batch",
    path: "/v2/term_items",
    body: json([
      { device_id: "rtu", term_id: "ca5", item_id: "volts", protocol_code: "100", code_type: "99" },
    ]),
    field: "address",
  },
  {
    what: "common address 0",
    path: "/v1/terms",
    body: json({ id: "ca0", device_id: "rtu", address: "0" }),
    field: "address",
  },
  {
    what: "common address 65535",
    path: "/v1/terms",
    body: json({ id: "ca0", deviceId: "rtu", address: 65535 }),
    field: "address",
  },
  // ports
  {
    what: "port 1e309",
    path: "/v1/devices",
    body: '{"id":"d9","protocol":"iec104","ip":"127.0.0.1","port":1e309}',
    field: "port",
  },
  {
    what: "port 1e309 with host",
    path: "/v1/devices",
    body: '{"id":"d9","protocol":"modbus-tcp","host":"127.0.0.1","port":1e309}',
    field: "port",
  },
  {
    what: 'port "1e309"',
    path: "/v1/devices",
    body: json({ id: "d9", protocol: "iec104", ip: "127.0.0.1", port: "1e309" }),
    field: "port",
  },
  {
    what: "port 70000",
    path: "/v1/devices",
    body: json({ id: "d9", protocol: "iec104", ip: "127.0.0.1", port: "70000" }),
    field: "port",
  },
  {
    what: "port 1e309 in a v2 batch",
    path: "/v2/devices",
    body: '[{"id":"d9","protocol":"virtual","port":1e309}]',
    field: "port",
  },
  // hosts in both spellings
  {
    what: "ip missing",
    path: "/v1/devices",
    body: json({ id: "d9", protocol: "iec104", port: "2404" }),
    field: "host",
  },
  {
    what: "ip not a host",
    path: "/v1/devices",
    body: json({ id: "d9", protocol: "iec104", ip: "bad host!" }),
    field: "ip",
  },
  {
    what: "host not a host",
    path: "/v1/devices",
    body: json({ id: "d9", protocol: "iec104", host: "bad host!" }),
    field: "host",
  },
  // ids: well-formed Unicode only (a lone surrogate would be stored as U+FFFD and never found again)
  {
    what: "device id with a lone surrogate",
    path: "/v1/devices",
    body: '{"id":"d\\ud800","protocol":"virtual"}',
    field: "id",
  },
  {
    what: "term device_id with a lone surrogate",
    path: "/v1/terms",
    body: '{"id":"t9","device_id":"rtu\\udc00"}',
    field: "device_id",
  },
  {
    what: "term deviceId with a lone surrogate",
    path: "/v1/terms",
    body: '{"id":"t9","deviceId":"rtu\\udc00"}',
    field: "deviceId",
  },
  { what: "item id with a lone surrogate", path: "/v2/items", body: '[{"id":"\\ud83d"}]', field: "id" },
  {
    what: "term item item_id with a lone surrogate",
    path: "/v1/terms/ca5/items",
    body: '{"item_id":"v\\ud800","protocol_code":"100"}',
    field: "item_id",
  },
  {
    what: "a name with a lone surrogate",
    path: "/v1/items",
    body: '{"id":"i9","name":"a\\ud800b"}',
    field: "name",
  },
  {
    what: "an extra field with a lone surrogate",
    path: "/v1/devices",
    body: '{"id":"d9","protocol":"virtual","identify":"\\udfff"}',
    field: "identify",
  },
  // limits in both spellings
  {
    what: "up_limit below down_limit",
    path: "/v1/terms/ca5/items",
    body: json({ item_id: "volts", protocol_code: "100", down_limit: "230", up_limit: "220" }),
    field: "up_limit",
  },
  {
    what: "limits.high below limits.low",
    path: "/v1/terms/ca5/items",
    body: json({ item_id: "volts", address: "100", limits: { low: 230, high: 220 } }),
    field: "limits.high",
  },
  {
    what: "base_val not a number",
    path: "/v1/terms/ca5/items",
    body: json({ item_id: "volts", protocol_code: "100", base_val: "x" }),
    field: "base_val",
  },
];

describe("validation at the door (examples/06-rest-api.json over real HTTP)", function () {
  useNodeRed();
  const http = new HttpServer();
  before(() => http.start());
  after(() => http.stop());
  // The example saves what its registry points sample: into a database of this file's own.
  const db = useExampleDatabase("dc_valid");
  const load = (): Promise<void> => db.load(example);

  async function snapshot(): Promise<string> {
    const parts = await Promise.all(
      ["devices", "terms", "items", "formulas"].map(
        async (k) => (await http.request("GET", `/api/v2/${k}`)).text,
      ),
    );
    const points = await Promise.all(
      ["unit1", "ca5"].map(async (t) => (await http.request("GET", `/api/v1/terms/${t}/items`)).text),
    );
    return JSON.stringify([parts, points]);
  }

  it("refuses every bad field with 400 naming it as sent, and stores nothing", async function () {
    await load();
    for (const [p, body] of PLANT) {
      const r = await http.request("POST", `/api${p}`, body);
      assert.equal(r.status, 200, `${p}: ${r.text}`);
    }
    const before = await snapshot();
    for (const c of REFUSALS) {
      const r = await http.request(c.method ?? "POST", `/api${c.path}`, c.body);
      assert.equal(r.status, 400, `${c.what}: ${r.status} ${r.text}`);
      const plain = String(r.headers["content-type"]).startsWith("text/plain");
      const field = plain ? r.text.split(" ")[0] : (r.json() as { field?: string }).field;
      assert.equal(field, c.field, `${c.what}: ${r.text}`);
      assert.equal(await snapshot(), before, `${c.what}: nothing is stored`);
    }
  });

  it("keeps refusing on a change: a PUT in either spelling cannot store what a POST could not", async function () {
    await load();
    for (const [p, body] of PLANT) assert.equal((await http.request("POST", `/api${p}`, body)).status, 200);
    const ok = await http.request("POST", "/api/v1/terms/ca5/items", {
      item_id: "volts",
      protocol_code: "100",
      code_type: "36",
    });
    assert.equal(ok.status, 200, ok.text);
    const before = await snapshot();
    const changes: [string, unknown, string][] = [
      ["/v1/terms/ca5/items/volts", { code_type: "99" }, "code_type"],
      ["/v1/terms/ca5/items/volts", { protocol_code: "16777216" }, "protocol_code"],
      ["/v1/terms/ca5/items/volts", { address: "100:M_XX_1" }, "address"],
      ["/v1/devices/rtu", { port: "0" }, "port"],
      ["/v1/devices/rtu", { ip: "" }, "ip"],
    ];
    for (const [p, body, field] of changes) {
      const r = await http.request("PUT", `/api${p}`, body);
      assert.equal(r.status, 400, `${p} ${JSON.stringify(body)}: ${r.text}`);
      assert.equal(r.text.split(" ")[0], field, r.text);
      assert.equal(await snapshot(), before);
    }
    // What was stored reads back as it was sent.
    const ti = (await http.request("GET", "/api/v1/terms/ca5/items/volts")).json();
    assert.deepEqual(ti, {
      device_id: "rtu",
      term_id: "ca5",
      item_id: "volts",
      protocol_code: "100",
      code_type: "36",
    });
  });
});
