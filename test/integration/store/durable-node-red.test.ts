/**
 * The embedded store's registry in a real Node-RED process, through the REST API: it survives a Full
 * deploy (every node closed and made again), a graceful restart, and `kill -9` while writers stream
 * batches — after which the registry holds exactly the acknowledged writes (the one in flight at the
 * kill may or may not be there, whole). A second Node-RED on the same user directory is refused.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { NodeRedProcess } from "../../support/node-red-process";
import { freePort, until } from "../../support/net";
import { apiFlow, httpRequest, type Reply } from "../rest/http-flow";

const TAB = "dtab";
/** A point's history through the older API. */
const DATAS = "/api/v1/devices/fd1/terms/ft1/items/ua/datas";

/** One write of a writer: a batch of devices created, or one deleted. */
type Op = { readonly add: readonly string[] } | { readonly del: readonly string[] };

/** A manager on the embedded store, the API at /api (http in → datacoll-api → http response). */
function flows(): object[] {
  return apiFlow({ tab: TAB, manager: { name: "plant", namespace: "dur:" }, api: { maxBody: 1_000_000 } });
}

async function deviceIds(red: NodeRedProcess): Promise<string[]> {
  const r = await httpRequest(red.port, "GET", "/api/v1/devices");
  assert.equal(r.status, 200, r.text);
  return (r.json() as string[]).sort();
}

/** The API answers (the flows are started), or the wait fails naming the log's end. */
async function serving(red: NodeRedProcess): Promise<void> {
  await until(
    async () => {
      try {
        return (await httpRequest(red.port, "GET", "/api/v1/devices")).status === 200;
      } catch {
        return false;
      }
    },
    30_000,
    `the API of ${red.name}`,
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${red.output.slice(-3000)}`);
  });
}

function devices(ids: readonly string[]): object[] {
  return ids.map((id) => ({ id, name: `device ${id}`, protocol: "virtual" }));
}

async function post(red: NodeRedProcess, urlPath: string, body: unknown): Promise<Reply> {
  return httpRequest(red.port, "POST", urlPath, body);
}

/** The whole registry as the API shows it: every record of every kind, and each term's points. */
async function registryView(red: NodeRedProcess): Promise<Record<string, unknown>> {
  const view: Record<string, unknown> = {};
  for (const kind of ["devices", "terms", "items", "formulas"]) {
    const r = await httpRequest(red.port, "GET", `/api/v2/${kind}`);
    assert.equal(r.status, 200, r.text);
    view[kind] = (r.json() as { id: string }[]).sort((a, b) => a.id.localeCompare(b.id));
  }
  for (const term of view.terms as { id: string }[]) {
    const items = await httpRequest(red.port, "GET", `/api/v1/terms/${term.id}/items`);
    view[`points of ${term.id}`] = items.status === 200 ? (items.json() as string[]).sort() : items.status;
  }
  return view;
}

/** A small plant through the API: devices, a term, items and points on it. */
async function plant(red: NodeRedProcess): Promise<void> {
  const steps: [string, unknown][] = [
    ["/api/v2/devices", devices(["fd1", "fd2", "fd3"])],
    ["/api/v2/terms", [{ id: "ft1", deviceId: "fd1", address: 1 }]],
    [
      "/api/v2/items",
      [
        { id: "ua", unit: "V" },
        { id: "ia", unit: "A" },
      ],
    ],
    ["/api/v2/terms/ft1/items", [{ itemId: "ua" }, { itemId: "ia" }]],
  ];
  for (const [path, body] of steps) {
    const r = await post(red, path, body);
    assert.equal(r.status, 200, `${path}: ${r.text}`);
  }
}

describe("embedded store in a real Node-RED process", function () {
  this.timeout(120_000);
  let red: NodeRedProcess;

  before(async function () {
    red = new NodeRedProcess("durable", flows());
    await red.start();
    await serving(red);
  });

  after(async function () {
    await red.stop("SIGINT");
    red.dispose();
  });

  it("keeps the registry written over REST, and the samples, across a Full deploy", async function () {
    await plant(red);
    const before = await registryView(red);
    assert.deepEqual(await deviceIds(red), ["fd1", "fd2", "fd3"]);
    assert.deepEqual(before["points of ft1"], ["ia", "ua"]);
    for (const [value, time] of [
      [230, 1_700_000_000_000],
      [231, 1_700_000_001_000],
    ])
      assert.equal((await post(red, DATAS, { value, time })).status, 200);
    const history = await httpRequest(red.port, "GET", DATAS);
    assert.equal(Object.keys(history.json() as object).length, 2, history.text);
    await red.deploy("full");
    assert.match(red.output, /Stopping flows/, "a Full deploy stops every node first");
    await serving(red);
    assert.deepEqual(await registryView(red), before);
    // Memory-only samples go from the closed store to the new one of the same file.
    assert.deepEqual((await httpRequest(red.port, "GET", DATAS)).json(), history.json());
    // Stopping every node closed the store and starting them opened it again: it still takes writes.
    assert.equal((await post(red, "/api/v1/devices", devices(["fd4"])[0])).status, 200);
    assert.deepEqual(await deviceIds(red), ["fd1", "fd2", "fd3", "fd4"]);
  });

  it("drops the samples of a manager a deploy removed, and keeps the registry in its file", async function () {
    assert.equal(Object.keys((await httpRequest(red.port, "GET", DATAS)).json() as object).length, 2);
    // Deploy the tab without its nodes, then with them again: nothing of ours in between took the samples.
    const removed: Record<string, unknown>[] = [];
    await red.deploy("full", (f) => {
      removed.push(...f.filter((n) => n.z === TAB || (n.type === "datacoll-manager" && n.name === "plant")));
      return f.filter((n) => !removed.includes(n));
    });
    await red.deploy("full", (f) => [...f, ...removed]);
    await serving(red);
    assert.deepEqual((await httpRequest(red.port, "GET", DATAS)).json(), {});
    assert.deepEqual(await deviceIds(red), ["fd1", "fd2", "fd3", "fd4"]);
  });

  it("keeps it across a restart", async function () {
    const before = await registryView(red);
    assert.equal((before.devices as unknown[]).length, 4);
    await red.stop("SIGINT");
    await red.start();
    await serving(red);
    assert.deepEqual(await registryView(red), before);
  });

  it("holds exactly the acknowledged batches after kill -9 during a stream of writes", async function () {
    const WRITERS = 4;
    for (let round = 1; round <= 2; round++) {
      const start = await deviceIds(red);
      /** Per writer: the ids its acknowledged writes left, and the write in flight when the process died. */
      const acked = Array.from({ length: WRITERS }, () => new Set<string>());
      const inFlight: (Op | undefined)[] = [];
      let acks = 0;
      let killed = false;
      const writer = async (w: number): Promise<void> => {
        const mine = acked[w];
        for (let i = 0; !killed; i++) {
          // Batches of three devices, and now and then the delete of an earlier batch: each all or none.
          const del = i % 4 === 3 ? [...mine].slice(0, 3) : [];
          const op: Op =
            del.length > 0 ? { del } : { add: ["a", "b", "c"].map((s) => `k${round}w${w}n${i}${s}`) };
          inFlight[w] = op;
          let r: Reply;
          try {
            r =
              "del" in op
                ? await httpRequest(red.port, "DELETE", "/api/v2/devices", op.del)
                : await post(red, "/api/v2/devices", devices(op.add));
          } catch {
            return; // the process is gone: this write's fate is unknown
          }
          assert.equal(r.status, 200, r.text);
          if ("del" in op) for (const id of op.del) mine.delete(id);
          else for (const id of op.add) mine.add(id);
          inFlight[w] = undefined;
          acks++;
        }
      };
      const writing = Array.from({ length: WRITERS }, (_, w) => writer(w));
      await until(() => acks >= 40, 30_000, "40 acknowledged batches");
      const pid = red.pid;
      assert.ok(pid !== undefined);
      process.kill(pid, "SIGKILL");
      killed = true;
      await Promise.all(writing);
      await red.stop("SIGKILL");

      await red.start();
      await serving(red);
      const after = new Set(await deviceIds(red));
      for (const id of start) assert.ok(after.has(id), `round ${round}: ${id}, written before, is gone`);
      for (let w = 0; w < WRITERS; w++) {
        const prefix = `k${round}w${w}n`;
        const found = new Set([...after].filter((id) => id.startsWith(prefix)));
        const want = acked[w];
        const op = inFlight[w];
        const withOp = new Set(want);
        if (op && "add" in op) for (const id of op.add) withOp.add(id);
        if (op && "del" in op) for (const id of op.del) withOp.delete(id);
        const same = (a: Set<string>, b: Set<string>): boolean =>
          a.size === b.size && [...a].every((x) => b.has(x));
        assert.ok(
          same(found, want) || same(found, withOp),
          `round ${round}, writer ${w}: the registry holds ${[...found].sort().join(" ")}; acknowledged: ${[...want].sort().join(" ")}; in flight: ${JSON.stringify(op)}`,
        );
      }
    }
  });

  it("refuses a second Node-RED on the same user directory, and the first goes on", async function () {
    const port = await freePort();
    const nodeRed = path.dirname(require.resolve("node-red/package.json"));
    const second = spawn(
      process.execPath,
      [path.join(nodeRed, "red.js"), "--userDir", red.userDir, "--port", String(port), "flows.json"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let log = "";
    second.stdout.on("data", (d: Buffer) => (log += d.toString()));
    second.stderr.on("data", (d: Buffer) => (log += d.toString()));
    const closed = new Promise((resolve) => second.once("close", resolve));
    try {
      await until(() => /embedded store cannot be used/.test(log), 30_000, "the second instance's refusal");
      assert.match(log, /in use by another Node-RED process \(pid \d+\)/);
      const refused = await httpRequest(port, "GET", "/api/v1/devices");
      assert.equal(refused.status, 503, refused.text);
      assert.ok(!refused.text.includes(red.userDir), "no path in the answer");
    } finally {
      second.kill("SIGKILL");
      await closed;
    }
    assert.equal((await post(red, "/api/v1/devices", devices(["after-second"])[0])).status, 200);
    assert.ok((await deviceIds(red)).includes("after-second"));
  });
});
