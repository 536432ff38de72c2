/**
 * Operators' alarm commands between instances on a real Redis: a standby's forwarded acknowledgement
 * reaches the active instance (and nobody else), and a subscription Redis refuses is reported once,
 * retried on the (manual) clock, and heard from once it holds — an acknowledgement is never lost
 * without a word. The refusal is real: a redis-server of the test's own whose ACL denies the channel.
 */
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { Redis } from "ioredis";
import { AlarmCommands, alarmCommandsChannel } from "../../../src/core/check/alarm-commands";
import { CheckController, type CheckNotice } from "../../../src/core/check/controller";
import { parseCheckForm } from "../../../src/core/check/form";
import { Manager } from "../../../src/core/manager";
import { parseManagerSettings } from "../../../src/core/manager-config";
import { systemClock } from "../../../src/transport/connection";
import { ManualClock } from "../../../src/transport/manual-clock";
import { until } from "../../support/net";
import { REDIS_URL, uniqueNamespace } from "../../support/services";
import { sparePort, startRedis, stopRedis } from "../store/redis-server";

interface Heard {
  readonly topic: string;
  readonly payload: unknown;
}

/** Subscribers on a channel, as Redis counts them. */
async function listeners(redis: Redis, channel: string): Promise<number> {
  const [, n] = (await redis.pubsub("NUMSUB", channel)) as [string, number];
  return Number(n);
}

/** SUBSCRIBE calls the server refused (ACL), from its command statistics. */
async function refusedSubscribes(redis: Redis): Promise<number> {
  const info = await redis.info("commandstats");
  return Number(/cmdstat_subscribe:.*rejected_calls=(\d+)/.exec(info)?.[1] ?? 0);
}

describe("alarm commands between instances (real Redis)", function () {
  const opened: Redis[] = [];
  const redis = (url = REDIS_URL): Redis => {
    const c = new Redis(url);
    opened.push(c);
    return c;
  };
  const closing: AlarmCommands[] = [];
  let server: ChildProcess | undefined;

  afterEach(async function () {
    await Promise.all(closing.splice(0).map((c) => c.close()));
    await Promise.all(opened.splice(0).map((c) => c.quit().catch(() => c.disconnect())));
    if (server) await stopRedis(server);
    server = undefined;
  });

  function instance(
    url: string,
    namespace: string,
    instanceId: string,
    nodeId: string,
    clock = systemClock,
  ): { commands: AlarmCommands; heard: Heard[]; listening: (string | undefined)[] } {
    const heard: Heard[] = [];
    const listening: (string | undefined)[] = [];
    const commands = new AlarmCommands({
      publisher: redis(url),
      subscriber: new Redis(url),
      namespace,
      instanceId,
      nodeId,
      clock,
      onCommand: (topic, payload) => heard.push({ topic, payload }),
      onListening: (reason) => listening.push(reason),
    });
    closing.push(commands);
    return { commands, heard, listening };
  }

  it("hands a standby's acknowledgement to the active instance of the same node only", async function () {
    const ns = uniqueNamespace("cmd");
    const active = instance(REDIS_URL, ns, "i-a", "c1");
    const standby = instance(REDIS_URL, ns, "i-b", "c1");
    const otherNode = instance(REDIS_URL, ns, "i-c", "c2");
    const admin = redis();
    await until(async () => (await listeners(admin, `${ns}alarm-commands`)) === 3, 5000, "all subscribed");
    assert.equal(active.commands.channel, alarmCommandsChannel(ns));

    // Published before the acknowledgement on the same connection, so they arrive first if at all.
    await otherNode.commands.forward("ack", { key: "d:t:v" });
    await admin.publish(`${ns}alarm-commands`, "not json");
    await admin.publish(`${ns}alarm-commands`, JSON.stringify({ node: "c1", from: "i-x", topic: "drop" }));
    await standby.commands.forward("ack", { key: "d:t:v", condition: "high", by: "ann" });

    await until(() => active.heard.length > 0, 5000, "the forwarded acknowledgement");
    assert.deepEqual(active.heard, [
      { topic: "ack", payload: { key: "d:t:v", condition: "high", by: "ann" } },
    ]);
    assert.deepEqual(standby.heard, [], "an instance does not run its own forwarded commands");
    assert.deepEqual(otherNode.heard, [], "another node's copy is not addressed");
    assert.deepEqual(active.listening, [], "nothing to report while the subscription holds");
    assert.equal(active.commands.problem, undefined);
  });

  it("reports a refused subscription once, retries it, and hears commands once it holds", async function () {
    this.timeout(30_000);
    const port = await sparePort();
    // The default user may do everything except use a pub/sub channel.
    server = await startRedis(port, ["--user", "default", "on", "nopass", "~*", "resetchannels", "+@all"]);
    const url = `redis://127.0.0.1:${port}`;
    const admin = redis(url);
    const clock = new ManualClock(1_763_700_000_000);
    const active = instance(url, "acl:", "i-a", "c1", clock);

    await until(() => active.listening.length > 0, 5000, "the refusal reported");
    assert.match(String(active.listening[0]), /NOPERM/);
    assert.match(String(active.commands.problem), /NOPERM/);
    assert.equal(clock.pending, 1, "a retry is set");

    clock.advance(1000);
    await until(async () => (await refusedSubscribes(admin)) >= 2, 5000, "the retry refused too");
    await until(() => clock.pending === 1, 5000, "the next retry set");
    assert.equal(active.listening.length, 1, "said once while it goes on failing");

    await admin.call("ACL", "SETUSER", "default", "allchannels");
    clock.advance(1000);
    await until(() => active.listening.length === 2, 5000, "the subscription holding again");
    assert.equal(active.listening[1], undefined);
    assert.equal(active.commands.problem, undefined);
    assert.equal(clock.pending, 0, "no more retries");

    const standby = instance(url, "acl:", "i-b", "c1", clock);
    await standby.commands.forward("ack", { key: "d:t:v", by: "bob" });
    await until(() => active.heard.length > 0, 5000, "the forwarded acknowledgement");
    assert.deepEqual(active.heard, [{ topic: "ack", payload: { key: "d:t:v", by: "bob" } }]);
  });

  it("a check controller whose command channel is refused says so in its notices and status", async function () {
    this.timeout(30_000);
    const port = await sparePort();
    // The store's own channels are allowed; the alarm commands' is not.
    const allowed = ["&acl:points", "&acl:changes"];
    server = await startRedis(port, [
      "--user",
      "default",
      "on",
      "nopass",
      "~*",
      "resetchannels",
      ...allowed,
      "+@all",
    ]);
    const manager = new Manager(
      parseManagerSettings({
        store: "redis",
        redisUrl: `redis://127.0.0.1:${port}`,
        namespace: "acl:",
        instanceId: "i-a",
      }),
    );
    const notices: CheckNotice[] = [];
    const controller = new CheckController({
      nodeId: "c1",
      ...parseCheckForm({ high: "10" }),
      manager,
      clock: new ManualClock(1_763_700_000_000),
      onTransitions: () => undefined,
      onNotice: (n) => notices.push(n),
      onChange: () => undefined,
    });
    try {
      await controller.ready;
      await until(() => notices.length > 0, 5000, "the refusal reported");
      assert.equal(notices[0].code, "commands-unheard");
      assert.match(notices[0].code === "commands-unheard" ? notices[0].reason : "", /NOPERM/);
      const status = controller.status();
      assert.equal(status.kind, "problem");
      assert.equal(status.kind === "problem" ? status.problem.code : undefined, "commands-unheard");
    } finally {
      await controller.close(true);
      await manager.close();
    }
  });
});
