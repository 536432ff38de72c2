/**
 * The formula node's logic without Node-RED: FormulaController on a manual clock, alone and over a real
 * embedded manager (its registry, bus and store), so timers, registry changes, echoes and failures are
 * driven by the test instead of waited for.
 */
import assert from "node:assert/strict";
import {
  FormulaController,
  type FormulaControllerOptions,
  type FormulaNotice,
} from "../../../src/core/formula/controller";
import type { FormulaRow } from "../../../src/core/formula/table";
import { Manager } from "../../../src/core/manager";
import { parseManagerSettings } from "../../../src/core/manager-config";
import type { DataPoint } from "../../../src/core/model/datapoint";
import { ManualClock } from "../../../src/transport/manual-clock";
import { until } from "../../support/net";

const T0 = 1_763_700_000_000;

function dp(key: string, value: number, ts: number): DataPoint {
  const [deviceId, termId, itemId] = key.split(":");
  return { key, deviceId, termId, itemId, value, ts, quality: {}, cause: "poll" };
}

const show = (points: readonly DataPoint[]): string[] => points.map((p) => `${p.key}=${String(p.value)}`);

interface Rig {
  readonly controller: FormulaController;
  readonly clock: ManualClock;
  /** Results of the timer and the bus, call by call. */
  readonly results: string[][];
  readonly notices: FormulaNotice[];
  changes: number;
  /** Feed samples as the node's input does; resolves to what was delivered for them. */
  input(points: readonly DataPoint[]): Promise<string[]>;
}

function rig(rows: readonly FormulaRow[], opts: Partial<FormulaControllerOptions> = {}): Rig {
  const clock = new ManualClock(T0);
  const r: Omit<Rig, "controller" | "input"> = { clock, results: [], notices: [], changes: 0 };
  const controller = new FormulaController({
    rows,
    everyMs: 0,
    clock,
    onResults: (points) => r.results.push(show(points)),
    onNotice: (n) => r.notices.push(n),
    onChange: () => r.changes++,
    ...opts,
  });
  const input = async (points: readonly DataPoint[]): Promise<string[]> => {
    const got: string[] = [];
    await controller.input(points, (out) => got.push(...show(out)));
    return got;
  };
  return Object.assign(r, { controller, input });
}

function embedded(namespace: string): Manager {
  return new Manager(parseManagerSettings({ store: "embedded", namespace, instanceId: "i1" }));
}

/** A plant of one measured point `plc:m:v` and formula result points `calc:c:<item>`. */
async function plant(m: Manager, results: readonly string[]): Promise<void> {
  const reg = m.registry;
  await reg.putDevice({ id: "plc", protocol: "virtual" });
  await reg.putDevice({ id: "calc", protocol: "formula" });
  await reg.putTerm({ id: "m", deviceId: "plc" });
  await reg.putTerm({ id: "c", deviceId: "calc" });
  for (const item of ["v", ...results]) await reg.putItem({ id: item });
  await reg.putPoint({ deviceId: "plc", termId: "m", itemId: "v" });
  for (const item of results) await reg.putPoint({ deviceId: "calc", termId: "c", itemId: item });
}

describe("formula controller", function () {
  it("evaluates the table on input, once per batch, feeding results on, and delivers them to the caller", async function () {
    const r = rig([
      { id: "kw", expression: "p1 * p2 / 1000", params: "p1=m:t:v, p2=m:t:a", result: "calc:t:kw" },
      { id: "double", expression: "p1 * 2", params: "p1=calc:t:kw", result: "calc:t:kw2" },
    ]);
    await r.controller.ready;
    assert.deepEqual(await r.input([dp("m:t:v", 230, T0), dp("m:t:a", 10, T0)]), [
      "calc:t:kw=2.3",
      "calc:t:kw2=4.6",
    ]);
    assert.deepEqual(await r.input([dp("m:t:x", 1, T0)]), [], "a point no formula uses gives nothing");
    assert.deepEqual(r.results, [], "results of input go to the input's caller only");
    assert.deepEqual(r.controller.status(), { kind: "running", formulas: 2 });
    assert.deepEqual(r.notices, []);
    r.controller.close();
  });

  it("runs the good rows and names each bad one with its reason", async function () {
    const r = rig([
      { id: "bad", expression: "p1 + p3", params: "p1=m:t:v", result: "calc:t:bad" },
      { expression: "p1", params: "p1=m:t:v" },
      { id: "good", expression: "p1 + 1", params: "p1=m:t:v", result: "calc:t:good" },
    ]);
    assert.equal(r.notices.length, 2);
    assert.deepEqual(
      r.notices.map((n) => (n.code === "formula-refused" ? n.id : n.code)),
      ["bad", "row 2"],
    );
    const first = r.notices[0];
    assert.ok(first.code === "formula-refused" && /p3 is used but not bound/.test(first.reason));
    const status = r.controller.status();
    assert.equal(status.kind, "refused");
    assert.ok(status.kind === "refused" && status.count === 2 && status.id === "bad");
    assert.deepEqual(await r.input([dp("m:t:v", 1, T0)]), ["calc:t:good=2"]);
    r.controller.close();
  });

  it("evaluates on its timer with one timer at a time, and close stops it", async function () {
    const r = rig([{ id: "n", expression: 'count(p1, "1h")', params: "p1=m:t:v", result: "calc:t:n" }], {
      everyMs: 1000,
    });
    await r.controller.ready;
    assert.equal(r.clock.pending, 1);
    assert.equal(r.clock.nextAt, T0 + 1000);
    assert.deepEqual(await r.input([dp("m:t:v", 5, T0 + 10)]), ["calc:t:n=1"]);
    assert.equal(r.clock.pending, 1, "input re-arms the one timer instead of adding one");
    r.clock.advance(999);
    assert.deepEqual(r.results, []);
    r.clock.advance(1);
    assert.deepEqual(r.results, [["calc:t:n=1"]]);
    r.clock.advance(2000);
    assert.equal(r.results.length, 3, "one evaluation per period");
    r.controller.close();
    assert.equal(r.clock.pending, 0);
    r.clock.advance(5000);
    assert.equal(r.results.length, 3);
  });

  describe("with a manager", function () {
    let m: Manager;

    beforeEach(function () {
      m = embedded("fc:");
    });

    afterEach(async function () {
      await m.close();
    });

    it("seeds windows from the store's history and publishes results to the manager", async function () {
      await m.publish([dp("plc:m:v", 10, T0 - 3000)]);
      await m.publish([dp("plc:m:v", 20, T0 - 2000)]);
      await m.publish([dp("plc:m:v", 30, T0 - 1000)]);
      const r = rig([{ id: "avg", expression: "avg(p1, 5)", params: "p1=plc:m:v", result: "calc:c:avg" }], {
        manager: m,
      });
      await r.controller.ready;
      assert.deepEqual(await r.input([dp("plc:m:v", 40, T0)]), ["calc:c:avg=25"]);
      await until(async () => (await m.store.latest("calc:c:avg"))?.value === 25, 2000, "the result stored");
      r.controller.close();
    });

    it("runs the registry's formulas, the table's own winning, and follows registry changes", async function () {
      await plant(m, ["a", "b", "c", "d"]);
      await m.registry.putFormula({
        id: "a",
        expression: "p1 * 10",
        params: { p1: "plc:m:v" },
        result: "calc:c:a",
      });
      await m.registry.putFormula({
        id: "b",
        expression: "p1 * 20",
        params: { p1: "plc:m:v" },
        result: "calc:c:b",
      });
      const r = rig([{ id: "a", expression: "p1 + 1", params: "p1=plc:m:v", result: "calc:c:a" }], {
        manager: m,
        useRegistry: true,
      });
      await r.controller.ready;
      assert.deepEqual(r.controller.status(), { kind: "running", formulas: 2 });
      assert.deepEqual(await r.input([dp("plc:m:v", 2, T0)]), ["calc:c:a=3", "calc:c:b=40"]);

      await m.registry.putFormula({
        id: "c",
        expression: "p1 * 30",
        params: { p1: "plc:m:v" },
        result: "calc:c:c",
      });
      await until(() => r.changes === 1, 2000, "the new formula taken");
      assert.deepEqual(r.controller.status(), { kind: "running", formulas: 3 });
      await m.registry.putFormula({
        id: "a",
        expression: "p1 * 99",
        params: { p1: "plc:m:v" },
        result: "calc:c:a",
      });
      await m.registry.deleteFormula("b");
      await until(() => r.changes === 2, 2000, "the deleted formula dropped");
      assert.deepEqual(r.controller.status(), { kind: "running", formulas: 2 });
      assert.deepEqual(
        await r.input([dp("plc:m:v", 3, T0 + 1)]),
        ["calc:c:a=4", "calc:c:c=90"],
        "the table's a is untouched by the registry's a",
      );
      assert.deepEqual(r.notices, []);

      r.controller.close();
      await m.registry.putFormula({
        id: "d",
        expression: "p1",
        params: { p1: "plc:m:v" },
        result: "calc:c:d",
      });
      await m.registry.deleteFormula("d");
      assert.equal(r.changes, 2, "a closed controller follows the registry no more");
    });

    it("takes parameters from the bus and ignores its own results coming back", async function () {
      const r = rig(
        [
          { id: "a", expression: "p1 * 2", params: "p1=m:t:v", result: "calc:t:a" },
          { id: "b", expression: "p1 + 1", params: "p1=calc:t:a", result: "calc:t:b" },
        ],
        { manager: m, fromBus: true },
      );
      await r.controller.ready;
      const heard: string[] = [];
      m.subscribe("calc", (points) => heard.push(...show(points)));
      await m.publish([dp("m:t:v", 5, T0)]);
      await until(() => heard.length === 2, 2000, "the results published to the manager");
      // The published results came back over the bus; b must not run again on its own a.
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(r.results, [["calc:t:a=10", "calc:t:b=11"]]);
      assert.deepEqual(heard, ["calc:t:a=10", "calc:t:b=11"]);
      r.controller.close();
      assert.equal(m.bus.listenerCount, 1, "only the test's own listener is left");
      await m.publish([dp("m:t:v", 6, T0 + 1)]);
      assert.equal(r.results.length, 1);
    });

    it("says once that results could not be published, and shows it", async function () {
      const r = rig([{ id: "a", expression: "p1 * 2", params: "p1=m:t:v", result: "calc:t:a" }], {
        manager: m,
      });
      await r.controller.ready;
      await m.close();
      assert.deepEqual(await r.input([dp("m:t:v", 1, T0)]), ["calc:t:a=2"], "the output does not wait");
      assert.deepEqual(await r.input([dp("m:t:v", 2, T0 + 1)]), ["calc:t:a=4"]);
      await until(() => r.controller.status().kind === "publish-failed", 2000, "the failure shown");
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(
        r.notices.map((n) => n.code),
        ["publish-failed"],
      );
      assert.match(r.notices[0].reason, /closed/);
      r.controller.close();
    });

    it("refuses input once the registry cannot be read, and says why once", async function () {
      await m.close();
      const r = rig([{ id: "a", expression: "p1", params: "p1=m:t:v", result: "calc:t:a" }], {
        manager: m,
        useRegistry: true,
      });
      await assert.rejects(r.controller.ready, /closed/);
      await assert.rejects(r.input([dp("m:t:v", 1, T0)]), /closed/);
      await until(() => r.notices.length > 0, 2000, "the notice");
      assert.deepEqual(
        r.notices.map((n) => n.code),
        ["registry-unreadable"],
      );
      r.controller.close();
    });
  });
});
