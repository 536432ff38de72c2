import assert from "node:assert/strict";
import {
  DEFAULT_PROTOCOL_RULES,
  addressKey,
  withProtocolRule,
} from "../../../../src/core/model/protocol-rules";
import { reconnectDelay } from "../../../../src/core/store/redis-store";

describe("protocol rules", function () {
  it("checks IEC 104 point addresses and keys them by IOA", function () {
    const rule = DEFAULT_PROTOCOL_RULES.iec104;
    assert.deepEqual(rule.pointAddress("1001:M_ME_NC_1"), { ok: true, tail: "1001" });
    assert.deepEqual(rule.pointAddress("01001"), { ok: true, tail: "1001" }, "one IOA, one key");
    assert.deepEqual(rule.pointAddress("16777215"), { ok: true, tail: "16777215" });
    // The type names a monitor type or a command type (the older code_type): one that exists.
    assert.deepEqual(rule.pointAddress("100:36"), { ok: true, tail: "100" });
    assert.deepEqual(rule.pointAddress("100:63"), { ok: true, tail: "100" });
    assert.deepEqual(rule.pointAddress("100:C_SE_NC_1"), { ok: true, tail: "100" });
    for (const bad of ["0", "16777216", "x", "1001:", "1001:a b", "1001:99", "1001:102", "1001:M_XX_1"])
      assert.equal(rule.pointAddress(bad).ok, false, bad);
    assert.equal(addressKey(rule, "rtu", 7, "1001"), "iec104:rtu:7:1001");
  });

  it("lets the Modbus parser replace the default rule", function () {
    const rules = withProtocolRule(DEFAULT_PROTOCOL_RULES, "modbus-tcp", {
      pointAddress: (a) =>
        a.startsWith("HR") ? { ok: true, tail: `HR:${a.slice(2)}` } : { ok: false, reason: "no" },
    });
    assert.deepEqual(rules["modbus-tcp"].pointAddress("HR40001"), { ok: true, tail: "HR:40001" });
    assert.equal(rules["modbus-tcp"].mapPrefix, "modbus", "the rest of the rule stays");
    assert.deepEqual(DEFAULT_PROTOCOL_RULES["modbus-tcp"].pointAddress("HR40001"), {
      ok: true,
      tail: "HR40001",
    });
    // The default rule is the Modbus runtime's own parser: what it would refuse is refused when stored.
    for (const bad of ["HR 1", "ZZ99", "HR1:float99", "HR65535:float32", "HR1:string"])
      assert.equal(DEFAULT_PROTOCOL_RULES["modbus-tcp"].pointAddress(bad).ok, false, bad);
  });
});

describe("reconnect backoff", function () {
  it("doubles from the base, is capped, and jitters by a quarter either way", function () {
    const policy = { baseMs: 100, maxMs: 10_000 };
    assert.equal(
      reconnectDelay(1, policy, () => 0.5),
      100,
    );
    assert.equal(
      reconnectDelay(4, policy, () => 0.5),
      800,
    );
    assert.equal(
      reconnectDelay(50, policy, () => 0.5),
      10_000,
    );
    assert.equal(
      reconnectDelay(50, policy, () => 0),
      7_500,
    );
    assert.equal(
      reconnectDelay(50, policy, () => 0.999999),
      12_500,
    );
  });
});
