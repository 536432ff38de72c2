/**
 * The live view's Trends and Alarm journal pages in Chromium, over a datacoll-save node on the real
 * MariaDB. History rows with known values are written to the save node's history table, so every bucket
 * the page draws can be checked against figures this test computes from its own rows (the page puts
 * each bucket's figures in data attributes; pixels are not compared). Alarms come from the running
 * pipeline: inject nodes pressed through the admin API drive a check node whose transitions the save
 * node writes to the alarms table, which the journal then lists and filters.
 */
import assert from "node:assert/strict";
import type { Locator, Page } from "playwright-core";
import { historyInsertSql } from "../../src/core/history/schema";
import { createTestDatabase, rowsOnceCreated, type TestDatabase } from "../support-history/mysql";
import { ConsoleWatch } from "./console-watch";
import { Product, waitFor } from "./harness";
import {
  ALARMS_TABLE,
  HISTORY_TABLE,
  INJECT,
  MANAGER,
  OTHER_SAVE,
  PUMP,
  SAVE,
  TANK,
  historyFlow,
} from "./history-flow";
import { writeScreenshot } from "./screenshot";

const BOILER = "hv:boiler:temp";
const VALVE = "hv:valve:open";
const INVALID = 0x80;

interface Row {
  readonly key: string;
  readonly ts: number;
  readonly value: number;
  readonly quality: number;
}

/** Every 10 s for 50 minutes a boiler temperature, a few samples flagged invalid; a valve saved on change. */
function knownRows(now: number): Row[] {
  const start = Math.floor(now / 60_000) * 60_000 - 50 * 60_000;
  const rows: Row[] = [];
  for (let i = 0; i < 300; i++) {
    const value = Math.round((60 + 10 * Math.sin(i / 7) + (i % 3)) * 1000) / 1000;
    rows.push({ key: BOILER, ts: start + i * 10_000, value, quality: i % 37 === 5 ? INVALID : 0 });
  }
  // Open since before the hour shown; closed for a quarter of an hour in it.
  rows.push({ key: VALVE, ts: now - 90 * 60_000, value: 1, quality: 0 });
  rows.push({ key: VALVE, ts: start + 20 * 60_000, value: 0, quality: 0 });
  rows.push({ key: VALVE, ts: start + 35 * 60_000, value: 1, quality: 0 });
  return rows;
}

interface Drawn {
  readonly t: number;
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly avg: number;
}

async function bandsOf(chart: Locator): Promise<Drawn[]> {
  return chart.locator("rect.band").evaluateAll((rects) =>
    rects.map((r) => ({
      t: Number(r.getAttribute("data-t")),
      count: Number(r.getAttribute("data-count")),
      min: Number(r.getAttribute("data-min")),
      max: Number(r.getAttribute("data-max")),
      avg: Number(r.getAttribute("data-avg")),
    })),
  );
}

describe("browser: trends and the alarm journal", function () {
  this.timeout(60_000);
  const product = new Product();
  const watch = new ConsoleWatch();
  let db: TestDatabase | undefined;
  let page: Page | undefined;
  let rows: Row[] = [];
  let firstPress = 0;
  const current = (): Page => {
    assert.ok(page, "the live view page was not opened");
    return page;
  };
  const admin = (): TestDatabase => {
    assert.ok(db, "the test database was not created");
    return db;
  };
  const press = async (id: string): Promise<void> => {
    const res = await fetch(`${product.url}/inject/${id}`, { method: "POST" });
    assert.equal(res.status, 200, `pressing ${id}: ${res.status}`);
  };
  const snapshotAlarms = async (): Promise<{ key: string; active: boolean; acked: boolean }[]> => {
    const res = await fetch(`${product.url}/datacoll/api/snapshot?manager=${MANAGER}`);
    return ((await res.json()) as { alarms: { key: string; active: boolean; acked: boolean }[] }).alarms;
  };
  /** The chart's drawn buckets against this test's own rows in each bucket's interval. */
  const checkBuckets = async (key: string): Promise<Drawn[]> => {
    const p = current();
    const step = Number(await p.locator("#charts").getAttribute("data-step"));
    const drawn = await bandsOf(p.locator(`#charts .chart[data-key="${key}"]`));
    assert.ok(drawn.length > 0, `no buckets drawn for ${key}`);
    for (const b of drawn) {
      const inside = rows
        .filter((r) => r.key === key && r.ts >= b.t && r.ts < b.t + step)
        .map((r) => r.value);
      const want = {
        count: inside.length,
        min: Math.min(...inside),
        max: Math.max(...inside),
        avg: inside.reduce((s, v) => s + v, 0) / inside.length,
      };
      assert.deepEqual(
        { count: b.count, min: b.min, max: b.max },
        { count: want.count, min: want.min, max: want.max },
        `bucket at ${new Date(b.t).toISOString()} (step ${step} ms) of ${key}`,
      );
      assert.ok(Math.abs(b.avg - want.avg) < 1e-6, `average ${b.avg}, computed ${want.avg} at ${b.t}`);
    }
    return drawn;
  };
  const answers = async (): Promise<number> =>
    Number((await current().locator("#charts").getAttribute("data-answers")) ?? 0);
  const waitAnswer = async (after: number, what: string): Promise<void> => {
    await waitFor(
      what,
      15_000,
      async () => ((await answers()) > after ? true : undefined),
      async () => (await current().locator("#view-trends").innerText()) + "\n" + watch.problems().join("\n"),
    );
  };

  before(async function () {
    this.timeout(90_000);
    db = await createTestDatabase("dc_trend");
    await product.start("trends");
    await product.deploy(historyFlow(admin().name));
    // The save node creates its tables when it first connects.
    await waitFor("the save node's history table", 20_000, async () =>
      (
        await rowsOnceCreated(
          admin().admin,
          "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = ? AND table_name IN (?, ?)",
          [admin().name, HISTORY_TABLE, ALARMS_TABLE],
        )
      )[0]?.n === 2
        ? true
        : undefined,
    );
    rows = knownRows(Date.now());
    await admin().admin.query(historyInsertSql(HISTORY_TABLE), [
      rows.map((r) => {
        const [d, t, i] = r.key.split(":");
        return [r.key, d, t, i, new Date(r.ts), r.value, null, r.quality, "poll"];
      }),
    ]);
    firstPress = Date.now();
    await press(INJECT.tankHigh);
    await press(INJECT.pumpHigh);
    await waitFor("both alarms raised", 10_000, async () =>
      (await snapshotAlarms()).filter((a) => a.active).length === 2 ? true : undefined,
    );
    await press(INJECT.tankLow);
    await waitFor("the tank alarm cleared, not acknowledged", 10_000, async () =>
      (await snapshotAlarms()).some((a) => a.key === TANK && !a.active && !a.acked) ? true : undefined,
    );
    page = await product.newPage();
    watch.attach(page);
  });

  after(async function () {
    this.timeout(30_000);
    await product.stop();
    await db?.drop();
  });

  it("lists active alarms apart from cleared ones that wait for an acknowledgement", async function () {
    const p = current();
    await p.goto(`${product.url}/datacoll/#live`);
    const pump = p.locator(`#alarms tr[data-alarm="${PUMP}/high"]`);
    const tank = p.locator(`#cleared tr[data-alarm="${TANK}/high"]`);
    await waitFor("the pump's alarm among the active ones, the tank's among the cleared", 10_000, async () =>
      (await pump.count()) === 1 && (await tank.count()) === 1 ? true : undefined,
    );
    assert.equal(
      await p.locator(`#alarms tr[data-alarm="${TANK}/high"]`).count(),
      0,
      "the cleared alarm is listed as active",
    );
    assert.equal(
      await p.locator(`#cleared tr[data-alarm="${PUMP}/high"]`).count(),
      0,
      "the active alarm is listed as cleared",
    );
    assert.equal(await tank.locator("td").nth(2).textContent(), "cleared");
    assert.equal(await pump.locator("td").nth(2).textContent(), "active");
    assert.equal(await p.locator("#cleared-section h2").textContent(), "Cleared, awaiting acknowledgement");
    assert.deepEqual(watch.problems(), [], "the live view reported errors");
  });

  it("draws the min-max band and average of each bucket from the aggregated history, bad quality shaded", async function () {
    const p = current();
    await p.setViewportSize({ width: 1400, height: 760 });
    await p.locator('nav a[data-view="trends"]').click();
    // Two save nodes run: the header offers both, and this one is chosen.
    await waitFor("the history source list", 10_000, async () =>
      (await p.locator("#source option").count()) === 2 && (await p.locator("#source-label").isVisible())
        ? true
        : undefined,
    );
    await p.locator("#source").selectOption(SAVE);
    for (const key of [BOILER, VALVE]) {
      await p.locator("#trend-point").fill(key);
      await p.locator("#trend-add").click();
    }
    await waitFor(
      "both points charted",
      15_000,
      async () =>
        (await p.locator("#charts .chart").count()) === 2 && (await answers()) >= 1 ? true : undefined,
      async () => (await p.locator("#view-trends").innerText()) + "\n" + watch.problems().join("\n"),
    );
    const drawn = await checkBuckets(BOILER);
    assert.equal(
      drawn.reduce((s, b) => s + b.count, 0),
      300,
      "every boiler row of the last hour in a bucket",
    );
    // Shaded exactly where a bucket holds an invalid sample.
    const step = Number(await p.locator("#charts").getAttribute("data-step"));
    const badTimes = rows.filter((r) => r.key === BOILER && r.quality !== 0).map((r) => r.ts);
    const shaded = await p
      .locator(`#charts .chart[data-key="${BOILER}"] rect.badq`)
      .evaluateAll((rects) => rects.map((r) => Number(r.getAttribute("data-t"))));
    assert.deepEqual(
      shaded,
      drawn.filter((b) => badTimes.some((t) => t >= b.t && t < b.t + step)).map((b) => b.t),
      "the shaded buckets are those holding an invalid sample",
    );
    assert.ok(shaded.length >= 5, `only ${shaded.length} buckets shaded`);
    // One level of the average per bucket, joined by vertical steps (never a slope).
    const avg = (await p.locator(`#charts .chart[data-key="${BOILER}"] path.avg`).getAttribute("d")) ?? "";
    assert.equal((avg.match(/H/g) ?? []).length, drawn.length);
    assert.match(avg, /^M[\d.]+,[\d.]+(?:[HV][\d.]+|M[\d.]+,[\d.]+)*$/, "the average drawn with steps only");
    await writeScreenshot(p, "live-view-trends.png");
    assert.deepEqual(watch.problems(), [], "the trends page reported errors");
  });

  it("draws a point saved on change as steps from the value in force at the range's start", async function () {
    const p = current();
    const valve = p.locator(`#charts .chart[data-key="${VALVE}"]`);
    // The row 90 minutes ago is before the hour shown: the value in force at its start.
    assert.equal(await valve.getAttribute("data-initial"), "1");
    const drawn = await checkBuckets(VALVE);
    assert.deepEqual(
      drawn.map((b) => b.avg),
      [0, 1],
    );
    // Held flat between the changes: from the start to the first change, between them, and after the last.
    const hold = (await valve.locator("path.hold").getAttribute("d")) ?? "";
    const segments = hold.match(/M[\d.]+,[\d.]+H[\d.]+/g) ?? [];
    assert.equal(segments.length, 3, `held segments: ${hold}`);
    for (const s of segments) assert.doesNotMatch(s, /L/, "a held value drawn as a slope");
  });

  it("asks again with the step of a new range, and a finer one when zoomed in", async function () {
    const p = current();
    const hourStep = Number(await p.locator("#charts").getAttribute("data-step"));
    let seen = await answers();
    await p.locator("#trend-range").selectOption("86400000");
    await waitAnswer(seen, "the answer for the last day");
    const dayStep = Number(await p.locator("#charts").getAttribute("data-step"));
    assert.ok(dayStep > hourStep, `a day's step ${dayStep} is not coarser than an hour's ${hourStep}`);
    const span = async (): Promise<number> =>
      Number(await p.locator("#charts").getAttribute("data-to")) -
      Number(await p.locator("#charts").getAttribute("data-from"));
    assert.ok((await span()) >= 86_400_000 - 1000);
    assert.equal(
      (await checkBuckets(BOILER)).reduce((s, b) => s + b.count, 0),
      300,
    );

    // Each + halves the span; steps are round (5 min, 2 min, …), so two of them reach a finer one.
    for (const half of [43_200_000, 21_600_000]) {
      seen = await answers();
      await p.locator("#zoom-in").click();
      await waitAnswer(seen, "the answer after zooming in");
      assert.ok(Math.abs((await span()) - half) < 1000, `zoomed span ${await span()}`);
    }
    assert.ok(Number(await p.locator("#charts").getAttribute("data-step")) < dayStep);

    // Back to the hour, then drag across the middle of the boiler chart.
    seen = await answers();
    await p.locator("#trend-range").selectOption("3600000");
    await waitAnswer(seen, "the hour again");
    const before = { from: Number(await p.locator("#charts").getAttribute("data-from")), span: await span() };
    const svg = p.locator(`#charts .chart[data-key="${BOILER}"] svg`);
    const box = await svg.boundingBox();
    assert.ok(box, "the chart has no box");
    seen = await answers();
    await p.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2);
    await p.mouse.down();
    await p.mouse.move(box.x + box.width * 0.55, box.y + box.height / 2, { steps: 5 });
    await p.mouse.move(box.x + box.width * 0.7, box.y + box.height / 2, { steps: 5 });
    await p.mouse.up();
    await waitAnswer(seen, "the answer after dragging");
    const after = { from: Number(await p.locator("#charts").getAttribute("data-from")), span: await span() };
    assert.ok(after.from > before.from, "the zoomed range starts later");
    assert.ok(after.span < before.span / 2, `zoomed span ${after.span} of ${before.span}`);
    assert.ok(Number(await p.locator("#charts").getAttribute("data-step")) < hourStep, "a finer step");
    await checkBuckets(BOILER);
    assert.deepEqual(watch.problems(), [], "the trends page reported errors");
  });

  it("fits a phone's width", async function () {
    const p = current();
    await p.setViewportSize({ width: 420, height: 800 });
    await p.locator("#zoom-reset").click();
    await waitFor("charts at 420 px", 10_000, async () =>
      (await p.locator("#charts .chart").count()) === 2 ? true : undefined,
    );
    const scroll = await p.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    assert.equal(scroll, 0, "the trends page scrolls sideways at 420 px");
    await p.setViewportSize({ width: 1400, height: 760 });
  });

  it("reads the history source picked in the header", async function () {
    const p = current();
    let seen = await answers();
    await p.locator("#source").selectOption(OTHER_SAVE);
    await waitAnswer(seen, "the answer from the other source");
    assert.equal(await p.locator("#charts rect.band").count(), 0, "the spare source has no rows");
    assert.equal(
      await p.locator(`#charts .chart[data-key="${BOILER}"] text`).last().textContent(),
      "no history of this point in this range",
    );
    seen = await answers();
    await p.locator("#source").selectOption(SAVE);
    await waitAnswer(seen, "the answer from the plant's source");
    await checkBuckets(BOILER);
  });

  it("lists raises, clears and acknowledgements in the journal, filtered by point, state and time", async function () {
    const p = current();
    await p.locator('nav a[data-view="journal"]').click();
    const events = async (): Promise<string[]> =>
      (
        await p
          .locator("#journal tr")
          .evaluateAll((trs) =>
            trs.map((t) => `${t.getAttribute("data-key")} ${t.getAttribute("data-event")}`),
          )
      ).sort();
    await waitFor(
      "the raises and the clear in the journal",
      15_000,
      async () => ((await events()).length === 3 ? true : undefined),
      async () => (await p.locator("#view-journal").innerText()) + "\n" + watch.problems().join("\n"),
    );
    assert.deepEqual(await events(), [`${PUMP} raised`, `${TANK} cleared`, `${TANK} raised`]);

    // Acknowledge the cleared tank alarm in the live view: the journal gains the acknowledgement.
    await p.locator('nav a[data-view="live"]').click();
    await p.locator(`#cleared tr[data-alarm="${TANK}/high"] button.ack`).click();
    await p.locator('nav a[data-view="journal"]').click();
    await waitFor(
      "the acknowledgement in the journal",
      15_000,
      async () => {
        await p.locator("#journal-search").click();
        return (await events()).includes(`${TANK} acknowledged`) ? true : undefined;
      },
      async () => (await p.locator("#view-journal").innerText()) + "\n" + product.output().slice(-2000),
    );
    await writeScreenshot(p, "live-view-journal.png");

    // The answer to this search's own question: an earlier question still in flight (a filter's change
    // event asks too) may be answered after the click, and it would show the earlier filter.
    const search = async (): Promise<string[]> => {
      await p.locator("#journal-search").click();
      const asked = Number((await p.locator("#journal").getAttribute("data-asked")) ?? 0);
      await waitFor("the journal's answer", 10_000, async () =>
        Number((await p.locator("#journal").getAttribute("data-answers")) ?? 0) >= asked ? true : undefined,
      );
      return events();
    };
    await p.locator("#journal-point").fill(TANK);
    assert.deepEqual(await search(), [`${TANK} acknowledged`, `${TANK} cleared`, `${TANK} raised`]);
    await p.locator("#journal-state").selectOption("raised");
    assert.deepEqual(await search(), [`${TANK} raised`]);
    await p.locator("#journal-point").fill("");
    assert.deepEqual(await search(), [`${PUMP} raised`, `${TANK} raised`]);
    await p.locator("#journal-state").selectOption("");

    // A range that ends before the first press holds nothing; one around the presses holds them all.
    await p.locator("#journal-range").selectOption("custom");
    const local = (ts: number): Promise<string> =>
      p.evaluate(
        (t) => (window as unknown as { DataColl: { localInput(t: number): string } }).DataColl.localInput(t),
        ts,
      );
    await p.locator("#journal-from").fill(await local(firstPress - 3_600_000));
    await p.locator("#journal-to").fill(await local(firstPress - 60_000));
    assert.deepEqual(await search(), []);
    assert.equal(await p.locator("#journal-empty").textContent(), "No alarm events in this range.");
    await p.locator("#journal-to").fill(await local(Date.now() + 60_000));
    assert.equal((await search()).length, 4);
    // At a phone's width the journal's table scrolls inside its own box, not the page.
    await p.setViewportSize({ width: 420, height: 800 });
    const scroll = await p.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    assert.equal(scroll, 0, "the journal page scrolls sideways at 420 px");
    await p.setViewportSize({ width: 1400, height: 760 });
    assert.deepEqual(watch.problems(), [], "the journal page reported errors");
  });

  it("answers a wrong query parameter with a 400 naming it", async function () {
    const now = Date.now();
    const cases: [string, string][] = [
      [`points=${BOILER}&from=${now - 1000}`, "to"],
      [`from=${now - 1000}&to=${now}`, "points"],
      [`points=nokey&from=${now - 1000}&to=${now}`, "points"],
      [`points=${BOILER}&from=yesterday&to=${now}`, "from"],
      [`points=${BOILER}&from=${now}&to=${now - 1000}`, "to"],
      [`points=${BOILER}&from=${now - 86_400_000}&to=${now}&step=1`, "step"],
      [`points=${BOILER}&from=${now - 1000}&to=${now}&step=100&agg=median`, "agg"],
      [`points=${BOILER}&points=${VALVE}&from=${now - 1000}&to=${now}`, "points"],
      [`points=${BOILER}&from=${now - 1000}&to=${now}&limit=0`, "limit"],
      [`points=${BOILER}&from=${now - 1000}&to=${now}&color=red`, "color"],
    ];
    for (const [query, field] of cases) {
      const res = await fetch(`${product.url}/datacoll/api/history?source=${SAVE}&${query}`);
      assert.equal(res.status, 400, query);
      assert.deepEqual(
        { ...((await res.json()) as object), message: "" },
        { error: "invalid", field, message: "" },
        query,
      );
    }
    const journal: [string, string][] = [
      [`from=${now - 1000}&to=${now}&state=burning`, "state"],
      [`from=${now - 1000}&to=${now}&point=a:b`, "point"],
      [`from=${now - 1000}&to=${now}&cursor=garbage`, "cursor"],
    ];
    for (const [query, field] of journal) {
      const res = await fetch(`${product.url}/datacoll/api/history/alarms?source=${SAVE}&${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(((await res.json()) as { field?: string }).field, field, query);
    }
    const unnamed = await fetch(`${product.url}/datacoll/api/history/alarms?from=1&to=2`);
    assert.equal(unnamed.status, 400, "two sources run: the route must ask which");
    assert.equal(((await unnamed.json()) as { field?: string }).field, "source");
    const unknown = await fetch(`${product.url}/datacoll/api/history/alarms?source=nope&from=1&to=2`);
    assert.equal(unknown.status, 404);
    const sources = (await (await fetch(`${product.url}/datacoll/api/history/sources`)).json()) as {
      id: string;
    }[];
    assert.deepEqual(sources.map((s) => s.id).sort(), [SAVE, OTHER_SAVE].sort());
    const only = await fetch(
      `${product.url}/datacoll/api/history/alarms?source=${SAVE}&from=${firstPress - 1000}&to=${Date.now()}&point=${PUMP}`,
    );
    assert.equal(only.status, 200);
    assert.deepEqual(
      ((await only.json()) as { rows: { key: string; state: string }[] }).rows.map((r) => [r.key, r.state]),
      [[PUMP, "raised"]],
    );
  });
});
