/**
 * The datacoll-mysql config node: the editor's "test connection" endpoint (plain words, stored password
 * used for a deployed node, never echoed), one pool per config node shared by its save nodes — a save
 * node redeployed alone releases only its own share — and invalid settings reported to the users.
 */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import mysql from "mysql2/promise";
import type { RowDataPacket } from "mysql2/promise";
import type { MysqlConfigNode } from "../../nodes/datacoll-mysql/api";
import { helper, useNodeRed } from "../support/node-red";
import { until } from "../support/net";
import { adminConnection, createTestDatabase, type TestDatabase } from "../support-history/mysql";
import {
  collect,
  errorsOf,
  modules,
  redeploy,
  mysqlCredentials,
  mysqlNode,
  saveFlow,
  TAB,
  type FlowNode,
} from "../integration/save-node/flow";

interface TestAnswer {
  ok: boolean;
  message: string;
  field?: string;
}

describe("datacoll-mysql node", function () {
  useNodeRed();
  let db: TestDatabase;
  let watcher: mysql.Connection;

  before(async function () {
    db = await createTestDatabase("dc_mysqlnode");
    watcher = await adminConnection();
  });
  after(async function () {
    await watcher.end();
    await db.drop();
  });

  /** Connections open on the server to this test's database (the admin one included, if it uses it). */
  async function connectionsTo(database: string): Promise<number> {
    const [r] = await watcher.query<RowDataPacket[]>(
      "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ?",
      [database],
    );
    return Number(r[0].n);
  }

  describe("test connection", function () {
    const user = `dct_${crypto.randomBytes(4).toString("hex")}`;
    const password = `pw '${crypto.randomBytes(4).toString("hex")}`;
    let admin: http.Server;
    let base = "";

    before(async function () {
      await db.admin.query("CREATE USER ?@'%' IDENTIFIED BY ?", [user, password]);
      await db.admin.query(`GRANT ALL ON ${mysql.escapeId(db.name)}.* TO ?@'%'`, [user]);
    });
    after(async function () {
      await db.admin.query("DROP USER IF EXISTS ?@'%'", [user]);
    });
    beforeEach(async function () {
      await helper.load(modules, [mysqlNode("db", db.name, { user })], mysqlCredentials("db", password));
      admin = http.createServer(helper._httpAdmin);
      await new Promise<void>((resolve) => admin.listen(0, "127.0.0.1", resolve));
      base = `http://127.0.0.1:${(admin.address() as AddressInfo).port}/datacoll/mysql/test`;
    });
    afterEach(async function () {
      admin.closeAllConnections();
      await new Promise<void>((resolve) => admin.close(() => resolve()));
    });

    async function ask(body: object): Promise<{ status: number; answer: TestAnswer; text: string }> {
      const res = await fetch(base, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, answer: JSON.parse(text) as TestAnswer, text };
    }
    const form = (extra: object = {}): object => ({
      host: "127.0.0.1",
      port: new URL(process.env.MYSQL_URL ?? "mysql://root@127.0.0.1:3306").port || "3306",
      database: db.name,
      user,
      ...extra,
    });

    it("connects with the stored password when the dialog of a deployed node sends none", async function () {
      for (const pw of [undefined, "", "__PWRD__"]) {
        const { status, answer, text } = await ask(form({ id: "db", password: pw }));
        assert.equal(status, 200);
        assert.equal(answer.ok, true, answer.message);
        assert.match(answer.message, new RegExp(`Connected to .* as "${user}", database "${db.name}"`));
        assert.ok(!text.includes(password), "the password is never echoed");
      }
    });

    it("answers in plain words what is wrong, never with the password", async function () {
      const wrong = await ask(form({ password: "not it" }));
      assert.equal(wrong.answer.ok, false);
      assert.match(wrong.answer.message, /refused user/);
      assert.ok(!wrong.text.includes("not it"));
      const noDb = await ask(form({ id: "db", database: "dc_no_such_db_here" }));
      assert.match(noDb.answer.message, /may not use database "dc_no_such_db_here"/);
      // A new node (no id) has no stored password to fall back on.
      assert.equal((await ask(form())).answer.ok, false);
      const bad = await ask(form({ port: "99999" }));
      assert.equal(bad.status, 400);
      assert.equal(bad.answer.field, "port");
    });
  });

  it("shares one pool between save nodes; a save node redeployed alone releases only its own share", async function () {
    const flow: FlowNode[] = [
      TAB,
      mysqlNode("db", db.name, { poolSize: "2" }),
      ...saveFlow("s1", "db", { historyTable: "h_share" }),
      ...saveFlow("s2", "db", { historyTable: "h_share", alarmsTable: "a_share2" }),
    ];
    await helper.load(modules, flow, mysqlCredentials("db"));
    const send = (id: string, n: number): void =>
      helper.getNode(id).receive({ topic: `${id}:t:i`, payload: n });
    const count = async (): Promise<number> => {
      const [r] = await db.admin.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM h_share");
      return Number(r[0].n);
    };
    const config = helper.getNode("db") as unknown as MysqlConfigNode;
    const out2 = collect("s2-out");
    send("s1", 1);
    send("s2", 1);
    await until(async () => (await count().catch(() => 0)) === 2, 5000, "both nodes wrote");
    assert.ok((await connectionsTo(db.name)) <= 1 + 2, "one pool of two for both nodes (+ the admin)");
    // Redeploy only s1 (a "modified nodes" deploy).
    await redeploy(
      flow.map((n) => (n.id === "s1" ? { ...n, name: "renamed" } : n)),
      "nodes",
    );
    assert.equal(helper.getNode("db"), config as unknown, "the config node was not restarted");
    assert.equal(out2.length, 1);
    send("s2", 2);
    send("s1", 2);
    await until(async () => (await count()) === 4, 5000, "both nodes wrote after s1's redeploy");
    assert.equal(out2.length, 2);
    assert.ok((await connectionsTo(db.name)) <= 1 + 2, "still one pool");
    await helper.unload();
    await until(async () => (await connectionsTo(db.name)) === 1, 5000, "the pool closed with the flow");
  });

  it("reports invalid settings to the config node's users, whose messages fail", async function () {
    await helper.load(
      modules,
      [TAB, mysqlNode("db", "bad name!"), ...saveFlow("s", "db")],
      mysqlCredentials("db"),
    );
    const config = helper.getNode("db") as unknown as MysqlConfigNode;
    assert.equal(config.settings, undefined);
    assert.match(config.settingsError ?? "", /database must be/);
    assert.equal(config.acquirePool(), undefined);
    const errors = errorsOf("s");
    helper.getNode("s").receive({ topic: "a:b:c", payload: 1 });
    // The node's own start-up error is the bare translation key here; the message's error names the field.
    await until(() => errors.some((e) => /database must be/.test(e)), 2000, "the message fails");
  });

  it("takes TLS options from the form and the client key from the credentials", async function () {
    const pem = (what: string): string => `-----BEGIN ${what}-----\nMIIB\n-----END ${what}-----`;
    const tls = { tls: true, ca: pem("CERTIFICATE"), cert: pem("CERTIFICATE"), rejectUnauthorized: false };
    await helper.load(
      modules,
      [
        mysqlNode("k", db.name, tls),
        mysqlNode("nokey", db.name, tls),
        mysqlNode("badca", db.name, { ...tls, ca: "x" }),
      ],
      { k: { password: "", key: pem("PRIVATE KEY") }, nokey: { password: "" } },
    );
    const node = (id: string): MysqlConfigNode => helper.getNode(id) as unknown as MysqlConfigNode;
    assert.deepEqual(node("k").settings?.tls, {
      ca: tls.ca,
      cert: tls.cert,
      key: pem("PRIVATE KEY"),
      rejectUnauthorized: false,
    });
    assert.match(node("nokey").settingsError ?? "", /needs both cert and key/);
    assert.match(node("badca").settingsError ?? "", /ca must be PEM/);
  });
});
