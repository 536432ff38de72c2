/**
 * A reply that arrives while Node's event loop is busy (a burst of samples, a long GC) is taken, not
 * failed as a timeout: each turn of the loop runs its overdue timers before it reads the sockets, so the
 * connection judges reply deadlines one turn after a late timer (src/transport/connection.ts, onTimer).
 * The server is libmodbus in a process of its own (test/fixtures/modbus/libmodbus-server.c), so it
 * answers while this process is blocked.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ModbusClient, ModbusRequestError } from "../../../src/core/modbus/client";
import { until } from "../../support/net";
import { startLibmodbusServer } from "../../support/peer-programs";

/**
 * Block this process's event loop for `ms`: the fault under test (a flow busy with a burst), not a wait
 * for anything.
 */
function blockLoop(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy
  }
}

describe("modbus client: a reply that came while the event loop was blocked", () => {
  let dir: string;
  let server: ChildProcess;
  let client: ModbusClient;

  before(async function () {
    this.timeout(60000);
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "datacoll-busy-loop-"));
    let port: number;
    ({ server, port } = await startLibmodbusServer(dir));
    client = ModbusClient.tcp("127.0.0.1", port, { session: { timeoutMs: 100 } });
    client.start();
    await until(() => client.state === "connected", 10_000, "the client connected to libmodbus");
    // One exchange first, so the connection is past its start.
    assert.deepEqual(await client.readHoldingRegisters(1, 0, 1), [0]);
  });

  after(async () => {
    client?.close();
    if (server !== undefined && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()));
      // SIGKILL: the second test stops the server, and a stopped process keeps a SIGTERM pending.
      server.kill("SIGKILL");
      await exited;
    }
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("answers reads sent just before the loop was blocked for 15 reply timeouts", async () => {
    for (let round = 0; round < 5; round++) {
      const read = client.readHoldingRegisters(1, 5, 3);
      blockLoop(1500);
      assert.deepEqual(await read, [5, 6, 7], `round ${round}`);
    }
    assert.equal(client.stats.timeouts, 0);
  });

  it("still times out a read that gets no answer (the server stopped with SIGSTOP)", async () => {
    server.kill("SIGSTOP");
    const read = client.readHoldingRegisters(1, 5, 3);
    blockLoop(500);
    await assert.rejects(
      read,
      (e: unknown) => e instanceof ModbusRequestError && e.code === "modbus-timeout",
    );
  });
});
