// `npm run lint` runs this: the layer rule of docs/architecture.md §3 as a check, so an import that runs
// up a layer or closes a cycle fails the lint instead of waiting for a reviewer to notice. It reads every
// .ts file under src/ and nodes/ with the TypeScript parser the project already has (so imports inside
// comments or strings are never counted), resolves the relative ones, and applies the rules below.
// `node scripts/check-imports.mjs [--root DIR] [--verbose]` checks another tree (the unit test uses a temporary
// one); --verbose lists every import behind a warning.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/**
 * Rules whose findings only warn, for a rule being introduced while code still breaks it. Empty: every
 * rule fails the lint. Put a new rule here only with the issue that removes its last finding.
 */
const WARN_ONLY = new Set();

/** The layers, lowest first (docs/architecture.md §3). A file may import its own rank or a lower one. */
const LAYER_NAMES = { 1: "codec", 2: "session", 3: "transport", 4: "core", 5: "nodes" };

/** Folders under src/protocols that are shared by every protocol rather than one protocol's home. */
const SHARED_PROTOCOL_FOLDERS = new Set(["framing"]);

/** `rel` is a path relative to the root with forward slashes; undefined means "in no layer". */
export function rankOf(rel) {
  const parts = rel.split("/");
  if (parts[0] === "nodes") return 5;
  if (parts[0] !== "src") return undefined;
  if (parts[1] === "core") return 4;
  if (parts[1] === "transport") return 3;
  if (parts[1] === "protocols") {
    // The shared frame assembler and every protocol's codec are pure functions over bytes.
    if (SHARED_PROTOCOL_FOLDERS.has(parts[2])) return 1;
    // Files directly in src/protocols (clock.ts, options.ts) are what every wire layer and the transport
    // share: an interface and pure checks, importing nothing above them.
    if (parts.length === 3) return 1;
    if (parts[3] === "codec") return 1;
    // A protocol's session and any other file of its wire layer (src/protocols/modbus/server.ts, the
    // server's state machine) are state machines without sockets or timers: they may use codecs, and
    // the transport drives them by shape, never by import.
    if (parts.length > 3) return 2;
  }
  return undefined;
}

function protocolNames(root) {
  const dir = path.join(root, "src", "protocols");
  if (!fs.existsSync(dir)) return new Set();
  return new Set(
    fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && !SHARED_PROTOCOL_FOLDERS.has(d.name))
      .map((d) => d.name),
  );
}

/**
 * The protocol a file belongs to: its folder under src/protocols or src/core, or, for the runtime files not
 * yet moved to src/core/<protocol>/, the `<protocol>-` prefix of its name in src/core/runtime.
 */
function protocolOf(rel, protocols) {
  const parts = rel.split("/");
  if (parts[0] !== "src") return undefined;
  if ((parts[1] === "protocols" || parts[1] === "core") && protocols.has(parts[2])) return parts[2];
  if (parts[1] === "core" && parts[2] === "runtime" && parts.length === 4) {
    const prefix = parts[3].split("-")[0];
    if (protocols.has(prefix)) return prefix;
  }
  return undefined;
}

function listTs(root, top) {
  const out = [];
  const walk = (dir) => {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) out.push(full);
    }
  };
  walk(path.join(root, top));
  return out;
}

/** Every module specifier a file names: static imports and re-exports, `import()`, `require()`, `import("x")` types. */
export function specifiersOf(fileName, text) {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found = [];
  const add = (node, literal) => {
    if (literal && ts.isStringLiteralLike(literal)) {
      const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
      found.push({ spec: literal.text, line });
    }
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node, node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression);
    } else if (ts.isCallExpression(node) && node.arguments.length >= 1) {
      const callee = node.expression;
      const isImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(callee) && callee.text === "require";
      if (isImport || isRequire) add(node, node.arguments[0]);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node, node.argument.literal);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The file a relative specifier names, as TypeScript's node resolution would find it, or undefined. */
function resolveRelative(fromFile, spec) {
  const base = path.resolve(path.dirname(fromFile), spec);
  const candidates = [base + ".ts", path.join(base, "index.ts")];
  if (/\.[cm]?js$/.test(base)) candidates.unshift(base.replace(/\.([cm]?)js$/, ".$1ts"));
  for (const c of candidates) if (fs.existsSync(c) && fs.statSync(c).isFile()) return { file: c };
  // A JSON file, an HTML template or the like: real, but outside the layered TypeScript graph.
  if (fs.existsSync(base) && fs.statSync(base).isFile()) return { file: base, other: true };
  return undefined;
}

const isNodeRed = (spec) =>
  spec === "node-red" || spec.startsWith("node-red/") || spec.startsWith("@node-red/");

/** Strongly connected components of more than one file (or a file importing itself), each as one cycle path. */
function findCycles(graph) {
  let counter = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const components = [];
  // Iterative Tarjan: the import graph is shallow, but recursion depth should not depend on the code base.
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work = [{ node: start, edges: [...(graph.get(start) ?? [])], i: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      if (frame.i < frame.edges.length) {
        const next = frame.edges[frame.i++];
        if (!index.has(next)) {
          index.set(next, counter);
          low.set(next, counter++);
          stack.push(next);
          onStack.add(next);
          work.push({ node: next, edges: [...(graph.get(next) ?? [])], i: 0 });
        } else if (onStack.has(next)) {
          low.set(frame.node, Math.min(low.get(frame.node), index.get(next)));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].node;
        low.set(parent, Math.min(low.get(parent), low.get(frame.node)));
      }
      if (low.get(frame.node) === index.get(frame.node)) {
        const members = [];
        let m;
        do {
          m = stack.pop();
          onStack.delete(m);
          members.push(m);
        } while (m !== frame.node);
        const selfLoop = members.length === 1 && (graph.get(members[0]) ?? new Set()).has(members[0]);
        if (members.length > 1 || selfLoop) components.push(new Set(members));
      }
    }
  }
  // One concrete cycle per component, from its first file in sorted order, for a readable message.
  return components.map((members) => {
    const first = [...members].sort()[0];
    const pathTo = new Map([[first, [first]]]);
    const queue = [first];
    while (queue.length > 0) {
      const node = queue.shift();
      for (const next of [...(graph.get(node) ?? [])].sort()) {
        if (!members.has(next)) continue;
        if (next === first) return { files: [...pathTo.get(node), first], size: members.size };
        if (!pathTo.has(next)) {
          pathTo.set(next, [...pathTo.get(node), next]);
          queue.push(next);
        }
      }
    }
    return { files: [first, first], size: members.size };
  });
}

/**
 * Check the tree at `root`. Returns the findings; each says file, line, import, rule and why, and
 * `level` is "error" or "warning".
 */
export function checkImports(root) {
  const rel = (file) => path.relative(root, file).split(path.sep).join("/");
  const protocols = protocolNames(root);
  const files = [...listTs(root, "src"), ...listTs(root, "nodes")];
  const findings = [];
  const graph = new Map();
  let imports = 0;
  const report = (rule, from, line, spec, message) =>
    findings.push({
      level: WARN_ONLY.has(rule) ? "warning" : "error",
      rule,
      file: from,
      line,
      spec,
      message,
    });

  for (const file of files) {
    const from = rel(file);
    const fromRank = rankOf(from);
    const edges = new Set();
    graph.set(from, edges);
    if (fromRank === undefined) {
      report(
        "layer",
        from,
        1,
        "",
        "this file is in no layer; give its folder a rank in scripts/check-imports.mjs",
      );
    }
    for (const { spec, line } of specifiersOf(file, fs.readFileSync(file, "utf8"))) {
      imports++;
      if (!spec.startsWith(".")) {
        if (from.startsWith("src/") && isNodeRed(spec)) {
          report(
            "no-node-red",
            from,
            line,
            spec,
            "nothing under src/ may import Node-RED; only nodes/ adapts to it",
          );
        }
        continue;
      }
      const resolved = resolveRelative(file, spec);
      if (!resolved) {
        report("resolve", from, line, spec, "the import names no file");
        continue;
      }
      if (resolved.other) continue;
      const to = rel(resolved.file);
      edges.add(to);
      const toRank = rankOf(to);
      if (fromRank === undefined) continue;
      const fromParts = from.split("/");
      const toParts = to.split("/");
      if (fromParts[1] === "protocols" && toParts[0] === "src" && toParts[1] === "core") {
        report(
          "protocol-pure",
          from,
          line,
          `${spec} (${to})`,
          "a protocol's wire layer may not import src/core",
        );
      } else if (toRank === undefined) {
        report("layer", from, line, `${spec} (${to})`, "the import leaves src/ and nodes/");
      } else if (toRank > fromRank) {
        report(
          "layer",
          from,
          line,
          `${spec} (${to})`,
          `${LAYER_NAMES[fromRank]} (rank ${fromRank}) may not import ${LAYER_NAMES[toRank]} (rank ${toRank})`,
        );
      }
      const runtimeImportsProtocol =
        from.startsWith("src/core/runtime/") && toParts[1] === "core" && protocols.has(toParts[2]);
      if (runtimeImportsProtocol) {
        report(
          "runtime-neutral",
          from,
          line,
          `${spec} (${to})`,
          `src/core/runtime is protocol-neutral; src/core/${toParts[2]} plugs into it, not the other way round`,
        );
      }
      const fromProtocol = protocolOf(from, protocols);
      const toProtocol = protocolOf(to, protocols);
      if (fromProtocol && toProtocol && fromProtocol !== toProtocol) {
        report(
          "protocol-independent",
          from,
          line,
          `${spec} (${to})`,
          `${fromProtocol} code may not use ${toProtocol} code; what both need belongs in a protocol-neutral module`,
        );
      }
    }
  }
  for (const cycle of findCycles(graph)) {
    findings.push({
      level: "error",
      rule: "no-cycle",
      file: cycle.files[0],
      line: 0,
      spec: "",
      message: `import cycle through ${cycle.size} file(s): ${cycle.files.join(" -> ")}`,
    });
  }
  return { files: files.length, imports, findings };
}

function main() {
  const args = process.argv.slice(2);
  const at = args.indexOf("--root");
  const root =
    at >= 0 ? path.resolve(args[at + 1]) : path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  const { files, imports, findings } = checkImports(root);
  const errors = findings.filter((f) => f.level === "error");
  const warnings = findings.filter((f) => f.level === "warning");
  const line = (f) => {
    const where = f.line > 0 ? `${f.file}:${f.line}` : f.file;
    const arrow = f.spec ? ` -> ${f.spec}` : "";
    return `${f.level} [${f.rule}] ${where}${arrow}: ${f.message}`;
  };
  for (const f of errors) console.error(line(f));
  // Warn-only findings are known and being worked on: one line per file keeps the lint output readable;
  // --verbose lists each import.
  if (args.includes("--verbose")) for (const f of warnings) console.error(line(f));
  else {
    const perFile = new Map();
    for (const w of warnings)
      perFile.set(`${w.rule}\t${w.file}`, (perFile.get(`${w.rule}\t${w.file}`) ?? 0) + 1);
    for (const [key, n] of perFile) {
      const [rule, file] = key.split("\t");
      console.error(`warning [${rule}] ${file}: ${n} import(s) (--verbose lists them)`);
    }
  }
  const byRule = new Map();
  for (const w of warnings) byRule.set(w.rule, (byRule.get(w.rule) ?? 0) + 1);
  const warned = [...byRule].map(([rule, n]) => `${n} ${rule} warning(s)`).join(", ");
  console.log(
    `check-imports: ${files} files, ${imports} imports, ${errors.length} error(s)` +
      (warned ? `, ${warned} (warn-only until the moves of issue #24 land)` : "") +
      " — rules in docs/architecture.md §3",
  );
  process.exit(errors.length > 0 ? 1 : 0);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
