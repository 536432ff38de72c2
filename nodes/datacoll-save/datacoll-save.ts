import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import { errorMessage } from "../../src/core/errors";
import type { WriteOutcome } from "../../src/core/history/batch-writer";
import { PointSaveSettings } from "../../src/core/history/point-save";
import type { ManagerHandle } from "../../src/core/manager";
import type { ManagerConfigNode } from "../datacoll-manager/api";
import type { MysqlConfigNode } from "../datacoll-mysql/api";
import { readSaveInput } from "../lib/mysql-messages";
import type { PoolShare } from "../lib/mysql-pool";
import { openSaver, type SaveDef, type Saver } from "../lib/mysql-saver";
import { outageReason, saverStatus } from "../lib/mysql-status";
import { errorStatus } from "../lib/status";
import { registerNodeType } from "../lib/register";

interface SaveNodeDef extends NodeDef, SaveDef {
  mysql: string;
  manager: string;
}

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

export = function register(RED: NodeAPI): void {
  function DataCollSave(this: Node, def: SaveNodeDef): void {
    RED.nodes.createNode(this, def);
    let share: PoolShare | undefined;
    let handle: ManagerHandle | undefined;
    let saver: Saver | undefined;
    let problem: string | undefined;
    try {
      const cfg = RED.nodes.getNode(def.mysql) as MysqlConfigNode | null;
      share = cfg?.acquirePool();
      if (share === undefined) throw new Error(cfg?.settingsError ?? RED._("datacoll-save.errors.noMysql"));
      if (def.manager) {
        const m = RED.nodes.getNode(def.manager) as ManagerConfigNode | null;
        handle = m?.acquireManager();
        if (handle === undefined)
          throw new Error(m?.settingsError ?? RED._("datacoll-save.errors.noManager"));
      }
      saver = openSaver(share, this.id, def, handle?.manager, (reason) =>
        this.warn(RED._("datacoll-save.errors.redis", { reason })),
      );
    } catch (err) {
      problem = errorMessage(err);
      this.error(RED._("datacoll-save.errors.config", { reason: problem }));
      this.status(errorStatus(problem));
    }
    const writer = saver?.writer;
    // With a manager, each registry point is saved as its own save settings say (the help, "Registry points").
    const manager = handle?.manager;
    const perPoint =
      writer && manager
        ? new PointSaveSettings(
            {
              listPoints: () => manager.ready().then(() => manager.registry.listPoints()),
              getPoint: (key) => manager.registry.getPoint(key),
              onChange: (listener) => manager.registry.onChange(listener),
            },
            (err) => this.warn(RED._("datacoll-save.errors.registry", { reason: errorMessage(err) })),
          )
        : undefined;

    let shown = "";
    let outage: string | undefined;
    const showStatus = (): void => {
      if (writer === undefined) return;
      const stats = writer.stats();
      const reason = outageReason(stats);
      if (reason !== undefined && outage === undefined)
        this.warn(RED._("datacoll-save.errors.outage", { reason, backlog: stats.backlog }));
      else if (reason === undefined && outage !== undefined) this.log(RED._("datacoll-save.log.back"));
      outage = reason;
      const status = saverStatus(stats);
      const key = JSON.stringify(status);
      if (key !== shown) this.status(status);
      shown = key;
    };
    const off = writer?.subscribe((e) => {
      if (e.type === "deadLetters") this.send([null, { topic: "deadLetters", payload: e.letters }]);
      else if (e.type === "failure") showStatus();
    });
    const statusTimer = writer ? setInterval(showStatus, 1000) : undefined;
    showStatus();

    const refused = (o: WriteOutcome): string | undefined => {
      if (o.dropped > 0)
        return RED._("datacoll-save.errors.dropped", {
          count: o.dropped,
          policy: def.overflow || "drop-oldest",
        });
      if (o.invalid > 0) return RED._("datacoll-save.errors.invalid", { count: o.invalid });
      return undefined;
    };

    this.on("input", (msg: NodeMessageInFlow, send, done) => {
      if (writer === undefined) return done(new Error(problem));
      let accepted: Promise<WriteOutcome>;
      try {
        const input = readSaveInput(msg as Record<string, unknown>, Date.now());
        // Not waiting for the registry's list: with Redis away at start that would hold every row back,
        // where MySQL could take them. Until the list is read, every sample is saved.
        accepted =
          input.kind === "points"
            ? writer.write(perPoint ? perPoint.filter(input.points) : input.points)
            : writer.writeAlarms(input.alarms);
      } catch (err) {
        return done(asError(err));
      }
      accepted.then(
        (o) => {
          const why = refused(o);
          if (why !== undefined) return done(new Error(why));
          send([msg as NodeMessage, null]);
          done();
        },
        (err: unknown) => done(asError(err)),
      );
    });

    this.on("close", (removed: boolean, done: () => void) => {
      if (statusTimer !== undefined) clearInterval(statusTimer);
      off?.();
      perPoint?.close();
      Promise.resolve(saver?.close(removed))
        .then((lost) => {
          if (lost) this.warn(RED._("datacoll-save.errors.lostOnRemove", { count: lost }));
        })
        .catch((err: unknown) => this.warn(errorMessage(err)))
        .then(() => share?.release())
        .catch((err: unknown) => this.warn(errorMessage(err)))
        .then(() => handle?.release())
        .catch((err: unknown) => this.warn(errorMessage(err)))
        .then(() => done());
    });
  }
  registerNodeType(RED, "datacoll-save", DataCollSave);
};
