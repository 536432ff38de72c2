import assert from "node:assert/strict";
import { MemoryDeadLetters } from "../../../src/core/history/dead-letters";
import type { DeadLetter } from "../../../src/core/history/dead-letters";

function letter(ts: number): DeadLetter {
  return {
    row: {
      kind: "point",
      key: "d:t:i",
      deviceId: "d",
      termId: "t",
      itemId: "i",
      ts,
      value: 1,
      valueText: null,
      quality: 0,
      cause: "poll",
    },
    error: "too long",
    code: "ER_DATA_TOO_LONG",
    at: ts,
  };
}

describe("memory dead letters", function () {
  it("keeps the newest up to its capacity, newest first", async function () {
    const d = new MemoryDeadLetters(3);
    await d.add([letter(1), letter(2)]);
    await d.add([letter(3), letter(4)]);
    assert.equal(await d.size(), 3);
    assert.deepEqual(
      (await d.list(10)).map((l) => l.at),
      [4, 3, 2],
    );
    assert.deepEqual(
      (await d.list(1)).map((l) => l.at),
      [4],
    );
    await d.clear();
    assert.equal(await d.size(), 0);
  });
});
