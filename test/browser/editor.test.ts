/**
 * The Node-RED editor with our nodes, in Debian's Chromium: it loads without console errors, every node
 * type's dialog rejects a bad value and saves a good one, and every example imports valid, deploys and
 * turns green. Driven by package.json's node list and examples/*.json, so nodes and examples that land
 * later are covered (a node type without a row in DIALOGS fails, naming itself).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { Product, nodeTypes, root, waitFor, type FlowNode } from "./harness";
import {
  type EditorNode,
  addAndEdit,
  editorFlow,
  importFlow,
  invalidNodes,
  markField,
  markedInvalid,
  openEditor,
  savedValue,
  showFlowOf,
  statuses,
  typeInto,
  pressDone,
  closeTrays,
} from "./editor-page";
import { ConsoleWatch } from "./console-watch";
import { ptyPairForExample, type PtyPair } from "../support/pty-pair";
import { writeScreenshot } from "./screenshot";
import { createTestDatabase, type TestDatabase } from "../support-history/mysql";

/**
 * One property per node type: a value its dialog must mark invalid and one it must accept and save.
 * Good values differ from the defaults, so a dialog that saves nothing fails.
 */
const DIALOGS: Readonly<Record<string, { prop: string; bad: string; good: string }>> = {
  "datacoll-manager": { prop: "namespace", bad: "plant one", good: "plant1:" },
  "datacoll-modbus": { prop: "port", bad: "http", good: "5020" },
  "datacoll-iec104": { prop: "commonAddress", bad: "one", good: "7" },
  "datacoll-poll": { prop: "termId", bad: "meter 1", good: "meter1" },
  "datacoll-command": { prop: "address", bad: "XY12", good: "HR10:float32" },
  "datacoll-check": { prop: "high", bad: "hot", good: "80" },
  "datacoll-data": { prop: "pattern", bad: "a b", good: "sim:#" },
  "datacoll-formula": { prop: "interval", bad: "often", good: "5" },
  "datacoll-api": { prop: "basePath", bad: "no slash", good: "/plant" },
  "datacoll-rest": { prop: "MAX_BODY", bad: "lots", good: "2000" },
  "datacoll-modbus-server": { prop: "units", bad: "1,x", good: "1, 2" },
  "datacoll-iec104-server": { prop: "port", bad: "port", good: "2406" },
  "datacoll-mysql": { prop: "database", bad: "my db", good: "history" },
  "datacoll-save": { prop: "historyTable", bad: "1 table", good: "history_rows" },
  "datacoll-history": { prop: "step", bad: "often", good: "60000" },
};

/**
 * Further fields of a dialog checked the same way, where one rule deserves its own proof: the simulators'
 * idle timeout (issue #21), which for IEC 104 must be 0 or above t3 (20 s), and the ports' range.
 */
const MORE_FIELDS: Readonly<Record<string, readonly { prop: string; bad: string; good: string }[]>> = {
  "datacoll-modbus-server": [
    // A simulator may take any free port (0); a port is never above 65535.
    { prop: "port", bad: "70000", good: "0" },
    { prop: "idleTimeout", bad: "soon", good: "45" },
  ],
  "datacoll-iec104-server": [
    { prop: "idleTimeout", bad: "20", good: "21" },
    { prop: "idleTimeout", bad: "-1", good: "0" },
  ],
  // A device's port is 1 to 65535: the spinner's bounds do not stop typed text, so the field must.
  "datacoll-modbus": [
    { prop: "port", bad: "0", good: "65535" },
    { prop: "port", bad: "70000", good: "5020" },
  ],
  "datacoll-iec104": [{ prop: "port", bad: "70000", good: "2405" }],
  "datacoll-mysql": [{ prop: "port", bad: "0", good: "3307" }],
};

/**
 * Examples that need a server say in their comment to point a config node at it; the test does that with
 * the servers `npm run services` provides: MySQL at MYSQL_URL (root with no password on 127.0.0.1:3306
 * by default) in a database of this run's own, dropped afterwards; Redis at 127.0.0.1:6379 is what the
 * examples already name.
 */
const mysqlUrl = new URL(process.env.MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test");
function localServices(database: string): Readonly<Record<string, Readonly<Record<string, string>>>> {
  return {
    "datacoll-mysql": {
      host: mysqlUrl.hostname,
      port: mysqlUrl.port || "3306",
      database,
      user: decodeURIComponent(mysqlUrl.username || "root"),
    },
  };
}

/**
 * Node types that never show a status, each with the reason; their nodes must only show no error. A
 * subflow module's instance shows a status only when its subflow has a Status output, and datacoll-rest's
 * has none (its inner api node's status stays inside).
 */
const NO_STATUS: Readonly<Record<string, string>> = {
  "datacoll-rest": "subflow module instance without a status output",
};

/**
 * Statuses other than green that mean a node runs as it should, by type, with the reason. A check node's
 * dot is red while a present alarm waits for acknowledgement and yellow while alarms are present but
 * acknowledged or cleared but not acknowledged: it reports the plant, not a fault of its own (its faults
 * show other text).
 */
const RUNNING_NOT_GREEN: Readonly<Record<string, RegExp>> = {
  "datacoll-check": /^\d+ active (· \d+ to acknowledge )?· /,
};

/** Whether a node of `type` showing `status` runs as it should. */
function running(type: string, status: EditorNode["status"] | null | undefined): boolean {
  if (!status) return false;
  return status.fill === "green" || (RUNNING_NOT_GREEN[type]?.test(status.text ?? "") ?? false);
}

/** Node-RED's warnings about our node definitions that are known bugs, each to be removed with its fix. */
const KNOWN_DEFINITION_WARNINGS: readonly string[] = [];

/** The example whose editor view is the README's screenshot. */
const SCREENSHOT_EXAMPLE = "07-full-pipeline.json";

const examplesDir = path.join(root, "examples");
const examples = fs
  .readdirSync(examplesDir)
  .filter((f) => f.endsWith(".json"))
  .sort();

describe("browser: the Node-RED editor with our nodes", function () {
  this.timeout(30_000);
  const product = new Product();
  const watch = new ConsoleWatch();
  let page: Page | undefined;
  let db: TestDatabase | undefined;
  const current = (): Page => {
    assert.ok(page, "the editor page was not opened");
    return page;
  };
  const database = (): TestDatabase => {
    assert.ok(db, "the examples' MySQL database was not created");
    return db;
  };

  before(async function () {
    this.timeout(60_000);
    db = await createTestDatabase("dc_e2e");
    await product.start("editor");
    page = await product.newPage();
    watch.attach(page);
    await openEditor(page, product.url);
  });

  after(async function () {
    this.timeout(30_000);
    await product.stop();
    await db?.drop();
  });

  it("loads with no page errors or console errors", async function () {
    assert.deepEqual(watch.problems(), [], "the editor reported errors while loading");
    assert.doesNotMatch(product.output(), /\[error\]/, "Node-RED logged an error while starting");
  });

  it("registers every node type without a warning about its definition (but known bugs)", function () {
    const fresh = watch.definitionWarnings().filter((w) => !KNOWN_DEFINITION_WARNINGS.includes(w));
    assert.deepEqual(fresh, [], "Node-RED warned about node definitions");
  });

  describe("every node type's edit dialog", function () {
    afterEach(async function () {
      await closeTrays(current());
    });
    for (const type of nodeTypes) {
      it(`${type}: marks a bad value invalid, saves a good one`, async function () {
        const row = DIALOGS[type];
        assert.ok(row, `${type} has no row in DIALOGS (test/browser/editor.test.ts): add a property to test`);
        const p = current();
        const mark = watch.mark();
        const id = `e2e-${type}`;
        const ok = await addAndEdit(p, type, id);
        const field = await markField(p, row.prop);

        await typeInto(p, row.bad);
        await waitFor(`${type}.${row.prop} = ${JSON.stringify(row.bad)} marked invalid`, 5_000, async () =>
          (await markedInvalid(p, field)) ? true : undefined,
        );
        await typeInto(p, row.good);
        await waitFor(`${type}.${row.prop} = ${JSON.stringify(row.good)} accepted`, 5_000, async () =>
          (await markedInvalid(p, field)) ? undefined : true,
        );
        const more = MORE_FIELDS[type] ?? [];
        for (const extra of more) {
          const other = await markField(p, extra.prop);
          await typeInto(p, extra.bad);
          await waitFor(
            `${type}.${extra.prop} = ${JSON.stringify(extra.bad)} marked invalid`,
            5_000,
            async () => ((await markedInvalid(p, other)) ? true : undefined),
          );
          await typeInto(p, extra.good);
          await waitFor(`${type}.${extra.prop} = ${JSON.stringify(extra.good)} accepted`, 5_000, async () =>
            (await markedInvalid(p, other)) ? undefined : true,
          );
        }
        await pressDone(p, ok);
        assert.equal(
          String(await savedValue(p, id, row.prop)),
          row.good,
          `${type}.${row.prop} was not saved`,
        );
        for (const extra of more.slice(-1)) {
          assert.equal(
            String(await savedValue(p, id, extra.prop)),
            extra.good,
            `${type}.${extra.prop} was not saved`,
          );
        }
        assert.deepEqual(watch.problems(mark), [], `${type}'s dialog reported errors`);
      });
    }

    it("datacoll-formula: says under a row why it cannot compute, as it is typed", async function () {
      const p = current();
      const ok = await addAndEdit(p, "datacoll-formula", "e2e-formula-rows");
      await p.locator(".red-ui-tray .red-ui-editableList-addButton").first().click();
      const expression = p.locator(".node-input-formula-expression").first();
      const says = p.locator(".node-input-formula-check").first();
      const shown = async (): Promise<[string, boolean]> => [
        (await says.textContent()) ?? "",
        await expression.evaluate((e) => e.classList.contains("input-error")),
      ];
      await expression.fill("p1 +");
      await waitFor("the row's syntax error under it", 5_000, async () => {
        const [text, marked] = await shown();
        return /syntax error at column 5/.test(text) && marked ? true : undefined;
      });
      await expression.fill("1 + 2");
      await waitFor("the message gone once the row can compute", 5_000, async () => {
        const [text, marked] = await shown();
        return text === "" && !marked ? true : undefined;
      });
      await pressDone(p, ok);
    });
  });

  describe("every example", function () {
    let pty: PtyPair | undefined;
    afterEach(async function () {
      await pty?.close();
      pty = undefined;
    });

    it(`includes ${SCREENSHOT_EXAMPLE}, the editor screenshot's flow`, function () {
      assert.ok(examples.includes(SCREENSHOT_EXAMPLE), `examples/${SCREENSHOT_EXAMPLE} is missing`);
    });

    for (const file of examples) {
      it(`${file}: imports valid, deploys, and its nodes turn green with no error`, async function () {
        this.timeout(45_000);
        const p = current();
        // The serial example's pty pair, as its first comment tells a user to make it (at paths of its own).
        const example = await ptyPairForExample(
          JSON.parse(fs.readFileSync(path.join(examplesDir, file), "utf8")) as FlowNode[],
        );
        pty = example.pty;
        const flow = example.flow.map((n) => ({ ...n, ...localServices(database().name)[n.type] }));
        const ids = flow.map((n) => n.id);
        await product.deploy([]);
        await openEditor(p, product.url);
        const mark = watch.mark();

        await importFlow(p, flow);
        assert.deepEqual(await invalidNodes(p, ids), [], `${file}: the editor marks nodes invalid`);
        const deployed = await editorFlow(p);
        const logFrom = product.output().length;
        await product.deploy(deployed);
        await openEditor(p, product.url);

        const configTypes = await p.evaluate(
          (types) =>
            types.filter(
              (t) =>
                (
                  window as unknown as { RED: { nodes: { getType(t: string): { category?: string } } } }
                ).RED.nodes.getType(t)?.category === "config",
            ),
          nodeTypes,
        );
        const mustBeGreen = flow
          .filter(
            (n) => nodeTypes.includes(n.type) && !configTypes.includes(n.type) && !(n.type in NO_STATUS),
          )
          .map((n) => n.id);
        const typeOf = (id: string): string => flow.find((x) => x.id === id)?.type ?? "";
        const label = (id: string): string => {
          const n = flow.find((x) => x.id === id);
          return `${n?.type} "${String(n?.name ?? "")}" (${id})`;
        };
        const seen = await waitFor(
          `${file}: every node of ours green`,
          20_000,
          async () => {
            const s = await statuses(p, ids);
            return mustBeGreen.every((id) => running(typeOf(id), s[id])) ? s : undefined;
          },
          async () =>
            JSON.stringify(await statuses(p, ids), null, 1) + "\n" + product.output().slice(logFrom),
        );
        for (const id of ids) {
          const fill = seen[id]?.fill;
          assert.ok(
            (fill !== "red" && fill !== "yellow") || running(typeOf(id), seen[id]),
            `${file}: ${label(id)} shows ${JSON.stringify(seen[id])}`,
          );
        }
        const log = product.output().slice(logFrom);
        assert.doesNotMatch(log, /\[error\]/, `${file}: Node-RED logged an error`);
        assert.doesNotMatch(log, /\[warn\] \[/, `${file}: a node logged a warning`);
        assert.deepEqual(watch.problems(mark), [], `${file}: the editor reported errors`);

        if (file === SCREENSHOT_EXAMPLE) {
          // The demo runs on its simulators: data moves (no zero rate, no simulator without a client)
          // before the README's picture is taken.
          await waitFor(
            `${file}: data moving through the pipeline`,
            15_000,
            async () => {
              const texts = Object.values(await statuses(p, ids)).map((s) => s?.text ?? "");
              return texts.some((t) => /(^|\D)0\.0\/s|· 0 client/.test(t)) ? undefined : true;
            },
            async () => JSON.stringify(await statuses(p, ids), null, 1),
          );
          await showFlowOf(p, ids);
          await writeScreenshot(p, "editor-full-pipeline.png");
        }
      });
    }
  });

  describe("a flow saved by an earlier release", function () {
    it("opens with its settings upgraded, so the next deploy saves them at this release's version", async function () {
      const p = current();
      const file = path.join(root, "test/fixtures/flows/0.1.0-modbus-poll.json");
      const flow = JSON.parse(fs.readFileSync(file, "utf8")) as FlowNode[];
      await product.deploy([]);
      await openEditor(p, product.url);
      const mark = watch.mark();
      await importFlow(p, flow);
      const saved = (await editorFlow(p)) as FlowNode[];
      const of = (type: string): FlowNode | undefined => saved.find((n) => n.type === type);
      assert.equal(of("datacoll-modbus")?.version, 1, "datacoll-modbus was not upgraded");
      assert.equal(of("datacoll-modbus")?.transport, "tcp");
      assert.equal(of("datacoll-modbus")?.host, "127.0.0.1", "an upgrade changed a setting it does not own");
      assert.equal(of("datacoll-poll")?.version, 0, "a node without migrations saves version 0");
      assert.deepEqual(watch.problems(mark), [], "the editor reported errors while upgrading");
    });
  });
});
