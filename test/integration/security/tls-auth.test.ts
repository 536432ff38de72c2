/**
 * Redis AUTH + TLS and MySQL TLS against real servers the test configures, with certificates it makes
 * (test/support/tls-servers.ts): a redis-server that speaks only TLS and wants a password, and a MariaDB
 * whose user may only connect over TLS. The manager, the mysql config node (and its "test connection"
 * route) and the save node — whose Redis backlog connection must get the manager's AUTH and TLS — connect
 * with the CA checked, and refuse a wrong password or an untrusted certificate in plain words, without a
 * crash and without the password in any status, error, log line or answer.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import mysql, { type RowDataPacket } from "mysql2/promise";
import type { ManagerConfigNode } from "../../../nodes/datacoll-manager/api";
import type { Manager, ManagerState } from "../../../src/core/manager";
import { helper, useNodeRed } from "../../support/node-red";
import { until } from "../../support/net";
import {
  kill,
  makePki,
  startTlsMariadb,
  startTlsRedis,
  stopMariadb,
  type Pki,
  type TlsMariadb,
  type TlsRedis,
} from "../../support/tls-servers";
import { modules, saveFlow, statusesOf, errorsOf, TAB } from "../save-node/flow";

const REDIS_PASSWORD = "redis-pw-7c1e";
const MYSQL_PASSWORD = "mysql-pw-4b9d";
// A wrong password with a marker no message may ever contain.
const MARKER = "LEAKMARKER-93f1";

describe("security: Redis AUTH + TLS and MySQL TLS against servers of the test's own", function () {
  this.timeout(30_000);
  useNodeRed();
  let pki: Pki;
  let redis: TlsRedis | undefined;
  let maria: TlsMariadb | undefined;

  before(async function () {
    pki = makePki();
    [redis, maria] = await Promise.all([
      startTlsRedis(pki, REDIS_PASSWORD),
      startTlsMariadb(pki, MYSQL_PASSWORD),
    ]);
  });
  after(async function () {
    await Promise.all([kill(redis?.proc), stopMariadb(maria)]);
    if (pki) fs.rmSync(pki.dir, { recursive: true, force: true });
  });

  const managerNode = (id: string, extra: Record<string, unknown> = {}): object => ({
    id,
    type: "datacoll-manager",
    store: "redis",
    redisUrl: `rediss://127.0.0.1:${redis?.port}`,
    redisCa: pki.ca,
    namespace: "sec:",
    runDevices: false,
    ...extra,
  });
  const mysqlTlsNode = (id: string, extra: Record<string, unknown> = {}): object => ({
    id,
    type: "datacoll-mysql",
    host: "127.0.0.1",
    port: String(maria?.port),
    database: "sec",
    user: "dc_tls",
    poolSize: "2",
    connectTimeout: "3000",
    tls: true,
    ca: pki.ca,
    rejectUnauthorized: true,
    ...extra,
  });

  function managerOf(id: string): Manager {
    const m = (helper.getNode(id) as unknown as ManagerConfigNode).manager;
    assert.ok(
      m,
      `manager ${id} did not start: ${(helper.getNode(id) as unknown as ManagerConfigNode).settingsError}`,
    );
    return m;
  }

  function firstError(m: Manager): Promise<ManagerState> {
    if (m.state.kind === "error") return Promise.resolve(m.state);
    return new Promise((resolve) => {
      const off = m.onState((s) => {
        if (s.kind === "error") {
          off();
          resolve(s);
        }
      });
    });
  }

  /** Everything Node-RED logged during the test, as one text. */
  const logText = (): string => JSON.stringify(helper.log().args);

  async function tlsRedisClient(): Promise<Redis> {
    const c = new Redis({
      host: "127.0.0.1",
      port: redis?.port,
      password: REDIS_PASSWORD,
      tls: { ca: pki.ca },
      maxRetriesPerRequest: 1,
    });
    await c.ping();
    return c;
  }

  describe("Redis", function () {
    it("connects with the password credential and the CA over TLS (the server has no plain port)", async function () {
      await helper.load(modules, [managerNode("m1")], { m1: { password: REDIS_PASSWORD } });
      const m = managerOf("m1");
      await m.ready();
      await m.registry.putItem({ id: "tls-item" });
      assert.ok(await m.registry.getItem("tls-item"));
      await m.registry.deleteItem("tls-item");
    });

    it("also presents a client certificate whose key is a credential", async function () {
      await helper.load(modules, [managerNode("m1", { redisCert: pki.clientCert })], {
        m1: { password: REDIS_PASSWORD, redisKey: pki.clientKey },
      });
      await managerOf("m1").ready();
    });

    it("refuses a wrong password in plain words, never repeating it, and unloads cleanly", async function () {
      await helper.load(modules, [managerNode("m2")], { m2: { password: MARKER } });
      const state = await firstError(managerOf("m2"));
      assert.match(JSON.stringify(state), /WRONGPASS|invalid username-password/i);
      // (The test runtime logs message keys untranslated; the real-process test sees the full text.)
      await until(() => /"id":"m2"[^}]*errors\.connection/.test(logText()), 5000, "the manager's warning");
      assert.ok(!JSON.stringify(state).includes(MARKER), "the state names the password");
      assert.ok(!logText().includes(MARKER), "the log names the password");
    });

    it("refuses a server whose certificate the given CA did not sign", async function () {
      await helper.load(modules, [managerNode("m3", { redisCa: pki.otherCa })], {
        m3: { password: REDIS_PASSWORD },
      });
      const state = await firstError(managerOf("m3"));
      assert.match(JSON.stringify(state), /certificate/i);
      assert.ok(!logText().includes(REDIS_PASSWORD));
    });

    it("refuses a password written into the URL, naming the field, without echoing it", async function () {
      await helper.load(modules, [
        managerNode("m4", { redisUrl: `rediss://:${MARKER}@127.0.0.1:${redis?.port}` }),
      ]);
      const n = helper.getNode("m4") as unknown as ManagerConfigNode;
      assert.equal(n.manager, undefined);
      assert.match(n.settingsError ?? "", /redisUrl must not contain a password/);
      assert.ok(!logText().includes(MARKER));
    });
  });

  describe("MySQL", function () {
    let admin: http.Server | undefined;
    afterEach(async function () {
      admin?.closeAllConnections();
      await new Promise<void>((resolve) => (admin ? admin.close(() => resolve()) : resolve()));
      admin = undefined;
    });

    async function testConnection(body: object): Promise<{ ok: boolean; message: string; text: string }> {
      if (!admin) {
        admin = http.createServer(helper._httpAdmin);
        await new Promise<void>((resolve) => admin?.listen(0, "127.0.0.1", resolve));
      }
      const port = (admin.address() as AddressInfo).port;
      const res = await fetch(`http://127.0.0.1:${port}/datacoll/mysql/test`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      return { ...(JSON.parse(text) as { ok: boolean; message: string }), text };
    }

    it("the server itself refuses this user without TLS (so a connection below is TLS)", async function () {
      await assert.rejects(
        mysql.createConnection({
          host: "127.0.0.1",
          port: maria?.port,
          user: "dc_tls",
          password: MYSQL_PASSWORD,
          database: "sec",
        }),
        /Access denied/,
      );
    });

    it("test connection: connects over TLS with the CA, refuses an untrusted CA and a wrong password", async function () {
      await helper.load(modules, [mysqlTlsNode("db")], { db: { password: MYSQL_PASSWORD } });
      const form = { ...mysqlTlsNode("db"), connectTimeoutMs: "3000" };
      const ok = await testConnection({ ...form, id: "db" });
      assert.equal(ok.ok, true, ok.message);
      assert.match(ok.message, /over TLS as "dc_tls"/);
      const untrusted = await testConnection({ ...form, id: "db", ca: pki.otherCa });
      assert.equal(untrusted.ok, false);
      assert.match(untrusted.message, /not signed by a trusted CA/);
      const wrong = await testConnection({ ...form, password: MARKER });
      assert.equal(wrong.ok, false);
      assert.match(wrong.message, /refused user "dc_tls"/);
      assert.ok(!wrong.text.includes(MARKER) && !ok.text.includes(MYSQL_PASSWORD));
    });

    it("a save node writes over MySQL TLS, its backlog on the manager's AUTH + TLS Redis", async function () {
      const ns = `sec${Date.now()}:`;
      await helper.load(
        modules,
        [
          TAB,
          managerNode("m5", { namespace: ns }),
          mysqlTlsNode("db"),
          ...saveFlow("sec-s", "db", { manager: "m5", historyTable: "h_tls" }),
        ],
        { m5: { password: REDIS_PASSWORD }, db: { password: MYSQL_PASSWORD } },
      );
      const errors = errorsOf("sec-s");
      const ts = Date.UTC(2026, 10, 21, 9, 0, 0, 7);
      helper.getNode("sec-s").receive({ topic: "d1:t1:i1", payload: 42.5, ts });
      const check = await mysql.createConnection({
        host: "127.0.0.1",
        port: maria?.port,
        user: "dc_tls",
        password: MYSQL_PASSWORD,
        database: "sec",
        ssl: { ca: pki.ca },
      });
      const r = await tlsRedisClient();
      try {
        await until(
          async () => {
            try {
              const [rows] = await check.query<RowDataPacket[]>(
                "SELECT value FROM h_tls WHERE point_key = 'd1:t1:i1'",
              );
              return rows.length === 1 && rows[0].value === 42.5;
            } catch {
              return false;
            }
          },
          10_000,
          "the row in MariaDB",
        );
        // The saver's own connection is in Redis's client list: it got the password and the CA.
        const clients = await r.client("LIST");
        assert.match(String(clients), /name=datacoll-save:sec-s /, String(clients));
        assert.deepEqual(errors, []);
        const [ssl] = await check.query<RowDataPacket[]>("SHOW SESSION STATUS LIKE 'Ssl_version'");
        assert.match(String(ssl[0].Value), /^TLS/);
      } finally {
        await check.end();
        const keys = await r.keys(`${ns}*`);
        if (keys.length > 0) await r.del(...keys);
        await r.quit();
      }
    });

    it("a save node shows a wrong MySQL password as refused, with no trace of it", async function () {
      await helper.load(
        modules,
        [
          TAB,
          mysqlTlsNode("db", { connectTimeout: "1000" }),
          ...saveFlow("sec-bad", "db", { historyTable: "h_tls" }),
        ],
        { db: { password: MARKER } },
      );
      const statuses = statusesOf("sec-bad");
      const errors = errorsOf("sec-bad");
      helper.getNode("sec-bad").receive({ topic: "d1:t1:i1", payload: 1 });
      await until(() => statuses.some((s) => s.fill === "red"), 10_000, "a red status");
      const seen = JSON.stringify({ statuses, errors, log: helper.log().args });
      assert.match(seen, /ER_ACCESS_DENIED_ERROR|Access denied|refused/);
      assert.ok(!seen.includes(MARKER), "the password shows in a status, error or log line");
    });
  });
});
