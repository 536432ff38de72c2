/**
 * A real Node-RED process (the built package) with the editor's login (adminAuth: an admin and a
 * read-only viewer), httpNodeAuth on the http-in nodes and an encrypted credentials file, running the
 * REST example plus a manager and a MySQL saver given wrong passwords that carry a marker. It shows:
 * - every admin route of ours (live view page, script, managers, snapshot, SSE events, alarm ack, the MySQL
 *   "test connection") answers 401 without a token, the write routes 403 to the viewer, and all serve the
 *   admin; the REST API including /api/openapi.json answers 401 without the http-node credentials;
 * - the passwords given as credentials appear nowhere: not in GET /flows, not in flows.json, not in clear in
 *   flows_cred.json, not in the log (which does carry both failures), not in any answer;
 * - malformed requests to the live view's routes get 4xx, never a 5xx or a crash.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { NodeRedProcess } from "../../support/node-red-process";
import { onDatabase, readExample } from "../../support/example-file";
import { createTestDatabase, type TestDatabase } from "../../support-history/mysql";
import { until } from "../../support/net";
import { sparePort, startRedis, stopRedis } from "../store/redis-server";

const nodeRedDir = process.env.NODE_RED_PATH
  ? path.resolve(process.env.NODE_RED_PATH)
  : path.dirname(require.resolve("node-red/package.json"));
const MARKER = "LEAKMARKER-5d20";
const REST_MANAGER = "d0c0a9e000000003";

const basic = (user: string, pass: string): string =>
  `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;

describe("security: our routes behind Node-RED's adminAuth and httpNodeAuth; no secret anywhere", function () {
  this.timeout(180_000);
  let redis: ChildProcess | undefined;
  let red: NodeRedProcess | undefined;
  let base = "";
  const tokens = { admin: "", viewer: "" };
  let db: TestDatabase | undefined;

  async function token(username: string, password: string, scope: string): Promise<string> {
    const res = await fetch(`${base}/auth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        client_id: "node-red-admin",
        grant_type: "password",
        scope,
        username,
        password,
      }),
    });
    assert.equal(res.status, 200, `${await res.clone().text()}\n${red?.output ?? ""}`);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  before(async function () {
    const redisPort = await sparePort();
    redis = await startRedis(redisPort, ["--requirepass", "right-one"]);
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- Node-RED's own bcrypt, to hash as it checks
    const bcrypt = require(require.resolve("bcryptjs", { paths: [nodeRedDir] })) as {
      hashSync(s: string, r: number): string;
    };
    const settings = {
      uiHost: "127.0.0.1",
      credentialSecret: "a-secret-of-the-test",
      adminAuth: {
        type: "credentials",
        users: [
          { username: "admin", password: bcrypt.hashSync("admin-pw", 8), permissions: "*" },
          { username: "viewer", password: bcrypt.hashSync("viewer-pw", 8), permissions: "read" },
        ],
      },
      httpNodeAuth: { user: "operator", pass: bcrypt.hashSync("s3cret", 8) },
      logging: { console: { level: "info" } },
    };
    // The example saves what its registry points sample: into a database of this test's own.
    db = await createTestDatabase("dc_sec");
    const rest = onDatabase(readExample("06-rest-api.json"), db.name);
    red = new NodeRedProcess("sec", rest, `module.exports = ${JSON.stringify(settings)};\n`);
    await red.start();
    base = `http://127.0.0.1:${red.port}`;
    await until(
      () => /Started flows/.test(red?.output ?? "") || !red?.running,
      90_000,
      "Node-RED's flows",
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${red?.output ?? ""}`);
    });
    assert.ok(red.running, `Node-RED exited:\n${red.output}`);
    tokens.admin = await token("admin", "admin-pw", "*");
    tokens.viewer = await token("viewer", "viewer-pw", "read");
    // Deploy as the editor does: credentials travel inline with their nodes, once.
    const flow = [
      ...rest,
      { id: "sec-tab", type: "tab", label: "secrets" },
      {
        id: "sec-mgr",
        type: "datacoll-manager",
        store: "redis",
        redisUrl: `redis://127.0.0.1:${redisPort}`,
        namespace: "sec:",
        runDevices: false,
        credentials: { password: MARKER },
      },
      {
        id: "sec-db",
        type: "datacoll-mysql",
        host: "127.0.0.1",
        port: "3306",
        database: "test",
        user: "root",
        poolSize: "1",
        connectTimeout: "2000",
        credentials: { password: MARKER },
      },
      { id: "sec-save", type: "datacoll-save", z: "sec-tab", mysql: "sec-db", wires: [[], []] },
      {
        id: "sec-data",
        type: "datacoll-data",
        z: "sec-tab",
        manager: "sec-mgr",
        pattern: "*:*:*",
        wires: [[]],
      },
    ];
    const deployed = await fetch(`${base}/flows`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${tokens.admin}`,
        "content-type": "application/json",
        "Node-RED-Deployment-Type": "full",
      },
      body: JSON.stringify(flow),
    });
    assert.equal(deployed.status, 204, await deployed.text());
    // Both wrong passwords are refused and said so in the log.
    await until(() => /WRONGPASS/.test(red?.output ?? ""), 20_000, "the Redis refusal in the log");
    await until(
      () => /Access denied|ER_ACCESS_DENIED/.test(red?.output ?? ""),
      20_000,
      "the MySQL refusal in the log",
    );
  });

  after(async function () {
    await red?.stop("SIGINT");
    red?.dispose();
    if (redis) await stopRedis(redis);
    await db?.drop();
  });

  const admin = (): Record<string, string> => ({ authorization: `Bearer ${tokens.admin}` });
  const viewer = (): Record<string, string> => ({ authorization: `Bearer ${tokens.viewer}` });

  // The live page and its script: static, no data, served without a token (a browser opening the page
  // sends none; the page sends the editor's token with its own requests).
  const PAGE_ROUTES: readonly { method: "GET"; path: string }[] = [
    { method: "GET", path: "/datacoll" },
    { method: "GET", path: "/datacoll/" },
    { method: "GET", path: "/datacoll/live.js" },
    { method: "GET", path: "/datacoll/common.js" },
    { method: "GET", path: "/datacoll/trends.js" },
    { method: "GET", path: "/datacoll/journal.js" },
  ];
  // Every other admin route our nodes register, with a body for the POSTs.
  const ADMIN_ROUTES: readonly { method: "GET" | "POST"; path: string; body?: object }[] = [
    { method: "GET", path: "/datacoll/api/managers" },
    { method: "GET", path: `/datacoll/api/snapshot?manager=${REST_MANAGER}` },
    { method: "GET", path: `/datacoll/api/events?manager=${REST_MANAGER}` },
    { method: "POST", path: "/datacoll/api/alarms/ack", body: { manager: REST_MANAGER, key: "a:b:c" } },
    { method: "GET", path: "/datacoll/api/history/sources" },
    // A source that does not run: answered 404 once past the login (sec-save's MySQL login is wrong).
    { method: "GET", path: "/datacoll/api/history?source=none&points=a:b:c&from=1&to=2" },
    { method: "GET", path: "/datacoll/api/history/alarms?source=none&from=1&to=2" },
    // Port 9 (discard) on loopback: nothing listens, so the test answers at once that it was refused.
    { method: "POST", path: "/datacoll/modbus/test", body: { host: "127.0.0.1", port: "9", timeout: "300" } },
    { method: "POST", path: "/datacoll/iec104/test", body: { host: "127.0.0.1", port: "9" } },
    {
      method: "POST",
      path: "/datacoll/mysql/test",
      body: { id: "sec-db", database: "test", connectTimeoutMs: "500" },
    },
    { method: "POST", path: "/datacoll/formula/test", body: { expression: "p1 + 1", params: "p1=a:b:c" } },
  ];

  function route(prefix: string): (typeof ADMIN_ROUTES)[number] {
    const r = ADMIN_ROUTES.find((x) => x.path.startsWith(prefix));
    if (!r) throw new Error(`no admin route ${prefix}`);
    return r;
  }

  async function call(
    route: (typeof ADMIN_ROUTES)[number],
    headers: Record<string, string>,
  ): Promise<{ status: number; text: string }> {
    const ac = new AbortController();
    const res = await fetch(`${base}${route.path}`, {
      method: route.method,
      redirect: "manual",
      signal: ac.signal,
      headers: { ...headers, ...(route.body ? { "content-type": "application/json" } : {}) },
      ...(route.body ? { body: JSON.stringify(route.body) } : {}),
    });
    // The event stream never ends: read its first chunk and hang up.
    if (res.headers.get("content-type")?.startsWith("text/event-stream")) {
      const reader = res.body?.getReader();
      const first = await reader?.read();
      ac.abort();
      return { status: res.status, text: Buffer.from(first?.value ?? []).toString() };
    }
    return { status: res.status, text: await res.text() };
  }

  it("answers 401 on every admin route of ours without a token, and with a wrong one", async function () {
    for (const route of ADMIN_ROUTES) {
      assert.equal((await call(route, {})).status, 401, `${route.method} ${route.path}`);
      const forged = await call(route, { authorization: "Bearer not-a-token" });
      assert.equal(forged.status, 401, `${route.method} ${route.path} with a forged token`);
    }
  });

  it("serves the live page and its script without a token, holding no data; the stream takes the token as access_token", async function () {
    for (const page of PAGE_ROUTES) {
      const { status, text } = await call(page, {});
      assert.ok(status === 200 || status === 302, `${page.path}: ${status}`);
      assert.ok(!text.includes(REST_MANAGER) && !text.includes(MARKER), `${page.path} holds data`);
    }
    const events = route("/datacoll/api/events");
    const stream = await call(
      { ...events, path: `${events.path}&access_token=${encodeURIComponent(tokens.viewer)}` },
      {},
    );
    assert.equal(stream.status, 200);
    assert.match(stream.text, /^retry: 2000/);
    assert.equal((await call({ ...events, path: `${events.path}&access_token=forged` }, {})).status, 401);
  });

  it("lets the read-only viewer read the live view but not acknowledge alarms or open connections", async function () {
    for (const route of ADMIN_ROUTES) {
      const { status } = await call(route, viewer());
      // A 404 here is the route's own answer (no such source): without a login the same route gives 401.
      if (route.method === "GET") assert.ok([200, 302, 404].includes(status), `${route.path}: ${status}`);
      // Node-RED answers a missing permission with 401, as it does a missing login.
      else assert.equal(status, 401, `${route.method} ${route.path}`);
    }
  });

  it("serves the admin on every route, with no password in any answer", async function () {
    for (const route of ADMIN_ROUTES) {
      const { status, text } = await call(route, admin());
      assert.ok([200, 302, 404].includes(status), `${route.method} ${route.path}: ${status} ${text}`);
      assert.ok(!text.includes(MARKER), `${route.path} answered with the password`);
    }
    const managers = await call(route("/datacoll/api/managers"), admin());
    assert.ok(managers.text.includes(REST_MANAGER), managers.text);
    const events = await call(route("/datacoll/api/events"), admin());
    assert.match(events.text, /^retry: 2000/);
    // The MySQL test, with the stored (wrong) password: refused in plain words, the password not echoed.
    const tested = await call(route("/datacoll/mysql/test"), admin());
    assert.match(tested.text, /ER_ACCESS_DENIED_ERROR.*The server refused user/);
  });

  it("puts the REST API, /api/openapi.json included, behind httpNodeAuth", async function () {
    for (const p of ["/api/openapi.json", "/api/v1/devices", "/api/v1/latest?pattern=*", "/rest/v1/items"]) {
      assert.equal((await fetch(`${base}${p}`)).status, 401, p);
      assert.equal(
        (await fetch(`${base}${p}`, { headers: { authorization: basic("operator", "x") } })).status,
        401,
        p,
      );
    }
    const doc = await fetch(`${base}/api/openapi.json`, {
      headers: { authorization: basic("operator", "s3cret") },
    });
    assert.equal(doc.status, 200);
    assert.match(((await doc.json()) as { openapi: string }).openapi, /^3\./);
    // The admin's token is no key to the http-in nodes, nor the http-node login to the admin routes.
    assert.equal((await fetch(`${base}/api/v1/devices`, { headers: admin() })).status, 401);
    assert.equal(
      (await call(route("/datacoll/api/managers"), { authorization: basic("operator", "s3cret") })).status,
      401,
    );
  });

  it("keeps the passwords out of GET /flows, flows.json, the log, and encrypted in flows_cred.json", async function () {
    const flows = await (await fetch(`${base}/flows`, { headers: admin() })).text();
    assert.ok(flows.includes("sec-mgr") && flows.includes("sec-db"), "the flow is deployed");
    assert.ok(!flows.includes(MARKER), "GET /flows carries a password");
    const dir = red?.userDir ?? "";
    assert.ok(!fs.readFileSync(path.join(dir, "flows.json"), "utf8").includes(MARKER), "flows.json");
    const cred = fs.readFileSync(path.join(dir, "flows_cred.json"), "utf8");
    assert.ok(!cred.includes(MARKER), "flows_cred.json holds the password in clear");
    assert.match(cred, /"\$":/, "flows_cred.json is encrypted");
    assert.ok(!(red?.output ?? "").includes(MARKER), "the log carries a password");
  });

  it("answers malformed live-view requests with 4xx and keeps running", async function () {
    const json = { ...admin(), "content-type": "application/json" };
    const cases: readonly { path: string; init: RequestInit }[] = [
      { path: "/datacoll/api/snapshot", init: { headers: admin() } },
      { path: "/datacoll/api/snapshot?manager=../../etc/passwd", init: { headers: admin() } },
      { path: `/datacoll/api/snapshot?manager=${"x".repeat(5000)}`, init: { headers: admin() } },
      { path: "/datacoll/api/snapshot?manager[]=a&manager[]=b", init: { headers: admin() } },
      { path: "/datacoll/api/snapshot?manager[__proto__][x]=1", init: { headers: admin() } },
      { path: "/datacoll/api/events?manager=%E0%A4%A", init: { headers: admin() } },
      { path: "/datacoll/api/events?manager[toString]=1", init: { headers: admin() } },
      { path: "/datacoll/api/snapshot?manager[toString]=1&manager[valueOf]=2", init: { headers: admin() } },
      {
        path: "/datacoll/api/alarms/ack",
        init: { method: "POST", headers: json, body: '{"manager":{"toString":1},"key":"a:b:c"}' },
      },
      { path: "/datacoll/api/alarms/ack", init: { method: "POST", headers: json, body: "{not json" } },
      { path: "/datacoll/api/alarms/ack", init: { method: "POST", headers: json, body: "[1,2,3]" } },
      { path: "/datacoll/api/alarms/ack", init: { method: "POST", headers: json, body: "null" } },
      {
        path: "/datacoll/api/alarms/ack",
        init: { method: "POST", headers: json, body: '{"__proto__":{"polluted":1}}' },
      },
      {
        path: "/datacoll/api/alarms/ack",
        init: {
          method: "POST",
          headers: json,
          body: JSON.stringify({ manager: REST_MANAGER, key: { $ne: 1 } }),
        },
      },
      {
        path: "/datacoll/api/alarms/ack",
        init: {
          method: "POST",
          headers: json,
          body: JSON.stringify({ manager: REST_MANAGER, key: "x".repeat(6_000_000) }),
        },
      },
      { path: "/datacoll/api/history?points[toString]=1&from=1&to=2", init: { headers: admin() } },
      { path: "/datacoll/api/history?points=a:b:c&from[__proto__][x]=1&to=2", init: { headers: admin() } },
      {
        path: `/datacoll/api/history?points=${"a:b:c,".repeat(2000)}&from=1&to=2`,
        init: { headers: admin() },
      },
      { path: "/datacoll/api/history/alarms?from=1&to=2&state[]=raised", init: { headers: admin() } },
      { path: "/datacoll/mysql/test", init: { method: "POST", headers: json, body: '{"port": {"x": 1}}' } },
      { path: "/datacoll/mysql/test", init: { method: "POST", headers: json, body: "\u0000\u0001garbage" } },
    ];
    for (const c of cases) {
      const res = await fetch(`${base}${c.path}`, c.init);
      const text = await res.text();
      assert.ok(
        res.status >= 400 && res.status < 500,
        `${c.path} ${String(c.init.body).slice(0, 40)}: ${res.status} ${text.slice(0, 200)}`,
      );
    }
    // Raw bytes that are not HTTP at all, on the same port.
    await new Promise<void>((resolve) => {
      const s = net.connect(red?.port ?? 0, "127.0.0.1", () =>
        s.end(Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff, 0, 0, 13, 10, 13, 10])),
      );
      s.on("data", () => undefined);
      s.on("close", () => resolve());
      s.on("error", () => resolve());
    });
    assert.ok(red?.running, "Node-RED is still running");
    assert.equal((await call(route("/datacoll/api/managers"), admin())).status, 200);
    assert.doesNotMatch(red?.output ?? "", /Uncaught|TypeError|unhandled/i);
  });
});
