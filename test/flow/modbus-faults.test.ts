/**
 * The poll node through server faults over real loopback TCP, with no redeploy: the server killed and
 * restarted 50 times (polling resumes within the reconnect cap every time, and no socket or timer piles
 * up); a dead unit behind one gateway costing the live units no more than its own timeout; a peer that
 * answers with garbage until it behaves again. The users' complaints these answer are in
 * docs/protocols/modbus.md §6 ("stuck until a redeploy", "one dead unit stalls the others", "status: active
 * while reads fail").
 */
import assert from "node:assert/strict";
import type { NodeStatus } from "node-red";
import type { DataPoint } from "../../src/core/model/datapoint";
import { startModbusSimulator } from "../../src/core/modbus/simulator";
import { ModbusServerCore } from "../../src/protocols/modbus/server";
import type { TcpServerHandle } from "../../src/transport/tcp-server";
import { FaultyPeer } from "../integration/modbus-faults/peer";
import { freePort, until } from "../support/net";
import { helper, nodeModule, statusesOf, untilStatus, useNodeRed } from "../support/node-red";

const nodes = ["datacoll-modbus", "datacoll-poll"].map(nodeModule);

interface PointMsg {
  readonly point: DataPoint;
  readonly payload: unknown;
}

/** Live resources of one kind in this process (as Node counts them). */
function active(kind: "TCPSocketWrap" | "Timeout"): number {
  return process.getActiveResourcesInfo().filter((r) => r === kind).length;
}

/** A device node on loopback `port`, with the given settings (text, as the editor saves them). */
function device(port: number, settings: Record<string, string>): Record<string, unknown> {
  return { id: "dev", type: "datacoll-modbus", host: "127.0.0.1", port: String(port), ...settings };
}

/** A poll node of HR0 of `unit` on the device, one message per point to the helper node "out". */
function poller(id: string, unit: number, intervalMs: number): Record<string, unknown> {
  return {
    id,
    type: "datacoll-poll",
    modbus: "dev",
    termId: `t${unit}`,
    unit: String(unit),
    interval: String(intervalMs),
    items: [{ item: "v", address: "HR0" }],
    output: "point",
    wires: [["out"]],
  };
}

describe("datacoll-poll through Modbus server faults", function () {
  useNodeRed();

  const BACKOFF_CAP_MS = 200;
  const INTERVAL_MS = 20;

  it("says why it cannot connect: the refused connection, not the reads it stopped", async function () {
    const port = await freePort();
    await helper.load(nodes, [
      device(port, { timeout: "500", backoff: "50", backoffMax: "200" }),
      poller("poll", 1, 100),
      { id: "out", type: "helper" },
    ]);
    await untilStatus(
      statusesOf("poll"),
      (s) => s.fill === "red" && /^reconnecting: .*ECONNREFUSED/.test(String(s.text)),
      "a red status naming the refusal",
    );
  });

  it("marks the points not topical once the server cannot be reached again, saying why", async function () {
    const port = await freePort();
    const core = new ModbusServerCore({ units: [1] });
    const sim = await startModbusSimulator(core, { port });
    await helper.load(nodes, [
      device(port, { timeout: "500", backoff: "50", backoffMax: "200" }),
      poller("poll", 1, 100),
      { id: "out", type: "helper" },
    ]);
    const points: DataPoint[] = [];
    helper.getNode("out").on("input", (msg: PointMsg) => points.push(msg.point));
    core.unit(1).holdingRegisters[0] = 7;
    await until(() => points.some((p) => p.value === 7), 3000, "the first good reading");
    await sim.close();
    // The read the outage caught fails when reconnecting is refused — with that reason, not after the
    // queue's 10 s wait ("not sent within 10000 ms") — and the point goes not topical.
    await until(() => points.some((p) => p.quality.notTopical), 15_000, "a not topical sample");
    const bad = points.find((p) => p.quality.notTopical);
    assert.match(bad?.error ?? "", /not connected \(.*ECONNREFUSED/);
  });

  it("resumes within the backoff cap after each of 50 server kills and restarts", async function () {
    this.timeout(40000);
    const port = await freePort();
    const core = new ModbusServerCore({ units: [1] });
    let sim: TcpServerHandle = await startModbusSimulator(core, { port });
    const socketsBefore = active("TCPSocketWrap");
    try {
      await helper.load(nodes, [
        device(port, { timeout: "100", backoff: "20", backoffMax: String(BACKOFF_CAP_MS) }),
        poller("poll", 1, INTERVAL_MS),
        { id: "out", type: "helper" },
      ]);
      const statuses = statusesOf("poll");
      let latest: DataPoint | undefined;
      helper.getNode("out").on("input", (msg: PointMsg) => (latest = msg.point));
      const reading = (v: number) => () => latest?.value === v && Object.keys(latest.quality).length === 0;

      core.unit(1).holdingRegisters[0] = 1000;
      await until(reading(1000), 3000, "the first good reading");
      let timersAfterFirst: number | undefined;
      for (let i = 1; i <= 50; i++) {
        const seen = statuses.length;
        const outage = (): NodeStatus[] => statuses.slice(seen);
        const reconnecting = (): NodeStatus[] =>
          outage().filter((s) => String(s.text).startsWith("reconnecting"));
        await sim.close();
        // Every tenth outage lasts until the backoff has doubled past its cap; the others are restarts
        // as fast as a supervisor would do them, once the poll node has noticed the loss.
        const failures = i % 10 === 0 ? 6 : 1;
        await until(
          () => reconnecting().length >= failures,
          5000,
          `outage ${i}: ${failures} failed attempts`,
        );
        // What the outage showed, not only the latest status: on a loaded machine the next attempt's
        // "connecting" (yellow) may already have followed the last "reconnecting" before this line runs.
        assert.ok(
          reconnecting().every((s) => s.fill === "red") && !outage().some((s) => s.fill === "green"),
          `outage ${i}: the status shows the outage (${outage()
            .map((s) => `${s.fill} ${s.text}`)
            .join(", ")})`,
        );
        core.unit(1).holdingRegisters[0] = i;
        sim = await startModbusSimulator(core, { port });
        await until(reading(i), 3000, `reading ${i} after restart ${i}`);
        await until(() => statuses.at(-1)?.fill === "green", 2500, `restart ${i}: a green status`);
        // One socket per side: the old client socket is gone, not piling up behind the new one.
        await until(() => sim.connections === 1, 1000, `restart ${i}: one server connection`);
        await until(
          () => active("TCPSocketWrap") === socketsBefore + 2,
          1000,
          `restart ${i}: the client's old sockets closed (${active("TCPSocketWrap") - socketsBefore} open)`,
        );
        timersAfterFirst ??= active("Timeout");
        assert.ok(
          active("Timeout") <= timersAfterFirst + 2,
          `restart ${i}: ${active("Timeout")} timers, ${timersAfterFirst} after the first`,
        );
      }
      // That the next attempt after a failed one comes within the capped delay (plus jitter) is held on a
      // manual clock in test/unit/transport/connection.test.ts ("backs off exponentially with jitter,
      // capped, ..."); here, that every restart is found again and nothing piles up across 50 of them.
    } finally {
      await sim.close();
    }
  });

  it("a dead unit behind the gateway costs the live units no more than its own timeout", async function () {
    this.timeout(15000);
    const peer = new FaultyPeer();
    peer.counting = true;
    peer.silentUnits = new Set([9]);
    const port = await peer.listen();
    const TIMEOUT_MS = 150;
    const POLL_MS = 50;
    try {
      await helper.load(nodes, [
        // One request on the wire at a time (the default: many gateways allow no more), so the dead
        // unit's request holds the only slot until it times out.
        device(port, { timeout: String(TIMEOUT_MS) }),
        poller("u1", 1, POLL_MS),
        poller("u2", 2, POLL_MS),
        poller("u9", 9, POLL_MS),
        { id: "out", type: "helper" },
      ]);
      // Every point in the order the poll nodes sent it: the test reads the ordering, not a stopwatch.
      const seen: { unit: number; good: boolean; error?: string }[] = [];
      helper.getNode("out").on("input", (msg: PointMsg) => {
        const unit = Number(msg.point.termId.slice(1));
        const good = Object.keys(msg.point.quality).length === 0;
        seen.push({ unit, good, error: msg.point.error });
      });
      const of = (from: number, unit: number) => seen.slice(from).filter((s) => s.unit === unit);
      await until(() => of(0, 1).length > 0 && of(0, 2).length > 0, 3000, "first reads");
      const from = seen.length;
      // 60 polls of each live unit: three seconds at their period, the window the figures below are for.
      const LIVE_POLLS = 60;
      await until(
        () => of(from, 1).length >= LIVE_POLLS && of(from, 2).length >= LIVE_POLLS,
        15_000,
        `${LIVE_POLLS} polls of each live unit`,
      );
      const window = seen.slice(from);
      const dead = window.filter((s) => s.unit === 9);
      assert.ok(dead.length > 0 && dead.every((s) => !s.good), "the dead unit reports bad quality");
      // Backed off after each timeout (1 s, then 2 s, ...), the dead unit holds the one slot at most
      // three times in the window; without the backoff it would hold it for 150 ms of every 200.
      const isTimeout = (s: { error?: string }): boolean => /no reply within/.test(s.error ?? "");
      const timeouts = dead.filter(isTimeout).length;
      assert.ok(timeouts >= 1 && timeouts <= 3, `the dead unit timed out ${timeouts} times in the window`);
      for (const unit of [1, 2]) {
        const times = window.filter((s) => s.unit === unit);
        assert.ok(
          times.every((s) => s.good),
          `unit ${unit} stayed good: ${times.find((s) => !s.good)?.error}`,
        );
        // A live poll can wait behind the dead unit's one request: one timeout, no more. So between two
        // reads of a live unit the dead unit times out at most once. (Its period, and the bound of one
        // timeout in ms, are held on a manual clock in test/unit/modbus/client-session.test.ts: "backs
        // off a unit that timed out without stalling other units behind the gateway".)
        let between = 0;
        for (const s of window) {
          if (s.unit === unit) between = 0;
          else if (s.unit === 9 && isTimeout(s)) {
            between++;
            assert.ok(between <= 1, `unit ${unit} waited behind ${between} of the dead unit's timeouts`);
          }
        }
      }
    } finally {
      await peer.close();
    }
  });

  it("reconnects from a peer that answers garbage, shows it, and reads once the peer behaves", async function () {
    const peer = new FaultyPeer();
    peer.counting = true;
    peer.garbage = true;
    const port = await peer.listen();
    try {
      await helper.load(nodes, [
        device(port, { timeout: "200", backoff: "20", backoffMax: "100" }),
        poller("poll", 1, 30),
        { id: "out", type: "helper" },
      ]);
      const statuses = statusesOf("poll");
      const points: DataPoint[] = [];
      helper.getNode("out").on("input", (msg: PointMsg) => points.push(msg.point));
      // The status goes red on every drop; the reason (lost framing) is the client's, counted below.
      const reconnects = (): number =>
        statuses.filter((s) => s.fill === "red" && String(s.text).startsWith("reconnecting")).length;
      await until(() => reconnects() >= 3, 3000, "three reconnects after garbage");
      // Each read was sent at most twice, then reported bad: the poll did not wait out the outage.
      await until(() => points.length > 0, 3000, "bad-quality points while the peer sends garbage");
      assert.ok(points.length > 0 && points.every((p) => Object.keys(p.quality).length > 0));
      assert.ok(
        points.every((p) => p.value === null),
        "no value was made up from garbage",
      );
      peer.garbage = false;
      const from = points.length;
      await until(
        () => points.slice(from).some((p) => Object.keys(p.quality).length === 0),
        3000,
        "a good reading once the peer behaves",
      );
      // The node refreshes a status that is not a connection change at most once a second.
      await until(() => statuses.at(-1)?.fill === "green", 2500, "a green status once reads succeed");
      const good = points.slice(from).find((p) => Object.keys(p.quality).length === 0);
      // Unit 1, address 0: 1000 + the peer's generation, which started after the garbage.
      assert.ok(typeof good?.value === "number" && good.value >= 1000, `value ${good?.value}`);
    } finally {
      await peer.close();
    }
  });
});
