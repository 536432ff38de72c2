/**
 * Page errors and console errors of a page, for tests that assert a page ran clean. Node-RED's own
 * harmless messages would be listed in HARMLESS with the reason; the test settings avoid the one this
 * closed network causes (the palette catalogue, see harness.ts), so the list is empty.
 */
import type { Page } from "playwright-core";

const HARMLESS: readonly { readonly pattern: RegExp; readonly reason: string }[] = [];

export class ConsoleWatch {
  private readonly seen: string[] = [];
  private readonly registerWarnings: string[] = [];

  attach(page: Page): void {
    page.on("pageerror", (err) => this.seen.push(`page error: ${err.stack ?? err.message}`));
    page.on("console", (msg) => {
      // Node-RED warns, rather than fails, when a node definition is wrong (e.g. a reserved property).
      if (msg.type() === "warning" && msg.text().startsWith("registerType:"))
        this.registerWarnings.push(msg.text());
      if (msg.type() !== "error") return;
      const text = msg.text();
      if (HARMLESS.some((h) => h.pattern.test(text))) return;
      const where = msg.location();
      this.seen.push(`console error: ${text} (${where.url}:${where.lineNumber})`);
    });
  }

  /** A point to look from: `problems(mark)` gives only what came after it. */
  mark(): number {
    return this.seen.length;
  }

  problems(from = 0): string[] {
    return this.seen.slice(from);
  }

  /** Node-RED's warnings about node definitions ("registerType: <type>: ..."), deduplicated. */
  definitionWarnings(): string[] {
    return [...new Set(this.registerWarnings)];
  }
}
