import assert from "node:assert/strict";
import { parsePointAddress } from "../../../src/core/modbus/point-address";
import {
  mapReadResult,
  planReads,
  readRequest,
  runReads,
  type PlanPoint,
  type PointReading,
} from "../../../src/core/modbus/read-plan";
import { ModbusRequestError } from "../../../src/core/modbus/client";
import type { ModbusReply, ModbusRequest } from "../../../src/protocols/modbus/codec/pdu";

const pt = (id: string, text: string): PlanPoint => ({ id, address: parsePointAddress(text) });

function shape(points: PlanPoint[], opts = {}): string[] {
  return planReads(points, opts).map(
    (r) =>
      `${readRequest(r).fn}@${r.address}x${r.count}:${r.points.map((p) => `${p.point.id}+${p.offset}`).join(",")}`,
  );
}

describe("modbus read planner", () => {
  it("merges contiguous points of a table into one read, per table", () => {
    assert.deepEqual(
      shape([
        pt("b", "HR2:float32"),
        pt("a", "HR0"),
        pt("c", "HR1"),
        pt("x", "IR0"),
        pt("k", "C5"),
        pt("j", "C3"),
      ]),
      ["readCoils@3x3:j+0,k+2", "readHoldingRegisters@0x4:a+0,c+1,b+2", "readInputRegisters@0x1:x+0"],
    );
  });

  it("bridges gaps up to maxGap and splits beyond it", () => {
    const points = [pt("a", "HR0"), pt("b", "HR6"), pt("c", "HR20")];
    assert.deepEqual(shape(points, { maxGap: 5 }), [
      "readHoldingRegisters@0x7:a+0,b+6",
      "readHoldingRegisters@20x1:c+0",
    ]);
    assert.deepEqual(shape(points, { maxGap: 4 }).length, 3);
    assert.deepEqual(shape(points, { maxGap: 13 }), ["readHoldingRegisters@0x21:a+0,b+6,c+20"]);
    assert.deepEqual(shape([pt("a", "HR0"), pt("b", "HR1")], { maxGap: 0 }), [
      "readHoldingRegisters@0x2:a+0,b+1",
    ]);
  });

  it("never exceeds 125 registers or 2000 bits per read", () => {
    const regs = Array.from({ length: 300 }, (_, i) => pt(`r${i}`, `HR${i}`));
    const reads = planReads(regs);
    assert.deepEqual(
      reads.map((r) => r.count),
      [125, 125, 50],
    );
    const bits = Array.from({ length: 4500 }, (_, i) => pt(`c${i}`, `C${i}`));
    assert.deepEqual(
      planReads(bits).map((r) => r.count),
      [2000, 2000, 500],
    );
    // A multi-register point is never split across reads.
    const floats = Array.from({ length: 63 }, (_, i) => pt(`f${i}`, `HR${i * 2}:float32`));
    assert.deepEqual(
      planReads(floats).map((r) => r.count),
      [124, 2],
    );
    assert.deepEqual(
      planReads(regs, { maxRegisters: 10 })
        .slice(0, 2)
        .map((r) => r.count),
      [10, 10],
    );
  });

  it("shares a register between bit points and overlapping points", () => {
    assert.deepEqual(shape([pt("a", "HR10.0"), pt("b", "HR10.15"), pt("c", "HR9:uint32")]), [
      "readHoldingRegisters@9x2:c+0,a+1,b+1",
    ]);
  });

  it("refuses bad options and points too wide for one read", () => {
    assert.throws(() => planReads([], { maxGap: -1 }), /maximum gap/);
    assert.throws(() => planReads([], { maxRegisters: 126 }), /1\.\.125/);
    assert.throws(() => planReads([pt("s", "HR0:string(250)")], { maxRegisters: 100 }), /point s spans 125/);
  });

  it("maps a read's registers back to scaled point values", () => {
    const [read] = planReads([
      { ...pt("t", "HR0:int16"), scaling: { coefficient: 0.1, base: 0 } },
      pt("f", "HR1:float32:CDAB"),
      pt("bit", "HR3.2"),
    ]);
    const r = mapReadResult(read, { kind: "ok", values: [0xff9c, 0x0000, 0xbfc0, 0x0004] });
    assert.deepEqual(r, [
      { id: "t", ok: true, raw: -100, value: -10, quality: {} },
      { id: "f", ok: true, raw: -1.5, value: -1.5, quality: {} },
      { id: "bit", ok: true, raw: true, value: true, quality: {} },
    ]);
  });

  it("maps coils back by offset", () => {
    const [read] = planReads([pt("a", "C10"), pt("b", "C12")]);
    assert.deepEqual(
      mapReadResult(read, { kind: "ok", values: [true, true, false] }).map((p) => p.ok && p.value),
      [true, false],
    );
  });

  it("marks every point of a timed-out read not topical and of an exception invalid, with the reason", () => {
    const [read] = planReads([pt("a", "HR0"), pt("b", "HR1")]);
    const t = mapReadResult(read, {
      kind: "failed",
      failure: { kind: "timeout", message: "unit 1: no reply within 1000 ms" },
    });
    assert.deepEqual(t, [
      { id: "a", ok: false, quality: { notTopical: true }, error: "unit 1: no reply within 1000 ms" },
      { id: "b", ok: false, quality: { notTopical: true }, error: "unit 1: no reply within 1000 ms" },
    ]);
    const e = mapReadResult(read, {
      kind: "failed",
      failure: { kind: "exception", message: "unit 1: Modbus exception 02 (illegal data address)" },
    });
    assert.deepEqual(
      e.map((p) => [p.quality, !p.ok && p.error]),
      [
        [{ invalid: true }, "unit 1: Modbus exception 02 (illegal data address)"],
        [{ invalid: true }, "unit 1: Modbus exception 02 (illegal data address)"],
      ],
    );
    assert.deepEqual(mapReadResult(read, { kind: "ok", values: [1] })[0].quality, { invalid: true });
  });

  it("runs a plan through a requester, one failed read leaving the others good", async () => {
    const reads = planReads([pt("a", "HR0"), pt("b", "HR500"), pt("c", "C1")], { maxGap: 0 });
    const seen: ModbusRequest[] = [];
    const requester = {
      request(_unit: number, req: ModbusRequest): Promise<ModbusReply> {
        seen.push(req);
        if (req.fn === "readCoils") return Promise.resolve({ kind: "bits", values: [true] });
        if ("address" in req && req.address === 500) {
          return Promise.reject(
            new ModbusRequestError({
              kind: "exception",
              message: "Modbus exception 02 (illegal data address)",
              exceptionCode: 2,
            }),
          );
        }
        return Promise.resolve({ kind: "registers", values: [42] });
      },
    };
    const r: PointReading[] = await runReads(requester, 1, reads);
    assert.equal(seen.length, 3);
    assert.deepEqual(
      r.map((p) => [p.id, p.ok ? p.value : p.error]),
      [
        ["c", true],
        ["a", 42],
        ["b", "Modbus exception 02 (illegal data address)"],
      ],
    );
  });
});
