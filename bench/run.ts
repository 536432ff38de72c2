/**
 * The benchmark runner: `npm run bench` runs every bench/*.bench.ts, `npm run bench -- NAME [NAME...]`
 * only those. Each benchmark measures ours and its baseline in the same run and returns its figures;
 * the runner prints a table and writes bench/results/NAME.json.
 */
import fs from "node:fs";
import path from "node:path";
import type { Benchmark, Figures } from "./lib/types";

const benchDir = __dirname;
const resultsDir = path.join(benchDir, "results");

function available(): string[] {
  return fs
    .readdirSync(benchDir)
    .filter((f) => f.endsWith(".bench.ts"))
    .map((f) => f.replace(/\.bench\.ts$/, ""))
    .sort();
}

function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString("en-US");
  return n.toPrecision(4);
}

function printTable(name: string, figures: Figures): void {
  const rows = Object.entries(figures).map(([figure, f]) => [
    figure,
    `${formatNumber(f.value)} ${f.unit}`,
    f.baseline ?? "",
    f.ratio === undefined ? "" : `${f.ratio.toFixed(2)}x`,
    f.goal ?? "",
  ]);
  const head = ["figure", "ours", "baseline", "ratio", "goal"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join("  ");
  console.log(`\n## ${name}`);
  console.log(line(head));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const r of rows) console.log(line(r));
}

async function main(): Promise<void> {
  const all = available();
  const asked = process.argv.slice(2).filter((a) => !a.startsWith("-"));
  const unknown = asked.filter((a) => !all.includes(a));
  if (unknown.length > 0) {
    console.error(`unknown benchmark(s): ${unknown.join(", ")}; available: ${all.join(", ") || "none"}`);
    process.exit(2);
  }
  const names = asked.length > 0 ? asked : all;
  if (names.length === 0) {
    console.log("no benchmarks yet");
    return;
  }
  fs.mkdirSync(resultsDir, { recursive: true });
  for (const name of names) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- benchmarks are found by file name
    const mod = require(path.join(benchDir, `${name}.bench.ts`)) as { default: Benchmark };
    const figures = await mod.default.run();
    const out = {
      name,
      date: new Date().toISOString(),
      figures: Object.fromEntries(
        Object.entries(figures).map(([k, f]) => [
          k,
          {
            value: f.value,
            unit: f.unit,
            ...(f.baseline === undefined ? {} : { baseline: f.baseline }),
            ...(f.ratio === undefined ? {} : { ratio: f.ratio }),
          },
        ]),
      ),
    };
    fs.writeFileSync(path.join(resultsDir, `${name}.json`), JSON.stringify(out, null, 2) + "\n");
    printTable(name, figures);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
