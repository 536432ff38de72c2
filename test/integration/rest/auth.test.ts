/**
 * Node-RED's own httpNodeAuth in front of the REST API: examples/06-rest-api.json deployed in a real
 * Node-RED process (the built package, as users install it) whose settings ask for basic auth on every
 * http in node. Node-RED applies httpNodeAuth in its server (red.js), not in the runtime the flow tests
 * use, so only a real process shows it.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { onDatabase, readExample } from "../../support/example-file";
import { until } from "../../support/net";
import { createTestDatabase, type TestDatabase } from "../../support-history/mysql";

const root = path.resolve(__dirname, "../../..");
const nodeRedDir = process.env.NODE_RED_PATH
  ? path.resolve(process.env.NODE_RED_PATH)
  : path.dirname(require.resolve("node-red/package.json"));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === "object" ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

const basic = (user: string, pass: string): string =>
  `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;

describe("REST API behind Node-RED's httpNodeAuth (real Node-RED, built package)", function () {
  this.timeout(60_000);
  let child: ChildProcess | undefined;
  let userDir = "";
  let output = "";
  let base = "";
  let db: TestDatabase | undefined;

  before(async function () {
    // The example saves what its registry points sample: into a database of this test's own.
    db = await createTestDatabase("dc_auth");
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "datacoll-auth-"));
    const link = path.join(userDir, "node_modules", "@datacoll", "node-red-scada");
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(root, link, "dir");
    fs.writeFileSync(
      path.join(userDir, "flows.json"),
      JSON.stringify(onDatabase(readExample("06-rest-api.json"), db.name)),
    );
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- Node-RED's own bcrypt, to hash as it checks
    const bcrypt = require(require.resolve("bcryptjs", { paths: [nodeRedDir] })) as {
      hashSync(s: string, r: number): string;
    };
    const settings = {
      uiHost: "127.0.0.1",
      httpNodeAuth: { user: "operator", pass: bcrypt.hashSync("s3cret", 8) },
      logging: { console: { level: "info" } },
    };
    fs.writeFileSync(path.join(userDir, "settings.js"), `module.exports = ${JSON.stringify(settings)};\n`);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    child = spawn(
      process.execPath,
      [
        path.join(nodeRedDir, "red.js"),
        "--userDir",
        userDir,
        "--settings",
        path.join(userDir, "settings.js"),
        "--port",
        String(port),
        "flows.json",
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_RED_ENABLE_PROJECTS: "false" } },
    );
    child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    // Up when the flows have started: the API then answers (401 without credentials).
    const started = (): boolean => {
      if (child?.exitCode !== null) throw new Error(`Node-RED exited ${child?.exitCode}:\n${output}`);
      return /Started flows/.test(output);
    };
    await until(started, 30_000, "Node-RED starting its flows").catch((err: unknown) => {
      throw new Error(`${String(err)}:\n${output}`);
    });
  });

  after(async function () {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child?.once("exit", r));
      child.kill("SIGINT");
      await exited;
    }
    fs.rmSync(userDir, { recursive: true, force: true });
    await db?.drop();
  });

  it("refuses requests without the right credentials and serves those with them", async function () {
    const none = await fetch(`${base}/api/v1/device_protocols`);
    assert.equal(none.status, 401);
    const wrong = await fetch(`${base}/api/v1/device_protocols`, {
      headers: { authorization: basic("operator", "nope") },
    });
    assert.equal(wrong.status, 401);
    const ok = await fetch(`${base}/api/v1/device_protocols`, {
      headers: { authorization: basic("operator", "s3cret") },
    });
    assert.equal(ok.status, 200);
    assert.ok("modbus-tcp" in ((await ok.json()) as object));
  });

  it("writes nothing for a refused request, and guards the datacoll-rest node too", async function () {
    const auth = { authorization: basic("operator", "s3cret"), "content-type": "application/json" };
    const refused = await fetch(`${base}/api/v1/items`, {
      method: "POST",
      body: JSON.stringify({ id: "i1" }),
    });
    assert.equal(refused.status, 401);
    assert.deepEqual(await (await fetch(`${base}/api/v1/items`, { headers: auth })).json(), []);
    assert.equal((await fetch(`${base}/rest/v1/items`)).status, 401);
    const created = await fetch(`${base}/rest/v1/items`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ id: "i1" }),
    });
    assert.equal(created.status, 200, await created.text());
    assert.deepEqual(await (await fetch(`${base}/api/v1/items`, { headers: auth })).json(), ["i1"]);
    assert.doesNotMatch(output, /\[error\]/, "Node-RED logged an error");
  });
});
