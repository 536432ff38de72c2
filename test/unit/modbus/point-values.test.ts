import assert from "node:assert/strict";
import type { ByteOrder, ModbusDataType, ModbusPointAddress } from "../../../src/core/modbus/point-address";
import {
  decodeBits,
  decodeRegisters,
  encodeRegisters,
  encodeWrite,
  scale,
} from "../../../src/core/modbus/values";
import { exceedsDeadband } from "../../../src/core/model/scaling";
import { DataCollError } from "../../../src/core/errors";

function hr(
  type: ModbusDataType,
  order: ByteOrder,
  extra: Partial<ModbusPointAddress> = {},
): ModbusPointAddress {
  return { table: "holding-register", address: 0, type, order, ...extra };
}

/**
 * Hand-computed register images: for each type a value whose big-endian octets are listed once, and the
 * registers each order puts on the wire (ABCD as is, CDAB words reversed, BADC octets swapped in each
 * word, DCBA both).
 */
const CASES: {
  type: ModbusDataType;
  value: number | string;
  regs: Record<ByteOrder, number[]>;
  decoded?: number | string;
}[] = [
  { type: "int16", value: -2, regs: { ABCD: [0xfffe], CDAB: [0xfffe], BADC: [0xfeff], DCBA: [0xfeff] } },
  { type: "uint16", value: 0x1234, regs: { ABCD: [0x1234], CDAB: [0x1234], BADC: [0x3412], DCBA: [0x3412] } },
  {
    type: "int32",
    value: -123456789, // 0xF8A432EB
    regs: { ABCD: [0xf8a4, 0x32eb], CDAB: [0x32eb, 0xf8a4], BADC: [0xa4f8, 0xeb32], DCBA: [0xeb32, 0xa4f8] },
  },
  {
    type: "uint32",
    value: 0xdeadbeef,
    regs: { ABCD: [0xdead, 0xbeef], CDAB: [0xbeef, 0xdead], BADC: [0xadde, 0xefbe], DCBA: [0xefbe, 0xadde] },
  },
  {
    type: "float32",
    value: 123.456, // 0x42F6E979
    decoded: Math.fround(123.456),
    regs: { ABCD: [0x42f6, 0xe979], CDAB: [0xe979, 0x42f6], BADC: [0xf642, 0x79e9], DCBA: [0x79e9, 0xf642] },
  },
  {
    type: "float64",
    value: Math.PI, // 0x400921FB54442D18
    regs: {
      ABCD: [0x4009, 0x21fb, 0x5444, 0x2d18],
      CDAB: [0x2d18, 0x5444, 0x21fb, 0x4009],
      BADC: [0x0940, 0xfb21, 0x4454, 0x182d],
      DCBA: [0x182d, 0x4454, 0xfb21, 0x0940],
    },
  },
  {
    type: "int64",
    value: "72623859790382856", // 0x0102030405060708, beyond 2^53: raw is the exact decimal string
    regs: {
      ABCD: [0x0102, 0x0304, 0x0506, 0x0708],
      CDAB: [0x0708, 0x0506, 0x0304, 0x0102],
      BADC: [0x0201, 0x0403, 0x0605, 0x0807],
      DCBA: [0x0807, 0x0605, 0x0403, 0x0201],
    },
  },
  {
    type: "int64",
    value: -2,
    regs: {
      ABCD: [0xffff, 0xffff, 0xffff, 0xfffe],
      CDAB: [0xfffe, 0xffff, 0xffff, 0xffff],
      BADC: [0xffff, 0xffff, 0xffff, 0xfeff],
      DCBA: [0xfeff, 0xffff, 0xffff, 0xffff],
    },
  },
  {
    type: "uint64",
    value: 1234567890123, // 0x0000011F71FB04CB, within 2^53: raw is a number
    regs: {
      ABCD: [0x0000, 0x011f, 0x71fb, 0x04cb],
      CDAB: [0x04cb, 0x71fb, 0x011f, 0x0000],
      BADC: [0x0000, 0x1f01, 0xfb71, 0xcb04],
      DCBA: [0xcb04, 0xfb71, 0x1f01, 0x0000],
    },
  },
  {
    type: "uint64",
    value: "18446744073709551615",
    regs: {
      ABCD: [0xffff, 0xffff, 0xffff, 0xffff],
      CDAB: [0xffff, 0xffff, 0xffff, 0xffff],
      BADC: [0xffff, 0xffff, 0xffff, 0xffff],
      DCBA: [0xffff, 0xffff, 0xffff, 0xffff],
    },
  },
];

describe("modbus point values", () => {
  for (const c of CASES) {
    for (const order of ["ABCD", "CDAB", "BADC", "DCBA"] as const) {
      it(`${c.type} ${c.value} in ${order}`, () => {
        const p = hr(c.type, order);
        assert.deepEqual(decodeRegisters(p, c.regs[order]), c.decoded ?? c.value);
        assert.deepEqual(encodeRegisters(p, c.value), c.regs[order]);
      });
    }
  }

  it("strings in ABCD and BADC, read up to the first NUL", () => {
    const p = hr("string", "ABCD", { length: 5 });
    assert.deepEqual(encodeRegisters(p, "ABCDE"), [0x4142, 0x4344, 0x4500]);
    assert.equal(decodeRegisters(p, [0x4142, 0x4344, 0x4500]), "ABCDE");
    const swapped = hr("string", "BADC", { length: 5 });
    assert.deepEqual(encodeRegisters(swapped, "ABCDE"), [0x4241, 0x4443, 0x0045]);
    assert.equal(decodeRegisters(swapped, [0x4241, 0x4443, 0x0045]), "ABCDE");
    assert.deepEqual(encodeRegisters(p, "AB"), [0x4142, 0, 0]);
    assert.equal(decodeRegisters(p, [0x4142, 0x0043, 0x4400]), "AB");
    assert.throws(() => encodeRegisters(p, "ABCDEF"), /longer than 5/);
    assert.throws(() => encodeRegisters(p, "A€"), /Latin-1/);
  });

  it("bits of registers and coils", () => {
    const bit3 = hr("bool", "ABCD", { bit: 3 });
    assert.equal(decodeRegisters(bit3, [0x0008]), true);
    assert.equal(decodeRegisters(bit3, [0xfff7]), false);
    assert.equal(decodeRegisters(hr("bool", "ABCD", { bit: 15 }), [0x8000]), true);
    const coil: ModbusPointAddress = { table: "coil", address: 4, type: "bool", order: "ABCD" };
    assert.equal(decodeBits(coil, [true]), true);
    assert.deepEqual(encodeWrite(coil, 1), { kind: "coil", address: 4, value: true });
    assert.deepEqual(encodeWrite(bit3, false), { kind: "register-bit", address: 0, bit: 3, value: false });
    assert.throws(() => encodeWrite(coil, "on"), /not a boolean/);
  });

  it("the 64-bit precision rule: exact string raw, nearest double value", () => {
    const p = hr("uint64", "ABCD");
    const raw = decodeRegisters(p, [0x7fff, 0xffff, 0xffff, 0xffff]);
    assert.equal(raw, "9223372036854775807");
    assert.equal(scale(p, raw), 9223372036854775808);
    assert.equal(decodeRegisters(p, [0x001f, 0xffff, 0xffff, 0xffff]), Number.MAX_SAFE_INTEGER);
    assert.equal(decodeRegisters(p, [0x0020, 0, 0, 0]), "9007199254740992");
    assert.deepEqual(encodeRegisters(p, 2n ** 63n), [0x8000, 0, 0, 0]);
  });

  it("scales numbers, leaves booleans and strings alone", () => {
    const p = hr("int16", "ABCD");
    assert.equal(scale(p, 250, { coefficient: 0.1, base: -5 }), 20);
    assert.equal(scale(hr("bool", "ABCD", { bit: 1 }), true, { coefficient: 10, base: 1 }), true);
    assert.equal(scale(hr("string", "ABCD", { length: 2 }), "ok", { coefficient: 10, base: 1 }), "ok");
  });

  it("undoes scaling for writes and rounds integers", () => {
    const p = hr("int16", "ABCD");
    assert.deepEqual(encodeWrite(p, 20, { coefficient: 0.1, base: -5 }), {
      kind: "registers",
      address: 0,
      values: [250],
    });
    assert.deepEqual(encodeRegisters(p, 1.6), [2]);
    assert.deepEqual(encodeRegisters(hr("float32", "ABCD"), 20, { coefficient: 2, base: 0 }), [0x4120, 0]);
  });

  it("refuses out-of-range values with the field and the range", () => {
    const err = (fn: () => unknown): DataCollError => {
      try {
        fn();
      } catch (e) {
        assert.ok(e instanceof DataCollError);
        return e;
      }
      assert.fail("did not throw");
    };
    const e = err(() => encodeRegisters(hr("int16", "ABCD"), 40000));
    assert.equal(e.field, "value");
    assert.equal(e.code, "modbus-value");
    assert.match(e.message, /outside int16 range -32768\.\.32767/);
    assert.match(err(() => encodeRegisters(hr("uint16", "ABCD"), -1)).message, /uint16/);
    assert.match(err(() => encodeRegisters(hr("uint32", "ABCD"), 2 ** 32)).message, /uint32/);
    assert.match(err(() => encodeRegisters(hr("int64", "ABCD"), 2n ** 63n)).message, /int64/);
    assert.match(err(() => encodeRegisters(hr("uint64", "ABCD"), "-1")).message, /uint64/);
    assert.match(err(() => encodeRegisters(hr("int32", "ABCD"), NaN)).message, /not a finite number/);
    assert.match(err(() => encodeRegisters(hr("float32", "ABCD"), 1e39)).message, /float32 range/);
    assert.match(err(() => encodeRegisters(hr("float64", "ABCD"), "1")).message, /not a number/);
    const ro = err(() =>
      encodeWrite({ table: "input-register", address: 0, type: "uint16", order: "ABCD" }, 1),
    );
    assert.equal(ro.code, "modbus-read-only");
    assert.equal(ro.field, "table");
  });

  it("deadband: first value, any change at 0, beyond the band otherwise", () => {
    assert.equal(exceedsDeadband(undefined, 1, 5), true);
    assert.equal(exceedsDeadband(1, 1, 0), false);
    assert.equal(exceedsDeadband(1, 1.0001, 0), true);
    assert.equal(exceedsDeadband(10, 14.9, 5), false);
    assert.equal(exceedsDeadband(10, 15, 5), false);
    assert.equal(exceedsDeadband(10, 15.1, 5), true);
    assert.equal(exceedsDeadband(10, 4.9, 5), true);
    assert.equal(exceedsDeadband(true, false, 100), true);
    assert.equal(exceedsDeadband("a", "a", 0), false);
    assert.equal(exceedsDeadband(NaN, NaN, 0), false);
    assert.equal(exceedsDeadband(1, NaN, 0), true);
    assert.equal(exceedsDeadband(1, "1", 0), true);
  });

  it("refuses register arrays of the wrong width", () => {
    assert.throws(() => decodeRegisters(hr("float32", "ABCD"), [1]), RangeError);
    assert.throws(
      () => decodeRegisters({ table: "coil", address: 0, type: "bool", order: "ABCD" }, [1]),
      RangeError,
    );
  });
});
