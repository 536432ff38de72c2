import type { NodeAPI, NodeDef } from "node-red";
import { errorMessage } from "../../src/core/errors";
import { parseMysqlSettings } from "../../src/core/history/mysql-settings";
import { SharedMysqlPool } from "../../src/core/history/pool-share";
import { registerMysqlTest } from "../lib/mysql-test-endpoint";
import type { MysqlConfigNode, MysqlCredentials } from "./api";
import { registerNodeType } from "../lib/register";

interface MysqlDef extends NodeDef {
  host: string;
  port: string;
  database: string;
  user: string;
  poolSize: string;
  connectTimeout: string;
  tls: boolean;
  ca: string;
  cert: string;
  rejectUnauthorized: boolean;
}

export = function register(RED: NodeAPI): void {
  registerMysqlTest(RED);
  function DataCollMysql(this: MysqlConfigNode, def: MysqlDef): void {
    RED.nodes.createNode(this, def);
    this.acquirePool = () => undefined;
    try {
      this.settings = parseMysqlSettings({
        host: def.host,
        port: def.port,
        database: def.database,
        user: def.user,
        password: this.credentials?.password,
        poolSize: def.poolSize,
        connectTimeoutMs: def.connectTimeout,
        tls: def.tls,
        ca: def.ca,
        cert: def.cert,
        key: this.credentials?.key,
        rejectUnauthorized: def.rejectUnauthorized,
      });
      this.settingsError = undefined;
    } catch (err) {
      this.settings = undefined;
      this.settingsError = errorMessage(err);
      this.error(RED._("datacoll-mysql.errors.settings", { reason: this.settingsError }));
      return;
    }
    const shared = new SharedMysqlPool(this.settings);
    // The config node's own share keeps the pool (and its idle connections) across redeploys of users.
    const own = shared.acquire();
    this.acquirePool = () => shared.acquire();
    this.on("close", (_removed: boolean, done: () => void) => {
      own.release().then(
        () => done(),
        (err: unknown) => {
          this.warn(RED._("datacoll-mysql.errors.close", { reason: errorMessage(err) }));
          done();
        },
      );
    });
  }
  registerNodeType<MysqlConfigNode, MysqlDef, MysqlCredentials>(RED, "datacoll-mysql", DataCollMysql, {
    credentials: { password: { type: "password" }, key: { type: "password" } },
  });
};
