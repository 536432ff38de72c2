/**
 * The live view at /datacoll in Chromium, on a running flow: a simulator ramping a boiler temperature,
 * polled four times a second, checked against a high limit it always exceeds (an alarm at once) and fed
 * through a formula into the manager's bus (the values the view lists). The page must show values that
 * change between two looks, draw their sparkline, and acknowledge the alarm from its button.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { freePort } from "../support/net";
import { ConsoleWatch } from "./console-watch";
import { Product, waitFor } from "./harness";
import { MANAGER, POINT, RESULT, liveFlow } from "./live-flow";
import { writeScreenshot } from "./screenshot";

describe("browser: the live view", function () {
  this.timeout(30_000);
  const product = new Product();
  const watch = new ConsoleWatch();
  let page: Page | undefined;
  const current = (): Page => {
    assert.ok(page, "the live view page was not opened");
    return page;
  };

  before(async function () {
    this.timeout(60_000);
    await product.start("live");
    await product.deploy(liveFlow(await freePort()));
    page = await product.newPage();
    watch.attach(page);
    await page.goto(`${product.url}/datacoll`);
    await waitFor(
      "the live view connected to the manager",
      10_000,
      async () => ((await current().locator("#conn").textContent()) === "live" ? true : undefined),
      async () =>
        `the page says "${await current().locator("#conn").textContent()}"; ${watch.problems().join("\n")}\n` +
        product.output().slice(-3000),
    );
  });

  after(async function () {
    this.timeout(30_000);
    await product.stop();
  });

  it("lists the running manager and shows values that change, with a sparkline", async function () {
    const p = current();
    assert.equal(await p.locator("#manager option:checked").textContent(), "Live plant");
    const row = p.locator(`#points tr[data-key="${RESULT}"]`);
    const value = (): Promise<string | null> => row.locator("td").nth(1).textContent();
    const first = await waitFor(`a value of ${RESULT}`, 10_000, async () =>
      (await row.count()) > 0 ? ((await value()) ?? undefined) : undefined,
    );
    assert.match(first, /^\d+(\.\d+)?$/, `${RESULT} shows a number`);
    const second = await waitFor(`${RESULT} changing from ${first}`, 10_000, async () => {
      const v = await value();
      return v !== null && v !== first ? v : undefined;
    });
    assert.match(second, /^\d+(\.\d+)?$/);
    // Enough samples for the trend to be a line worth looking at (a path of several segments).
    await waitFor(`a sparkline for ${RESULT}`, 10_000, async () => {
      const d = await row
        .locator("svg.spark path")
        .getAttribute("d")
        .catch(() => null);
      return d !== null && (d.match(/L/g) ?? []).length >= 5 ? true : undefined;
    });
    assert.deepEqual(watch.problems(), [], "the live view reported errors");
  });

  it("shows the active alarm and acknowledges it from its button", async function () {
    const p = current();
    const row = p.locator(`#alarms tr[data-alarm="${POINT}/high"]`);
    await waitFor(`the high alarm of ${POINT}`, 10_000, async () =>
      (await row.count()) > 0 ? true : undefined,
    );
    assert.match((await row.locator("td").nth(2).textContent()) ?? "", /^active$/);
    assert.equal(await row.locator("td").nth(4).textContent(), "boiler too hot");
    // Every formula's result listed, so the picture shows a plant rather than one row.
    await waitFor(
      "three points listed",
      10_000,
      async () => ((await p.locator("#points tr[data-key]").count()) >= 3 ? true : undefined),
      async () => (await p.locator("#points").innerText()) + "\n" + product.output().slice(-2000),
    );
    await p.setViewportSize({ width: 1400, height: 400 });
    await writeScreenshot(p, "live-view.png");

    const button = row.locator("button.ack");
    assert.equal(await button.textContent(), "Acknowledge");
    await button.click();
    await waitFor(
      "the alarm shown acknowledged",
      10_000,
      async () => {
        const state = await p
          .locator(`#alarms tr[data-alarm="${POINT}/high"] td`)
          .nth(2)
          .textContent()
          .catch(() => null);
        return state === "active, acknowledged" ? true : undefined;
      },
      async () => (await p.locator("#alarms").innerText()) + "\n" + product.output().slice(-2000),
    );
    // The acknowledgement reached the alarm's owner, not just the page.
    const snap = (await (await fetch(`${product.url}/datacoll/api/snapshot?manager=${MANAGER}`)).json()) as {
      alarms: { key: string; condition: string; acked: boolean; active: boolean }[];
    };
    const alarm = snap.alarms.find((a) => a.key === POINT && a.condition === "high");
    assert.ok(alarm, `the snapshot has no high alarm of ${POINT}`);
    assert.deepEqual([alarm.active, alarm.acked], [true, true]);
    assert.deepEqual(watch.problems(), [], "the live view reported errors");
  });

  it("fits a phone's width: one column, no sideways page scroll, every value column reachable", async function () {
    const p = current();
    await p.setViewportSize({ width: 420, height: 800 });
    const row = p.locator(`#points tr[data-key="${RESULT}"]`);
    await waitFor(`a value of ${RESULT}`, 10_000, async () => ((await row.count()) > 0 ? true : undefined));
    assert.equal(await p.locator("#conn").textContent(), "live", "the header says live while values arrive");
    // No named inner functions here: the test's compiler would wrap them in a helper the page lacks.
    const layout = await p.evaluate(() => {
      const page = document.documentElement;
      const sections = Array.from(document.querySelectorAll("#view-live > section"));
      return {
        pageScroll: page.scrollWidth - page.clientWidth,
        // Every section as wide as the page's content and stacked: one column.
        lefts: sections.map((s) => Math.round(s.getBoundingClientRect().left)),
        rights: sections.map((s) => Math.round(s.getBoundingClientRect().right)),
        width: page.clientWidth,
      };
    });
    assert.equal(layout.pageScroll, 0, "the page scrolls sideways at 420 px");
    assert.equal(new Set(layout.lefts).size, 1, `sections side by side: lefts ${layout.lefts.join(", ")}`);
    for (const r of layout.rights)
      assert.ok(r <= layout.width, `a section ends at ${r} px, past ${layout.width}`);
    await writeScreenshot(p, "live-view-phone.png");
    // The last column (time) of the latest values is reachable: shown, or scrolled to inside its own box.
    const time = row.locator("td").last();
    await time.scrollIntoViewIfNeeded();
    const tb = await time.boundingBox();
    assert.ok(tb, "the time cell has no box");
    assert.ok(tb.x >= 0 && tb.x + tb.width <= layout.width + 1, `time cell at ${tb.x}+${tb.width}`);
    assert.match((await time.textContent()) ?? "", /\d/, "the time cell shows a time");
    await p.setViewportSize({ width: 1400, height: 400 });
    assert.deepEqual(watch.problems(), [], "the live view reported errors");
  });
});
