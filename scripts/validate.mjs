// `npm run validate`: the Flow Library scorecard (`node-red-dev validate`) run offline, failing on any
// failed check except P08 and N01, which need the real catalogue. The verdict is read from the
// scorecard file the tool writes (--output), not from its printed text.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const cli = path.join(path.dirname(require.resolve("node-red-dev/package.json")), "bin", "run");
const card = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "datacoll-validate-")), "scorecard.json");
const hook = path.join(root, "scripts/offline-catalogue.cjs");
const res = spawnSync(process.execPath, ["--require", hook, cli, "validate", "--output", card], {
  cwd: root,
  stdio: "inherit",
});
if (!fs.existsSync(card)) {
  console.error(`validate: node-red-dev exited ${res.status} and wrote no scorecard`);
  process.exit(1);
}
const scorecard = JSON.parse(fs.readFileSync(card, "utf8"));
const exempt = new Set(["P08", "N01"]);
const checks = Object.entries(scorecard).filter(([code]) => /^[A-Z]\d\d$/.test(code));
const failed = checks.filter(([code, r]) => !exempt.has(code) && r.test !== true);
if (checks.length < 10) {
  console.error(
    `validate: the scorecard holds only ${checks.map(([c]) => c).join(", ")}; the tool did not finish`,
  );
  process.exit(1);
}
if (failed.length > 0) {
  console.error(`\nvalidate: failed: ${failed.map(([c, r]) => `${c} ${JSON.stringify(r)}`).join("; ")}`);
  process.exit(1);
}
console.log(
  `\nvalidate: ${checks.length} checks, all pass (P08 and N01 need the real catalogue: not judged offline)`,
);
