// `npm run docs`: write docs/nodes/<type>.md from each node's help.md (the editor help's source too).
// A unit test fails when a committed page differs from what this writes.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { docsPage } from "./docs-page.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dir = path.join(root, "docs", "nodes");
fs.mkdirSync(dir, { recursive: true });
const types = fs.readdirSync(path.join(root, "nodes")).filter((d) => d.startsWith("datacoll-"));
for (const type of types) {
  const help = fs.readFileSync(path.join(root, "nodes", type, "help.md"), "utf8");
  fs.writeFileSync(path.join(dir, `${type}.md`), docsPage(type, help));
}
console.log(`docs: ${types.length} node page(s) in docs/nodes/`);
