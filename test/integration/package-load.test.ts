/**
 * The package as users install it: the built dist/ loaded by a real Node-RED process from a user
 * directory's node_modules, with no load errors, each node's editor HTML served and its locales found.
 * Runs against the Node-RED of this run (4.1 for npm test, 5 for test:compat) under the current Node.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "../support/net";

const root = path.resolve(__dirname, "../..");
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
  name: string;
  "node-red": { nodes: Record<string, string> };
};
const nodeRedDir = process.env.NODE_RED_PATH
  ? path.resolve(process.env.NODE_RED_PATH)
  : path.dirname(require.resolve("node-red/package.json"));

async function getWhenUp(
  url: string,
  accept: string,
  child: ChildProcess,
  log: () => string,
): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Node-RED exited ${child.exitCode}:\n${log()}`);
    try {
      const res = await fetch(url, { headers: { Accept: accept } });
      if (res.ok) return await res.text();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`no answer from ${url}\n${log()}`, { cause: err });
    }
    if (Date.now() > deadline) throw new Error(`Node-RED did not serve ${url} in 30 s:\n${log()}`);
    await new Promise((r) => setTimeout(r, 200)); // the poll interval of this wait for an answer
  }
}

describe("package load (built dist/ in a real Node-RED)", function () {
  this.timeout(60_000);
  let child: ChildProcess | undefined;
  let userDir = "";
  let output = "";
  let port = 0;

  const running = (): ChildProcess => {
    if (!child) throw new Error("Node-RED was not started");
    return child;
  };

  before(async function () {
    for (const file of Object.values(pkg["node-red"].nodes)) {
      assert.ok(fs.existsSync(path.join(root, file)), `${file} is missing: run npm run build`);
    }
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "datacoll-load-"));
    const link = path.join(userDir, "node_modules", ...pkg.name.split("/"));
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(root, link, "dir");
    fs.writeFileSync(path.join(userDir, "flows.json"), "[]");
    port = await freePort();
    child = spawn(
      process.execPath,
      [path.join(nodeRedDir, "red.js"), "--userDir", userDir, "--port", String(port), "flows.json"],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_RED_ENABLE_PROJECTS: "false" } },
    );
    child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  });

  after(async function () {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child?.once("exit", r));
      child.kill("SIGINT");
      await exited;
    }
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  it("registers every node of package.json with no load error", async function () {
    const body = await getWhenUp(
      `http://127.0.0.1:${port}/nodes`,
      "application/json",
      running(),
      () => output,
    );
    const sets = (
      JSON.parse(body) as { module: string; name: string; types: string[]; err?: string; enabled: boolean }[]
    ).filter((s) => s.module === pkg.name);
    const expected = Object.keys(pkg["node-red"].nodes).sort();
    assert.deepEqual(sets.map((s) => s.name).sort(), expected);
    for (const s of sets) {
      assert.equal(s.err, undefined, `${s.name}: ${s.err}`);
      assert.ok(s.enabled, `${s.name} is disabled`);
      assert.deepEqual(s.types, [s.name], `${s.name} registers its own type`);
    }
    assert.doesNotMatch(output, /\[error\]/, "Node-RED logged an error while loading");
  });

  it("serves each node's editor definition, form and help", async function () {
    const html = await getWhenUp(`http://127.0.0.1:${port}/nodes`, "text/html", running(), () => output);
    for (const type of Object.keys(pkg["node-red"].nodes)) {
      assert.match(html, new RegExp(`registerType\\("${type}"`), `${type}: no registerType`);
      assert.match(html, new RegExp(`data-help-name="${type}"`), `${type}: no help`);
    }
  });

  it("finds each node's en-US and zh-CN messages", async function () {
    for (const type of Object.keys(pkg["node-red"].nodes)) {
      for (const lng of ["en-US", "zh-CN"]) {
        const body = await getWhenUp(
          `http://127.0.0.1:${port}/locales/${pkg.name}/${type}?lng=${lng}`,
          "application/json",
          running(),
          () => output,
        );
        const messages = JSON.parse(body) as Record<string, unknown>;
        assert.ok(messages[type], `${type} has no ${lng} messages: ${body.slice(0, 200)}`);
      }
    }
  });
});
