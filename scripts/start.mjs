// `npm start`: a local Node-RED with this package loaded from the working tree and the demo flow open.
// The user directory is .dev/userdir (git-ignored); the package is linked into its node_modules so
// Node-RED loads it as it would an installed module. The demo flow is written afresh on every start.
// Options: --port N (default 1880, or PORT), --flow FILE (another example), --user-dir DIR (another
// user directory: a second instance beside the first, e.g. with example 08), --node-red PATH (a
// different Node-RED install, e.g. .compat/node_modules/node-red for Node-RED 5).
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const port = Number(opt("port", process.env.PORT ?? "1880"));
const userDir = path.resolve(root, opt("user-dir", ".dev/userdir"));
const demo = path.resolve(root, opt("flow", "examples/07-full-pipeline.json"));

if (!fs.existsSync(path.join(root, "dist/nodes"))) {
  console.error("start: dist/ is missing; run `npm run build` (npm install runs it for you)");
  process.exit(1);
}

const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
const link = path.join(userDir, "node_modules", ...pkg.name.split("/"));
fs.mkdirSync(path.dirname(link), { recursive: true });
fs.rmSync(link, { recursive: true, force: true });
fs.symlinkSync(root, link, "dir");
fs.writeFileSync(
  path.join(userDir, "package.json"),
  JSON.stringify(
    { name: "datacoll-dev", private: true, dependencies: { [pkg.name]: "file:" + root } },
    null,
    2,
  ),
);
fs.copyFileSync(demo, path.join(userDir, "flows.json"));
fs.rmSync(path.join(userDir, "flows_cred.json"), { force: true });
const settings = path.join(userDir, "settings.js");
fs.writeFileSync(
  settings,
  `// Written by scripts/start.mjs for the local demo; edits are overwritten on the next npm start.
module.exports = {
  uiHost: "127.0.0.1",
  uiPort: ${port},
  flowFile: "flows.json",
  credentialSecret: false,
  httpNodeRoot: "/",
  logging: { console: { level: "info", metrics: false, audit: false } },
  editorTheme: { projects: { enabled: false }, tours: false },
  // Decided here, so a first visit to the demo's editor is not greeted by the update-check consent dialog.
  telemetry: { enabled: false, updateNotification: false },
};
`,
);

const require = createRequire(import.meta.url);
const nodeRedDir = path.resolve(
  root,
  opt("node-red", path.dirname(require.resolve("node-red/package.json"))),
);
const red = path.join(nodeRedDir, "red.js");
console.log(
  `start: Node-RED from ${nodeRedDir}, user dir ${path.relative(root, userDir)}, demo ${path.relative(root, demo)}`,
);
console.log(`start: editor at http://127.0.0.1:${port}/  (Ctrl+C stops)`);
// The demo and example 06 check every registry point and serve the API at /api: say where to try it.
const flowNodes = JSON.parse(fs.readFileSync(demo, "utf8"));
if (flowNodes.some((n) => n.type === "datacoll-check" && n.scopeMode === "registry"))
  console.log(
    `start: points created through http://127.0.0.1:${port}/api/v1 are polled, checked and saved (README, "Quick start")`,
  );
const child = spawn(
  process.execPath,
  [red, "--userDir", userDir, "--settings", settings, "--port", String(port)],
  {
    stdio: "inherit",
  },
);

// However `npm start` is stopped, Node-RED stops with it and frees its ports. A signal this launcher gets
// is passed on to Node-RED, which closes its flows and exits; the launcher then exits with it. npm passes
// SIGINT and SIGTERM only to its own child, the shell it runs a script in, so package.json `exec`s this
// launcher in place of that shell. Ctrl+C reaches both (the terminal signals the whole process group);
// Node-RED stops once however many it gets.
let stopping = false;
const stop = (signal, why) => {
  if (!stopping) console.log(`start: ${why}, stopping Node-RED`);
  stopping = true;
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
};
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => stop(signal, signal));

// Killed (SIGKILL), npm passes nothing on: the launcher would live on, reparented, holding Node-RED and
// its ports. So it stops Node-RED once the process that started it (npm) is gone, which shows as the
// launcher having another parent (the system's, which adopts orphans; process.ppid is read afresh each
// time). There is no event for that, so it looks once a second.
const parent = process.ppid;
const watch = setInterval(() => {
  if (process.ppid === parent) return;
  clearInterval(watch);
  stop("SIGTERM", `the process that started it (pid ${parent}) is gone`);
}, 1000);

child.on("error", (err) => {
  console.error(`start: Node-RED could not be started: ${err.message}`);
  process.exit(1);
});
child.on("exit", (code, signal) => {
  clearInterval(watch);
  // Stopped on request, Node-RED exits 0 (or by the signal itself): that is a clean stop.
  process.exit(code ?? (signal && stopping ? 0 : 1));
});
