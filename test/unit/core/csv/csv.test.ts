import assert from "node:assert/strict";
import { parseCsv, toCsv } from "../../../../src/core/csv";

describe("csv", function () {
  it("reads comma, semicolon and tab separated text with a lower-cased header", function () {
    for (const sep of [",", ";", "\t"]) {
      const t = parseCsv(["Item", "Address"].join(sep) + "\n" + ["v1", "HR0:float32"].join(sep) + "\n");
      assert.deepEqual(t.header, ["item", "address"]);
      assert.deepEqual(t.rows, [{ line: 2, cells: ["v1", "HR0:float32"] }]);
    }
  });

  it("handles quotes, doubled quotes, newlines in quotes, CRLF, BOM and blank lines", function () {
    const t = parseCsv('\uFEFFa,b\r\n"x, y","say ""hi"""\r\n\r\n"multi\nline",z\n');
    assert.deepEqual(t.rows, [
      { line: 2, cells: ["x, y", 'say "hi"'] },
      { line: 4, cells: ["multi\nline", "z"] },
    ]);
  });

  it("names the line of an unterminated quote", function () {
    assert.throws(() => parseCsv('a,b\n1,"open\n2,3\n'), /line 2: a quoted field is not closed/);
  });

  it("round-trips what it exports", function () {
    const rows = [["a,b", 'q"q', 1, true, null]];
    const text = toCsv(["h1", "h2", "h3", "h4", "h5"], rows);
    assert.deepEqual(parseCsv(text).rows[0].cells, ["a,b", 'q"q', "1", "true", ""]);
  });

  it("returns an empty table for empty text", function () {
    assert.deepEqual(parseCsv("  \n\n"), { header: [], rows: [] });
  });
});
