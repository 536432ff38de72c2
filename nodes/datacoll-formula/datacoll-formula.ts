import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow, NodeStatus } from "node-red";
import type { Subscription } from "../../src/core/bus/event-bus";
import { errorMessage } from "../../src/core/errors";
import { FormulaEngine } from "../../src/core/formula/engine";
import { historySourceOn } from "../../src/core/formula/store-history";
import type { ManagerHandle } from "../../src/core/manager";
import type { DataPoint, PointKey } from "../../src/core/model/datapoint";
import type { ManagerConfigNode } from "../datacoll-manager/api";
import { messagesFor, pointsFromMessage, type OutputMode } from "../lib/messages";
import { RateMeter } from "../lib/rate";
import { errorStatus, rateText, shorten } from "../lib/status";
import { definitionOf, definitionOfRow, type Definition, type FormulaRow } from "./table";
import { registerNodeType } from "../lib/register";

interface FormulaDef extends NodeDef {
  manager: string;
  formulas: FormulaRow[];
  useRegistry: boolean;
  fromBus: boolean;
  interval: string;
  output: OutputMode;
}

export = function register(RED: NodeAPI): void {
  function DataCollFormula(this: Node, def: FormulaDef): void {
    RED.nodes.createNode(this, def);
    const output: OutputMode = def.output === "point" ? "point" : "batch";
    const interval =
      def.interval === undefined || String(def.interval).trim() === "" ? 0 : Number(def.interval);
    const everyMs = interval * 1000;
    let handle: ManagerHandle | undefined;
    if (!Number.isFinite(interval) || interval < 0) {
      const reason = RED._("datacoll-formula.errors.interval");
      this.error(RED._("datacoll-formula.errors.config", { reason }));
      this.status(errorStatus(reason));
      return;
    }
    if (def.manager !== undefined && def.manager !== "") {
      const m = RED.nodes.getNode(def.manager) as ManagerConfigNode | null;
      handle = m?.acquireManager();
      if (handle === undefined) {
        const reason = m?.settingsError ?? RED._("datacoll-formula.errors.noManager");
        this.error(RED._("datacoll-formula.errors.config", { reason }));
        this.status(errorStatus(reason));
        return;
      }
    }
    const manager = handle?.manager;
    const engine = new FormulaEngine(manager ? { history: historySourceOn(manager.store) } : {});
    /** Why each formula that cannot run does not, by id. */
    const problems = new Map<string, string>();
    /** Ids from the node's table: they win over registry formulas of the same id. */
    const tableIds = new Set<string>();
    /** Result keys: a result coming back in (through the bus or a data node) is our own echo. */
    const results = new Map<string, PointKey>();
    let own: ReadonlySet<PointKey> = new Set();
    let closed = false;
    let publishError: string | undefined;

    const apply = (d: Definition): void => {
      const id = d.ok ? d.def.id : d.id;
      try {
        if (!d.ok) throw new Error(d.problem);
        engine.set(d.def, Date.now());
        results.set(id, d.def.result);
        own = new Set(results.values());
        problems.delete(id);
      } catch (err) {
        engine.remove(id);
        results.delete(id);
        own = new Set(results.values());
        problems.set(id, errorMessage(err));
        this.error(RED._("datacoll-formula.errors.formula", { id, reason: errorMessage(err) }));
      }
    };
    const drop = (id: string): void => {
      engine.remove(id);
      results.delete(id);
      own = new Set(results.values());
      problems.delete(id);
    };
    (def.formulas ?? []).forEach((row, i) => {
      const d = definitionOfRow(row, i, everyMs);
      tableIds.add(d.ok ? d.def.id : d.id);
      apply(d);
    });

    const seed = async (): Promise<void> => {
      if (manager === undefined) return;
      try {
        await engine.seed(Date.now());
      } catch (err) {
        this.warn(RED._("datacoll-formula.errors.history", { reason: errorMessage(err) }));
      }
    };
    const useRegistry = manager !== undefined && def.useRegistry === true;
    const ready: Promise<void> = (async () => {
      if (manager === undefined) return;
      await manager.ready();
      if (useRegistry) {
        for (const f of await manager.registry.listFormulas())
          if (f.enabled && !tableIds.has(f.id)) apply(definitionOf(f, everyMs));
      }
      await seed();
      schedule();
    })();
    ready.catch((err: unknown) => {
      if (closed) return;
      this.error(RED._("datacoll-formula.errors.registry", { reason: errorMessage(err) }));
      this.status(errorStatus(errorMessage(err)));
      clearInterval(statusTimer);
    });
    const offRegistry =
      useRegistry && manager !== undefined
        ? manager.registry.onChange((changes) => {
            for (const c of changes) {
              if (c.kind !== "formula" || tableIds.has(c.id)) continue;
              void ready
                .then(async () => {
                  const f = c.op === "delete" ? undefined : await manager.registry.getFormula(c.id);
                  if (closed) return;
                  if (f === undefined || !f.enabled) drop(c.id);
                  else apply(definitionOf(f, everyMs));
                  await seed();
                  schedule();
                  showStatus();
                })
                .catch((err: unknown) => this.warn(errorMessage(err)));
            }
          })
        : undefined;

    const rate = new RateMeter();
    const emit = (points: readonly DataPoint[], send: (m: NodeMessage[][]) => void): void => {
      if (points.length === 0) return;
      rate.add(points.length, Date.now());
      send([messagesFor(points, output)]);
      if (manager === undefined) return;
      manager.publish(points).then(
        () => (publishError = undefined),
        (err: unknown) => {
          if (publishError === undefined)
            this.warn(RED._("datacoll-formula.errors.publish", { reason: errorMessage(err) }));
          publishError = errorMessage(err);
        },
      );
    };
    const feed = (points: readonly DataPoint[]): DataPoint[] => {
      const echo = points.some((p) => own.has(p.key));
      return engine.update(echo ? points.filter((p) => !own.has(p.key)) : points, Date.now());
    };

    let timer: NodeJS.Timeout | undefined;
    function schedule(): void {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      const next = engine.nextDeadline();
      if (closed || next === undefined) return;
      timer = setTimeout(onTimer, Math.min(Math.max(next - Date.now(), 0), 2 ** 31 - 1));
    }
    const onTimer = (): void => {
      timer = undefined;
      emit(engine.tick(Date.now()), (m) => this.send(m));
      schedule();
    };

    let sub: Subscription | undefined;
    if (manager !== undefined && def.fromBus === true) {
      sub = manager.subscribe("#", (points) => {
        void ready.then(() => emit(feed(points), (m) => this.send(m)));
      });
    }

    let shown = "";
    const showStatus = (): void => {
      let status: NodeStatus;
      if (problems.size > 0) {
        const [id, why] = [...problems][0];
        status = { fill: "red", shape: "ring", text: shorten(`${problems.size} bad: ${id}: ${why}`) };
      } else if (publishError !== undefined) status = errorStatus(publishError);
      else {
        const text = `${results.size} formula${results.size === 1 ? "" : "s"} · ${rateText(rate.perSecond(Date.now()), 0)}`;
        status = { fill: "green", shape: "dot", text };
      }
      const key = JSON.stringify(status);
      if (key === shown) return;
      shown = key;
      this.status(status);
    };
    showStatus();
    const statusTimer = setInterval(showStatus, 1000);
    schedule();

    this.on("input", (msg: NodeMessageInFlow, send, done) => {
      let points: DataPoint[];
      try {
        points = pointsFromMessage(msg as Record<string, unknown>, Date.now());
      } catch (err) {
        done(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      ready.then(
        () => {
          emit(feed(points), send);
          schedule();
          done();
        },
        (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
      );
    });

    this.on("close", (_removed: boolean, done: () => void) => {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      clearInterval(statusTimer);
      sub?.unsubscribe();
      offRegistry?.();
      void Promise.resolve(handle?.release()).then(
        () => done(),
        (err: unknown) => {
          this.warn(errorMessage(err));
          done();
        },
      );
    });
  }
  registerNodeType(RED, "datacoll-formula", DataCollFormula);
};
