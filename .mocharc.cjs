// One test runner for every kind of test. Tests are TypeScript, run through tsx.
// MOCHA_SPEC narrows the run (e.g. MOCHA_SPEC=test/unit/**/*.test.ts npx mocha).
module.exports = {
  require: ["tsx/cjs", "test/support/root-hooks.ts"],
  spec: process.env.MOCHA_SPEC ? process.env.MOCHA_SPEC.split(",") : ["test/**/*.test.ts"],
  timeout: 20000,
  reporter: "spec",
  // Leaks are caught per flow test (test/support/leaks.ts); a stray handle must not hang a CI run.
  exit: true,
};
