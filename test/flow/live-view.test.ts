/** The live view's HTTP side over real HTTP: manager list, snapshot, the event stream and acknowledge. */
import assert from "node:assert/strict";
import http from "node:http";
import { managers } from "../../src/core/manager";
import type { DataPoint } from "../../src/core/model/datapoint";
import { helper, nodeModule, useNodeRed } from "../support/node-red";

const manager = nodeModule("datacoll-manager");

function dp(key: string, value: number): DataPoint {
  const [deviceId, termId, itemId] = key.split(":");
  return { key, deviceId, termId, itemId, value, ts: Date.now(), quality: {}, cause: "poll" };
}

/** Read a server-sent event stream until `want` events of a kind arrived (or 5 s passed). */
async function readEvents(
  url: string,
  kind: string,
  want: number,
  during: () => Promise<void>,
): Promise<unknown[]> {
  const ctrl = new AbortController();
  const res = await fetch(url, { signal: ctrl.signal });
  assert.equal(res.headers.get("content-type"), "text/event-stream");
  assert.ok(res.body, "a streamed body");
  const reader = res.body.getReader();
  const got: unknown[] = [];
  let text = "";
  // A watchdog on the wait for the events below, not a wait for time: they end it.
  const deadline = setTimeout(() => ctrl.abort(), 5000);
  let triggered = false;
  try {
    while (got.length < want) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
      for (let i = text.indexOf("\n\n"); i >= 0; i = text.indexOf("\n\n")) {
        const block = text.slice(0, i);
        text = text.slice(i + 2);
        const ev = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (ev === "snapshot" && !triggered) {
          triggered = true;
          await during();
        }
        if (ev === kind && data) got.push(JSON.parse(data));
      }
    }
  } finally {
    clearTimeout(deadline);
    ctrl.abort();
  }
  return got;
}

describe("live view", function () {
  let admin: http.Server | undefined;
  // Before useNodeRed's hooks, so the test's own server is gone when the leak check looks.
  afterEach(async function () {
    admin?.closeAllConnections();
    await new Promise<void>((r) => (admin ? admin.close(() => r()) : r()));
    admin = undefined;
  });
  useNodeRed();

  it("lists managers, streams a snapshot then changes, and acknowledges through the alarm owner", async function () {
    await helper.load(manager, [
      { id: "lm", type: "datacoll-manager", name: "Plant A", store: "embedded", namespace: "lv:" },
    ]);
    const m = managers.get("lm");
    assert.ok(m);
    // The test runtime's admin app is not behind helper.url(): serve it on a port of the test's own.
    admin = http.createServer(helper._httpAdmin);
    await new Promise<void>((r) => admin?.listen(0, "127.0.0.1", r));
    const address = admin.address();
    assert.ok(address && typeof address === "object");
    const base = `http://127.0.0.1:${address.port}/datacoll`;
    const page = await fetch(`${base}`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /DataColl live view/);
    const list = (await (await fetch(`${base}/api/managers`)).json()) as { id: string; name: string }[];
    assert.deepEqual(
      list.map((x) => [x.id, x.name]),
      [["lm", "Plant A"]],
    );

    const changes = await readEvents(`${base}/api/events?manager=lm`, "points", 1, async () => {
      await m.publish([dp("d:t:a", 1.5), dp("d:t:a", 2.5)]);
    });
    assert.deepEqual(
      (changes[0] as { key: string; value: number; trend: number[] }[]).map((p) => [p.key, p.value, p.trend]),
      [["d:t:a", 2.5, [1.5, 2.5]]],
    );

    const acked: string[] = [];
    const off = m.addAlarmHandler({
      acknowledge: async (key, condition, by) => {
        acked.push(`${key}/${condition}/${by}`);
        return true;
      },
      shelve: async () => false,
    });
    const ack = await fetch(`${base}/api/alarms/ack`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ manager: "lm", key: "d:t:a", condition: "high" }),
    });
    assert.equal(ack.status, 200);
    assert.deepEqual(acked, ["d:t:a/high/live view"]);
    const bad = await fetch(`${base}/api/alarms/ack`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ manager: "lm" }),
    });
    assert.equal(bad.status, 400);
    assert.equal((await fetch(`${base}/api/snapshot?manager=nope`)).status, 404);
    off();
  });
});
