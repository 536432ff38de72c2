/**
 * The device dialogs' "test connection" routes over real HTTP (the test runtime's admin app) against our
 * own simulators on real TCP: POST /datacoll/modbus/test and /datacoll/iec104/test answer in plain words
 * for a working device, an exception reply, a refused port, a peer that never answers and an unknown
 * host, refuse a bad form with 400 naming the field, and leave no socket or timer behind (the leak check
 * of useNodeRed runs after every test).
 */
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { ModbusServerCore } from "../../src/protocols/modbus/server";
import { startModbusSimulator } from "../../src/core/modbus/simulator";
import { Iec104Simulator, parseSimPoints } from "../../src/core/iec104/simulator";
import { systemClock } from "../../src/transport/connection";
import type { TcpServerHandle } from "../../src/transport/tcp-server";
import { freePort } from "../support/net";
import { helper, nodeModule, useNodeRed } from "../support/node-red";

interface Answer {
  ok: boolean;
  message: string;
  field?: string;
}

/**
 * A TCP server that accepts connections and never says a word; closing it drops them. `heard` is what it
 * was sent: the request that went unanswered, so a test knows the answer came from the timeout.
 */
async function silentServer(): Promise<{ port: number; heard(): Buffer; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const heard: Buffer[] = [];
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("data", (b: Buffer) => heard.push(b));
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    heard: () => Buffer.concat(heard),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("device config dialogs", function () {
  useNodeRed();
  // Nested, so the servers close before the leak check of useNodeRed's afterEach runs.
  describe("test connection", function () {
    let admin: http.Server;
    let base = "";
    const cleanup: (() => Promise<void>)[] = [];

    beforeEach(async function () {
      await helper.load(["datacoll-modbus", "datacoll-iec104"].map(nodeModule), []);
      admin = http.createServer(helper._httpAdmin);
      await new Promise<void>((resolve) => admin.listen(0, "127.0.0.1", resolve));
      base = `http://127.0.0.1:${(admin.address() as AddressInfo).port}/datacoll`;
    });
    afterEach(async function () {
      for (const c of cleanup.splice(0)) await c();
      admin.closeAllConnections();
      await new Promise<void>((resolve) => admin.close(() => resolve()));
    });

    async function ask(kind: string, body: object): Promise<{ status: number; answer: Answer }> {
      const res = await fetch(`${base}/${kind}/test`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, answer: (await res.json()) as Answer };
    }

    /** The test ran (200) and says the link does not work, in these words. */
    async function fails(kind: string, body: object, words: RegExp | string): Promise<void> {
      const { status, answer } = await ask(kind, body);
      assert.equal(status, 200, answer.message);
      assert.equal(answer.ok, false, answer.message);
      if (typeof words === "string") assert.equal(answer.message, words);
      else assert.match(answer.message, words);
    }

    /** Each bad form is refused with 400 naming its field. */
    async function refuses(kind: string, cases: readonly (readonly [object, string])[]): Promise<void> {
      for (const [body, field] of cases) {
        const { status, answer } = await ask(kind, body);
        assert.equal(status, 400, JSON.stringify(body));
        assert.equal(answer.ok, false);
        assert.equal(answer.field, field, answer.message);
      }
    }

    describe("Modbus (POST /datacoll/modbus/test)", function () {
      let port = 0;
      beforeEach(async function () {
        // Unit 1 served; other units answered by "the gateway" with exception 0B, as a real gateway does.
        const core = new ModbusServerCore({ units: [1], unknownUnit: "gateway" });
        core.unit(1).holdingRegisters[0] = 4711;
        const sim: TcpServerHandle = await startModbusSimulator(core, { host: "127.0.0.1", port: 0 });
        cleanup.push(() => sim.close());
        port = sim.port;
      });
      const form = (extra: object = {}): object => ({
        host: "127.0.0.1",
        port: String(port),
        timeout: "1000",
        ...extra,
      });

      it("connects and reads a register of the dialog's unit (default 1)", async function () {
        const { status, answer } = await ask("modbus", form());
        assert.equal(status, 200);
        assert.deepEqual(answer, {
          ok: true,
          message: `Connected to 127.0.0.1:${port}; unit 1 answered (holding register 0 = 4711).`,
        });
      });

      it("speaks the dialog's transport: Modbus UDP to a UDP simulator, and names it when unanswered", async function () {
        const core = new ModbusServerCore({ units: [1] });
        core.unit(1).holdingRegisters[0] = 815;
        const udp = await startModbusSimulator(core, { host: "127.0.0.1", port: 0, framing: "udp" });
        cleanup.push(() => udp.close());
        const { answer } = await ask("modbus", form({ port: String(udp.port), transport: "udp" }));
        assert.deepEqual(answer, {
          ok: true,
          message: `Connected to 127.0.0.1:${udp.port}; unit 1 answered (holding register 0 = 815).`,
        });
        // RTU over UDP against the MBAP one: every datagram is dropped there, so nothing answers.
        await fails(
          "modbus",
          form({ port: String(udp.port), transport: "rtu-over-udp", timeout: "300" }),
          `Connected to 127.0.0.1:${udp.port}, but unit 1 did not answer within 300 ms. ` +
            "Check the unit id, and that the device speaks RTU over UDP on this port.",
        );
      });

      it("names the exception a unit answers, as a working link", async function () {
        const { answer } = await ask("modbus", form({ unit: "7" }));
        assert.equal(answer.ok, true, answer.message);
        assert.match(
          answer.message,
          /unit 7 answered Modbus exception 0B \(gateway target device failed to respond\)/,
        );
      });

      it("says nothing is listening on a refused port", async function () {
        const refused = /^Nothing is listening at 127\.0\.0\.1:\d+\. Is a Modbus TCP device running/;
        await fails("modbus", form({ port: String(await freePort()) }), refused);
      });

      it("says the unit did not answer within the dialog's timeout", async function () {
        const silent = await silentServer();
        cleanup.push(() => silent.close());
        await fails(
          "modbus",
          form({ port: String(silent.port), timeout: "300" }),
          `Connected to 127.0.0.1:${silent.port}, but unit 1 did not answer within 300 ms. ` +
            "Check the unit id, and that the device speaks Modbus TCP on this port.",
        );
        // The answer waited for the timeout: the request was sent (MBAP unit 1, function 03) and the
        // server never replied, so nothing but the timer can have ended the wait.
        assert.deepEqual([...silent.heard().subarray(6, 8)], [1, 3], "the answer waited for the timeout");
      });

      it("says a host name cannot be found", async function () {
        await fails(
          "modbus",
          form({ host: "no-such-host.invalid" }),
          /^The host name no-such-host\.invalid could not/,
        );
      });

      it("refuses a bad form with 400 naming the field", async function () {
        await refuses("modbus", [
          [form({ port: "0" }), "port"],
          [form({ host: "" }), "host"],
          [form({ unit: "256" }), "unit"],
          [form({ unit: "1.5" }), "unit"],
        ]);
      });
    });

    describe("IEC 104 (POST /datacoll/iec104/test)", function () {
      let port = 0;
      let sim: Iec104Simulator;
      beforeEach(async function () {
        sim = new Iec104Simulator({
          commonAddress: 1,
          points: parseSimPoints([{ ioa: 1, type: "M_ME_NB_1", value: 5 }]),
          commands: [],
          clock: systemClock,
        });
        cleanup.push(() => sim.close());
        port = await sim.listen(0);
      });
      const form = (extra: object = {}): object => ({ host: "127.0.0.1", port: String(port), ...extra });

      it("starts and stops data transfer with the station", async function () {
        const events: string[] = [];
        const off = sim.on((e) => events.push(e.type));
        cleanup.push(async () => off());
        const { status, answer } = await ask("iec104", form());
        assert.equal(status, 200);
        assert.deepEqual(answer, {
          ok: true,
          message: `Connected to 127.0.0.1:${port}; the station confirmed STARTDT and STOPDT.`,
        });
        assert.equal(sim.activeMasters, 0, "data transfer was stopped again");
        assert.ok(events.includes("connected"), "the simulator saw the test's connection");
      });

      it("tests each redundant outstation and names the one that fails", async function () {
        const { answer } = await ask("iec104", form({ host: "127.0.0.1, no-such-host.invalid" }));
        assert.equal(answer.ok, false);
        assert.match(
          answer.message,
          new RegExp(
            `^127\\.0\\.0\\.1: Connected to 127\\.0\\.0\\.1:${port}; the station confirmed STARTDT and STOPDT\\. ` +
              "no-such-host\\.invalid: The host name no-such-host\\.invalid could not be found",
          ),
        );
      });

      it("says nothing is listening on a refused port", async function () {
        const { answer } = await ask("iec104", form({ port: String(await freePort()) }));
        assert.equal(answer.ok, false);
        assert.match(
          answer.message,
          /^Nothing is listening at 127\.0\.0\.1:\d+\. Is an IEC 104 outstation running/,
        );
      });

      it("says the station did not confirm STARTDT within t1", async function () {
        this.timeout(10_000);
        const silent = await silentServer();
        cleanup.push(() => silent.close());
        await fails(
          "iec104",
          form({ port: String(silent.port), t1: "2", t2: "1" }),
          `Connected to 127.0.0.1:${silent.port}, but the station did not confirm STARTDT within t1 (2000 ms). ` +
            "Is it an IEC 104 outstation, and does it accept this master?",
        );
        // The answer waited for t1: STARTDT act (U-frame 68 04 07 00 00 00) was sent and never confirmed,
        // so nothing but the timer can have ended the wait.
        assert.equal(
          silent.heard().subarray(0, 6).toString("hex"),
          "680407000000",
          "the answer waited for t1",
        );
      });

      it("says a host name cannot be found", async function () {
        const { answer } = await ask("iec104", form({ host: "no-such-host.invalid" }));
        assert.equal(answer.ok, false);
        assert.match(answer.message, /^The host name no-such-host\.invalid could not be found/);
      });

      it("refuses a bad form with 400 naming the field", async function () {
        for (const [extra, field] of [
          [{ port: "0" }, "port"],
          [{ host: "" }, "host"],
          [{ t1: "5", t2: "6" }, "t2"],
          [{ windowK: "4", windowW: "8" }, "w"],
        ] as const) {
          const { status, answer } = await ask("iec104", form(extra));
          assert.equal(status, 400, JSON.stringify(extra));
          assert.equal(answer.ok, false);
          assert.equal(answer.field, field, answer.message);
        }
      });
    });
  });
});
