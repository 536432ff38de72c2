/**
 * What the tests do inside Node-RED's editor page. The editor's `RED` object has no published types; the
 * few members used here are declared below, and everything crosses the page boundary as plain JSON.
 */
import type { Page } from "playwright-core";
import { nodeTypes, waitFor, type FlowNode } from "./harness";

/** The part of the editor's global `RED` these tests call. */
export interface EditorNode {
  readonly id: string;
  readonly type: string;
  readonly z?: string;
  readonly valid?: boolean;
  readonly validationErrors?: readonly string[];
  readonly status?: { readonly fill?: string; readonly shape?: string; readonly text?: string };
  readonly env?: readonly { readonly name: string; readonly value: unknown }[];
  readonly [prop: string]: unknown;
}
export interface EditorRED {
  nodes: {
    getType(type: string): { category?: string } | undefined;
    node(id: string): EditorNode | undefined;
    eachNode(cb: (n: EditorNode) => void): void;
    eachConfig(cb: (n: EditorNode) => void): void;
    createCompleteNodeSet(exportCredentials: boolean): unknown[];
  };
  view: { importNodes(nodes: readonly unknown[], options: Record<string, unknown>): void };
  workspaces: { active(): string | undefined; show(id: string): void };
  editor: {
    edit(node: EditorNode): void;
    editConfig(name: string, type: string, id: string): void;
  };
}
type WithRED = { RED?: EditorRED };

/** Open the editor and wait until it has loaded our node types and shows a workspace. */
export async function openEditor(page: Page, url: string): Promise<void> {
  await page.goto(`${url}/`);
  const missing = (): Promise<string[]> =>
    page.evaluate((types) => {
      const RED = (window as unknown as WithRED).RED;
      if (RED?.nodes?.getType === undefined) return ["the RED object"];
      return [
        ...types.filter((t) => RED.nodes.getType(t) === undefined).map((t) => `node type ${t}`),
        ...(RED.workspaces.active() ? [] : ["an active workspace"]),
        ...(document.querySelector("#red-ui-workspace-chart svg") ? [] : ["the workspace drawing"]),
      ];
    }, nodeTypes);
  let last: string[] = [];
  await waitFor(
    "the editor loading",
    30_000,
    async () => {
      last = await missing();
      return last.length === 0 ? true : undefined;
    },
    () => `still missing: ${last.join(", ")}`,
  );
}

/** Import a flow as Import > Examples does (same ids, into the active flow when nodes have no `z`). */
export async function importFlow(page: Page, flow: readonly FlowNode[]): Promise<void> {
  await page.evaluate((nodes) => {
    const RED = (window as unknown as WithRED).RED;
    if (!RED) throw new Error("the editor is not loaded");
    RED.view.importNodes(nodes, { generateIds: false, addFlow: false });
  }, flow);
}

/** The nodes the editor marks invalid (a red triangle), as "id type: errors". */
export async function invalidNodes(page: Page, ids: readonly string[]): Promise<string[]> {
  return page.evaluate((wanted) => {
    const RED = (window as unknown as WithRED).RED;
    if (!RED) throw new Error("the editor is not loaded");
    // No named inner functions: the page gets this function's source, without tsx's name helper.
    const all: EditorNode[] = [];
    RED.nodes.eachNode((n) => void all.push(n));
    RED.nodes.eachConfig((n) => void all.push(n));
    const out = all
      .filter((n) => wanted.includes(n.id) && n.valid === false)
      .map((n) => `${n.id} ${n.type}: ${(n.validationErrors ?? []).join(", ")}`);
    return out;
  }, ids);
}

/** Everything in the editor, as its Deploy button would send it. */
export async function editorFlow(page: Page): Promise<unknown[]> {
  return page.evaluate(() => {
    const RED = (window as unknown as WithRED).RED;
    if (!RED) throw new Error("the editor is not loaded");
    return RED.nodes.createCompleteNodeSet(false);
  });
}

/** The status each node shows under it now (none: undefined), by id. */
export async function statuses(
  page: Page,
  ids: readonly string[],
): Promise<Record<string, EditorNode["status"] | null>> {
  return page.evaluate((wanted) => {
    const RED = (window as unknown as WithRED).RED;
    if (!RED) throw new Error("the editor is not loaded");
    const out: Record<string, EditorNode["status"] | null> = {};
    for (const id of wanted) {
      const n = RED.nodes.node(id);
      out[id] = n?.status && n.status.fill !== undefined ? n.status : null;
    }
    return out;
  }, ids);
}

/**
 * Press Done until the tray closes: on a loaded machine the editor can still be validating the last
 * keystroke when the first click lands, and swallow it. A dialog that will not close fails after 10 s.
 */
export async function pressDone(page: Page, ok: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if ((await page.locator(".red-ui-tray").count()) === 0) return;
    if (Date.now() > deadline) throw new Error("the edit dialog did not close on Done within 10000 ms");
    await page.click(ok).catch(() => undefined);
    await page.waitForTimeout(500);
  }
}

/** Close whatever dialog a failed step left open, so the next test starts from the canvas. */
export async function closeTrays(page: Page): Promise<void> {
  for (let i = 0; i < 5 && (await page.locator(".red-ui-tray").count()) > 0; i++) {
    await page.keyboard.press("Escape").catch(() => undefined);
    await page.click("#node-dialog-cancel, #node-config-dialog-cancel").catch(() => undefined);
    await page.waitForTimeout(200);
  }
}

/**
 * Add a node of `type` with its defaults (as a drag from the palette does; config nodes as the "add new"
 * of a config field does) and open its edit dialog. Returns the id of its Done button.
 */
export async function addAndEdit(page: Page, type: string, id: string): Promise<string> {
  const config = await page.evaluate(
    ({ type, id }) => {
      const RED = (window as unknown as WithRED).RED;
      if (!RED) throw new Error("the editor is not loaded");
      const isConfig = RED.nodes.getType(type)?.category === "config";
      const node = isConfig ? { id, type } : { id, type, x: 300, y: 200, z: RED.workspaces.active() };
      RED.view.importNodes([node], { generateIds: false, applyNodeDefaults: true });
      const added = RED.nodes.node(id);
      if (!added) throw new Error(`${type}: the editor did not add the node`);
      if (isConfig) RED.editor.editConfig("", type, id);
      else RED.editor.edit(added);
      return isConfig;
    },
    { type, id },
  );
  const ok = config ? "#node-config-dialog-ok" : "#node-dialog-ok";
  await page.locator(ok).waitFor({ state: "visible", timeout: 10_000 });
  return ok;
}

/**
 * The input for node property `prop` in the open dialog, whatever kind of node it is (a flow node's
 * `node-input-`, a config node's `node-config-input-`, a subflow module's env `node-input-subflow-env-`).
 * The visible input gets `data-e2e="field"`; returns the id of the property's own element.
 */
export async function markField(page: Page, prop: string): Promise<string> {
  // The form is filled in after the tray opens (a node's messages may load first).
  const ids = [`node-input-${prop}`, `node-config-input-${prop}`, `node-input-subflow-env-${prop}`];
  await waitFor(
    `the dialog's input for "${prop}"`,
    5_000,
    async () => ((await page.locator(ids.map((id) => `#${id}`).join(", ")).count()) > 0 ? true : undefined),
    async () =>
      `inputs in the dialog: ${(await page.locator(".red-ui-tray input[id]").evaluateAll((els) => els.map((e) => e.id))).join(", ")}`,
  );
  return page.evaluate((prop) => {
    const el = [`node-input-${prop}`, `node-config-input-${prop}`, `node-input-subflow-env-${prop}`]
      .map((id) => document.getElementById(id))
      .find((e): e is HTMLElement => e !== null);
    if (!el) throw new Error(`the dialog has no input for "${prop}"`);
    document.querySelectorAll("[data-e2e]").forEach((e) => e.removeAttribute("data-e2e"));
    // A typedInput hides the original input and shows one of its own in a container beside it.
    const typed = el.classList.contains("red-ui-typedInput")
      ? el.parentElement?.querySelector(".red-ui-typedInput-container .red-ui-typedInput-input")
      : null;
    (typed ?? el).setAttribute("data-e2e", "field");
    return el.id;
  }, prop);
}

/** Whether the editor marks property element `id` invalid (on it or on its typedInput container). */
export async function markedInvalid(page: Page, id: string): Promise<boolean> {
  return page.evaluate((id) => {
    const el = document.getElementById(id);
    if (!el) throw new Error(`#${id} is gone`);
    const container = el.parentElement?.querySelector(".red-ui-typedInput-container");
    return el.classList.contains("input-error") || (container?.classList.contains("input-error") ?? false);
  }, id);
}

/** Type `value` into the marked field as a user does and leave it (the change is validated on leaving). */
export async function typeInto(page: Page, value: string): Promise<void> {
  const field = page.locator('[data-e2e="field"]');
  await field.fill(value);
  await field.press("Tab");
}

/** The saved value of `prop` on node `id` (a subflow module keeps its properties in `env`). */
export async function savedValue(page: Page, id: string, prop: string): Promise<unknown> {
  return page.evaluate(
    ({ id, prop }) => {
      const n = (window as unknown as WithRED).RED?.nodes.node(id);
      if (!n) throw new Error(`node ${id} is gone`);
      const env = n.env?.find((e) => e.name === prop);
      return env ? env.value : n[prop];
    },
    { id, prop },
  );
}

/**
 * Dress the editor for a picture: the flow tab holding `ids` in front, and the palette filtered to our
 * category so the reader sees our nodes rather than Node-RED's core ones.
 */
export async function showFlowOf(page: Page, ids: readonly string[]): Promise<void> {
  const tab = await page.evaluate((wanted) => {
    const RED = (window as unknown as WithRED).RED;
    if (!RED) throw new Error("the editor is not loaded");
    const z = wanted.map((id) => RED.nodes.node(id)?.z).find((z) => typeof z === "string" && z !== "");
    if (z) RED.workspaces.show(z);
    return z;
  }, ids);
  if (tab) {
    await waitFor("the example's flow tab in front", 5_000, async () =>
      (await page.evaluate(() => (window as unknown as WithRED).RED?.workspaces.active())) === tab
        ? true
        : undefined,
    );
  }
  const search = page.locator("#red-ui-palette-search input");
  await search.fill("");
  // The palette filters on key presses, not on a programmatic value.
  await search.pressSequentially("datacoll");
  await waitFor("the palette filtered to datacoll", 5_000, async () =>
    (await page.locator(".red-ui-palette-node:visible").count()) > 0 &&
    (await page.locator('.red-ui-palette-node[data-palette-type="inject"]:visible').count()) === 0
      ? true
      : undefined,
  );
}
