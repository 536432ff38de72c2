/**
 * A fresh database of a benchmark's own on the MySQL of MYSQL_URL, so its tables never meet anyone
 * else's; dropped after.
 */
import crypto from "node:crypto";
import mysql from "mysql2/promise";

const MYSQL_URL = process.env.MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";

export interface BenchDatabase {
  /** Host, port, user and password, for connections and pool settings of the bench's own. */
  readonly access: { host: string; port: number; user: string; password: string };
  readonly database: string;
  drop(): Promise<void>;
}

export async function createBenchDatabase(): Promise<BenchDatabase> {
  const url = new URL(MYSQL_URL);
  const database = `dc_bench_${crypto.randomBytes(4).toString("hex")}`;
  const access = {
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username || "root"),
    password: decodeURIComponent(url.password),
  };
  const admin = await mysql.createConnection(access);
  await admin.query(`CREATE DATABASE ${mysql.escapeId(database)}`);
  return {
    access,
    database,
    async drop() {
      await admin.query(`DROP DATABASE IF EXISTS ${mysql.escapeId(database)}`);
      await admin.end();
    },
  };
}
