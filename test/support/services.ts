/**
 * The real services the integration tests talk to. Each test run takes names of its own (a Redis
 * namespace, a MySQL database) so runs can overlap on one machine and leave nothing behind.
 */
import crypto from "node:crypto";

export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
export const MYSQL_URL = process.env.MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";

/** A namespace nobody else uses, e.g. `t-3f9a1c2b:`. */
export function uniqueNamespace(prefix = "t"): string {
  return `${prefix}-${crypto.randomBytes(4).toString("hex")}:`;
}

/** A database name nobody else uses, e.g. `dc_t_3f9a1c2b`. */
export function uniqueDatabase(prefix = "dc_t"): string {
  return `${prefix}_${crypto.randomBytes(4).toString("hex")}`;
}
