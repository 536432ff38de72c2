/**
 * A million writes leave history, frame log and events stream at their bound: nothing grows without
 * limit however long a plant runs. Writes go in large pipelined batches so the test takes seconds.
 */
import assert from "node:assert/strict";
import { MemoryStore } from "../../../src/core/store/memory-store";
import type { Store, StoreBounds } from "../../../src/core/store/store";
import type { DataPoint } from "../../../src/core/model/datapoint";
import type { FrameRecord } from "../../../src/core/store/store";
import { uniqueNamespace } from "../../support/services";
import { dp, envelope } from "./contract";
import { deleteNamespace, openRedisStore } from "./redis-admin";

const WRITES = 1_000_000;
const BATCH = 2_000;
const IN_FLIGHT = 8;

async function writeMillion(store: Store): Promise<void> {
  const points: DataPoint[] = Array.from({ length: BATCH }, (_, i) => dp("d:t:a", i));
  const frames: FrameRecord[] = Array.from({ length: BATCH }, (_, i) => ({ ts: i, dir: "rx", data: "0103" }));
  let inFlight: Promise<void>[] = [];
  for (let done = 0; done < WRITES; done += BATCH) {
    inFlight.push(store.ingest(envelope(points)), store.appendFrames("d", frames));
    if (inFlight.length >= IN_FLIGHT) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  }
  await Promise.all(inFlight);
}

async function lengths(store: Store): Promise<[number, number, number]> {
  return [await store.historyLength("d:t:a"), await store.framesLength("d"), await store.eventsLength()];
}

describe("store bounds under a million writes", function () {
  this.timeout(120_000);

  it("MemoryStore keeps exactly its bounds", async function () {
    const store = new MemoryStore({
      namespace: "m:",
      instanceId: "m",
      bounds: { history: 100, frames: 50, events: 10 },
    });
    try {
      await writeMillion(store);
      assert.deepEqual(await lengths(store), [100, 50, 10]);
      assert.equal((await store.history("d:t:a", 1))[0].value, BATCH - 1, "the newest sample is kept");
    } finally {
      await store.close();
    }
  });

  it("RedisStore keeps its bounds (default MAXLEN ~ trimming)", async function () {
    const namespace = uniqueNamespace();
    const bounds: Partial<StoreBounds> = { history: 100, frames: 100, events: 10 };
    const store = await openRedisStore({ namespace, instanceId: "r", bounds });
    try {
      await writeMillion(store);
      // MAXLEN ~ trims whole stream nodes: at least the bound, at most one node (100 entries) more. Exact
      // trimming to the entry is covered by the contract suite.
      const [history, frames, events] = await lengths(store);
      for (const [n, bound] of [
        [history, 100],
        [frames, 100],
        [events, 10],
      ]) {
        assert.ok(n >= bound && n <= bound + 100, `${n} entries for a bound of ${bound}`);
      }
      assert.equal((await store.history("d:t:a", 1))[0].value, BATCH - 1, "the newest sample is kept");
    } finally {
      await store.close();
      await deleteNamespace(namespace);
    }
  });
});
