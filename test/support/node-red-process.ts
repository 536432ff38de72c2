/**
 * A real Node-RED process with the built package (dist/) linked into a user directory of its own, as in
 * package-load.test.ts: the flow is given as JSON, the process can be killed (-9), stopped (SIGINT, a
 * graceful shutdown that closes the flows) and started again on the same user directory and HTTP port.
 * Used by the scale-out tests and the soak (soak/), which also gives a settings.js.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, httpRequest, until } from "./net";

const root = path.resolve(__dirname, "../..");
const pkgName = (JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { name: string })
  .name;
const nodeRedDir = process.env.NODE_RED_PATH
  ? path.resolve(process.env.NODE_RED_PATH)
  : path.dirname(require.resolve("node-red/package.json"));

/** Keep the end of the log only: enough to show why an instance failed. */
const LOG_LIMIT = 20_000;

/**
 * A copy of the built package (package.json, dist/, icons/) in a temporary directory, with this
 * repository's node_modules linked in: instances started from it keep running the same code while
 * `dist/` is rebuilt (another `npm run build` on a shared working tree wipes it for a moment).
 */
export function snapshotPackage(): { dir: string; dispose(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "datacoll-pkg-"));
  fs.copyFileSync(path.join(root, "package.json"), path.join(dir, "package.json"));
  for (const sub of ["dist", "icons"])
    fs.cpSync(path.join(root, sub), path.join(dir, sub), { recursive: true });
  fs.symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"), "dir");
  return { dir, dispose: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export class NodeRedProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private log = "";
  private httpPort: number | undefined;
  readonly userDir: string;
  /** Options for node itself ahead of red.js (e.g. --cpu-prof for a bench's profile); none by default. */
  nodeArgs: readonly string[] = [];

  /**
   * `settings`, when given, is written as the user directory's settings.js (a CommonJS module);
   * `packageDir` is the package to link (default: this repository; the soak gives a snapshot of it);
   * null links nothing, for a user directory that has the package installed already (package-install).
   */
  constructor(
    readonly name: string,
    flows: readonly object[],
    settings?: string,
    packageDir: string | null = root,
  ) {
    this.userDir = fs.mkdtempSync(path.join(os.tmpdir(), `datacoll-nr-${name}-`));
    if (packageDir !== null) {
      const link = path.join(this.userDir, "node_modules", ...pkgName.split("/"));
      fs.mkdirSync(path.dirname(link), { recursive: true });
      fs.symlinkSync(packageDir, link, "dir");
    }
    fs.writeFileSync(path.join(this.userDir, "flows.json"), JSON.stringify(flows));
    if (settings !== undefined) fs.writeFileSync(path.join(this.userDir, "settings.js"), settings);
  }

  /** The HTTP port (admin API and http-in nodes); picked at the first start and kept across restarts. */
  get port(): number {
    if (this.httpPort === undefined) throw new Error(`${this.name} has not been started`);
    return this.httpPort;
  }

  /** The process id while it runs. */
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get output(): string {
    return this.log;
  }

  async start(): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.httpPort ??= await freePort();
    const port = this.httpPort;
    const child = spawn(
      process.execPath,
      [
        ...this.nodeArgs,
        path.join(nodeRedDir, "red.js"),
        "--userDir",
        this.userDir,
        "--port",
        String(port),
        "flows.json",
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_RED_ENABLE_PROJECTS: "false" } },
    );
    const keep = (d: Buffer): void => {
      this.log = (this.log + d.toString()).slice(-LOG_LIMIT);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    // "close", not "exit": by then the output pipes are drained too, so `output` holds every line.
    this.exited = new Promise((resolve) => child.once("close", () => resolve()));
    this.child = child;
  }

  /**
   * Deploy the running flows again through the admin API, as the editor's Deploy button does — `full`
   * stops and starts every node, `nodes` only those `edit` changed — and resolve once Node-RED has
   * logged that they started.
   */
  async deploy(
    type: "full" | "nodes",
    edit: (flows: Record<string, unknown>[]) => Record<string, unknown>[] = (f) => f,
  ): Promise<void> {
    const v2 = { "node-red-api-version": "v2" };
    const got = await httpRequest(this.port, "GET", "/flows", undefined, v2);
    if (got.status !== 200) throw new Error(`GET /flows answered ${got.status}: ${got.text}`);
    const { flows, rev } = got.json() as { flows: Record<string, unknown>[]; rev: string };
    const marker = type === "full" ? "Started flows" : "Started modified nodes";
    const starts = (): number => this.log.split(marker).length - 1;
    const before = starts();
    const r = await httpRequest(
      this.port,
      "POST",
      "/flows",
      { flows: edit(flows), rev },
      { ...v2, "node-red-deployment-type": type },
    );
    if (r.status !== 200) throw new Error(`the deploy answered ${r.status}: ${r.text}`);
    await until(() => starts() > before, 30_000, `${this.name}: "${marker}" after the deploy`);
  }

  /**
   * Send `signal` and wait for the process to be gone; SIGKILL after `graceMs` if it lingers. Says
   * which: "exited" by itself (or was not running), or "killed" after the grace time.
   */
  async stop(signal: NodeJS.Signals, graceMs = 10_000): Promise<"exited" | "killed"> {
    const child = this.child;
    if (!child || !this.running) return "exited";
    child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    // The grace time is a watchdog on the wait for the exit, not a wait for time: the exit ends it.
    const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), graceMs)));
    const ended = (await Promise.race([this.exited, late])) === "late" ? "killed" : "exited";
    if (ended === "killed") {
      child.kill("SIGKILL");
      await this.exited;
    }
    clearTimeout(timer);
    return ended;
  }

  /** Last resort when the test process itself is going away: no waiting. */
  killNow(): void {
    if (this.running) this.child?.kill("SIGKILL");
  }

  dispose(): void {
    fs.rmSync(this.userDir, { recursive: true, force: true });
  }
}
