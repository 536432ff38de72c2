/**
 * The datacoll-save node: the Node-RED face of SaveController (src/core/history/save-controller.ts). It
 * maps the editor's settings in, messages to points or alarm transitions, and the controller's notices
 * and status to translated log lines and a status dot; where rows wait, and why, is the controller's.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow, NodeStatus } from "node-red";
import { errorMessage } from "../../src/core/errors";
import type { WriteOutcome } from "../../src/core/history/batch-writer";
import { SaveController } from "../../src/core/history/save-controller";
import type { SaveCounts, SaveNotice, SaveStatus } from "../../src/core/history/save-controller";
import type { SaveFields } from "../../src/core/history/save-settings";
import type { MaintenanceReport } from "../../src/core/history/partitions";
import { validateTableNames } from "../../src/core/history/schema";
import { poolHistorySource, registerHistorySource } from "../../src/core/history/sources";
import type { ManagerHandle } from "../../src/core/manager";
import type { ManagerConfigNode } from "../datacoll-manager/api";
import type { MysqlConfigNode } from "../datacoll-mysql/api";
import { readSaveInput } from "../lib/mysql-messages";
import { registerNodeType } from "../lib/register";
import { rateText, shorten, showConfigError } from "../lib/status";

interface SaveNodeDef extends NodeDef, SaveFields {
  mysql: string;
  manager: string;
}

function counts(c: SaveCounts): string {
  const parts = [rateText(c.rowsPerSecond, 0)];
  if (c.backlog > 0) parts.push(`backlog ${c.backlog}`);
  if (c.deadLetters > 0) parts.push(`${c.deadLetters} dead`);
  if (c.dropped > 0) parts.push(`${c.dropped} dropped`);
  return parts.join(" · ");
}

/** Red while rows wait: the code when no server answers (the log has the words), else the reason. */
function statusOf(s: SaveStatus): NodeStatus {
  if (s.kind === "closed") return { fill: "grey", shape: "ring", text: "closed" };
  if (s.kind === "draining") return { fill: "yellow", shape: "dot", text: `draining · ${counts(s.counts)}` };
  if (s.kind === "flowing") return { fill: "green", shape: "dot", text: counts(s.counts) };
  let why = s.cause === "unreachable" ? `MySQL away (${s.code ?? s.reason})` : `MySQL refused: ${s.reason}`;
  if (s.cause === "backlog") why = s.reason;
  const backlog = ` · backlog ${s.backlog}`; // kept whole: a long reason is cut instead
  return { fill: "red", shape: "ring", text: shorten(why, 64 - backlog.length) + backlog };
}

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

export = function register(RED: NodeAPI): void {
  function DataCollSave(this: Node, def: SaveNodeDef): void {
    RED.nodes.createNode(this, def);
    const t = (key: string, data?: Record<string, string | number>): string =>
      RED._(`datacoll-save.${key}`, data);
    const partitionNotice = (r: MaintenanceReport): void => {
      if (r.kind === "done")
        this.log(
          t("log.partitions", {
            table: r.table,
            added: r.added.join(", ") || "-",
            dropped: r.dropped.join(", ") || "-",
          }),
        );
      else if (r.kind === "migrated") this.log(t("log.migrated", { table: r.table, count: r.partitions }));
      else if (r.kind === "skipped")
        this.warn(t(`partitions.${r.why}`, { table: r.table, method: r.method ?? "" }));
    };
    const onNotice = (n: SaveNotice): void => {
      if (n.code === "outage") this.warn(t(`outage.${n.cause}`, n));
      else if (n.code === "back") this.log(t("log.back"));
      else if (n.code === "partitions") partitionNotice(n.report);
      else if (n.code === "partitions-failed") this.warn(t("errors.partitions", n));
      else this.warn(t(n.code === "redis-failed" ? "errors.redis" : "errors.registry", n));
    };
    let shown = "";
    const showStatus = (): void => {
      if (controller === undefined) return;
      const status = statusOf(controller.status());
      const key = JSON.stringify(status);
      if (key !== shown) this.status(status);
      shown = key;
    };
    let share: ReturnType<MysqlConfigNode["acquirePool"]>;
    let handle: ManagerHandle | undefined;
    let controller: SaveController | undefined;
    let problem: string | undefined;
    let unregister: (() => void) | undefined;
    try {
      const cfg = RED.nodes.getNode(def.mysql) as MysqlConfigNode | null;
      share = cfg?.acquirePool();
      if (share === undefined) throw new Error(cfg?.settingsError ?? t("errors.noMysql"));
      const m = def.manager ? (RED.nodes.getNode(def.manager) as ManagerConfigNode | null) : undefined;
      handle = m?.acquireManager();
      if (m !== undefined && handle === undefined) throw new Error(m?.settingsError ?? t("errors.noManager"));
      controller = new SaveController({
        share,
        saverId: this.id,
        fields: def,
        manager: handle?.manager,
        onNotice,
        onDeadLetters: (letters) => this.send([null, { topic: "deadLetters", payload: letters }]),
        onStatus: showStatus,
      });
      // Readers (the REST API's history route, the live view's trends) find the tables and pool by this node.
      const tables = validateTableNames(controller.settings.tables ?? {});
      unregister = registerHistorySource(
        poolHistorySource(share.pool, {
          id: this.id,
          name: def.name || this.id,
          historyTable: tables.history,
          alarmsTable: tables.alarms,
        }),
      );
    } catch (err) {
      problem = errorMessage(err);
      showConfigError(RED, this, "datacoll-save.errors.config", problem);
    }
    showStatus();

    this.on("input", (msg: NodeMessageInFlow, send, done) => {
      const c = controller;
      if (c === undefined) return done(new Error(problem));
      // The executor runs at once, so rows are taken in message order; a message of neither shape rejects.
      new Promise<WriteOutcome>((accept) => {
        const input = readSaveInput(msg as Record<string, unknown>, Date.now());
        accept(input.kind === "points" ? c.writePoints(input.points) : c.writeAlarms(input.alarms));
      }).then(
        (o) => {
          const policy = c.settings.overflow;
          if (o.dropped > 0) return done(new Error(t("errors.dropped", { count: o.dropped, policy })));
          if (o.invalid > 0) return done(new Error(t("errors.invalid", { count: o.invalid })));
          send([msg as NodeMessage, null]);
          done();
        },
        (err: unknown) => done(asError(err)),
      );
    });

    this.on("close", (removed: boolean, done: () => void) => {
      const warn = (err: unknown): void => this.warn(errorMessage(err));
      // No reader reaches the pool once its share may be released.
      unregister?.();
      Promise.resolve(controller?.close(removed))
        .then((count) => {
          if (count) this.warn(t("errors.lostOnRemove", { count }));
        })
        .catch(warn)
        .then(() => share?.release())
        .catch(warn)
        .then(() => handle?.release())
        .catch(warn)
        .then(() => done());
    });
  }
  registerNodeType(RED, "datacoll-save", DataCollSave);
};
