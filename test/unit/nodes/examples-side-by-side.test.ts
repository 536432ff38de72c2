/**
 * Users import an example into the Node-RED that `npm start` runs (the demo, example 07). A REST API
 * that finds its manager by namespace answers 503 when two managers share that namespace, so each
 * example's manager has a namespace of its own: importing one must not take the demo's API down.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { readExample } from "../../support/example-file";

describe("examples side by side", function () {
  it("gives every example's manager a namespace no other example uses", function () {
    const files = fs
      .readdirSync(path.resolve(__dirname, "../../../examples"))
      .filter((f) => f.endsWith(".json"));
    assert.ok(files.length >= 12, `examples: ${files.length}`);
    const owners = new Map<string, string[]>();
    for (const file of files)
      for (const n of readExample(file))
        if (n.type === "datacoll-manager") {
          const ns = `${String(n.store)} ${String(n.namespace)}`;
          owners.set(ns, [...(owners.get(ns) ?? []), file]);
        }
    const shared = [...owners].filter(([, fs]) => fs.length > 1).map(([ns, fs]) => `${ns}: ${fs.join(", ")}`);
    assert.deepEqual(shared, [], "namespaces used by more than one example");
    assert.ok(owners.has("embedded dc:"), "the demo keeps the default namespace the README's curl calls use");
  });
});
