// `node scripts/bench-table.mjs`: the README's benchmark table from bench/results/*.json (the last
// `npm run bench` on this machine), written between the bench-table markers in README.md. A bench with
// no result file here (e.g. after `npm run bench -- modbus` alone) keeps its rows, with their dates.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dir = path.join(root, "bench", "results");
const fmt = (n) =>
  Math.abs(n) >= 1000 ? Math.round(n).toLocaleString("en-US") : Number(n.toPrecision(3)).toString();
const rows = [];
const measured = new Set();
for (const file of fs
  .readdirSync(dir)
  .filter((f) => f.endsWith(".json"))
  .sort()) {
  const r = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"));
  measured.add(r.name);
  for (const [figure, f] of Object.entries(r.figures)) {
    rows.push(
      `| \`npm run bench -- ${r.name}\` | \`${figure}\` | ${fmt(f.value)} ${f.unit} | ${f.baseline ?? ""} | ${f.ratio === undefined ? "" : `${f.ratio.toFixed(2)}×`} | ${r.date.slice(0, 10)} |`,
    );
  }
}
const readme = path.join(root, "README.md");
const text = fs.readFileSync(readme, "utf8");
const start = "<!-- bench-table -->";
const end = "<!-- /bench-table -->";
const i = text.indexOf(start);
if (i < 0) throw new Error("README.md has no <!-- bench-table --> marker");
const j = text.indexOf(end, i);
const kept = (j < 0 ? "" : text.slice(i + start.length, j)).split("\n").filter((line) => {
  const m = /^\| `npm run bench -- ([\w-]+)` \|/.exec(line);
  return m !== null && !measured.has(m[1]);
});
const byBench = (line) => /^\| `npm run bench -- ([\w-]+)`/.exec(line)[1];
const all = [...rows, ...kept].sort((a, b) =>
  byBench(a) < byBench(b) ? -1 : byBench(a) > byBench(b) ? 1 : 0,
);
const table = [
  "| command | figure | ours | baseline (same run) | ratio | measured |",
  "|---|---|---|---|---|---|",
  ...all,
].join("\n");
const next =
  text.slice(0, i) +
  `${start}\n${table}\n${end}` +
  (j < 0 ? text.slice(i + start.length) : text.slice(j + end.length));
fs.writeFileSync(readme, next);
console.log(`bench-table: ${rows.length} figure(s) from this run, ${kept.length} kept, written to README.md`);
