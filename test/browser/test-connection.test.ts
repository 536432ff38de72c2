/**
 * The device dialogs' "Test connection" buttons in a real editor (issue #10): the Modbus and IEC 104
 * config dialogs send their unsaved host, port (and for Modbus the test's unit id) to the runtime, which
 * tests the link against our own simulators started here, and the dialog shows the answer — green when
 * the link works, red with what to check when nothing listens on the port.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { ModbusServerCore } from "../../src/protocols/modbus/server";
import { startModbusSimulator } from "../../src/core/modbus/simulator";
import { Iec104Simulator, parseSimPoints } from "../../src/core/iec104/simulator";
import { systemClock } from "../../src/transport/connection";
import type { TcpServerHandle } from "../../src/transport/tcp-server";
import { freePort } from "../support/net";
import { Product, waitFor } from "./harness";
import { addAndEdit, openEditor, savedValue } from "./editor-page";
import { ConsoleWatch } from "./console-watch";

const GREEN = "rgb(0, 128, 0)";
const RED = "rgb(204, 0, 0)";

interface Shown {
  readonly text: string;
  readonly color: string;
}

describe("browser: the device dialogs' Test connection buttons", function () {
  this.timeout(30_000);
  const product = new Product();
  const watch = new ConsoleWatch();
  let page: Page | undefined;
  let modbus: TcpServerHandle | undefined;
  let iec104: Iec104Simulator | undefined;
  let modbusPort = 0;
  let iec104Port = 0;
  let added = 0;
  const current = (): Page => {
    assert.ok(page, "the editor page was not opened");
    return page;
  };

  before(async function () {
    this.timeout(60_000);
    // Only unit 3 is served, so a success also shows the dialog's unit id reached the runtime.
    const core = new ModbusServerCore({ units: [3] });
    core.unit(3).holdingRegisters[0] = 4711;
    modbus = await startModbusSimulator(core, { host: "127.0.0.1", port: 0 });
    modbusPort = modbus.port;
    iec104 = new Iec104Simulator({
      commonAddress: 1,
      points: parseSimPoints([{ ioa: 1, type: "M_ME_NB_1", value: 5 }]),
      commands: [],
      clock: systemClock,
    });
    iec104Port = await iec104.listen(0);
    await product.start("test-connection");
    page = await product.newPage();
    watch.attach(page);
    await openEditor(page, product.url);
  });

  after(async function () {
    this.timeout(30_000);
    await product.stop();
    await modbus?.close();
    await iec104?.close();
  });

  // Each test leaves its dialog by Cancel, as a user who only tested would. Node-RED 5 may show a
  // notification over the tray's buttons; a user would close it first, so this does.
  afterEach(async function () {
    const p = current();
    for (const note of await p.locator("#red-ui-notifications .red-ui-notification").all())
      await note.click({ timeout: 2_000 }).catch(() => undefined);
    await waitFor("the notifications closed", 5_000, async () =>
      (await p.locator("#red-ui-notifications .red-ui-notification:visible").count()) === 0
        ? true
        : undefined,
    );
    await p.click("#node-config-dialog-cancel", { timeout: 5_000 });
    await waitFor("the dialog closing on Cancel", 5_000, async () =>
      (await p.locator(".red-ui-tray").count()) === 0 ? true : undefined,
    );
  });

  /** Open a new config node's dialog of `type` and fill in the fields given (by element id). */
  async function openDialog(type: string, fields: Readonly<Record<string, string>>): Promise<string> {
    const p = current();
    const id = `e2e-test-${type}-${++added}`;
    await addAndEdit(p, type, id);
    for (const [el, value] of Object.entries(fields)) await p.locator(`#${el}`).fill(value);
    return id;
  }

  /** Press the dialog's Test connection button and wait for the answer to replace "Connecting…". */
  async function pressTest(kind: string): Promise<Shown> {
    const p = current();
    const result = p.locator(`#datacoll-${kind}-test-result`);
    await p.click(`#datacoll-${kind}-test`);
    return waitFor(
      `the ${kind} test's answer`,
      20_000,
      async () => {
        const shown = await result.evaluate((el) => ({
          text: el.textContent ?? "",
          color: getComputedStyle(el).color,
        }));
        return shown.text === "" || shown.text === "Connecting…" ? undefined : shown;
      },
      async () => `the result line shows "${await result.textContent()}"\n${product.output()}`,
    );
  }

  it("Modbus: reads holding register 0 of the dialog's unit and shows it in green", async function () {
    const mark = watch.mark();
    const id = await openDialog("datacoll-modbus", {
      "node-config-input-host": "127.0.0.1",
      "node-config-input-port": String(modbusPort),
      "datacoll-modbus-test-unit": "3",
    });
    assert.deepEqual(await pressTest("modbus"), {
      text: `Connected to 127.0.0.1:${modbusPort}; unit 3 answered (holding register 0 = 4711).`,
      color: GREEN,
    });
    // The test used the dialog's values: the node itself still has its default port.
    assert.equal(String(await savedValue(current(), id, "port")), "502");
    assert.deepEqual(watch.problems(mark), [], "the dialog reported errors");
  });

  it("Modbus: says in red that nothing listens on a closed port", async function () {
    const closed = await freePort();
    await openDialog("datacoll-modbus", {
      "node-config-input-host": "127.0.0.1",
      "node-config-input-port": String(closed),
    });
    const shown = await pressTest("modbus");
    assert.equal(shown.color, RED, shown.text);
    assert.equal(
      shown.text,
      `Nothing is listening at 127.0.0.1:${closed}. Is a Modbus TCP device running, and is the port right?`,
    );
  });

  it("IEC 104: starts and stops data transfer with the outstation and says so in green", async function () {
    const mark = watch.mark();
    const id = await openDialog("datacoll-iec104", {
      "node-config-input-host": "127.0.0.1",
      "node-config-input-port": String(iec104Port),
    });
    assert.deepEqual(await pressTest("iec104"), {
      text: `Connected to 127.0.0.1:${iec104Port}; the station confirmed STARTDT and STOPDT.`,
      color: GREEN,
    });
    assert.equal(String(await savedValue(current(), id, "port")), "2404");
    assert.equal(iec104?.activeMasters, 0, "data transfer was stopped again");
    assert.deepEqual(watch.problems(mark), [], "the dialog reported errors");
  });

  it("IEC 104: says in red that nothing listens on a closed port", async function () {
    const closed = await freePort();
    await openDialog("datacoll-iec104", {
      "node-config-input-host": "127.0.0.1",
      "node-config-input-port": String(closed),
    });
    const shown = await pressTest("iec104");
    assert.equal(shown.color, RED, shown.text);
    assert.equal(
      shown.text,
      `Nothing is listening at 127.0.0.1:${closed}. Is an IEC 104 outstation running, and is the port right?`,
    );
  });
});
