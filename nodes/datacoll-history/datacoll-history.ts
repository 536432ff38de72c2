/**
 * The datacoll-history node: the flow's way to read the MySQL history back, answering what the REST
 * route `/v2/history` (or `/v2/alarm-journal`) answers for the same fields. The query, its checks and its
 * defaults live in src/core/history (flow-query.ts, query.ts); this file maps the editor's settings and a
 * message in, the answer and its count out, and holds a share of the datacoll-mysql config node's pool.
 */
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from "node-red";
import { errorMessage } from "../../src/core/errors";
import {
  answerHistoryRequest,
  historyRequest,
  readHistoryNodeSettings,
  type HistoryNodeFields,
} from "../../src/core/history/flow-query";
import { validateTableNames } from "../../src/core/history/schema";
import { poolHistorySource } from "../../src/core/history/sources";
import type { MysqlConfigNode } from "../datacoll-mysql/api";
import { registerNodeType } from "../lib/register";
import { errorStatus, showConfigError } from "../lib/status";

interface HistoryNodeDef extends NodeDef, HistoryNodeFields {
  mysql: string;
  historyTable: string;
  alarmsTable: string;
}

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

export = function register(RED: NodeAPI): void {
  function DataCollHistory(this: Node, def: HistoryNodeDef): void {
    RED.nodes.createNode(this, def);
    const t = (key: string, data?: Record<string, string | number>): string =>
      RED._(`datacoll-history.${key}`, data);
    let share: ReturnType<MysqlConfigNode["acquirePool"]>;
    let run:
      ((msg: Readonly<Record<string, unknown>>) => ReturnType<typeof answerHistoryRequest>) | undefined;
    let problem: string | undefined;
    try {
      const settings = readHistoryNodeSettings(def);
      const tables = validateTableNames({
        history: def.historyTable?.trim() || undefined,
        alarms: def.alarmsTable?.trim() || undefined,
      });
      const cfg = RED.nodes.getNode(def.mysql) as MysqlConfigNode | null;
      share = cfg?.acquirePool();
      if (share === undefined) throw new Error(cfg?.settingsError ?? t("errors.noMysql"));
      const source = poolHistorySource(share.pool, {
        id: this.id,
        name: def.name || this.id,
        historyTable: tables.history,
        alarmsTable: tables.alarms,
      });
      run = (msg) => answerHistoryRequest(source, historyRequest(settings, msg, Date.now()));
      // Green as a configured reader, like the API node; the first query's answer replaces it.
      this.status({
        fill: "green",
        shape: "ring",
        text: settings.mode === "journal" ? tables.alarms : tables.history,
      });
    } catch (err) {
      problem = errorMessage(err);
      showConfigError(RED, this, "datacoll-history.errors.config", problem);
    }

    this.on("input", (msg: NodeMessageInFlow, send, done) => {
      const query = run;
      if (query === undefined) return done(new Error(problem));
      const fields = msg as unknown as Record<string, unknown>;
      // The executor runs at once, so a message that fails its checks rejects like a failed query.
      new Promise<Awaited<ReturnType<typeof answerHistoryRequest>>>((answer) => answer(query(fields))).then(
        (a) => {
          // Status words stay English, as every node's status here does; the log and errors are translated.
          const more = a.next === undefined ? "" : " · more";
          this.status({ fill: "green", shape: "dot", text: `${a.count} ${a.unit}${more}` });
          // The range answered and the next page's cursor: the message sent back in gets the next page.
          fields.payload = a.payload;
          fields.from = a.from;
          fields.to = a.to;
          if (a.next === undefined) delete fields.cursor;
          else fields.cursor = a.next;
          send(msg);
          done();
        },
        (err: unknown) => {
          this.status(errorStatus(errorMessage(err)));
          done(asError(err));
        },
      );
    });

    this.on("close", (_removed: boolean, done: () => void) => {
      run = undefined;
      Promise.resolve(share?.release()).then(done, (err: unknown) => {
        this.warn(errorMessage(err));
        done();
      });
    });
  }
  registerNodeType(RED, "datacoll-history", DataCollHistory);
};
