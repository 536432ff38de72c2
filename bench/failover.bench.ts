/**
 * failover: how soon samples reach Redis again after the Sentinel master dies, and what is lost. A
 * master, one replica and three sentinels of the bench's own (down-after-milliseconds 1000), one
 * instance in Sentinel mode polling two counting Modbus devices every 100 ms, and the master killed
 * with SIGKILL. `failover_recovery` is the time from the kill to the first sample polled after it that
 * is stored on the new master (heard on the promoted replica's points channel); its baseline is the
 * sentinels' own failover in the same run, the kill to `+switch-master`. `failover_lost` counts readings
 * the devices answered during the run that are not in the events stream on the new master.
 */
import { Redis } from "ioredis";
import { Manager } from "../src/core/manager";
import { parseManagerSettings } from "../src/core/manager-config";
import { startManagerRuntime } from "../src/core/manager-runtime";
import { decodePoints } from "../src/core/bus/envelope";
import { CHANNEL } from "../src/core/store/keys";
import { median } from "./lib/measure";
import type { Benchmark } from "./lib/types";
import { preciseNow, type RecordingSimulator } from "../test/support/recording-simulator";
import {
  MASTER_NAME,
  addCountingDevices,
  drainEvents,
  startSentinelGroup,
  unstoredReadings,
} from "../test/support/sentinel-group";
import { until } from "../test/support/net";

const NS = "fob:";
const DEVICES = ["fb-d0", "fb-d1"];
const REPEATS = 3;

async function once(): Promise<{ recovery: number; sentinels: number; lost: number }> {
  const group = await startSentinelGroup({ downAfterMs: 1000 });
  const sims: RecordingSimulator[] = [];
  let manager: Manager | undefined;
  let replica: Redis | undefined;
  try {
    manager = new Manager(
      parseManagerSettings({
        store: "redis",
        redisMode: "sentinel",
        sentinels: group.sentinelPorts.map((p) => `127.0.0.1:${p}`).join(","),
        sentinelName: MASTER_NAME,
        namespace: NS,
        instanceId: "bench",
      }),
      { onError: () => undefined },
    );
    const m = manager;
    await m.ready();
    sims.push(...(await addCountingDevices(m.registry, DEVICES, 100)));
    await m.store.ensureEventGroup("fob", "start");
    const runtime = startManagerRuntime(m, { leaseMs: 2000 });
    await runtime.started;
    await until(() => sims.every((s) => s.connections.some((c) => c.requests.length > 5)), 20_000, "polling");

    // The replica, subscribed to the points channel before the kill: what it hears after the kill,
    // polled after the kill, was stored on it as the new master.
    const masterPort = await group.masterPort();
    const replicaPort = group.serverPorts.find((p) => p !== masterPort);
    if (replicaPort === undefined) throw new Error("no replica");
    replica = new Redis({ port: replicaPort, host: "127.0.0.1" });
    replica.on("error", () => undefined);
    let killAt = Infinity;
    let firstStored: number | undefined;
    replica.on("message", (_channel: string, message: string) => {
      const heard = preciseNow();
      if (firstStored !== undefined || heard < killAt) return;
      const decoded = decodePoints(message);
      if (decoded.ok && decoded.envelope.points.some((p) => p.ts > killAt)) firstStored = heard;
    });
    await replica.subscribe(NS + CHANNEL.points);
    const { switched } = await group.watchSwitch();
    killAt = (await group.killMaster()).at;
    const switchAt = await switched;
    await until(() => firstStored !== undefined, 30_000, "a sample stored on the new master");
    // A few more polls on the new master, then stop and count.
    const seen = sims.map((s) => s.connections.reduce((n, c) => n + c.requests.length, 0));
    await until(
      () => sims.every((s, i) => s.connections.reduce((n, c) => n + c.requests.length, 0) > seen[i] + 10),
      10_000,
      "polling on the new master",
    );
    await runtime.close();
    const envelopes = await drainEvents(m.store, "fob");
    const lost = unstoredReadings(DEVICES, sims, envelopes, "seq").length;
    return { recovery: (firstStored ?? NaN) - killAt, sentinels: switchAt - killAt, lost };
  } finally {
    replica?.disconnect();
    await manager?.close();
    for (const s of sims) await s.close();
    await group.stop();
  }
}

const bench: Benchmark = {
  name: "failover",
  async run() {
    const runs = [];
    for (let i = 0; i < REPEATS; i++) runs.push(await once());
    const recovery = median(runs.map((r) => r.recovery));
    const sentinels = median(runs.map((r) => r.sentinels));
    const lost = runs.reduce((n, r) => n + r.lost, 0);
    return {
      failover_recovery: {
        value: Math.round(recovery),
        unit: "ms",
        baseline: `sentinels' failover, kill to +switch-master: ${Math.round(sentinels)} ms`,
        ratio: recovery / sentinels,
        goal: "<= 1.5x",
      },
      failover_lost: {
        value: lost,
        unit: `readings of ${REPEATS} runs`,
        goal: "0",
      },
    };
  },
};

export default bench;
