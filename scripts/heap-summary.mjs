#!/usr/bin/env node
// What a V8 heap snapshot holds, by kind: the self size and count of its objects grouped by type and
// constructor (or function) name, largest first. With two snapshots, what the second holds more, and
// with `--per N`, divided by N (the points configured more, for bytes per point).
//
//   node scripts/heap-summary.mjs A.heapsnapshot [B.heapsnapshot --per 90000] [--top 40] [--shapes]
//
// The file is read as a stream: a snapshot of a heap of gigabytes is longer than the longest string
// JSON.parse takes. Self sizes, not retained sizes: what each kind of object costs where it is, which
// adds up to the heap; it tells what is held per point, not who holds it.
import fs from "node:fs";

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  args.splice(i, 2);
  return v;
};
const per = option("--per", 1);
const top = option("--top", 40);
// --shapes: plain objects (constructor Object) grouped by their first property names instead, to tell
// one kind of record from another.
const shapes = args.includes("--shapes");
if (shapes) args.splice(args.indexOf("--shapes"), 1);
if (args.length < 1 || args.length > 2) {
  console.error("usage: heap-summary.mjs A.heapsnapshot [B.heapsnapshot --per N] [--top K]");
  process.exit(2);
}

/** Groups of one snapshot: label → [count, bytes]. */
function summarize(file) {
  const fd = fs.openSync(file, "r");
  const buf = Buffer.alloc(1 << 22);
  let head = "";
  // The header (meta) ends where the nodes array begins.
  for (;;) {
    const n = fs.readSync(fd, buf, 0, buf.length, null);
    if (n === 0) throw new Error(`${file}: no "nodes" array`);
    head += buf.toString("latin1", 0, n);
    if (head.includes('"nodes":[')) break;
  }
  const at = head.indexOf('"nodes":[');
  const snapshot = JSON.parse(head.slice(0, at).replace(/,\s*$/, "") + "}").snapshot;
  const meta = snapshot.meta;
  const nodeFields = meta.node_fields.length;
  const [typeAt, nameAt, sizeAt, edgesAt] = ["type", "name", "self_size", "edge_count"].map((f) =>
    meta.node_fields.indexOf(f),
  );
  const types = meta.node_types[typeAt];
  const edgeFields = meta.edge_fields.length;
  const edgeTypeAt = meta.edge_fields.indexOf("type");
  const edgeNameAt = meta.edge_fields.indexOf("name_or_index");
  const propertyEdge = meta.edge_types[edgeTypeAt].indexOf("property");
  const objectType = types.indexOf("object");
  // Strings of every kind are one group each: their names are their text.
  const byText = new Set(["string", "concatenated string", "sliced string", "number", "bigint"]);

  const count = snapshot.node_count;
  const type = new Uint8Array(count);
  const name = new Int32Array(count);
  const size = new Float64Array(count);
  const edges = new Uint32Array(count);
  const sig = shapes ? new Array(count) : undefined;

  // The three number arrays, one after the other, fed to `take` one number at a time.
  let row = [];
  let index = 0;
  let edgeNode = 0;
  let edgesLeft = -1;
  let props = [];
  const takeNode = (v) => {
    row.push(v);
    if (row.length < nodeFields) return;
    type[index] = row[typeAt];
    name[index] = byText.has(types[row[typeAt]]) ? -1 : row[nameAt];
    size[index] = row[sizeAt];
    edges[index] = row[edgesAt];
    index++;
    row = [];
  };
  const takeEdge = (v) => {
    row.push(v);
    if (row.length < edgeFields) return;
    while (edgesLeft <= 0) {
      if (edgesLeft === 0 && sig !== undefined && type[edgeNode] === objectType)
        sig[edgeNode] = props.join(",");
      if (edgesLeft === 0) edgeNode++;
      edgesLeft = edges[edgeNode];
      props = [];
    }
    if (row[edgeTypeAt] === propertyEdge && props.length < 5) props.push(row[edgeNameAt]);
    edgesLeft--;
    row = [];
  };

  const wanted = new Set();
  const names = new Map();
  let stringIndex = 0;
  let pending = "";
  const feedStrings = (chunk) => {
    const text = pending + chunk;
    let i = 0;
    for (;;) {
      const q = text.indexOf('"', i);
      if (q < 0) {
        pending = "";
        return;
      }
      // The string's end: the next quote not escaped.
      let j = q + 1;
      for (;;) {
        j = text.indexOf('"', j);
        if (j < 0) {
          pending = text.slice(q);
          return;
        }
        let bs = 0;
        for (let k = j - 1; text.charCodeAt(k) === 92; k--) bs++;
        if (bs % 2 === 0) break;
        j++;
      }
      if (wanted.has(stringIndex)) names.set(stringIndex, JSON.parse(text.slice(q, j + 1)));
      stringIndex++;
      i = j + 1;
    }
  };

  // Phases: numbers of "nodes", then up to "edges":[, numbers of edges, then up to "strings":[, strings.
  const phases = [
    { numbers: takeNode },
    { find: '"edges":[' },
    { numbers: takeEdge },
    {
      find: '"strings":[',
      before: () => {
        for (let n = 0; n < count; n++) if (name[n] >= 0) wanted.add(name[n]);
        if (sig !== undefined)
          for (const x of sig) if (x) for (const i of x.split(",")) wanted.add(Number(i));
      },
    },
    { strings: true },
  ];
  let phase = 0;
  let num = 0;
  let inNum = false;
  let tail = "";
  let rest = Buffer.from(head.slice(at + '"nodes":['.length), "latin1");
  for (;;) {
    const p = phases[phase];
    if (p.numbers !== undefined) {
      let end = -1;
      for (let i = 0; i < rest.length; i++) {
        const c = rest[i];
        if (c >= 48 && c <= 57) {
          num = num * 10 + (c - 48);
          inNum = true;
        } else {
          if (inNum) p.numbers(num);
          num = 0;
          inNum = false;
          if (c === 93) {
            end = i + 1;
            break;
          }
        }
      }
      if (end >= 0) {
        phase++;
        rest = rest.subarray(end);
        tail = "";
        continue;
      }
    } else if (p.find !== undefined) {
      const t = tail + rest.toString("latin1");
      const s = t.indexOf(p.find);
      if (s >= 0) {
        p.before?.();
        phase++;
        rest = Buffer.from(t.slice(s + p.find.length), "latin1");
        continue;
      }
      tail = t.slice(-16);
    } else {
      feedStrings(rest.toString("utf8"));
    }
    const n = fs.readSync(fd, buf, 0, buf.length, null);
    if (n === 0) break;
    rest = buf.subarray(0, n);
  }
  fs.closeSync(fd);
  if (sig !== undefined && edgesLeft === 0 && type[edgeNode] === objectType) sig[edgeNode] = props.join(",");

  const out = new Map();
  for (let n = 0; n < count; n++) {
    const t = types[type[n]];
    let label = name[n] < 0 ? t : `${t} ${String(names.get(name[n]) ?? "?").slice(0, 60)}`;
    if (sig !== undefined && label === "object Object")
      label += ` {${(sig[n] ?? "")
        .split(",")
        .filter(Boolean)
        .map((i) => names.get(Number(i)))
        .join(", ")}}`;
    const g = out.get(label) ?? [0, 0];
    g[0] += 1;
    g[1] += size[n];
    out.set(label, g);
  }
  return out;
}

const a = summarize(args[0]);
const total = (m) => [...m.values()].reduce((s, [, b]) => s + b, 0);
let rows;
if (args.length === 1) {
  rows = [...a].map(([label, [count, bytes]]) => [label, count, bytes]);
  console.log(`${args[0]}: ${(total(a) / 1048576).toFixed(1)} MB in the heap`);
} else {
  const b = summarize(args[1]);
  const labels = new Set([...a.keys(), ...b.keys()]);
  rows = [...labels].map((l) => {
    const [ca, ba] = a.get(l) ?? [0, 0];
    const [cb, bb] = b.get(l) ?? [0, 0];
    return [l, (cb - ca) / per, (bb - ba) / per];
  });
  console.log(
    `${args[1]} − ${args[0]}: ${((total(b) - total(a)) / per).toFixed(0)} bytes` +
      (per === 1 ? "" : ` per one of ${per}`),
  );
}
rows.sort((x, y) => y[2] - x[2]);
for (const [label, count, bytes] of rows.slice(0, top))
  console.log(
    `${bytes.toFixed(per === 1 ? 0 : 1).padStart(14)}  ${count.toFixed(per === 1 ? 0 : 2).padStart(12)}  ${label}`,
  );
