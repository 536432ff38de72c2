/**
 * The live view: a page under Node-RED's admin root (`/datacoll/`, behind the editor's own login when
 * adminAuth is set — the page itself is static and holds no data; every data route needs the login, which
 * the page sends with the editor's token from the browser's local storage) showing every running manager's devices, latest values with sparklines and active
 * alarms with an acknowledge button, updated over Server-Sent Events; and beside it the Trends and Alarm
 * journal pages over a datacoll-save node's MySQL tables (routes in live-history.ts). Registered once per admin app;
 * each request looks up the manager that runs now, so a redeploy needs no re-registration.
 */
import fs from "node:fs";
import path from "node:path";
import type { NodeAPI } from "node-red";
import type { Request, Response } from "express";
import { managers, type Manager } from "../../src/core/manager";
import { LiveHub } from "../../src/core/live/hub";
import { systemClock } from "../../src/transport/connection";
import { errorMessage } from "../../src/core/errors";
import { registerHistoryRoutes } from "./live-history";

const hubs = new Map<string, LiveHub>();
// Node-RED calls a module's register function once per process with one admin app; a test runtime calls
// it on every load with a fresh app. Registering once per app covers both.
const registeredOn = new WeakSet<object>();

/** The hub of the manager running under `id` now; a hub of a closed manager is dropped. */
function hubFor(id: string): LiveHub | undefined {
  const manager = managers.get(id);
  const hub = hubs.get(id);
  if (hub && hub.manager === manager) return hub;
  hub?.close();
  hubs.delete(id);
  if (!manager) return undefined;
  const fresh = new LiveHub(manager, { clock: systemClock });
  hubs.set(id, fresh);
  return fresh;
}

/**
 * Start the live view's hub for the manager of config node `id` now, so it follows the samples from the
 * manager's start (the first viewer then sees flow-drawn devices' points and their trend at once).
 * Returns the function to call when that manager's node closes.
 */
export function followManager(id: string): () => void {
  const hub = hubFor(id);
  return () => {
    if (hub === undefined || hubs.get(id) !== hub) return;
    hub.close();
    hubs.delete(id);
  };
}

/**
 * A query or body field as text, "" for anything else: express parses `?manager[toString]=1` into an
 * object, and String() of that throws (a 500 from the admin app instead of a 404).
 */
function textOf(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function staticFile(name: string): string {
  // Beside this module in dist/nodes/lib/live, or in the source tree when run through tsx.
  return path.join(__dirname, "live", name);
}

export function registerLiveView(RED: NodeAPI): void {
  if (registeredOn.has(RED.httpAdmin)) return;
  registeredOn.add(RED.httpAdmin);
  const read = RED.auth.needsPermission("datacoll.read");
  const write = RED.auth.needsPermission("datacoll.write");
  const name = (id: string, m: Manager): string => {
    const node = RED.nodes.getNode(id) as { name?: string } | null;
    return node?.name || `${m.settings.namespace} (${m.settings.store})`;
  };

  // The page and its script are served without a token: a browser opening /datacoll/ sends none (the
  // editor keeps its token in local storage and adds it to its own requests only). They hold no data;
  // the page reads the editor's token and sends it with every request below, each behind the login.
  for (const [route, file, type] of [
    ["/datacoll", "index.html", "text/html"],
    ["/datacoll/common.js", "common.js", "application/javascript"],
    ["/datacoll/live.js", "live.js", "application/javascript"],
    ["/datacoll/trends.js", "trends.js", "application/javascript"],
    ["/datacoll/journal.js", "journal.js", "application/javascript"],
  ] as const) {
    RED.httpAdmin.get(route, (req: Request, res: Response) => {
      // The page loads "live.js" relative to itself: at /datacoll (no slash, the address the README
      // gives) that would be /live.js, a 404, and the page would stay on "connecting…".
      const [where, query] = req.originalUrl.split("?");
      if (file === "index.html" && !where.endsWith("/"))
        return void res.redirect(`${where}/${query === undefined ? "" : `?${query}`}`);
      res.type(type);
      fs.createReadStream(staticFile(file))
        .on("error", () => res.status(404).end())
        .pipe(res);
    });
  }

  RED.httpAdmin.get("/datacoll/api/managers", read, (_req: Request, res: Response) => {
    res.json(
      managers.list().map(([id, m]) => ({
        id,
        name: name(id, m),
        namespace: m.settings.namespace,
        store: m.settings.store,
        // Samples waiting for Redis, the bound and what was dropped (absent for the embedded store).
        outage: m.outage(),
      })),
    );
  });

  RED.httpAdmin.get("/datacoll/api/snapshot", read, (req: Request, res: Response) => {
    const hub = hubFor(textOf(req.query.manager));
    if (!hub)
      return void res.status(404).json({ error: "not-found", message: "no manager with that id is running" });
    hub.snapshot().then(
      (snap) => res.json(snap),
      (err: unknown) => res.status(503).json({ error: "unavailable", message: errorMessage(err) }),
    );
  });

  RED.httpAdmin.get("/datacoll/api/events", read, (req: Request, res: Response) => {
    const hub = hubFor(textOf(req.query.manager));
    if (!hub)
      return void res.status(404).json({ error: "not-found", message: "no manager with that id is running" });
    const id = textOf(req.query.manager);
    res.writeHead(200, {
      "Content-Type": "text/event-stream",
      "Cache-Control": "no-cache",
      Connection: "keep-alive",
    });
    res.write("retry: 2000\n\n");
    const detach = hub.attach((event, data) => {
      // A manager replaced by a redeploy ends the stream; the browser reconnects to the new one.
      if (managers.get(id) !== hub.manager) return void res.end();
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    });
    req.on("close", detach);
  });

  registerHistoryRoutes(RED.httpAdmin, read);

  RED.httpAdmin.post("/datacoll/api/alarms/ack", write, (req: Request, res: Response) => {
    const body = (req.body ?? {}) as { manager?: unknown; key?: unknown; condition?: unknown };
    const manager = managers.get(textOf(body.manager));
    if (!manager)
      return void res.status(404).json({ error: "not-found", message: "no manager with that id is running" });
    if (typeof body.key !== "string" || body.key === "") {
      return void res
        .status(400)
        .json({ error: "invalid", field: "key", message: "key must be a point key" });
    }
    const condition =
      typeof body.condition === "string" && body.condition !== "" ? body.condition : undefined;
    const user = (req as Request & { user?: { username?: string } }).user?.username ?? "live view";
    manager.acknowledgeAlarm(body.key, condition, user).then(
      (ok) =>
        ok
          ? res.json({ ok: true })
          : res.status(404).json({ error: "not-found", message: "no such active alarm" }),
      (err: unknown) => res.status(503).json({ error: "unavailable", message: errorMessage(err) }),
    );
  });
}
