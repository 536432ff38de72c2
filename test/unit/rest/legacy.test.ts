import assert from "node:assert/strict";
import { DataCollError } from "../../../src/core/errors";
import { fromLegacy, legacyRecord, olderTime, spelledError, V1_FIELDS } from "../../../src/core/rest/legacy";

describe("the older field names", function () {
  it("read as other spellings of one model field, the model's name winning", function () {
    const d = fromLegacy({ id: "1", ip: "10.0.0.1", port: "2404", status: "on" }, "device", {
      remember: true,
    });
    assert.deepEqual(d.raw, {
      id: "1",
      host: "10.0.0.1",
      port: "2404",
      status: "on",
      [V1_FIELDS]: "id,ip,port,status",
    });
    assert.equal(d.spelled.get("host"), "ip");
    assert.equal(fromLegacy({ ip: "a", host: "b" }, "device").raw.host, "b");
  });

  it("join protocol_code and code_type into the address, and split it back for the client that sent them", function () {
    const sent = {
      term_id: "10",
      item_id: "1000",
      protocol_code: "100",
      code_type: "36",
      base_val: "0",
      down_limit: "220",
      up_limit: "230",
    };
    const { raw } = fromLegacy(sent, "term_item", { remember: true });
    assert.equal(raw.address, "100:36");
    assert.equal(raw.base, "0");
    assert.deepEqual(raw.limits, { low: "220", high: "230" });
    const stored = {
      ...raw,
      deviceId: "1",
      termId: "10",
      itemId: "1000",
      base: 0,
      limits: { low: 220, high: 230 },
    };
    assert.deepEqual(legacyRecord(stored, "term_item"), { ...sent, device_id: "1" });
  });

  it("merge a change given in part with the stored record", function () {
    const old = {
      address: "100:36",
      limits: { low: 220, high: 230 },
      [V1_FIELDS]: "protocol_code,code_type",
    };
    const changed = fromLegacy({ protocol_code: "401", up_limit: "" }, "term_item", {
      old,
      remember: true,
    }).raw;
    assert.equal(changed.address, "401:36");
    assert.deepEqual(changed.limits, { low: 220 });
    // A client that never split the address replaces all of it.
    const whole = { address: "HR1:float32", [V1_FIELDS]: "protocol_code" };
    assert.equal(fromLegacy({ protocol_code: "HR2" }, "term_item", { old: whole }).raw.address, "HR2");
    assert.equal(legacyRecord({ ...whole, itemId: "i" }, "term_item").protocol_code, "HR1:float32");
  });

  it("read a formula's p1, p2, … and its result point", function () {
    const f = {
      id: "1",
      formula: "p1 + p2",
      device_id: "3",
      term_id: "40",
      item_id: "1000",
      p1: "1:10:1000",
      p2: "2:30:1000",
    };
    const { raw } = fromLegacy(f, "formula", { remember: true });
    assert.deepEqual(
      [raw.expression, raw.params, raw.result],
      ["p1 + p2", { p1: "1:10:1000", p2: "2:30:1000" }, "3:40:1000"],
    );
    assert.deepEqual(legacyRecord(raw, "formula"), f);
    const moved = fromLegacy({ item_id: "2000" }, "formula", { old: raw }).raw;
    assert.equal(moved.result, "3:40:2000");
    assert.throws(() => fromLegacy({ id: "2", device_id: "3" }, "formula"), /term_id is required/);
  });

  it("name the field in an error as the client spelled it", function () {
    const body = fromLegacy({ ip: "bad host!" }, "device");
    const err = spelledError(
      new DataCollError("invalid", 'host "bad host!" is not a host name', "host"),
      body.spelled,
    );
    assert.deepEqual([err.field, err.message], ["ip", 'ip "bad host!" is not a host name']);
  });

  it("write times as the older system did: UTC isoformat with microseconds, no zone", function () {
    assert.equal(olderTime(Date.UTC(2015, 11, 1, 8, 50, 15)), "2015-12-01T08:50:15.000000");
    assert.equal(olderTime(Date.UTC(2015, 11, 1, 8, 50, 15, 123)), "2015-12-01T08:50:15.123000");
    // A sub-millisecond time keeps its microseconds.
    assert.equal(olderTime(Date.UTC(2015, 11, 1, 8, 50, 15, 123) + 0.25), "2015-12-01T08:50:15.123250");
    assert.equal(olderTime(0), "1970-01-01T00:00:00.000000");
  });
});
