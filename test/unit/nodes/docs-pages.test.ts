/**
 * Each node's help has one source (nodes/<type>/help.md); the editor help and docs/nodes/<type>.md are
 * made from it by the build. This proves the committed docs pages are what the build makes today.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(__dirname, "../../..");

describe("docs pages", function () {
  it("docs/nodes/<type>.md matches the node's help.md for every node", async function () {
    const { docsPage } = (await import(path.join(root, "scripts/docs-page.mjs"))) as {
      docsPage: (type: string, help: string) => string;
    };
    const types = fs.readdirSync(path.join(root, "nodes")).filter((d) => d.startsWith("datacoll-"));
    assert.ok(types.length > 0);
    for (const type of types) {
      const help = fs.readFileSync(path.join(root, "nodes", type, "help.md"), "utf8");
      const page = fs.readFileSync(path.join(root, "docs", "nodes", `${type}.md`), "utf8");
      assert.equal(page, docsPage(type, help), `docs/nodes/${type}.md is stale: run npm run docs`);
    }
  });
});
