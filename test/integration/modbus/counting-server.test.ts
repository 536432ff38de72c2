/**
 * The device of `npm run bench -- incumbent` (bench/lib/libmodbus-counting-server.c) read by mbpoll, an
 * independent master: the bench's figures rest on every register changing on every read (so report by
 * exception passes every value) and on the server counting every request it answers (the proof that
 * each delivered value came from a poll that reached the device).
 */
import assert from "node:assert/strict";
import { startCountingServer, type CountingServer } from "../../../bench/lib/counting-server";
import { run } from "../../support/peer-programs";

/** One read of holding registers 0..99 by mbpoll; the values by register. */
async function readAll(port: number): Promise<number[]> {
  const r = await run("mbpoll", [
    ...["-m", "tcp", "-p", String(port), "-a", "1", "-0", "-1"],
    ...["-r", "0", "-c", "100", "-t", "4", "127.0.0.1"],
  ]);
  assert.equal(r.code, 0, r.out);
  const values: number[] = [];
  for (const line of r.out.split("\n")) {
    const m = /^\[(\d+)\]:\s+(\d+)/.exec(line.trim());
    if (m !== null) values[Number(m[1])] = Number(m[2]);
  }
  assert.equal(values.length, 100, r.out);
  return values;
}

describe("bench: the libmodbus counting server", () => {
  let server: CountingServer;
  before(async () => {
    server = await startCountingServer(2);
  });
  after(() => server.stop());

  it("serves each device on a port of its own and counts every request", async () => {
    assert.equal(server.ports.length, 2);
    assert.equal(await server.requests(), 0);
    await readAll(server.ports[0]);
    assert.equal(await server.requests(), 1);
    await readAll(server.ports[1]);
    await readAll(server.ports[0]);
    assert.equal(await server.requests(), 3);
  });

  it("changes every register on every read", async () => {
    const first = await readAll(server.ports[0]);
    const second = await readAll(server.ports[0]);
    for (let i = 0; i < 100; i++) {
      assert.notEqual(second[i], first[i], `register ${i} did not change`);
      assert.equal(second[i] - second[0], i, `register ${i} is not the count plus ${i}`);
    }
  });
});
