/**
 * Races on the registry over REST, on both stores, each with two instances on one namespace (requests
 * alternate between them, so writes race inside one process and across instances): parallel creates of
 * one id, parallel renames of one device, renames racing deletes and creates. Every read-modify-write
 * must be planned inside the atomic step; after each race the shared invariant checker must find nothing.
 */
import assert from "node:assert/strict";
import type { RestResponse } from "../../../src/core/rest/types";
import { registryProblems } from "../../support/registry-invariants";
import { STORE_KINDS, openTwo, type TwoInstances } from "../../support/two-instances";

/** The answers of a request that lost a race: the older API's texts, or the address another point holds. */
const LOSER_TEXT =
  /^((device|term|item|formula)_id not found!|term_item not found!|(device|term|item|formula|term_item) already exists!|address \S+ is already used by point \S+)$/;

function statusText(r: RestResponse): string {
  return `${r.status} ${typeof r.body === "string" ? r.body : JSON.stringify(r.body)}`;
}

for (const kind of STORE_KINDS) {
  describe(`registry races on the ${kind} store`, function () {
    this.timeout(60_000);
    let s: TwoInstances;
    /** Requests alternate between the two instances. */
    let turn = 0;
    const call = (method: string, path: string, body?: unknown): Promise<RestResponse> =>
      (turn++ % 2 === 0 ? s.a : s.b).call(method, path, body);

    const ok = async (method: string, path: string, body: unknown): Promise<void> => {
      const r = await call(method, path, body);
      assert.equal(r.status, 200, `${method} ${path}: ${statusText(r)}`);
    };

    /** Device rx with two terms of two points each, and a formula reading one of its points. */
    async function seed(): Promise<void> {
      await ok("POST", "/v1/devices", { id: "rx", protocol: "modbus-tcp", host: "10.0.0.5" });
      await ok("POST", "/v1/devices", { id: "calc", protocol: "formula" });
      await ok("POST", "/v1/terms", { id: "ta", device_id: "rx", address: 1 });
      await ok("POST", "/v1/terms", { id: "tb", device_id: "rx", address: 2 });
      await ok("POST", "/v1/terms", { id: "c1", device_id: "calc" });
      for (const item of ["power", "energy", "volt"]) await ok("POST", "/v1/items", { id: item });
      for (const term of ["ta", "tb"]) {
        await ok("POST", `/v1/terms/${term}/items`, { item_id: "power", address: "HR40001" });
        await ok("POST", `/v1/terms/${term}/items`, { item_id: "energy", address: "HR40003" });
      }
      await ok("POST", "/v1/terms/c1/items", { item_id: "power" });
      await ok("POST", "/v1/formulas", {
        id: "f1",
        expression: "p1 * 2",
        params: { p1: "rx:ta:power" },
        result: "calc:c1:power",
      });
    }

    async function assertSound(): Promise<void> {
      assert.deepEqual(await registryProblems(s.raw, s.a.store.registry), []);
    }

    beforeEach(async function () {
      s = await openTwo(kind, "races");
    });

    afterEach(async function () {
      await s.close();
    });

    it("creates one device of 50 parallel creates of one id; the others answer 409", async function () {
      const replies = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          call("POST", "/v1/devices", { id: "dup", protocol: "modbus-tcp", host: `10.0.0.${i + 1}` }),
        ),
      );
      const won = replies.flatMap((r, i) => (r.status === 200 ? [i] : []));
      assert.equal(won.length, 1, replies.map(statusText).join("\n"));
      // A successful v1 write answers 200 with an empty body, as the older system did.
      assert.equal(statusText(replies[won[0]]), "200 ");
      for (const r of replies.filter((x) => x.status !== 200))
        assert.equal(statusText(r), "409 device already exists!");
      assert.deepEqual((await s.b.call("GET", "/v1/devices")).body, ["dup"]);
      // The stored device is the one the winner sent.
      const stored = await s.a.store.registry.getDevice("dup");
      assert.equal(stored?.host, `10.0.0.${won[0] + 1}`);
      await assertSound();
    });

    it("lets one of 20 parallel renames of a device win; the others answer 404", async function () {
      await seed();
      const replies = await Promise.all(
        Array.from({ length: 20 }, (_, i) => call("PUT", "/v1/devices/rx", { id: `rx${i}` })),
      );
      const winners = replies.flatMap((r, i) => (r.status === 200 ? [`rx${i}`] : []));
      assert.equal(winners.length, 1, replies.map(statusText).join("\n"));
      for (const r of replies.filter((x) => x.status !== 200))
        assert.equal(statusText(r), "404 device_id not found!");
      const [winner] = winners;
      assert.deepEqual((await s.a.call("GET", "/v1/devices")).body, ["calc", winner].sort());
      assert.deepEqual((await s.b.call("GET", `/v1/devices/${winner}/terms`)).body, ["ta", "tb"]);
      assert.deepEqual((await s.a.store.registry.listPoints({ deviceId: winner })).map((p) => p.key).sort(), [
        `${winner}:ta:energy`,
        `${winner}:ta:power`,
        `${winner}:tb:energy`,
        `${winner}:tb:power`,
      ]);
      assert.deepEqual((await s.b.store.registry.getFormula("f1"))?.params, { p1: `${winner}:ta:power` });
      await assertSound();
    });

    it("keeps every field of 20 parallel PUTs to one device, each merged into what is stored", async function () {
      await seed();
      const replies = await Promise.all(
        Array.from({ length: 20 }, (_, i) => call("PUT", "/v1/devices/rx", { [`note${i}`]: `n${i}` })),
      );
      assert.deepEqual(
        replies.map(statusText).filter((t) => !t.startsWith("200 ")),
        [],
      );
      const stored = (await s.b.call("GET", "/v1/devices/rx")).body as Record<string, string>;
      for (let i = 0; i < 20; i++)
        assert.equal(stored[`note${i}`], `n${i}`, `field note${i} of ${JSON.stringify(stored)}`);
      assert.equal(stored.host, "10.0.0.5");
      await assertSound();
    });

    it("deletes a device once of 10 parallel deletes; the others answer 404", async function () {
      await seed();
      const replies = await Promise.all(Array.from({ length: 10 }, () => call("DELETE", "/v1/devices/rx")));
      assert.deepEqual(
        replies.map(statusText).sort(),
        ["200 ", ...Array.from({ length: 9 }, () => "404 device_id not found!")].sort(),
      );
      await assertSound();
    });

    it("deletes a list once of 10 parallel batch deletes; the others answer 404 naming the ids", async function () {
      await seed();
      const replies = await Promise.all(
        Array.from({ length: 10 }, () => call("DELETE", "/v2/items", ["energy", "volt"])),
      );
      const won = replies.filter((r) => r.status === 200);
      assert.equal(won.length, 1, replies.map(statusText).join("\n"));
      assert.deepEqual(won[0].body, { deleted: ["energy", "volt"] });
      for (const r of replies.filter((x) => x.status !== 200)) {
        assert.equal(r.status, 404, statusText(r));
        assert.match(JSON.stringify(r.body), /item energy does not exist/);
      }
      await assertSound();
    });

    it("stays sound when renames race deletes and creates", async function () {
      for (let round = 0; round < 8; round++) {
        await seed();
        const requests: readonly [string, string, unknown?][] = [
          ["PUT", "/v1/devices/rx", { id: "ry" }],
          ["POST", "/v1/devices", { id: "ry", protocol: "virtual" }],
          ["DELETE", "/v1/devices/rx"],
          ["PUT", "/v1/devices/rx", { id: "rz" }],
          ["PUT", "/v1/terms/ta", { id: "tc" }],
          ["POST", "/v1/terms", { id: "tc", device_id: "rx", address: 3 }],
          ["DELETE", "/v1/terms/tb"],
          ["POST", "/v1/terms/ta/items", { item_id: "volt", address: "HR40005" }],
          ["PUT", "/v1/terms/tb/items/power", { item_id: "volt" }],
          ["PUT", "/v1/items/energy", { id: "kwh" }],
          ["DELETE", "/v1/items/power"],
          ["POST", "/v1/terms/tb/items", { item_id: "volt", address: "HR40003" }],
        ];
        // Shift which request goes first, so each round races them in another order.
        const order = requests.map((_, i) => requests[(i + round * 5) % requests.length]);
        const replies = await Promise.all(order.map(([m, p, b]) => call(m, p, b)));
        replies.forEach((r, i) => {
          const what = `round ${round}: ${order[i][0]} ${order[i][1]} answered ${statusText(r)}`;
          assert.ok([200, 404, 409].includes(r.status), what);
          if (r.status !== 200) assert.match(String(r.body), LOSER_TEXT, what);
        });
        const won = (m: string, p: string, id: string): boolean =>
          replies[
            order.findIndex(([m2, p2, b]) => m2 === m && p2 === p && JSON.stringify(b).includes(`"${id}"`))
          ].status === 200;
        // ry is made once at most: by the rename or by the create.
        assert.ok(
          !(won("PUT", "/v1/devices/rx", "ry") && won("POST", "/v1/devices", "ry")),
          `round ${round}`,
        );
        // rx renamed at most once.
        assert.ok(
          !(won("PUT", "/v1/devices/rx", "ry") && won("PUT", "/v1/devices/rx", "rz")),
          `round ${round}`,
        );
        await assertSound();
        await s.a.store.registry.batch(
          (await s.a.store.registry.listDevices()).map((d) => ({ op: "delete", kind: "device", id: d.id })),
        );
        await s.a.store.registry.batch(
          (await s.a.store.registry.listItems()).map((i) => ({ op: "delete", kind: "item", id: i.id })),
        );
        await assertSound();
      }
    });
  });
}
