/**
 * The idle-timeout setting of both simulator nodes as a flow deploys it (issue #21): the Modbus simulator
 * closes a silent client after the configured time (a short one here, on the wall clock, waited for as a
 * condition) while a client that keeps asking stays; a setting the node cannot use fails the deploy with
 * a settings error, and the IEC 104 outstation refuses a timeout not above t3.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { encodeMbap } from "../../src/protocols/modbus/codec/mbap";
import { freePort, until } from "../support/net";
import { helper, nodeModule, useNodeRed } from "../support/node-red";

const modbusServer = nodeModule("datacoll-modbus-server");
const iec104Server = nodeModule("datacoll-iec104-server");

/**
 * The ids of the nodes that logged a settings error. The test runtime logs the locale key, not the
 * translated text; the reason itself is tested where it is made (test/integration/simulator-limits.test.ts).
 */
function refused(type: string): string[] {
  return (helper.log().args as [{ id?: string; msg?: unknown }][])
    .filter(([entry]) => entry.msg === `${type}.errors.config`)
    .map(([entry]) => String(entry.id));
}

interface Client {
  readonly socket: net.Socket;
  closed: boolean;
  replies: number;
}

function connect(port: number): Client {
  const c: Client = { socket: net.connect(port, "127.0.0.1"), closed: false, replies: 0 };
  c.socket.on("data", () => c.replies++);
  // The server ends the connection; the close is what the test waits for.
  c.socket.on("error", () => undefined);
  c.socket.on("close", () => (c.closed = true));
  return c;
}

describe("simulator nodes' idle timeout", function () {
  useNodeRed();

  it("closes a silent Modbus client after the configured time and keeps one that asks", async function () {
    const port = await freePort();
    await helper.load(modbusServer, [
      { id: "srv", type: "datacoll-modbus-server", port: String(port), units: "1", idleTimeout: "0.3" },
    ]);
    let quiet: Client | undefined;
    await until(
      () => {
        quiet?.socket.destroy();
        quiet = connect(port);
        return new Promise<boolean>((resolve) => {
          quiet?.socket.once("connect", () => resolve(true));
          quiet?.socket.once("error", () => resolve(false));
        });
      },
      5000,
      "the simulator listening",
    );
    const busy = connect(port);
    try {
      // The busy client asks whenever its last reply is in, so it is never silent for 0.3 s.
      let asked = 0;
      const ask = (): void => {
        if (busy.closed) return;
        busy.socket.write(encodeMbap(++asked, 1, Buffer.from([0x03, 0, 0, 0, 1])));
      };
      busy.socket.on("data", ask);
      busy.socket.once("connect", ask);
      await until(() => quiet?.closed === true, 5000, "the silent client closed");
      assert.equal(busy.closed, false);
      await until(() => busy.replies > 5, 5000, "the busy client still answered");
      assert.equal(busy.closed, false);
    } finally {
      busy.socket.destroy();
      quiet?.socket.destroy();
    }
  });

  it("refuses a Modbus idle timeout that is not a number of seconds", async function () {
    await helper.load(modbusServer, [
      { id: "srv", type: "datacoll-modbus-server", port: String(await freePort()), idleTimeout: "soon" },
    ]);
    await until(() => refused("datacoll-modbus-server").includes("srv"), 5000, "the settings error");
  });

  it("refuses an IEC 104 idle timeout not above t3, and takes 0 as never", async function () {
    await helper.load(iec104Server, [
      { id: "short", type: "datacoll-iec104-server", port: String(await freePort()), idleTimeout: "20" },
      { id: "never", type: "datacoll-iec104-server", port: String(await freePort()), idleTimeout: "0" },
    ]);
    await until(() => refused("datacoll-iec104-server").includes("short"), 5000, "the settings error");
    assert.deepEqual(refused("datacoll-iec104-server"), ["short"], "0 (never) is taken");
  });
});
