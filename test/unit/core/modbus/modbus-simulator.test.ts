import assert from "node:assert/strict";
import { ManualClock } from "../../../../src/transport/manual-clock";
import { ModbusSimulator, parseGenerators } from "../../../../src/core/modbus/simulator";
import { DataCollError } from "../../../../src/core/errors";

describe("Modbus simulator values", function () {
  it("writes and reads typed values by address text in every table", function () {
    const sim = new ModbusSimulator({ units: [1, 2], clock: new ManualClock(0) });
    sim.set(1, "HR0:float32:CDAB", 12.5);
    sim.set(1, "IR10:int32", -70000);
    sim.set(2, "C3", true);
    sim.set(2, "DI4", 1);
    sim.set(1, "HR20.5", true);
    sim.set(1, "HR30:string(6)", "ABCDEF");
    assert.equal(sim.get(1, "HR0:float32:CDAB"), 12.5);
    // CDAB puts the low word first: 12.5f = 0x4148_0000 → registers [0x0000, 0x4148].
    assert.deepEqual(Array.from(sim.core.unit(1).holdingRegisters.subarray(0, 2)), [0x0000, 0x4148]);
    assert.equal(sim.get(1, "IR10:int32"), -70000);
    assert.equal(sim.get(2, "C3"), true);
    assert.equal(sim.get(2, "DI4"), true);
    assert.equal(sim.core.unit(1).holdingRegisters[20], 1 << 5);
    assert.equal(sim.get(1, "HR30:string(6)"), "ABCDEF");
    assert.throws(() => sim.set(3, "HR0", 1), /unit 3 is not served/);
  });

  it("moves ramp, sine and random-walk generators with the clock", function () {
    const clock = new ManualClock(0);
    const gens = parseGenerators(
      [
        { address: "HR0:float32", kind: "ramp", min: 0, max: 100, period: 10 },
        { address: "HR2:float32", kind: "sine", min: -1, max: 1, period: 4 },
        { address: "HR4:int16", kind: "random-walk", min: 0, max: 10, value: 5, step: 1 },
        { address: "C0", kind: "constant", value: 1, min: 0, max: 1 },
      ],
      [1],
    );
    const draws = [1, 0, 0.5];
    const sim = new ModbusSimulator({
      units: [1],
      generators: gens,
      clock,
      random: () => draws.shift() ?? 0.5,
    });
    assert.equal(sim.get(1, "HR4:int16"), 6, "walk: 5 + (1*2-1)*1");
    clock.advance(1000);
    sim.step();
    assert.equal(sim.get(1, "HR0:float32"), 10);
    assert.ok(Math.abs((sim.get(1, "HR2:float32") as number) - 1) < 1e-6, "sine at a quarter period");
    assert.equal(sim.get(1, "HR4:int16"), 5, "walk: 6 - 1");
    assert.equal(sim.get(1, "C0"), true);
  });

  it("sets a bit from a constant that is not 0, min and max left blank, and takes true/false", function () {
    // As the editor saves a row: text, min and max blank (0 and 100), so a threshold of 50 must not apply.
    const gens = parseGenerators(
      [
        { address: "C0", kind: "constant", value: "1" },
        { address: "DI0", kind: "constant", value: "true" },
        { address: "HR20.3", kind: "constant", value: "1" },
        { address: "C1", kind: "constant", value: "0" },
        { address: "C2", kind: "constant", value: "false" },
        { address: "C3", kind: "ramp", min: "0", max: "1", period: "10" },
      ],
      [1],
    );
    const sim = new ModbusSimulator({ units: [1], generators: gens, clock: new ManualClock(0) });
    assert.deepEqual(
      ["C0", "DI0", "HR20.3", "C1", "C2", "C3"].map((a) => sim.get(1, a)),
      [true, true, true, false, false, false],
    );
  });

  it("names the generator row and field at fault", function () {
    const bad = (row: Parameters<typeof parseGenerators>[0][0], field: string): void =>
      assert.throws(
        () => parseGenerators([row], [1]),
        (e: unknown) => e instanceof DataCollError && e.field === field && /generator 1/.test(e.message),
      );
    bad({ address: "HR0", unit: 9 }, "unit");
    bad({ address: "ZZ" }, "address");
    bad({ address: "HR0", kind: "square" }, "kind");
    bad({ address: "HR0", min: 5, max: 1 }, "max");
    bad({ address: "HR0", period: 0 }, "period");
  });

  it("counts a generator that cannot write its value instead of stopping the others", function () {
    const gens = parseGenerators(
      [
        { address: "HR0:uint16", kind: "constant", value: -5, min: -10, max: 0 },
        { address: "HR1:uint16", kind: "constant", value: 7, min: 0, max: 10 },
      ],
      [1],
    );
    const sim = new ModbusSimulator({ units: [1], generators: gens, clock: new ManualClock(0) });
    assert.equal(sim.get(1, "HR1"), 7);
    assert.equal(sim.generatorError.count, 1);
    assert.match(sim.generatorError.last ?? "", /HR0:uint16/);
  });
});
