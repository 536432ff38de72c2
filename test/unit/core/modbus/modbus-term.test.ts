import assert from "node:assert/strict";
import { DataCollError } from "../../../../src/core/errors";
import { ModbusRequestError } from "../../../../src/core/modbus/client";
import type { ModbusRequester } from "../../../../src/core/modbus/read-plan";
import { ModbusTerm, modbusItemsFromCsv, parseModbusItems } from "../../../../src/core/modbus/term";
import type { ModbusReply, ModbusRequest } from "../../../../src/protocols/modbus/codec/pdu";

/** Holding registers of one unit in an array; reads outside it fail like a device's exception 02. */
class FakeDevice implements ModbusRequester {
  readonly hr = new Array<number>(200).fill(0);
  readonly requests: ModbusRequest[] = [];
  down = false;
  async request(_unit: number, req: ModbusRequest): Promise<ModbusReply> {
    this.requests.push(req);
    if (this.down) throw new ModbusRequestError({ kind: "timeout", message: "no reply within 1000 ms" });
    if (req.fn !== "readHoldingRegisters") throw new Error("only HR in this fake");
    return { kind: "registers", values: this.hr.slice(req.address, req.address + req.count) };
  }
}

const now = (): number => 1_700_000_000_000;

describe("Modbus term", function () {
  const points = parseModbusItems([
    { item: "volts", address: "HR0:float32", coefficient: "1" },
    { item: "amps", address: "HR2:int16", coefficient: "0.1", base: "0" },
    { item: "state", address: "HR10.2" },
    { item: "count", address: "HR12:uint32:CDAB", deadband: "5" },
  ]);

  it("reads a term in one coalesced request and scales each point", async function () {
    const dev = new FakeDevice();
    const f = Buffer.alloc(4);
    f.writeFloatBE(230.5);
    dev.hr[0] = f.readUInt16BE(0);
    dev.hr[1] = f.readUInt16BE(2);
    dev.hr[2] = 123; // 12.3 A after scaling
    dev.hr[10] = 0b100; // bit 2 set
    dev.hr[12] = 0x0001; // CDAB: low word first → 0x0000_0001 + (0x0002 << 16)
    dev.hr[13] = 0x0002;
    const term = new ModbusTerm("d1", "t1", 1, points);
    assert.equal(term.reads.length, 1, "one read covers HR0..HR13 with the default gap");
    const out = await term.poll(dev, "poll", now);
    assert.deepEqual(dev.requests, [{ fn: "readHoldingRegisters", address: 0, count: 14 }]);
    const byItem = Object.fromEntries(out.map((p) => [p.itemId, p]));
    assert.equal(byItem.volts.value, 230.5);
    assert.ok(Math.abs((byItem.amps.value as number) - 12.3) < 1e-9);
    assert.equal(byItem.amps.raw, 123);
    assert.equal(byItem.state.value, true);
    assert.equal(byItem.count.value, 0x00020001);
    assert.equal(byItem.volts.key, "d1:t1:volts");
    assert.deepEqual(byItem.volts.quality, {});
    assert.equal(byItem.volts.cause, "poll");
    assert.equal(byItem.volts.ts, now());
  });

  it("leaves out values inside their deadband unless asked for all", async function () {
    const dev = new FakeDevice();
    const term = new ModbusTerm("d1", "t1", 1, points);
    await term.poll(dev, "poll", now);
    dev.hr[12] = 5; // count moves by 5: not more than its deadband
    dev.hr[2] = 1;
    const second = await term.poll(dev, "poll", now);
    assert.deepEqual(
      second.map((p) => p.itemId),
      ["amps"],
    );
    const all = await term.poll(dev, "call", now, true);
    assert.equal(all.length, 4);
    assert.ok(all.every((p) => p.cause === "call"));
  });

  it("reports a failed read as not topical with the reason, keeping the last value, then recovers", async function () {
    const dev = new FakeDevice();
    dev.hr[2] = 50;
    const term = new ModbusTerm("d1", "t1", 1, points);
    await term.poll(dev, "poll", now);
    dev.down = true;
    const failed = await term.poll(dev, "poll", now);
    assert.equal(failed.length, 4);
    const amps = failed.find((p) => p.itemId === "amps");
    assert.deepEqual(amps?.quality, { notTopical: true });
    assert.equal(amps?.value, 5);
    assert.match(amps?.error ?? "", /no reply/);
    assert.deepEqual(term.stats, { cycles: 2, failedCycles: 1, lastError: "no reply within 1000 ms" });
    dev.down = false;
    const back = await term.poll(dev, "poll", now);
    assert.equal(back.length, 4, "every point reports its return to good quality");
    assert.ok(back.every((p) => Object.keys(p.quality).length === 0));
    assert.equal(term.stats.lastError, undefined);
  });

  it("re-plans when points change", async function () {
    const term = new ModbusTerm("d1", "t1", 1, points, { maxGap: 0 });
    assert.equal(term.reads.length, 3);
    term.setPoints(parseModbusItems([{ item: "a", address: "HR100" }]));
    assert.deepEqual(
      term.reads.map((r) => [r.address, r.count]),
      [[100, 1]],
    );
  });

  it("names the row and field of a bad item", function () {
    const bad = (rows: Parameters<typeof parseModbusItems>[0], field: string, text: RegExp): void =>
      assert.throws(
        () => parseModbusItems(rows),
        (e: unknown) => e instanceof DataCollError && e.field === field && text.test(e.message),
      );
    bad([{ item: "a", address: "XX1" }], "address", /row 1: Modbus point "XX1"/);
    bad(
      [
        { item: "a", address: "HR1" },
        { item: "a:b", address: "HR2" },
      ],
      "item",
      /row 2: item/,
    );
    bad(
      [
        { item: "a", address: "HR1" },
        { item: "a", address: "HR2" },
      ],
      "item",
      /row 2: item a appears twice/,
    );
    bad(
      [{ item: "a", address: "HR1", coefficient: "x" }],
      "coefficient",
      /row 1: coefficient must be a number/,
    );
    bad([{ item: "a", address: "HR1", coefficient: 0 }], "coefficient", /must not be 0/);
    bad([{ item: "a", address: "HR1", deadband: -1 }], "deadband", /must not be negative/);
  });

  it("reads item rows from CSV", function () {
    const rows = modbusItemsFromCsv("Item;Address;Coefficient\nv;HR0:float32;1\na;HR2;0.1\n");
    assert.deepEqual(
      parseModbusItems(rows).map((p) => [p.itemId, p.address.address, p.scaling.coefficient]),
      [
        ["v", 0, 1],
        ["a", 2, 0.1],
      ],
    );
    assert.throws(() => modbusItemsFromCsv("name,reg\nx,1\n"), /header line with at least: item,address/);
  });
});
