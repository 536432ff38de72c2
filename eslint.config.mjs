import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";

export default tseslint.config(
  {
    ignores: [
      "node_modules/",
      "dist/",
      ".dev/",
      ".compat/",
      ".bench-incumbent/",
      "bench/results/",
      "test/.work/",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    files: ["**/*.ts"],
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "no-empty": ["error", { allowEmptyCatch: false }],
    },
  },
  {
    files: ["**/*.mjs", "**/*.cjs", "scripts/**/*.js"],
    languageOptions: { globals: { ...globals.node } },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    files: ["nodes/**/editor.js", "nodes/lib/live/*.js"],
    languageOptions: { globals: { ...globals.browser, RED: "readonly", $: "readonly" } },
    // Editor scripts are the ES5 Node-RED runs in the browser; `var node = this` is its idiom.
    rules: { "@typescript-eslint/no-this-alias": "off" },
  },
);
