/** datacoll-iec104 migration 1: the windows k and w of older flows become windowK and windowW. */
import assert from "node:assert/strict";
import { iec104WindowNames } from "../../../../nodes/lib/migrations/iec104-1-window-names";

const device = { id: "d", type: "datacoll-iec104", host: "127.0.0.1", port: "2404" };

describe("datacoll-iec104 migration 1 (window names)", function () {
  it("renames k and w to windowK and windowW", function () {
    assert.deepEqual(iec104WindowNames.up({ ...device, k: "6", w: "4" }), {
      ...device,
      windowK: "6",
      windowW: "4",
    });
  });

  it("keeps windowK and windowW over k and w when a flow has both, as the node read them before", function () {
    assert.deepEqual(iec104WindowNames.up({ ...device, windowK: "20", windowW: "10", k: "6", w: "4" }), {
      ...device,
      windowK: "20",
      windowW: "10",
    });
  });

  it("leaves a device with neither as it is, so the node's defaults apply", function () {
    assert.deepEqual(iec104WindowNames.up(device), device);
  });

  it("renames each window on its own", function () {
    assert.deepEqual(iec104WindowNames.up({ ...device, k: "6", windowW: "10" }), {
      ...device,
      windowK: "6",
      windowW: "10",
    });
  });
});
