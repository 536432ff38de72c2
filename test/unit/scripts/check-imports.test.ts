/**
 * The layer rule that `npm run lint` enforces (scripts/check-imports.mjs, docs/architecture.md §3), run
 * over small trees written for each case: a clean tree passes, and each kind of wrong import fails with a
 * message naming the file, the import and the rule.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const root = path.resolve(__dirname, "../../..");
const script = path.join(root, "scripts/check-imports.mjs");

interface Finding {
  readonly level: "error" | "warning";
  readonly rule: string;
  readonly file: string;
  readonly line: number;
  readonly spec: string;
  readonly message: string;
}
type CheckImports = (root: string) => { files: number; imports: number; findings: Finding[] };

/** A tree every rule accepts: each layer imports the one below, nodes import Node-RED. */
const CLEAN: Readonly<Record<string, string>> = {
  "src/protocols/framing/assembler.ts": "export const assemble = 1;\n",
  "src/protocols/demo/codec/frame.ts":
    'import { assemble } from "../../framing/assembler";\nexport const f = assemble;\n',
  "src/protocols/demo/session/link.ts": 'import { f } from "../codec/frame";\nexport const link = f;\n',
  "src/protocols/demo/server.ts": 'import { link } from "./session/link";\nexport const server = link;\n',
  "src/transport/connection.ts": "export const connect = 1;\n",
  "src/core/runtime/runner.ts":
    'import { connect } from "../../transport/connection";\nexport const run = connect;\n',
  "src/core/demo/driver.ts": [
    'import { link } from "../../protocols/demo/session/link";',
    'import { run } from "../runtime/runner";',
    "export const driver = [link, run];",
    "",
  ].join("\n"),
  "nodes/demo/demo.ts": [
    'import type { NodeAPI } from "node-red";',
    'import { driver } from "../../src/core/demo/driver";',
    "export const api: NodeAPI | undefined = undefined;",
    "export const d = driver;",
    "",
  ].join("\n"),
};

describe("check-imports (the layer rule of npm run lint)", function () {
  let checkImports: CheckImports;
  const dirs: string[] = [];

  before(async function () {
    ({ checkImports } = (await import(script)) as { checkImports: CheckImports });
  });

  after(function () {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The clean tree with `changes` written over it (a null content removes the file). */
  function tree(changes: Readonly<Record<string, string | null>> = {}): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "check-imports-"));
    dirs.push(dir);
    for (const [file, text] of Object.entries({ ...CLEAN, ...changes })) {
      if (text === null) continue;
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), text);
    }
    return dir;
  }

  const errorsOf = (dir: string): Finding[] => checkImports(dir).findings.filter((f) => f.level === "error");

  function run(dir: string): { status: number | null; stdout: string; stderr: string } {
    const res = spawnSync(process.execPath, [script, "--root", dir], { encoding: "utf8" });
    return { status: res.status, stdout: res.stdout, stderr: res.stderr };
  }

  it("passes a tree whose imports all point down, with exit code 0", function () {
    const dir = tree();
    const result = checkImports(dir);
    assert.deepEqual(result.findings, []);
    assert.equal(result.files, Object.keys(CLEAN).length);
    const res = run(dir);
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /0 error\(s\)/);
  });

  it("fails an import up a layer, naming the file, the import and the layers", function () {
    const dir = tree({
      "src/protocols/demo/codec/frame.ts":
        'import { link } from "../session/link";\nexport const f = link;\n',
      "src/protocols/demo/session/link.ts": "export const link = 1;\n",
    });
    const errors = errorsOf(dir);
    assert.equal(errors.length, 1);
    assert.equal(errors[0].rule, "layer");
    assert.equal(errors[0].file, "src/protocols/demo/codec/frame.ts");
    assert.equal(errors[0].line, 1);
    assert.equal(errors[0].spec, "../session/link (src/protocols/demo/session/link.ts)");
    assert.match(errors[0].message, /codec \(rank 1\) may not import session \(rank 2\)/);
    const res = run(dir);
    assert.equal(res.status, 1);
    assert.match(
      res.stderr,
      /error \[layer\] src\/protocols\/demo\/codec\/frame\.ts:1 -> \.\.\/session\/link .*may not import/,
    );
  });

  it("fails an import cycle and lists the files around it", function () {
    const dir = tree({
      "src/core/a.ts": 'import { b } from "./b";\nexport const a = () => b;\n',
      "src/core/b.ts": 'import { c } from "./c";\nexport const b = () => c;\n',
      "src/core/c.ts": 'export const c = async () => (await import("./a")).a;\n',
    });
    const errors = errorsOf(dir);
    assert.deepEqual(
      errors.map((f) => [f.rule, f.message]),
      [
        [
          "no-cycle",
          "import cycle through 3 file(s): src/core/a.ts -> src/core/b.ts -> src/core/c.ts -> src/core/a.ts",
        ],
      ],
    );
    assert.equal(run(dir).status, 1);
  });

  it("fails Node-RED imported under src/, also through require()", function () {
    const dir = tree({
      "src/core/uses-red.ts": 'import type { Node } from "@node-red/registry";\nexport type N = Node;\n',
      "src/core/requires-red.ts": 'export const red: unknown = require("node-red");\n',
    });
    const errors = errorsOf(dir);
    assert.deepEqual(errors.map((f) => [f.rule, f.file, f.spec]).sort(), [
      ["no-node-red", "src/core/requires-red.ts", "node-red"],
      ["no-node-red", "src/core/uses-red.ts", "@node-red/registry"],
    ]);
  });

  it("fails a protocol's wire layer importing src/core", function () {
    const dir = tree({
      "src/protocols/demo/session/link.ts":
        'import type { Run } from "../../../core/run";\nexport const link: Run = 1;\n',
      "src/core/run.ts": "export type Run = number;\n",
    });
    const errors = errorsOf(dir);
    assert.deepEqual(
      errors.map((f) => [f.rule, f.file]),
      [["protocol-pure", "src/protocols/demo/session/link.ts"]],
    );
  });

  it("fails src/core/runtime importing a protocol's core folder", function () {
    const dir = tree({
      "src/core/runtime/runner.ts": 'import { driver } from "../demo/driver";\nexport const run = driver;\n',
      "src/core/demo/driver.ts":
        'import { link } from "../../protocols/demo/session/link";\nexport const driver = link;\n',
    });
    const findings = checkImports(dir).findings;
    assert.deepEqual(
      findings.map((f) => [f.level, f.rule, f.file]),
      [["error", "runtime-neutral", "src/core/runtime/runner.ts"]],
    );
    const res = run(dir);
    assert.equal(res.status, 1, res.stdout);
    assert.match(res.stderr, /runtime-neutral/);
  });

  it("fails one protocol's code using another's", function () {
    const dir = tree({
      "src/protocols/other/codec/frame.ts": "export const frame = 2;\n",
      "src/core/other/term.ts": 'import { driver } from "../demo/driver";\nexport const term = driver;\n',
    });
    assert.deepEqual(
      checkImports(dir).findings.map((f) => [f.level, f.rule, f.file, f.spec]),
      [
        [
          "error",
          "protocol-independent",
          "src/core/other/term.ts",
          "../demo/driver (src/core/demo/driver.ts)",
        ],
      ],
    );
  });

  it("does not count an import written in a comment or a string", function () {
    const dir = tree({
      "src/protocols/demo/codec/frame.ts": [
        '// import { link } from "../session/link";',
        "export const text = 'import { link } from \"../session/link\"';",
        "",
      ].join("\n"),
    });
    assert.deepEqual(checkImports(dir).findings, []);
  });

  it("fails a file in no layer and an import that names no file", function () {
    const dir = tree({
      "src/misc/odd.ts": "export const odd = 1;\n",
      "src/core/missing.ts": 'export { nothing } from "./not-there";\n',
    });
    const errors = errorsOf(dir);
    assert.deepEqual(errors.map((f) => [f.rule, f.file]).sort(), [
      ["layer", "src/misc/odd.ts"],
      ["resolve", "src/core/missing.ts"],
    ]);
  });
});
