/**
 * The install path the README gives first, as a user follows it: `npm pack` makes the tarball, and
 * `npm install <tarball>` in a fresh Node-RED user directory installs it with its dependencies; Node-RED
 * started on that directory loads every node of the package with no error. Unlike package-load.test.ts
 * (which links this working tree), this catches a file the tarball leaves out or a dependency that only
 * this repository's node_modules happened to provide.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { httpRequest, until } from "../support/net";
import { NodeRedProcess } from "../support/node-red-process";

const exec = promisify(execFile);
/**
 * The npm that runs this suite (npm_execpath), not the first `npm` on PATH: under `npm test` that is
 * node_modules/.bin/npm, Node-RED's own copy of npm 10, whose `pack --ignore-scripts` still runs `prepare`.
 */
const npm = (args: string[], cwd: string) =>
  process.env.npm_execpath
    ? exec(process.execPath, [process.env.npm_execpath, ...args], { cwd, maxBuffer: 32 * 1024 * 1024 })
    : exec("npm", args, { cwd, maxBuffer: 32 * 1024 * 1024 });
const root = path.resolve(__dirname, "../..");
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
  name: string;
  "node-red": { nodes: Record<string, string> };
};

describe("package install (npm pack, then npm install of the tarball in a fresh user directory)", function () {
  // npm installs the dependencies (from its cache when it has them, else from the registry).
  this.timeout(240_000);
  let packDir = "";
  let tarball = "";
  let red: NodeRedProcess | undefined;
  /** The Node-RED the `before` hook started; a test run without it fails here, not on undefined. */
  const started = (): NodeRedProcess => {
    if (!red) throw new Error("Node-RED was not started");
    return red;
  };

  before(async function () {
    packDir = fs.mkdtempSync(path.join(os.tmpdir(), "datacoll-pack-"));
    // --ignore-scripts: dist/ is built already (pretest); `prepare` would rebuild it under other tests.
    const { stdout } = await npm(["pack", "--ignore-scripts", "--json", "--pack-destination", packDir], root);
    const [packed] = JSON.parse(stdout) as { filename: string }[];
    tarball = path.join(packDir, packed.filename);
    red = new NodeRedProcess("install", [], undefined, null);
    fs.writeFileSync(
      path.join(red.userDir, "package.json"),
      JSON.stringify({ name: "node-red-project", private: true }),
    );
    await npm(["install", "--prefer-offline", "--no-audit", "--no-fund", tarball], red.userDir);
    await red.start();
  });

  after(async function () {
    await red?.stop("SIGINT");
    red?.dispose();
    if (packDir) fs.rmSync(packDir, { recursive: true, force: true });
  });

  it("installs a real copy (not a link) holding the built nodes, the examples and no source maps", function () {
    const installed = path.join(started().userDir, "node_modules", ...pkg.name.split("/"));
    assert.equal(fs.lstatSync(installed).isSymbolicLink(), false);
    for (const file of Object.values(pkg["node-red"].nodes))
      assert.ok(fs.existsSync(path.join(installed, file)), `${file} is not in the tarball`);
    assert.ok(fs.readdirSync(path.join(installed, "examples")).some((f) => f.endsWith(".json")));
    const maps: string[] = [];
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(dir, e.name));
        else if (e.name.endsWith(".map")) maps.push(e.name);
      }
    };
    walk(path.join(installed, "dist"));
    assert.deepEqual(maps, [], "source maps point at src/, which the package does not ship");
    for (const dep of ["ioredis", "mysql2", "mathjs", "jsmodbus"])
      assert.ok(fs.existsSync(path.join(started().userDir, "node_modules", dep)), `${dep} was not installed`);
  });

  it("loads every node of the package in Node-RED with no error", async function () {
    const r = started();
    let sets: { module: string; name: string; err?: string; enabled: boolean }[] = [];
    await until(
      async () => {
        if (!r.running) throw new Error(`Node-RED exited:\n${r.output}`);
        try {
          const got = await httpRequest(r.port, "GET", "/nodes", undefined, { Accept: "application/json" });
          if (got.status !== 200) return false;
          sets = (got.json() as typeof sets).filter((s) => s.module === pkg.name);
          return sets.length > 0;
        } catch {
          return false; // not listening yet: the wait goes on
        }
      },
      60_000,
      "Node-RED serving /nodes",
    );
    assert.deepEqual(sets.map((s) => s.name).sort(), Object.keys(pkg["node-red"].nodes).sort());
    for (const s of sets) {
      assert.equal(s.err, undefined, `${s.name}: ${s.err}`);
      assert.ok(s.enabled, `${s.name} is disabled`);
    }
    assert.doesNotMatch(r.output, /\[error\]/, "Node-RED logged an error while loading");
  });
});
