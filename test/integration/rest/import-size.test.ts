/**
 * A CSV import at plant size, on both stores: 100,000 rows are imported (or refused with a 413/400 that
 * names the limit, never a 5xx) while every other request keeps being served, and the import stays all
 * or nothing when another instance writes meanwhile. The registry is checked by the shared invariant
 * checker after each.
 */
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { MAX_IMPORT_ROWS } from "../../../src/core/rest/import";
import { DEFAULT_MAX_BODY_BYTES } from "../../../src/core/rest/types";
import { REDIS_URL } from "../../support/services";
import { STORE_KINDS, openTwo, type TwoInstances } from "../../support/two-instances";
import { until } from "../../support/net";
import { K } from "../../../src/core/store/keys";
import { plantCsv } from "../../support/plant-csv";
import { worstWaitDuring } from "../../support/worst-wait";
import { registryProblems } from "../../support/registry-invariants";

const MAX_BODY = 8_000_000;
const GOAL_MS = 200;

/** Keys of the namespace that are not the registry's: a stage or trash key left behind (Redis). */
async function strayKeys(s: TwoInstances): Promise<string[]> {
  if (s.database) return [];
  const admin = new Redis(REDIS_URL);
  try {
    return [...(await admin.keys(`${s.namespace}stage:*`)), ...(await admin.keys(`${s.namespace}trash:*`))];
  } finally {
    await admin.quit();
  }
}

/**
 * Resolves once a large write of instance a is under way: on Redis, when its stage keys appear; in
 * memory, when it reads the points hash (ahead of planning, and to stage).
 */
function underWay(s: TwoInstances): () => Promise<void> {
  if (!s.database)
    return () => until(async () => (await strayKeys(s)).length > 0, 60_000, "the staging").then();
  const hashes = s.database.space(s.namespace).hashes;
  const get = hashes.get.bind(hashes);
  let pointsRead = false;
  hashes.get = (key) => {
    if (key === K.points) pointsRead = true;
    return get(key);
  };
  return () => until(() => pointsRead, 60_000, "the import reading the points").then();
}

for (const kind of STORE_KINDS) {
  describe(`a 100,000-row CSV import on the ${kind} store`, function () {
    this.timeout(180_000);
    let s: TwoInstances;
    const plant = plantCsv(MAX_IMPORT_ROWS);

    beforeEach(async function () {
      s = await openTwo(kind, "import");
    });

    afterEach(async function () {
      await s.close();
    });

    it("is refused with 413 naming the body limit when the body is over it", async function () {
      assert.ok(Buffer.byteLength(plant.csv) > DEFAULT_MAX_BODY_BYTES);
      const r = await s.a.call("POST", "/v2/import", plant.csv, {
        contentType: "text/csv",
        maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
      });
      assert.equal(r.status, 413);
      assert.match(JSON.stringify(r.body), new RegExp(`larger than ${DEFAULT_MAX_BODY_BYTES} bytes`));
    });

    it("is refused with 400 naming the row limit when it has a row too many", async function () {
      const over = plantCsv(MAX_IMPORT_ROWS + 1);
      const r = await s.a.call("POST", "/v2/import", over.csv, {
        contentType: "text/csv",
        maxBodyBytes: MAX_BODY,
      });
      assert.equal(r.status, 400);
      assert.match(JSON.stringify(r.body), new RegExp(`at most ${MAX_IMPORT_ROWS} rows`));
      assert.deepEqual(await s.a.store.registry.listDevices(), []);
    });

    it(`is imported whole while other requests wait at most ${GOAL_MS} ms`, async function () {
      // One instance: in a plant the others are other processes, each reading the announcement of
      // 100,000 changes in its own time; here they would share this process with the one measured.
      await s.b.close();
      const {
        result: r,
        worstMs,
        asked,
      } = await worstWaitDuring(
        async () => {
          assert.equal((await s.a.call("GET", "/v1/devices")).status, 200);
        },
        s.a.call("POST", "/v2/import", plant.csv, { contentType: "text/csv", maxBodyBytes: MAX_BODY }),
      );
      assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 500));
      const body = r.body as { created: string[]; updated: string[] };
      assert.equal(body.created.length, plant.rows);
      assert.deepEqual(body.updated, []);
      // Served meanwhile, not after: answers came back before the import's own answer did. How long the
      // slowest of them waited is a figure, not a pass mark on a shared machine: the registry benchmark
      // reports it (import_worst_wait, bench/registry.bench.ts) against the same 200 ms goal.
      assert.ok(
        asked > 1,
        `the devices were asked for while the import ran (slowest ${worstMs.toFixed(0)} ms)`,
      );
      assert.equal((await s.a.store.registry.listDevices()).length, plant.devices);
      assert.equal((await s.a.store.registry.listTerms()).length, plant.terms);
      assert.equal((await s.a.store.registry.listPoints()).length, plant.points);
      assert.deepEqual(await registryProblems(s.raw, s.a.store.registry), []);
      assert.deepEqual(await strayKeys(s), []);
    });

    it("stays all or nothing when another instance writes while it is under way", async function () {
      // The other instance's write moves the revision under the import's plan: the import is refused
      // by the revision check, leaves nothing behind and is planned again; both end up stored.
      const started = underWay(s);
      const importing = s.a.call("POST", "/v2/import", plant.csv, {
        contentType: "text/csv",
        maxBodyBytes: MAX_BODY,
      });
      await started();
      const other = await s.b.call("POST", "/v1/devices", { id: "other", protocol: "virtual" });
      assert.equal(other.status, 200);
      const r = await importing;
      assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 500));
      assert.equal((await s.a.store.registry.listDevices()).length, plant.devices + 1);
      assert.equal((await s.a.store.registry.listPoints()).length, plant.points);
      assert.deepEqual(await registryProblems(s.raw, s.a.store.registry), []);
      assert.deepEqual(await strayKeys(s), []);
    });
  });
}
