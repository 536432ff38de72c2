/** The flex read's request check: what it takes, and that each refusal names the field at fault. */
import assert from "node:assert/strict";
import { parseFlexRead } from "../../../../src/core/modbus/flex-read";

describe("parseFlexRead", function () {
  it("takes each function code, and numbers given as decimal text", function () {
    for (const fc of [1, 2, 3, 4]) {
      assert.deepEqual(parseFlexRead({ fc, unit: 1, address: 0, quantity: 1 }), {
        ok: true,
        read: { fc, unit: 1, address: 0, quantity: 1 },
      });
    }
    assert.deepEqual(parseFlexRead({ fc: "3", unit: "17", address: " 100 ", quantity: "125" }), {
      ok: true,
      read: { fc: 3, unit: 17, address: 100, quantity: 125 },
    });
  });

  it("refuses each bad field by name, with the bounds it broke", function () {
    const good = { fc: 3, unit: 1, address: 0, quantity: 2 };
    const cases: [unknown, string, number?][] = [
      [null, "payload"],
      [[1, 2], "payload"],
      ["read", "payload"],
      [{ ...good, fc: 5 }, "fc"],
      [{ ...good, fc: undefined }, "fc"],
      [{ ...good, unit: 256 }, "unit", 255],
      [{ ...good, unit: -1 }, "unit", 255],
      [{ ...good, unit: 1.5 }, "unit", 255],
      [{ ...good, address: 65536 }, "address", 65535],
      [{ ...good, address: "x" }, "address", 65535],
      [{ ...good, quantity: 0 }, "quantity", 125],
      [{ ...good, quantity: 126 }, "quantity", 125],
      [{ ...good, fc: 1, quantity: 2001 }, "quantity", 2000],
      // 65535 is the last address: one register fits there, two run past the table.
      [{ ...good, address: 65535, quantity: 2 }, "quantity", 1],
    ];
    for (const [payload, field, max] of cases) {
      const r = parseFlexRead(payload);
      assert.equal(r.ok, false, JSON.stringify(payload));
      if (r.ok) continue;
      assert.equal(r.field, field, JSON.stringify(payload));
      assert.equal(r.max, max, JSON.stringify(payload));
    }
    assert.equal(parseFlexRead({ ...good, fc: 2, quantity: 2000 }).ok, true);
  });
});
