// One test runner for every kind of test. Tests are TypeScript, run through tsx.
// MOCHA_SPEC narrows the run (e.g. MOCHA_SPEC=test/unit/**/*.test.ts npx mocha).
//
// Two test files run at a time (mocha's parallel mode, one worker process per file): most of the long
// files wait on real processes (Node-RED starting, lease TTLs, outage windows), not on the CPU. Files
// can run side by side because each takes names of its own on the shared Redis and MariaDB
// (test/support/services.ts), ports from the OS, and counts only its own connections (by database or
// client name), never server-wide figures. `npx mocha --no-parallel` runs one file after another.
const fs = require("node:fs");
const path = require("node:path");

// The longest files (by the per-file times of a whole run) start first, so no long file is left to run
// alone at the end. The rest follow in name order. A file missing here only loses its head start.
const LONGEST_FIRST = [
  "test/integration/rest/import-size.test.ts",
  "test/integration/examples-as-flow-files.test.ts",
  "test/browser/editor.test.ts",
  "test/integration/save-node/process-outage.test.ts",
  "test/integration/scale-out/three-instances.test.ts",
  "test/integration/store/durable-node-red.test.ts",
  "test/integration/start-shutdown.test.ts",
  "test/integration/store/bounds.test.ts",
  "test/integration/package-install.test.ts",
  "test/integration/save-node/outage.test.ts",
];

/** Every `*.test.ts` under `dir`, in name order. */
function testFiles(dir) {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((e) => {
      const p = path.posix.join(dir, e.name);
      if (e.isDirectory()) return testFiles(p);
      return e.name.endsWith(".test.ts") ? [p] : [];
    });
}

function wholeSuite() {
  const all = testFiles("test");
  const first = LONGEST_FIRST.filter((f) => all.includes(f));
  return [...first, ...all.filter((f) => !first.includes(f))];
}

module.exports = {
  require: ["tsx/cjs", "test/support/root-hooks.ts"],
  spec: process.env.MOCHA_SPEC ? process.env.MOCHA_SPEC.split(",") : wholeSuite(),
  parallel: true,
  jobs: 2,
  timeout: 20000,
  reporter: "spec",
  // Leaks are caught per flow test (test/support/leaks.ts); a stray handle must not hang a CI run.
  exit: true,
};
