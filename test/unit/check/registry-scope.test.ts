import assert from "node:assert/strict";
import { RegistryScope } from "../../../src/core/check/registry-scope";

describe("the registry as a check node's scope", function () {
  const ids = (key: string) => {
    const [deviceId, termId, itemId] = key.split(":");
    return { deviceId, termId, itemId };
  };

  it("matches the registry's points only, and follows their creation and deletion", function () {
    const scope = new RegistryScope();
    assert.equal(scope.all, false);
    assert.equal(scope.apply({ kind: "point", id: "d:t:new", op: "create" }), true);
    scope.addAll(["d:t:a", "d:t:b"]);
    assert.deepEqual(
      ["d:t:a", "d:t:b", "d:t:new", "d:t:c", "demo:meter1:voltage"].map((k) => scope.matches(ids(k))),
      [true, true, true, false, false],
    );
    assert.equal(scope.apply({ kind: "point", id: "d:t:a", op: "update" }), true);
    assert.equal(scope.apply({ kind: "device", id: "d", op: "update" }), false, "not a point");
    assert.equal(scope.apply({ kind: "point", id: "d:t:a", op: "delete" }), true, "was in scope");
    assert.equal(scope.matches(ids("d:t:a")), false);
    assert.equal(scope.apply({ kind: "point", id: "d:t:a", op: "delete" }), false, "already gone");
  });
});
