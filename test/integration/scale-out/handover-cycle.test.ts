/**
 * A device handed to another instance mid-cycle: the old run publishes nothing once it is closed. The
 * scale-out test saw a failed read (quality bad) stored for a device right after its hand-over, made by
 * the cycle that was in flight when the run closed — not the device's state, and written while the new
 * owner may already be polling. Here the connection outlives the run (another user of the shared
 * socket holds it), the device's reply is held until the run has closed, and then let through.
 */
import assert from "node:assert/strict";
import { Manager } from "../../../src/core/manager";
import { parseManagerSettings } from "../../../src/core/manager-config";
import type { DataPoint } from "../../../src/core/model/datapoint";
import { acquireModbusClient, parseModbusDeviceSettings } from "../../../src/core/modbus/devices";
import { modbusDriver } from "../../../src/core/modbus/driver";
import { ModbusServerCore } from "../../../src/protocols/modbus/server";
import { systemClock } from "../../../src/transport/connection";
import { listenTcp, type ServerPeer, type TcpServerHandle } from "../../../src/transport/tcp-server";
import { until } from "../../support/net";

describe("a run closed while its cycle is in flight", function () {
  let server: TcpServerHandle | undefined;
  let manager: Manager | undefined;

  afterEach(async function () {
    await manager?.close();
    await server?.close();
  });

  it("publishes nothing and reports no status after close", async function () {
    const core = new ModbusServerCore({
      units: [1],
      sizes: { coils: 8, discreteInputs: 8, holdingRegisters: 8, inputRegisters: 8 },
      unknownUnit: "silent",
    });
    const held: { peer: ServerPeer; reply: Buffer }[] = [];
    server = await listenTcp({
      port: 0,
      onConnection: (peer) => {
        const framing = core.connection();
        return {
          data: (bytes) => {
            for (const reply of framing.onData(bytes).replies) held.push({ peer, reply });
          },
        };
      },
    });
    manager = new Manager(parseManagerSettings({ store: "embedded", namespace: "ho:", instanceId: "a" }));
    const r = manager.registry;
    await r.putDevice({ id: "h", protocol: "modbus-tcp", host: "127.0.0.1", port: server.port });
    await r.putTerm({ id: "ht", deviceId: "h", address: 1, pollInterval: 100 });
    await r.putItem({ id: "v" });
    await r.putPoint({ deviceId: "h", termId: "ht", itemId: "v", address: "HR0" });
    const device = await r.getDevice("h");
    assert.ok(device);

    // The socket's other user: the connection stays up when the run lets go of it.
    const other = acquireModbusClient(parseModbusDeviceSettings({ host: "127.0.0.1", port: server.port }));
    try {
      const after: string[] = [];
      let closed = false;
      const run = modbusDriver.start(device, await r.listTerms("h"), await r.listPoints({ deviceId: "h" }), {
        clock: systemClock,
        publish: (points: readonly DataPoint[]) => {
          if (closed) after.push(`publish ${points.map((p) => p.key).join()}`);
        },
        status: (u) => {
          if (closed) after.push(`status online=${u.online}`);
        },
        problem: () => undefined,
      });
      await until(() => held.length === 1, 2000, "the first request");
      closed = true;
      await run.close();
      const { peer, reply } = held[0];
      peer.write(reply);
      await until(() => other.value.backlog.inFlight === 0, 2000, "the reply taken off the wire");
      // Let the cycle's promise chain finish: it runs in the tasks right after the reply.
      await new Promise((res) => setImmediate(res));
      assert.deepEqual(after, []);
      assert.equal(held.length, 1, "no request after close");
    } finally {
      await other.release();
    }
  });
});
