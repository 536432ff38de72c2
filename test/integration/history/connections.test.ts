/**
 * Connections: writers give back every connection they opened, and the editor's "test connection" answers
 * in plain words for the usual mistakes.
 */
import assert from "node:assert/strict";
import type { RowDataPacket } from "mysql2/promise";
import { BatchWriter } from "../../../src/core/history/batch-writer";
import { createMysqlPool, testConnection } from "../../../src/core/history/mysql-settings";
import type { TestDatabase } from "../../support-history/mysql";
import { createTestDatabase, testSettings } from "../../support-history/mysql";
import { rejection } from "../../support-history/rejection";
import { TcpProxy } from "./tcp-proxy";

describe("history MySQL connections", function () {
  let db: TestDatabase;

  before(async function () {
    db = await createTestDatabase();
  });
  after(async function () {
    await db.drop();
  });

  /** Connections whose current database is ours: the writers' and the test's own admin connection. */
  async function ours(): Promise<number> {
    const [r] = await db.admin.query<RowDataPacket[]>(
      "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ?",
      [db.name],
    );
    return Number(r[0].n);
  }

  /**
   * The server ends a thread a moment after the client hangs up: look until `count` is at most `expected`
   * or time is up (a bounded wait for a condition, not a sleep), and answer the last count.
   */
  async function settles(count: () => Promise<number>, expected: number, withinMs = 5000): Promise<number> {
    const deadline = Date.now() + withinMs;
    for (;;) {
      const n = await count();
      if (n <= expected || Date.now() >= deadline) return n;
      await new Promise<void>((resolve) => setTimeout(resolve, 20)); // the poll interval of this wait
    }
  }

  // Counted on our own database, not by the server-wide Threads_connected: other runs (a soak, another
  // suite) share this server and open and close connections of their own meanwhile.
  it("leaves no connection of its own open after 100 writers are created, used and closed", async function () {
    this.timeout(60_000);
    for (let round = 0; round < 10; round++) {
      const writers = Array.from(
        { length: 10 },
        () => new BatchWriter({ mysql: { settings: testSettings(db.name, { poolSize: 2 }) } }),
      );
      await Promise.all(
        writers.map((w, i) =>
          w.write({
            key: `d:t:i${i}`,
            deviceId: "d",
            termId: "t",
            itemId: `i${i}`,
            value: round,
            ts: Date.UTC(2026, 0, 1, 0, 0, round),
            quality: {},
            cause: "poll",
          }),
        ),
      );
      await Promise.all(writers.map((w) => w.flush()));
      assert.ok((await ours()) > 1, "the writers were connected to our database");
      await Promise.all(writers.map((w) => w.close()));
    }
    const [count] = await db.admin.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM dc_history");
    assert.equal(Number(count[0].n), 100);
    assert.equal(await settles(ours, 1), 1, "only the test's own connection is left on our database");
  });

  it("leaves a shared pool open when a writer closes; its connections are strict", async function () {
    const pool = createMysqlPool(testSettings(db.name));
    try {
      const w = new BatchWriter({ mysql: { pool } });
      await w.flush();
      await w.close();
      const [r] = await pool.query<RowDataPacket[]>("SELECT 1 AS one, @@SESSION.sql_mode AS mode");
      assert.equal(r[0].one, 1);
      assert.match(String(r[0].mode), /STRICT_ALL_TABLES/, "the pool's connections run in strict mode");
    } finally {
      await pool.end();
    }
  });

  it("refuses writer options out of range, naming the field, before opening anything", function () {
    const settings = testSettings(db.name);
    for (const [field, value] of [
      ["batchSize", 0],
      ["batchSize", 10_001],
      ["maxDelayMs", 1.5],
      ["concurrency", 65],
      ["queryTimeoutMs", -1],
    ] as const) {
      const err = rejection(() => new BatchWriter({ mysql: { settings }, [field]: value }));
      assert.equal(err.field, field);
    }
    assert.equal(
      rejection(() => new BatchWriter({ mysql: { settings }, tables: { history: "a b" } })).field,
      "historyTable",
    );
    assert.equal(
      rejection(() => new BatchWriter({ mysql: { settings }, customSql: "INSERT INTO x VALUES (:nope)" }))
        .field,
      "customSql",
    );
  });

  describe("test connection", function () {
    it("says whom it reached", async function () {
      const answer = await testConnection(testSettings(db.name));
      assert.equal(answer.ok, true);
      assert.match(answer.message, new RegExp(`Connected to .* database "${db.name}" \\(server .*MariaDB`));
    });

    it("says when nothing listens", async function () {
      const proxy = new TcpProxy(1);
      const port = await proxy.start();
      await proxy.stop(); // a port that was just free and now has no listener
      const answer = await testConnection(testSettings(db.name, { port }));
      assert.deepEqual([answer.ok, answer.ok ? "" : answer.code], [false, "ECONNREFUSED"]);
      assert.match(answer.message, /Nothing is listening at 127\.0\.0\.1:\d+/);
    });

    it("says when the server hangs up at once", async function () {
      const proxy = new TcpProxy(1);
      const port = await proxy.start();
      proxy.cut();
      try {
        const answer = await testConnection(testSettings(db.name, { port }));
        assert.equal(answer.ok, false);
        assert.match(answer.message, /accepted the connection and closed it/);
      } finally {
        await proxy.stop();
      }
    });

    it("says when TLS is asked of a server that does not offer it", async function () {
      // The shared test server runs without TLS (have_ssl = DISABLED).
      const settings = {
        ...testSettings(db.name),
        tls: { ca: undefined, cert: undefined, key: undefined, rejectUnauthorized: true },
      };
      const answer = await testConnection(settings);
      assert.deepEqual([answer.ok, answer.ok ? "" : answer.code], [false, "HANDSHAKE_NO_SSL_SUPPORT"]);
      assert.match(answer.message, /TLS is switched on but the server at .* does not offer TLS/);
    });

    it("says when the database does not exist", async function () {
      const answer = await testConnection(testSettings(`${db.name}_missing`));
      assert.equal(answer.ok, false);
      assert.match(answer.message, new RegExp(`database "${db.name}_missing" does not exist`));
    });

    it("says when the password is wrong", async function () {
      const user = `dc_u_${db.name.slice(-8)}`;
      await db.admin.query("CREATE USER ?@'%' IDENTIFIED BY 'right'", [user]);
      await db.admin.query("CREATE USER ?@'localhost' IDENTIFIED BY 'right'", [user]);
      try {
        const answer = await testConnection({ ...testSettings(db.name), user, password: "wrong" });
        assert.equal(answer.ok, false);
        assert.match(answer.message, new RegExp(`refused user "${user}"`));
      } finally {
        await db.admin.query("DROP USER ?@'%'", [user]);
        await db.admin.query("DROP USER ?@'localhost'", [user]);
      }
    });
  });
});
