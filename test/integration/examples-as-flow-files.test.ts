/**
 * Every example as a user runs it with `node-red <example>.json`: a real Node-RED process on the example
 * as its flow file, unchanged, with this package installed. Each of the package's nodes in it must come
 * up with a green status dot (the check node: a status that counts its alarms, since the examples raise
 * alarms on purpose), and Node-RED must log no error. The examples' needs (MySQL for 05 and 07, Redis for
 * 08) are what `npm run services` brings up, as their first comments say; the serial example (11) gets the
 * socat pty pair its first comment tells a user to make, at the paths it names.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import WebSocket from "ws";
import { until } from "../support/net";
import { ptyPairForExample, type PtyPair } from "../support/pty-pair";
import { NodeRedProcess } from "../support/node-red-process";

const examples = path.resolve(__dirname, "../../examples");

interface Status {
  fill?: string;
  shape?: string;
  text?: string;
}

interface FlowNode {
  id: string;
  type: string;
  z?: string;
  name?: string;
}

/** Node types of ours that are config nodes (no status of their own). */
const CONFIG = new Set(["datacoll-manager", "datacoll-mysql", "datacoll-modbus", "datacoll-iec104"]);

/** Whether a node's latest status is the healthy one for its type. */
function healthy(type: string, s: Status | undefined): boolean {
  if (s === undefined) return false;
  if (type === "datacoll-check") return /\d+ (alarm|active)/.test(s.text ?? "") && s.shape === "dot";
  return s.fill === "green";
}

/** The editor's view of node statuses: Node-RED's comms websocket, subscribed to `status/#`. */
function watchStatuses(port: number): { latest: Map<string, Status>; close(): void } {
  const latest = new Map<string, Status>();
  const ws = new WebSocket(`ws://127.0.0.1:${port}/comms`);
  ws.on("open", () => ws.send(JSON.stringify({ subscribe: "status/#" })));
  ws.on("message", (data) => {
    const text = Buffer.isBuffer(data) ? data.toString() : String(data);
    const list = JSON.parse(text) as { topic?: string; data?: Status }[];
    for (const m of Array.isArray(list) ? list : [list]) {
      if (typeof m.topic === "string" && m.topic.startsWith("status/"))
        latest.set(m.topic.slice("status/".length), m.data ?? {});
    }
  });
  // A refused or dropped socket shows as statuses that never arrive: the wait below names the nodes.
  ws.on("error", () => undefined);
  return { latest, close: () => ws.terminate() };
}

describe("examples as flow files (node-red <example>.json)", function () {
  this.timeout(90_000);
  for (const file of fs
    .readdirSync(examples)
    .filter((f) => f.endsWith(".json"))
    .sort()) {
    it(`${file}: every node of ours turns green (check: counts its alarms), no error logged`, async function () {
      const flows = JSON.parse(fs.readFileSync(path.join(examples, file), "utf8")) as FlowNode[];
      assert.ok(
        flows.some((n) => n.type === "tab"),
        "the example has no tab: as a flow file its nodes would not run",
      );
      const ours = flows.filter((n) => n.type.startsWith("datacoll-") && !CONFIG.has(n.type));
      assert.ok(ours.length > 0, "the example has no node of this package");
      let red: NodeRedProcess | undefined;
      let watch: ReturnType<typeof watchStatuses> | undefined;
      let pty: PtyPair | undefined;
      try {
        // The serial example's pty pair, as its first comment tells a user to make it (at paths of its own).
        const example = await ptyPairForExample(flows);
        pty = example.pty;
        const r = new NodeRedProcess(path.basename(file, ".json"), example.flow);
        red = r;
        await r.start();
        await until(() => r.output.includes("Started flows"), 60_000, `${file}: "Started flows"`);
        watch = watchStatuses(r.port);
        const w = watch;
        const unhealthy = (): string[] =>
          ours
            .filter((n) => !healthy(n.type, w.latest.get(n.id)))
            .map((n) => `${n.type} ${n.name ?? n.id}: ${JSON.stringify(w.latest.get(n.id) ?? "no status")}`);
        try {
          await until(() => unhealthy().length === 0, 45_000, `${file}: every node green`);
        } catch (err) {
          throw new Error(`${(err as Error).message}\n${unhealthy().join("\n")}\n${r.output}`, {
            cause: err,
          });
        }
        assert.doesNotMatch(r.output, /\[error\]/, `${file}: Node-RED logged an error`);
      } finally {
        watch?.close();
        await red?.stop("SIGINT");
        red?.dispose();
        await pty?.close();
      }
    });
  }
});
