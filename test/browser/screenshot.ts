/** The README's screenshots: written to docs/images/ by every run, from the running product. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { root } from "./harness";

export const imagesDir = path.join(root, "docs", "images");

/** Screenshot the page into docs/images/<name> and check a real PNG of the viewport was written. */
export async function writeScreenshot(page: Page, name: string): Promise<string> {
  const file = path.join(imagesDir, name);
  fs.mkdirSync(imagesDir, { recursive: true });
  const before = Date.now();
  // Out of the way, so no hover highlight or tooltip lands in the picture.
  await page.mouse.move(0, 0);
  await page.screenshot({ path: file, animations: "disabled" });
  const png = fs.readFileSync(file);
  assert.ok(fs.statSync(file).mtimeMs >= before - 1000, `${name} was not rewritten`);
  assert.equal(png.subarray(1, 4).toString("latin1"), "PNG", `${name} is not a PNG`);
  const viewport = page.viewportSize();
  assert.ok(viewport, "the page has a viewport");
  // IHDR: width and height are the first fields of the first chunk.
  assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [viewport.width, viewport.height]);
  return file;
}
