/**
 * The X-Datacoll-Detail header's text: Node refuses a header value with control characters or characters
 * beyond Latin-1 (the whole answer would fail), so the detail is made visible ASCII that a client decodes
 * back with decodeURIComponent.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { headerText } from "../../../src/core/rest/errors";

describe("the detail header's text", function () {
  it("keeps visible ASCII and percent-encodes everything else, % included", function () {
    assert.equal(headerText('point 1:10:1000 does not exist; "x"'), 'point 1:10:1000 does not exist; "x"');
    assert.equal(headerText("度 100%\r\nX: y"), "%E5%BA%A6 100%25%0D%0AX: y");
    assert.equal(
      decodeURIComponent(headerText("设备 电表 does not exist ü\t")),
      "设备 电表 does not exist ü\t",
    );
  });

  it("turns half a character into the replacement character and stops at 300 characters", function () {
    assert.equal(headerText("a\uD800b"), "a%EF%BF%BDb");
    assert.equal(headerText("x".repeat(1000)).length, 300);
    // Cut inside a pair: the half left over is replaced, never thrown on.
    assert.equal(headerText(`${"x".repeat(299)}😀`), `${"x".repeat(299)}%EF%BF%BD`);
  });

  it("is a value Node sends", function () {
    for (const text of ["度\u0000\u007f\u0085ÿ", "\uDC00", "a\nb"]) {
      assert.throws(() => http.validateHeaderValue("x-datacoll-detail", text), text);
      assert.doesNotThrow(() => http.validateHeaderValue("x-datacoll-detail", headerText(text)), text);
    }
  });
});
