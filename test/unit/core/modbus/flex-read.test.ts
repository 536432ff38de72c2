/** The flex read's request check: what it takes, and that each refusal names the field at fault. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { flexDataPoints, parseFlexRead } from "../../../../src/core/modbus/flex-read";
import { encodeRegisters } from "../../../../src/core/modbus/values";
import { parsePointAddress } from "../../../../src/core/modbus/point-address";

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

  it("with a type, cuts the words read into values and decodes them as the poll mode does", function () {
    const r = parseFlexRead({ fc: 3, unit: 2, address: 10, quantity: 4, type: "float32", order: "CDAB" });
    assert.ok(r.ok && r.typing);
    assert.deepEqual(
      r.typing.points.map((p) => [p.address, p.type, p.order]),
      [
        [10, "float32", "CDAB"],
        [12, "float32", "CDAB"],
      ],
    );
    const words = [
      ...encodeRegisters(parsePointAddress("HR10:float32:CDAB"), 1234.5),
      ...encodeRegisters(parsePointAddress("HR12:float32:CDAB"), -0.25),
    ];
    const points = flexDataPoints(r.typing, words, "gw", 1000);
    assert.deepEqual(points, [
      {
        key: "gw:2:HR10",
        deviceId: "gw",
        termId: "2",
        itemId: "HR10",
        value: 1234.5,
        ts: 1000,
        quality: {},
        cause: "call",
      },
      {
        key: "gw:2:HR12",
        deviceId: "gw",
        termId: "2",
        itemId: "HR12",
        value: -0.25,
        ts: 1000,
        quality: {},
        cause: "call",
      },
    ]);
  });

  it("scales, keeps the raw value when scaling changed it, and types bits and strings", function () {
    const scaled = parseFlexRead({
      fc: 4,
      unit: 1,
      address: 0,
      quantity: 1,
      type: "int16",
      coefficient: "0.1",
      base: 5,
      termId: "m1",
    });
    assert.ok(scaled.ok && scaled.typing);
    const [p] = flexDataPoints(scaled.typing, [0xfff6], "d", 0);
    assert.equal(p.key, "d:m1:IR0");
    assert.equal(p.raw, -10);
    assert.ok(Math.abs((p.value as number) - 4) < 1e-9);
    const coils = parseFlexRead({ fc: 1, unit: 1, address: 7, quantity: 2, type: "bool" });
    assert.ok(coils.ok && coils.typing);
    assert.deepEqual(
      flexDataPoints(coils.typing, [true, false], "d", 0).map((x) => [x.itemId, x.value]),
      [
        ["C7", true],
        ["C8", false],
      ],
    );
    const text = parseFlexRead({ fc: 3, unit: 1, address: 0, quantity: 2, type: "string", length: 3 });
    assert.ok(text.ok && text.typing);
    assert.equal(flexDataPoints(text.typing, [0x4142, 0x4300], "d", 0)[0].value, "ABC");
  });

  it("refuses each bad typing field by name", function () {
    const good = { fc: 3, unit: 1, address: 0, quantity: 2 };
    const cases: [Record<string, unknown>, string, string][] = [
      [{ ...good, type: "float" }, "type", "choice"],
      [{ ...good, type: "bool" }, "type", "choice"],
      [{ ...good, fc: 1, type: "int16" }, "type", "choice"],
      [{ ...good, type: 32 }, "type", "choice"],
      [{ ...good, type: "int32", order: "XYZW" }, "order", "choice"],
      [{ ...good, fc: 2, type: "bool", order: "BADC" }, "order", "choice"],
      [{ ...good, type: "string", length: 4, order: "CDAB" }, "order", "choice"],
      [{ ...good, type: "string" }, "length", "range"],
      [{ ...good, type: "string", length: 251 }, "length", "range"],
      [{ ...good, type: "int16", length: 2 }, "length", "choice"],
      [{ ...good, coefficient: "x" }, "coefficient", "number"],
      [{ ...good, base: Infinity }, "base", "number"],
      [{ ...good, termId: "a:b" }, "termId", "id"],
      [{ ...good, termId: 7 }, "termId", "id"],
      [{ ...good, quantity: 3, type: "float32" }, "quantity", "width"],
      [{ ...good, quantity: 2, type: "string", length: 5 }, "quantity", "width"],
    ];
    // The node words each refusal from its locale's message for the field; bounds it names must be given.
    const messages = (
      JSON.parse(
        fs.readFileSync(
          path.resolve(__dirname, "../../../../nodes/datacoll-poll/locales/en-US.json"),
          "utf8",
        ),
      ) as { "datacoll-poll": { errors: { flex: Record<string, string> } } }
    )["datacoll-poll"].errors.flex;
    for (const [payload, field, reason] of cases) {
      const r = parseFlexRead(payload);
      assert.equal(r.ok, false, JSON.stringify(payload));
      if (r.ok) continue;
      assert.deepEqual([r.field, r.reason], [field, reason], JSON.stringify(payload));
      const text = messages[r.reason === "width" ? "width" : r.field];
      assert.ok(text, `a message for ${r.field}`);
      if (text.includes("__min__")) assert.ok(r.min !== undefined && r.max !== undefined, `${text}: bounds`);
    }
    // Without any typing field the answer stays raw, as before.
    const raw = parseFlexRead(good);
    assert.ok(raw.ok);
    assert.equal(raw.typing, undefined);
  });
});
