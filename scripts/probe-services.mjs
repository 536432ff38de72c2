// Answers whether a service the tests need is reachable: `node probe-services.mjs redis|mysql`.
// Exit 0 when it answers, 1 with the reason otherwise. Uses the project's own clients, so a pass here
// means the tests can connect the same way.
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);

const which = process.argv[2];
const timeout = setTimeout(() => {
  console.error(`${which}: no answer within 3 s`);
  process.exit(1);
}, 3000);

try {
  if (which === "redis") {
    const Redis = require("ioredis");
    const url = process.env.REDIS_URL || "redis://127.0.0.1:6379";
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on("error", () => {});
    await client.connect();
    await client.ping();
    client.disconnect();
  } else if (which === "mysql") {
    const mysql = require("mysql2/promise");
    const url = process.env.MYSQL_URL || "mysql://root@127.0.0.1:3306/test";
    const conn = await mysql.createConnection({ uri: url, connectTimeout: 2500 });
    await conn.query("SELECT 1");
    await conn.end();
  } else {
    throw new Error("usage: probe-services.mjs redis|mysql");
  }
  clearTimeout(timeout);
} catch (err) {
  console.error(`${which}: ${err && err.message ? err.message : err}`);
  process.exit(1);
}
