import fs from "node:fs";
import path from "node:path";
import type { NodeAPI } from "node-red";
import { subflowDefinition, type Labels, type SubflowDefinition } from "./subflow";

/**
 * The help text: help.md beside the source, or — in the built package, where only the assembled
 * datacoll-rest.html sits beside this file — the help section the build rendered into it. A subflow
 * module's help is its `info`, since Node-RED replaces the node's HTML with one made from the subflow.
 */
function helpText(): string {
  const md = path.join(__dirname, "help.md");
  if (fs.existsSync(md)) return fs.readFileSync(md, "utf8");
  const html = path.join(__dirname, "datacoll-rest.html");
  if (!fs.existsSync(html)) return "";
  const m = /<script type="text\/html" data-help-name="datacoll-rest">([\s\S]*?)<\/script>/.exec(
    fs.readFileSync(html, "utf8"),
  );
  return m ? m[1].trim() : "";
}

function packageVersion(): string {
  for (const up of ["../..", "../../.."]) {
    const file = path.join(__dirname, up, "package.json");
    if (!fs.existsSync(file)) continue;
    const pkg = JSON.parse(fs.readFileSync(file, "utf8")) as { name?: string; version?: string };
    if (pkg.name === "@datacoll/node-red-scada" && pkg.version) return pkg.version;
  }
  return "0.0.0";
}

/** The property labels of each language: locales/<lang>.json beside the source, locales/<lang>/<type>.json when built. */
function labels(): Labels {
  const dir = path.join(__dirname, "locales");
  const out: Record<string, Labels[string]> = {};
  if (!fs.existsSync(dir)) return out;
  for (const entry of fs.readdirSync(dir)) {
    const file = entry.endsWith(".json")
      ? path.join(dir, entry)
      : path.join(dir, entry, "datacoll-rest.json");
    if (!fs.existsSync(file)) continue;
    const messages = JSON.parse(fs.readFileSync(file, "utf8")) as {
      "datacoll-rest": { label: Labels[string] };
    };
    out[path.basename(entry, ".json")] = messages["datacoll-rest"].label;
  }
  return out;
}

interface SubflowApi {
  registerSubflow(def: SubflowDefinition): void;
}

export = function register(RED: NodeAPI): void {
  (RED.nodes as unknown as SubflowApi).registerSubflow(
    subflowDefinition(helpText(), packageVersion(), labels()),
  );
};
