import assert from "node:assert/strict";
import {
  formatPointAddress,
  parsePointAddress,
  pointAddressFromJson,
  pointWidth,
} from "../../../src/core/modbus/point-address";
import { DataCollError } from "../../../src/core/errors";

function fails(fn: () => unknown, field: string, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DataCollError);
    assert.equal(e.code, "modbus-point");
    assert.equal(e.field, field);
    assert.match(e.message, message);
    return true;
  });
}

describe("modbus point addresses", () => {
  it("parses the prefixed forms as 0-based protocol addresses", () => {
    assert.deepEqual(parsePointAddress("HR40001:float32:CDAB"), {
      table: "holding-register",
      address: 40001,
      type: "float32",
      order: "CDAB",
    });
    assert.deepEqual(parsePointAddress("HR100:int16"), {
      table: "holding-register",
      address: 100,
      type: "int16",
      order: "ABCD",
    });
    assert.deepEqual(parsePointAddress("C17"), { table: "coil", address: 17, type: "bool", order: "ABCD" });
    assert.deepEqual(parsePointAddress("di5"), {
      table: "discrete-input",
      address: 5,
      type: "bool",
      order: "ABCD",
    });
    assert.deepEqual(parsePointAddress("IR30010:uint32:DCBA"), {
      table: "input-register",
      address: 30010,
      type: "uint32",
      order: "DCBA",
    });
    assert.deepEqual(parsePointAddress("HR200.3"), {
      table: "holding-register",
      address: 200,
      type: "bool",
      order: "ABCD",
      bit: 3,
    });
    assert.deepEqual(parsePointAddress("HR300:string(10)"), {
      table: "holding-register",
      address: 300,
      type: "string",
      order: "ABCD",
      length: 10,
    });
    assert.deepEqual(parsePointAddress("HR7"), {
      table: "holding-register",
      address: 7,
      type: "uint16",
      order: "ABCD",
    });
  });

  it("parses 5- and 6-digit references as 1-based, table from the first digit", () => {
    assert.deepEqual(parsePointAddress("40001"), {
      table: "holding-register",
      address: 0,
      type: "uint16",
      order: "ABCD",
    });
    assert.equal(parsePointAddress("400001:float32").address, 0);
    assert.deepEqual(parsePointAddress("30010:uint32:DCBA"), {
      table: "input-register",
      address: 9,
      type: "uint32",
      order: "DCBA",
    });
    assert.deepEqual(parsePointAddress("00017"), { table: "coil", address: 16, type: "bool", order: "ABCD" });
    assert.equal(parsePointAddress("10001").table, "discrete-input");
    assert.equal(parsePointAddress("465536").address, 65535);
    assert.equal(parsePointAddress("40010.15").bit, 15);
  });

  it("names the field at fault", () => {
    fails(() => parsePointAddress("17"), "address", /not of the form/);
    fails(() => parsePointAddress("XR17"), "address", /not of the form/);
    fails(() => parsePointAddress("HR65536"), "address", /outside 0\.\.65535/);
    fails(() => parsePointAddress("HR65535:float32"), "address", /run past 65535/);
    fails(() => parsePointAddress("20001"), "address", /start with 0, 1, 3 or 4/);
    fails(() => parsePointAddress("40000"), "address", /outside 1\.\.9999/);
    fails(() => parsePointAddress("465537"), "address", /outside 1\.\.65536/);
    fails(() => parsePointAddress("HR1:float16"), "type", /float16 is not one of/);
    fails(() => parsePointAddress("C1:int16"), "type", /type is bool/);
    fails(() => parsePointAddress("HR1.16"), "bit", /outside 0\.\.15/);
    fails(() => parsePointAddress("C1.2"), "bit", /registers only/);
    fails(() => parsePointAddress("HR1.2:int16"), "type", /register bit is bool/);
    fails(() => parsePointAddress("HR1:bool"), "bit", /needs a bit number/);
    fails(() => parsePointAddress("HR1:string"), "length", /needs its length/);
    fails(() => parsePointAddress("HR1:string(251)"), "length", /1\.\.250/);
    fails(() => parsePointAddress("HR1:string(4):CDAB"), "order", /swaps words/);
    fails(() => parsePointAddress("HR1:int16(4)"), "length", /only string/);
    fails(() => parsePointAddress("HR1:int16:ABDC"), "order", /one of ABCD/);
  });

  it("formats canonically and round-trips", () => {
    for (const text of [
      "HR40001:float32:CDAB",
      "HR100:int16",
      "C17",
      "DI5",
      "IR30010:uint32:DCBA",
      "HR200.3",
      "HR300:string(10)",
      "HR5",
      "HR5:uint16:BADC",
    ]) {
      assert.equal(formatPointAddress(parsePointAddress(text)), text);
    }
    assert.equal(formatPointAddress(parsePointAddress("40001")), "HR0");
  });

  it("reads and validates the JSON form", () => {
    assert.deepEqual(
      pointAddressFromJson({ table: "holding-register", address: 0, type: "float32", order: "cdab" }),
      {
        table: "holding-register",
        address: 0,
        type: "float32",
        order: "CDAB",
      },
    );
    assert.deepEqual(pointAddressFromJson({ table: "holding-register", address: 2, bit: 4 }), {
      table: "holding-register",
      address: 2,
      type: "bool",
      order: "ABCD",
      bit: 4,
    });
    assert.equal(
      pointAddressFromJson({ table: "input-register", address: 1, type: "Float32" }).type,
      "float32",
    );
    fails(() => pointAddressFromJson("HR1"), "address", /must be an object/);
    fails(() => pointAddressFromJson({ table: "register", address: 1 }), "table", /one of coil/);
    fails(() => pointAddressFromJson({ table: "coil", address: "1" }), "address", /must be a number/);
    fails(() => pointAddressFromJson({ table: "coil", address: 1.5 }), "address", /outside/);
    fails(
      () => pointAddressFromJson({ table: "input-register", address: 1, type: 3 }),
      "type",
      /must be a string/,
    );
    fails(
      () => pointAddressFromJson({ table: "input-register", address: 1, type: "string" }),
      "length",
      /outside 1\.\.250/,
    );
  });

  it("knows each type's width in registers", () => {
    const w = (t: string): number => pointWidth(parsePointAddress(t));
    assert.deepEqual(
      ["HR0", "HR0:int32", "HR0:float64", "HR0:uint64", "HR0:string(5)", "HR0:string(6)", "C0"].map(w),
      [1, 2, 4, 4, 3, 3, 1],
    );
  });
});
