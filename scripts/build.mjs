// The one build: compile TypeScript, then assemble each node's editor file, help and locales into the
// layout Node-RED loads (dist/nodes/<type>/<type>.{js,html}, locales/<lang>/<type>.{json,html}, icons/).
// Each node keeps one source per concern in nodes/<type>/: editor.html (form), editor.js (registerType),
// help.md (+ help.<lang>.md), locales/<lang>.json. Every editor script gets the flow migrations
// (nodes/lib/migrations) once, not a copy per node.
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { renderMarkdown } from "./markdown.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(root, "dist");
const stampFile = path.join(dist, ".build-inputs");

// One CI run asks for the build four times (npm ci's prepare, the build step, pretest, test:compat); the
// compiler alone takes 10-20 s of it. The build is a pure function of its inputs, so when a fingerprint
// of every input matches the one written after the last complete build, dist/ is already that build.
const fingerprint = inputsFingerprint();
if (!process.argv.includes("--force") && read(stampFile) === fingerprint) {
  console.log("build: dist/ is up to date with the sources (npm run build -- --force rebuilds)");
  process.exit(0);
}

fs.rmSync(dist, { recursive: true, force: true });
try {
  execFileSync(
    process.execPath,
    [path.join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"],
    {
      cwd: root,
      stdio: "inherit",
    },
  );
} catch {
  console.error("build: the TypeScript compiler reported errors (above)");
  process.exit(1);
}

const nodesDir = path.join(root, "nodes");
// Every folder named for a node type is a node; others (lib/) hold code the nodes share.
const types = fs
  .readdirSync(nodesDir)
  .filter((d) => d.startsWith("datacoll-") && fs.statSync(path.join(nodesDir, d)).isDirectory());
const migrations = editorMigrations(path.join(dist, "nodes", "lib", "migrations"));
for (const type of types) assembleNode(type);
// The live view's page and client script, served beside the compiled nodes/lib/live-view.js.
fs.cpSync(path.join(nodesDir, "lib", "live"), path.join(dist, "nodes", "lib", "live"), { recursive: true });
fs.writeFileSync(path.join(dist, "package.json"), JSON.stringify({ type: "commonjs" }) + "\n");
// Written last: a build that failed half-way leaves no stamp, so the next run builds again.
fs.writeFileSync(stampFile, fingerprint);
console.log(`built ${types.length} node(s) into dist/nodes`);

/**
 * A hash over everything the build reads: the compiled and copied folders, the compiler's settings and
 * version (through the lock file), and this script with its Markdown renderer.
 */
function inputsFingerprint() {
  const hash = crypto.createHash("sha256");
  const files = ["tsconfig.json", "package-lock.json", "scripts/build.mjs", "scripts/markdown.mjs"];
  for (const dir of ["src", "nodes", "icons"]) files.push(...listFiles(dir));
  for (const file of files.sort()) {
    const full = path.join(root, file);
    if (!fs.existsSync(full)) continue;
    hash.update(`${file}\0`);
    hash.update(fs.readFileSync(full));
    hash.update("\0");
  }
  return hash.digest("hex");
}

function listFiles(dir) {
  const full = path.join(root, dir);
  if (!fs.existsSync(full)) return [];
  return fs
    .readdirSync(full, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath ?? e.path, e.name)));
}

function read(file) {
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
}

/**
 * nodes/lib/migrations as one script for the editor (see its workspace.ts): the compiled CommonJS files of
 * that folder, each wrapped as a module with a require that resolves only its siblings, so the editor
 * runs the very migrations the runtime runs without a bundler. Every node's HTML carries it, since a
 * user may disable any node type; the first to load installs it.
 */
function editorMigrations(dir) {
  const modules = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".js"))
    .map((file) => {
      const code = fs.readFileSync(path.join(dir, file), "utf8").replace(/^\/\/# sourceMappingURL=.*$/m, "");
      for (const m of code.matchAll(/require\("([^"]+)"\)/g)) {
        if (!/^\.\/[\w-]+$/.test(m[1])) {
          throw new Error(
            `nodes/lib/migrations/${file}: requires ${m[1]}; the editor bundle holds only its siblings`,
          );
        }
      }
      return `${JSON.stringify("./" + path.basename(file, ".js"))}: function (module, exports, require) {\n${code.trim()}\n}`;
    });
  return [
    "if (!window.DataCollMigrations) {",
    "  window.DataCollMigrations = (function () {",
    `    var sources = {\n${modules.join(",\n")}\n};`,
    "    var loaded = {};",
    "    function load(name) {",
    "      if (!loaded[name]) {",
    "        loaded[name] = { exports: {} };",
    "        sources[name](loaded[name], loaded[name].exports, load);",
    "      }",
    "      return loaded[name].exports;",
    "    }",
    '    return load("./workspace");',
    "  })();",
    "  window.DataCollMigrations.installEditorMigrations(RED, function (m) { console.warn(m); });",
    "}",
  ].join("\n");
}

function assembleNode(type) {
  const src = path.join(nodesDir, type);
  const out = path.join(dist, "nodes", type);
  fs.mkdirSync(out, { recursive: true });
  if (!fs.existsSync(path.join(out, `${type}.js`))) {
    throw new Error(`nodes/${type}: no runtime entry ${type}.ts compiled to ${type}.js`);
  }
  const editorJs = read(path.join(src, "editor.js"));
  const form = read(path.join(src, "editor.html"));
  const help = read(path.join(src, "help.md"));
  if (!editorJs || !help) throw new Error(`nodes/${type}: editor.js and help.md are required`);
  const parts = [
    `<script type="text/javascript">\n${migrations}\n</script>`,
    `<script type="text/javascript">\n${editorJs.trim()}\n` +
      `window.DataCollMigrations.prepareType(RED, ${JSON.stringify(type)});\n</script>`,
    form !== undefined
      ? `<script type="text/html" data-template-name="${type}">\n${form.trim()}\n</script>`
      : "",
    `<script type="text/html" data-help-name="${type}">\n${renderMarkdown(help)}\n</script>`,
  ];
  fs.writeFileSync(path.join(out, `${type}.html`), parts.filter(Boolean).join("\n\n") + "\n");

  const locales = path.join(src, "locales");
  if (fs.existsSync(locales)) {
    for (const file of fs.readdirSync(locales)) {
      const lang = path.basename(file, ".json");
      const dir = path.join(out, "locales", lang);
      fs.mkdirSync(dir, { recursive: true });
      JSON.parse(fs.readFileSync(path.join(locales, file), "utf8")); // fail the build on bad JSON
      fs.copyFileSync(path.join(locales, file), path.join(dir, `${type}.json`));
    }
  }
  for (const file of fs.readdirSync(src)) {
    const m = /^help\.([a-zA-Z-]+)\.md$/.exec(file);
    if (!m) continue;
    const dir = path.join(out, "locales", m[1]);
    fs.mkdirSync(dir, { recursive: true });
    const body = renderMarkdown(fs.readFileSync(path.join(src, file), "utf8"));
    fs.writeFileSync(
      path.join(dir, `${type}.html`),
      `<script type="text/html" data-help-name="${type}">\n${body}\n</script>\n`,
    );
  }
  const icons = path.join(root, "icons");
  if (fs.existsSync(icons)) fs.cpSync(icons, path.join(out, "icons"), { recursive: true });
}
