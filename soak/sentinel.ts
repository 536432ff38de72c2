/**
 * The soak's Sentinel mode (issue 19, item 6): a master, a replica and three redis-sentinel processes of
 * the soak's own on loopback ports, with append-only files, so the fault script can kill -9 the master
 * and watch the sentinels promote the replica, as a plant with Redis high availability would see it.
 * The killed server comes back as a replica of the new master, so the next cycle has one to promote.
 */
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Redis } from "ioredis";
import { sparePort, startRedis, stopRedis } from "../test/integration/store/redis-server";
import { startSentinel } from "../test/support/sentinel-group";

export const MASTER_NAME = "soak";
/** How long a master must not answer before the sentinels call it down (the measurements). */
const DOWN_AFTER_MS = 2000;

interface Server {
  readonly port: number;
  readonly dir: string;
  proc: ChildProcess;
}

export interface SentinelGroup {
  readonly name: string;
  readonly sentinels: readonly { readonly host: string; readonly port: number }[];
  /** Every process the group started (servers and sentinels), for the caller's last-resort kill. */
  readonly procs: ChildProcess[];
  /** The port of the server the sentinels name as master now. */
  masterPort(): Promise<number>;
  /**
   * kill -9 of the master; resolves once a sentinel announced the new one (`+switch-master`), with when
   * that was, and after the killed server is back as the new master's replica.
   */
  failover(): Promise<{
    readonly killedAt: number;
    readonly switchedAt: number;
    readonly from: number;
    readonly to: number;
  }>;
  stop(): Promise<void>;
}

function serverArgs(dir: string): string[] {
  return ["--appendonly", "yes", "--appendfsync", "always", "--dir", dir];
}

export async function startSentinelGroup(baseDir: string): Promise<SentinelGroup> {
  const procs: ChildProcess[] = [];
  const servers: Server[] = [];
  for (const role of ["a", "b"]) {
    const dir = path.join(baseDir, role);
    fs.mkdirSync(dir, { recursive: true });
    const port = await sparePort();
    const extra = servers.length === 0 ? [] : ["--replicaof", "127.0.0.1", String(servers[0].port)];
    const proc = await startRedis(port, [...serverArgs(dir), ...extra]);
    procs.push(proc);
    servers.push({ port, dir, proc });
  }
  // The replica must hold the data before a failover can keep it.
  const replica = new Redis(servers[1].port, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await replica.connect();
  for (let i = 0; i < 200; i++) {
    const info = String(await replica.info("replication"));
    if (/master_link_status:up/.test(info)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  replica.disconnect();
  const sentinelPorts: number[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await sparePort();
    procs.push(
      await startSentinel({
        port,
        dir: baseDir,
        masterName: MASTER_NAME,
        masterPort: servers[0].port,
        downAfterMs: DOWN_AFTER_MS,
      }),
    );
    sentinelPorts.push(port);
  }
  const sentinels = sentinelPorts.map((port) => ({ host: "127.0.0.1", port }));
  const ask = new Redis(sentinelPorts[0], { maxRetriesPerRequest: 1 });
  ask.on("error", () => undefined);

  const masterPort = async (): Promise<number> => {
    const reply = (await ask.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME)) as string[];
    return Number(reply[1]);
  };

  return {
    name: MASTER_NAME,
    sentinels,
    procs,
    masterPort,
    async failover() {
      const from = await masterPort();
      const victim = servers.find((s) => s.port === from);
      if (!victim) throw new Error(`the sentinels name a master on ${from}, not one of the soak's servers`);
      const watch = new Redis(sentinelPorts[1], { maxRetriesPerRequest: 1 });
      watch.on("error", () => undefined);
      const switched = new Promise<{ at: number; to: number }>((resolve) => {
        watch.on("message", (_channel: string, message: string) => {
          // "+switch-master <name> <old ip> <old port> <new ip> <new port>"
          const parts = message.split(" ");
          if (parts[0] === MASTER_NAME) resolve({ at: Date.now(), to: Number(parts[4]) });
        });
      });
      await watch.subscribe("+switch-master");
      const killedAt = Date.now();
      await stopRedis(victim.proc);
      let timer: NodeJS.Timeout | undefined;
      const done = await Promise.race([
        switched,
        new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 60_000))),
      ]);
      clearTimeout(timer);
      watch.disconnect();
      if (done === undefined) throw new Error("the sentinels named no new master within 60 s of the kill");
      victim.proc = await startRedis(victim.port, [
        ...serverArgs(victim.dir),
        "--replicaof",
        "127.0.0.1",
        String(done.to),
      ]);
      procs.push(victim.proc);
      return { killedAt, switchedAt: done.at, from, to: done.to };
    },
    async stop() {
      ask.disconnect();
      for (const p of procs) await stopRedis(p);
    },
  };
}
