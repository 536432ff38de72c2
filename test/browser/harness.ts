/**
 * The product as a user meets it in a browser: a real Node-RED process with the built package installed
 * in a temporary user directory (as `npm install` in ~/.node-red would put it), and Debian's Chromium
 * driven by playwright-core on a fresh profile directory. Everything started here is stopped by `stop()`, which is safe to call after a failed or
 * partial start.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { freePort } from "../support/net";

export const root = path.resolve(__dirname, "../..");
/** The package to install: this tree (built by npm test's pretest), or another copy of it. */
const packageDir = path.resolve(process.env.DATACOLL_PACKAGE_DIR ?? root);
export const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
  name: string;
  files: string[];
  "node-red": { nodes: Record<string, string> };
};
/** Every node type the package registers, from package.json (so nodes that land later are covered). */
export const nodeTypes = Object.keys(pkg["node-red"].nodes);

const nodeRedDir = process.env.NODE_RED_PATH
  ? path.resolve(process.env.NODE_RED_PATH)
  : path.dirname(require.resolve("node-red/package.json"));
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** A flow file's nodes, as Node-RED's export format has them. */
export type FlowNode = Readonly<Record<string, unknown>> & { readonly id: string; readonly type: string };

/** Poll `cond` until it gives a value other than undefined; fail naming `what` after `withinMs`. */
export async function waitFor<T>(
  what: string,
  withinMs: number,
  cond: () => Promise<T | undefined> | T | undefined,
  describe?: () => Promise<string> | string,
): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await cond();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const detail = describe ? `\n${await describe()}` : "";
      throw new Error(`${what} did not happen within ${withinMs} ms${detail}`);
    }
    await new Promise((r) => setTimeout(r, 100)); // the poll interval of this condition wait
  }
}

export class Product {
  private child: ChildProcess | undefined;
  private context: BrowserContext | undefined;
  private userDir = "";
  private profileDir = "";
  private log = "";
  port = 0;

  /** Node-RED's console output so far (for failure messages and log checks). */
  output(): string {
    return this.log;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(prefix: string): Promise<void> {
    for (const file of Object.values(pkg["node-red"].nodes)) {
      assert.ok(fs.existsSync(path.join(packageDir, file)), `${file} is missing: run npm run build`);
    }
    assert.ok(
      fs.existsSync(chromiumPath),
      `Chromium is not installed at ${chromiumPath}: \`npm run services\` installs Debian's chromium`,
    );
    this.userDir = fs.mkdtempSync(path.join(os.tmpdir(), `datacoll-${prefix}-nr-`));
    this.profileDir = fs.mkdtempSync(path.join(os.tmpdir(), `datacoll-${prefix}-chromium-`));
    // Installed as npm would: a copy of the package's files (so a build another run starts in this
    // working tree cannot pull dist/ from under a running test), its dependencies found through a link
    // to this tree's node_modules.
    const installed = path.join(this.userDir, "node_modules", ...pkg.name.split("/"));
    fs.mkdirSync(installed, { recursive: true });
    for (const entry of ["package.json", ...pkg.files]) {
      const from = path.join(packageDir, entry);
      if (fs.existsSync(from)) fs.cpSync(from, path.join(installed, entry), { recursive: true });
    }
    fs.symlinkSync(path.join(root, "node_modules"), path.join(installed, "node_modules"), "dir");
    for (const file of Object.values(pkg["node-red"].nodes)) {
      for (const f of [file, file.replace(/\.js$/, ".html")]) {
        assert.ok(fs.existsSync(path.join(installed, f)), `${f} is missing: run npm run build`);
      }
    }
    fs.writeFileSync(path.join(this.userDir, "flows.json"), "[]");
    const settings = path.join(this.userDir, "settings.js");
    // The welcome tour and projects would put dialogs of their own in front of the editor; the palette
    // manager's catalogue (catalogue.nodered.org) cannot be reached from a closed network and the failed
    // fetch is logged as a console error, so no catalogue is configured.
    fs.writeFileSync(
      settings,
      `module.exports = {
  uiHost: "127.0.0.1",
  flowFile: "flows.json",
  credentialSecret: false,
  logging: { console: { level: "info", metrics: false, audit: false } },
  editorTheme: { projects: { enabled: false }, tours: false, palette: { catalogues: [] } },
  telemetry: { enabled: false },
};
`,
    );
    this.port = await freePort();
    this.child = spawn(
      process.execPath,
      [
        path.join(nodeRedDir, "red.js"),
        "--userDir",
        this.userDir,
        "--settings",
        settings,
        "--port",
        String(this.port),
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_RED_ENABLE_PROJECTS: "false" } },
    );
    this.child.stdout?.on("data", (d: Buffer) => (this.log += d.toString()));
    this.child.stderr?.on("data", (d: Buffer) => (this.log += d.toString()));

    // A persistent context on a fresh profile directory of our own: Chromium's state stays in the temp dir.
    this.context = await chromium.launchPersistentContext(this.profileDir, {
      executablePath: chromiumPath,
      headless: true,
      timeout: 30_000,
      viewport: { width: 1400, height: 820 },
      // Without these Chromium waits on network services this closed network does not have.
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });

    await waitFor(
      "Node-RED answering /settings",
      30_000,
      async () => {
        if (this.child?.exitCode !== null) throw new Error(`Node-RED exited:\n${this.log}`);
        const res = await fetch(`${this.url}/settings`).catch(() => undefined);
        return res?.ok ? true : undefined;
      },
      () => this.log,
    );
  }

  async newPage(): Promise<Page> {
    assert.ok(this.context, "the browser was not started");
    return this.context.newPage();
  }

  /** Replace every flow (a full deploy, as the editor's Deploy button does). */
  async deploy(flow: readonly unknown[]): Promise<void> {
    const res = await fetch(`${this.url}/flows`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Node-RED-Deployment-Type": "full" },
      body: JSON.stringify(flow),
    }).catch((err: unknown) => {
      // A deploy that gets no answer: say whether Node-RED is still there, and what it logged last.
      const exit = this.child?.exitCode ?? this.child?.signalCode ?? "still running";
      throw new Error(`deploy got no answer (${String(err)}); Node-RED: ${exit}\n${this.log.slice(-4000)}`);
    });
    assert.equal(res.status, 204, `deploy refused: ${res.status} ${await res.text()}`);
  }

  async stop(): Promise<void> {
    // Each step runs even when an earlier one failed: no Chromium, Node-RED or temp dir is left behind.
    await this.context?.close().catch(() => undefined);
    this.context = undefined;
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGINT");
      // A watchdog on the wait for the exit, not a wait for time: the exit ends it.
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    }
    this.child = undefined;
    for (const dir of [this.userDir, this.profileDir]) {
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}
