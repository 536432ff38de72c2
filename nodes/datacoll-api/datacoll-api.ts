import type { Node, NodeAPI, NodeDef, NodeStatus } from "node-red";
import { errorMessage } from "../../src/core/errors";
import { failure, handle } from "../../src/core/rest/router";
import { RestError } from "../../src/core/rest/errors";
import { tooLarge } from "../../src/core/rest/body";
import { DEFAULT_MAX_BODY_BYTES, type RestResponse } from "../../src/core/rest/types";
import { LatestView } from "../../src/core/rest/latest-view";
import { findHistorySource } from "../../src/core/history/sources";
import { installBodyCapture } from "./body-capture";
import { installHttpGuard } from "./http-guard";
import { bigintAsText, normalizeBase, restRequestOf, type ApiMessage } from "./http-message";
import { findManager, linkManager, type ManagerLink } from "./manager-link";
import { registerNodeType } from "../lib/register";
import { shorten } from "../lib/status";

interface ApiDef extends NodeDef {
  manager: string;
  /** Name or namespace of a manager, used when `manager` is empty (inside the datacoll-rest subflow). */
  managerName: string;
  basePath: string;
  maxBody: string | number;
  /** The datacoll-save node (name or id) whose tables `/v2/history` reads; blank: the only one running. */
  history?: string;
}

export = function register(RED: NodeAPI): void {
  function DataCollApi(this: Node, def: ApiDef): void {
    RED.nodes.createNode(this, def);
    const base = normalizeBase(def.basePath ?? "/api");
    const maxBodyBytes = Number(def.maxBody) > 0 ? Number(def.maxBody) : DEFAULT_MAX_BODY_BYTES;
    let link: ManagerLink | undefined;
    let latest: LatestView | undefined;
    let linkError: string | undefined;
    let shown: NodeStatus;
    try {
      link = linkManager(findManager(RED, def.manager || def.managerName || ""));
      latest = new LatestView(link.store, link.feed);
      shown = { fill: "green", shape: "dot", text: base || "/" };
    } catch (err) {
      linkError = errorMessage(err);
      // The reason itself (e.g. two managers share the name), so the dot says what to fix.
      shown = {
        fill: "red",
        shape: "ring",
        text: shorten(`${RED._("datacoll-api.status.noManager")}: ${linkError}`, 64),
      };
      this.error(RED._("datacoll-api.errors.manager", { reason: linkError }));
    }
    this.status(shown);
    // The API answers a plain "Redis at … is unreachable"; the client library's reason is logged here,
    // once per outage (again after the store has been connected since).
    let unreachableLogged = false;
    const offState = link?.store.onState((s) => {
      if (s.kind === "connected") unreachableLogged = false;
    });
    const onStoreUnreachable = (reason: string): void => {
      if (unreachableLogged) return;
      unreachableLogged = true;
      this.warn(
        RED._("datacoll-api.errors.storeUnreachable", {
          location: link?.store.location ?? "the store",
          reason,
        }),
      );
    };
    // Inside the datacoll-rest subflow the status node that carries this status to the instance is
    // created after this node, so it missed the first report: say it again once the flows run.
    const showAgain = (): void => this.status(shown);
    RED.events.on("flows:started", showAgain);
    const uninstall = installBodyCapture(RED, base, maxBodyBytes);
    const unguard = installHttpGuard(RED, base, maxBodyBytes, (message) => this.warn(message));

    this.on("input", (msg: ApiMessage, send, done) => {
      const req = msg.req;
      if (!req || typeof req.method !== "string") {
        done(new Error(RED._("datacoll-api.errors.noReq")));
        return;
      }
      const answer = (r: RestResponse): void => {
        msg.statusCode = r.status;
        msg.headers = { ...r.headers };
        try {
          msg.payload =
            r.headers["content-type"]?.startsWith("application/json") && !r.encoded
              ? JSON.stringify(r.body, bigintAsText)
              : r.body;
        } catch (err) {
          // Still answer, so the client is not left waiting; the Catch node gets the reason.
          msg.statusCode = 500;
          msg.payload = JSON.stringify({ error: "internal", message: errorMessage(err) });
          send(msg);
          done(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        send(msg);
        done();
      };
      const request = restRequestOf(req, req.method, base);
      if (!link) {
        answer(failure(new RestError(503, "unavailable", linkError ?? "no manager"), request.path));
        return;
      }
      if (req.datacollBodyTooLarge) {
        answer(failure(tooLarge(maxBodyBytes), request.path));
        return;
      }
      const l = link;
      const actions = l.actions();
      handle(request, {
        store: l.store,
        publish: l.publish,
        ...(latest ? { latest } : {}),
        basePath: base,
        maxBodyBytes,
        now: Date.now,
        onStoreUnreachable,
        history: () => findHistorySource(def.history ?? ""),
        ...(actions ? { actions } : {}),
      }).then(answer, (err: unknown) => done(err instanceof Error ? err : new Error(String(err))));
    });

    this.on("close", (_removed: boolean, done: () => void) => {
      offState?.();
      RED.events.removeListener("flows:started", showAgain);
      uninstall();
      unguard();
      latest?.close();
      latest = undefined;
      const l = link;
      link = undefined;
      (l ? l.release() : Promise.resolve()).then(done, (err: unknown) => {
        this.warn(errorMessage(err));
        done();
      });
    });
  }
  registerNodeType(RED, "datacoll-api", DataCollApi);
};
