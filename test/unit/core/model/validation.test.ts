import assert from "node:assert/strict";
import { DataCollError } from "../../../../src/core/errors";
import { deviceRecord, parseDevice } from "../../../../src/core/model/device";
import { normalizeId } from "../../../../src/core/model/fields";
import { formulaPoints, parseFormula } from "../../../../src/core/model/formula";
import { itemRecord, parseItem } from "../../../../src/core/model/item";
import { parsePoint, pointRecord } from "../../../../src/core/model/point";
import { parseTerm, termRecord } from "../../../../src/core/model/term";

function rejection(fn: () => unknown): DataCollError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DataCollError, `expected a DataCollError, got ${String(err)}`);
    assert.equal(err.code, "invalid");
    return err;
  }
  assert.fail("expected the record to be rejected");
}

const device = { id: "plc1", protocol: "modbus-tcp", host: "10.0.0.5" };
const term = { id: "t1", deviceId: "plc1", address: 1 };
const point = { deviceId: "plc1", termId: "t1", itemId: "ua", address: "HR40001:float32:CDAB" };
const formula = {
  id: "f1",
  expression: "p1 + p2",
  params: { p1: "plc1:t1:ua", p2: "plc1:t1:ub" },
  result: "calc:t:sum",
};

// [what, parse, record, field at fault, rule in the message]
const cases: ReadonlyArray<readonly [string, (raw: unknown) => unknown, unknown, string, RegExp]> = [
  [
    "id missing",
    parseDevice,
    { ...device, id: undefined },
    "id",
    /id must be text or a whole number, not nothing/,
  ],
  ["id empty", parseDevice, { ...device, id: "" }, "id", /id must not be empty/],
  ["id with ':'", parseDevice, { ...device, id: "a:b" }, "id", /id "a:b" must not contain ':' or whitespace/],
  ["id with a space", parseDevice, { ...device, id: "a b" }, "id", /must not contain ':' or whitespace/],
  ["id with a tab", parseItem, { id: "a\tb" }, "id", /must not contain ':' or whitespace/],
  ["id too long", parseItem, { id: "x".repeat(65) }, "id", /id must be at most 64 characters long/],
  ["id fractional", parseItem, { id: 1.5 }, "id", /id must be text or a whole number, not 1.5/],
  ["not an object", parseDevice, "plc1", "device", /device must be an object/],
  [
    "protocol unknown",
    parseDevice,
    { ...device, protocol: "bacnet" },
    "protocol",
    /protocol must be one of modbus-tcp, iec104, formula, virtual, gdwnx, gdw376, not "bacnet"/,
  ],
  ["protocol missing", parseDevice, { ...device, protocol: undefined }, "protocol", /protocol is required/],
  [
    "host missing",
    parseDevice,
    { ...device, host: undefined },
    "host",
    /host is required for a modbus-tcp device/,
  ],
  [
    "host with space",
    parseDevice,
    { ...device, host: "a b" },
    "host",
    /host "a b" is not a host name or IP address/,
  ],
  [
    "port out of range",
    parseDevice,
    { ...device, port: 70000 },
    "port",
    /port must be at most 65535, not 70000/,
  ],
  ["port zero", parseDevice, { ...device, port: 0 }, "port", /port must be at least 1, not 0/],
  [
    "port not a number",
    parseDevice,
    { ...device, port: "abc" },
    "port",
    /port must be a whole number, not "abc"/,
  ],
  ["port fractional", parseDevice, { ...device, port: 502.5 }, "port", /port must be a whole number/],
  ["name not text", parseDevice, { ...device, name: 5 }, "name", /name must be text, not 5/],
  [
    "name too long",
    parseDevice,
    { ...device, name: "n".repeat(201) },
    "name",
    /name must be at most 200 characters long/,
  ],
  [
    "options not an object",
    parseDevice,
    { ...device, options: [1] },
    "options",
    /options must be an object, not a list/,
  ],
  [
    "options too large",
    parseDevice,
    { ...device, options: { s: "x".repeat(17000) } },
    "options",
    /options must be at most 16384 characters as JSON/,
  ],
  [
    "enabled not boolean",
    parseDevice,
    { ...device, enabled: "yes" },
    "enabled",
    /enabled must be true or false, not "yes"/,
  ],
  [
    "extra object",
    parseDevice,
    { ...device, meta: { a: 1 } },
    "meta",
    /extra fields must be text, numbers or true\/false/,
  ],
  [
    "extra long text",
    parseDevice,
    { ...device, note: "x".repeat(5000) },
    "note",
    /note must be at most 4096 characters long/,
  ],
  ["extra odd name", parseDevice, { ...device, "a b": "x" }, "a b", /extra field names must be letters/],
  [
    "term deviceId missing",
    parseTerm,
    { ...term, deviceId: undefined },
    "deviceId",
    /deviceId must be text or a whole number/,
  ],
  [
    "term address negative",
    parseTerm,
    { ...term, address: -1 },
    "address",
    /address must be at least 0, not -1/,
  ],
  [
    "term address too big",
    parseTerm,
    { ...term, address: 65536 },
    "address",
    /address must be at most 65535/,
  ],
  [
    "poll interval too small",
    parseTerm,
    { ...term, pollInterval: 5 },
    "pollInterval",
    /pollInterval must be 0 \(no polling\) or at least 10 ms, not 5/,
  ],
  [
    "poll interval over a day",
    parseTerm,
    { ...term, pollInterval: 86_400_001 },
    "pollInterval",
    /pollInterval must be at most 86400000/,
  ],
  [
    "item unit too long",
    parseItem,
    { id: "ua", unit: "u".repeat(33) },
    "unit",
    /unit must be at most 32 characters long/,
  ],
  [
    "item description too long",
    parseItem,
    { id: "ua", description: "d".repeat(1001) },
    "description",
    /description must be at most 1000/,
  ],
  [
    "point termId missing",
    parsePoint,
    { ...point, termId: undefined },
    "termId",
    /termId must be text or a whole number/,
  ],
  ["point itemId bad", parsePoint, { ...point, itemId: "a:b" }, "itemId", /must not contain ':'/],
  [
    "point key mismatch",
    parsePoint,
    { ...point, key: "x:y:z" },
    "key",
    /"x:y:z" does not match deviceId:termId:itemId \(plc1:t1:ua\)/,
  ],
  [
    "point address padded",
    parsePoint,
    { ...point, address: " HR1" },
    "address",
    /address must not start or end with whitespace/,
  ],
  [
    "point address too long",
    parsePoint,
    { ...point, address: "x".repeat(129) },
    "address",
    /address must be at most 128/,
  ],
  [
    "coefficient not a number",
    parsePoint,
    { ...point, coefficient: "k" },
    "coefficient",
    /coefficient must be a number, not "k"/,
  ],
  [
    "coefficient infinite",
    parsePoint,
    { ...point, coefficient: Infinity },
    "coefficient",
    /coefficient must be a number, not Infinity/,
  ],
  ["base not a number", parsePoint, { ...point, base: true }, "base", /base must be a number, not true/],
  [
    "deadband negative",
    parsePoint,
    { ...point, deadband: -0.1 },
    "deadband",
    /deadband must be at least 0, not -0.1/,
  ],
  ["limits not an object", parsePoint, { ...point, limits: 5 }, "limits", /limits must be an object/],
  [
    "limits out of order",
    parsePoint,
    { ...point, limits: { low: 10, high: 5 } },
    "limits.high",
    /limits.high \(5\) must not be below limits.low \(10\)/,
  ],
  [
    "limits lowLow above low",
    parsePoint,
    { ...point, limits: { lowLow: 3, low: 2 } },
    "limits.low",
    /limits.low \(2\) must not be below limits.lowLow \(3\)/,
  ],
  [
    "limits unknown",
    parsePoint,
    { ...point, limits: { hihi: 3 } },
    "limits.hihi",
    /limits.hihi is not a limit/,
  ],
  [
    "limit not a number",
    parsePoint,
    { ...point, limits: { high: "x" } },
    "limits.high",
    /limits.high must be a number, not "x"/,
  ],
  [
    "save unknown",
    parsePoint,
    { ...point, save: { every: 3 } },
    "save.every",
    /save.every is not a save setting/,
  ],
  [
    "save interval negative",
    parsePoint,
    { ...point, save: { interval: -1 } },
    "save.interval",
    /save.interval must be at least 0/,
  ],
  [
    "save enabled bad",
    parsePoint,
    { ...point, save: { enabled: "maybe" } },
    "save.enabled",
    /save.enabled must be true or false/,
  ],
  [
    "formula expression missing",
    parseFormula,
    { ...formula, expression: undefined },
    "expression",
    /expression is required/,
  ],
  [
    "formula expression blank",
    parseFormula,
    { ...formula, expression: "  " },
    "expression",
    /expression must not be empty/,
  ],
  [
    "formula params missing",
    parseFormula,
    { ...formula, params: undefined },
    "params",
    /params must be an object of p1, p2/,
  ],
  [
    "formula param name",
    parseFormula,
    { ...formula, params: { x: "a:b:c" } },
    "params.x",
    /params.x is not a parameter name \(p1, p2, …\)/,
  ],
  [
    "formula param p0",
    parseFormula,
    { ...formula, params: { p0: "a:b:c" } },
    "params.p0",
    /is not a parameter name/,
  ],
  [
    "formula param key",
    parseFormula,
    { ...formula, params: { p1: "a:b" } },
    "params.p1",
    /"a:b" must be a point key deviceId:termId:itemId/,
  ],
  [
    "formula param key id",
    parseFormula,
    { ...formula, params: { p1: "a: :c" } },
    "params.p1",
    /must not contain ':' or whitespace/,
  ],
  [
    "formula result missing",
    parseFormula,
    { ...formula, result: undefined },
    "result",
    /result must be a point key/,
  ],
  [
    "formula result is a param",
    parseFormula,
    { ...formula, result: "plc1:t1:ua" },
    "result",
    /plc1:t1:ua must not also be a parameter/,
  ],
];

describe("model validation", function () {
  for (const [what, parse, raw, field, message] of cases) {
    it(`rejects ${what}, naming ${field}`, function () {
      const err = rejection(() => parse(raw));
      assert.equal(err.field, field);
      assert.match(err.message, message);
    });
  }

  it("normalises numeric ids to text", function () {
    assert.equal(normalizeId(42, "id"), "42");
    assert.equal(parseTerm({ id: 7, deviceId: 3, address: 1 }).deviceId, "3");
    assert.equal(parsePoint({ deviceId: 1, termId: 2, itemId: 3 }).key, "1:2:3");
  });

  it("fills defaults: port by protocol, name from id, scaling 1/0, saving on", function () {
    const d = parseDevice(device);
    assert.equal(d.port, 502);
    assert.equal(d.name, "plc1");
    assert.equal(d.enabled, true);
    assert.equal(parseDevice({ id: "rtu", protocol: "iec104", host: "rtu.plant" }).port, 2404);
    assert.equal(parseDevice({ id: "calc", protocol: "formula" }).port, undefined);
    const p = parsePoint(point);
    assert.deepEqual([p.coefficient, p.base, p.deadband, p.save], [1, 0, 0, { enabled: true, interval: 0 }]);
    assert.deepEqual(parseItem({ id: "ua" }), { id: "ua", name: "ua", unit: "", description: "", extra: {} });
    assert.equal(parseTerm(term).pollInterval, 1000);
  });

  it("accepts numbers and booleans sent as text, as CSV imports do", function () {
    const d = parseDevice({ ...device, port: "1502", enabled: "false" });
    assert.equal(d.port, 1502);
    assert.equal(d.enabled, false);
    assert.equal(parsePoint({ ...point, coefficient: "0.1" }).coefficient, 0.1);
  });

  it("keeps unknown extra fields and returns them as given", function () {
    const raw = { ...device, vendor: "ACME", floor: 3, spare: true, comment: null };
    const d = parseDevice(raw);
    assert.deepEqual(d.extra, { vendor: "ACME", floor: 3, spare: true, comment: null });
    const rec = deviceRecord(d);
    assert.equal(rec.vendor, "ACME");
    assert.equal(rec.floor, 3);
    assert.deepEqual(parseDevice(rec), d, "a stored record reads back the same");
    assert.equal(termRecord(parseTerm({ ...term, cabinet: "C2" })).cabinet, "C2");
    assert.equal(itemRecord(parseItem({ id: "ua", phase: "A" })).phase, "A");
    const pr = pointRecord(parsePoint({ ...point, tag: "UA-01", limits: { low: 1, high: 2 } }));
    assert.equal(pr.tag, "UA-01");
    assert.deepEqual(parsePoint(pr), parsePoint({ ...point, tag: "UA-01", limits: { low: 1, high: 2 } }));
  });

  it("lists the points a formula touches", function () {
    assert.deepEqual(formulaPoints(parseFormula(formula)), ["plc1:t1:ua", "plc1:t1:ub", "calc:t:sum"]);
  });
});
