/**
 * The editor help is made from nodes/<type>/help*.md by scripts/markdown.mjs. Help sources wrap at about
 * 100 columns, so a list item runs on over indented lines: those lines are the item's text (a code span
 * may cross them), and indented items under a numbered one are its own list (an output's properties).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(__dirname, "../../..");

async function renderer(): Promise<(md: string) => string> {
  const m = (await import(path.join(root, "scripts/markdown.mjs"))) as {
    renderMarkdown: (md: string) => string;
  };
  return m.renderMarkdown;
}

describe("help HTML", function () {
  it("keeps a property's wrapped lines in its entry, code spans across them whole", async function () {
    const render = await renderer();
    const html = render(
      [
        "# Inputs",
        "",
        "- `payload` (object): reads `{fc, unit, address,",
        "  quantity}` as asked and sends the",
        "  values on.",
        "- `topic` (string): the key.",
        "",
        "After.",
      ].join("\n"),
    );
    assert.equal(
      html,
      [
        "<h3>Inputs</h3>",
        '<dl class="message-properties">',
        '<dt>payload <span class="property-type">object</span></dt><dd>reads <code>{fc, unit, address, quantity}</code> as asked and sends the values on.</dd>',
        '<dt>topic <span class="property-type">string</span></dt><dd>the key.</dd>',
        "</dl>",
        "<p>After.</p>",
      ].join("\n"),
    );
  });

  it("keeps a bullet's wrapped lines in it and nests an output's properties under it", async function () {
    const render = await renderer();
    assert.equal(
      render(["- a password, kept apart, never", "  exported.", "- second"].join("\n")),
      "<ul>\n<li>a password, kept apart, never exported.</li>\n<li>second</li>\n</ul>",
    );
    assert.equal(
      render(
        [
          "1. Points, as they came",
          "   in.",
          "   - `alarm` (object): the state",
          "     of each.",
          "2. Transitions.",
        ].join("\n"),
      ),
      [
        '<ol class="node-ports">',
        '<li>Points, as they came in.<dl class="message-properties">',
        '<dt>alarm <span class="property-type">object</span></dt><dd>the state of each.</dd>',
        "</dl></li>",
        "<li>Transitions.</li>",
        "</ol>",
      ].join("\n"),
    );
  });

  it("leaves no line of any node's help outside the item it belongs to", async function () {
    const render = await renderer();
    const files = fs
      .readdirSync(path.join(root, "nodes"))
      .filter((d) => d.startsWith("datacoll-"))
      .flatMap((d) =>
        fs
          .readdirSync(path.join(root, "nodes", d))
          .filter((f) => /^help(\.[a-zA-Z-]+)?\.md$/.test(f))
          .map((f) => path.join("nodes", d, f)),
      );
    assert.ok(files.length >= 15, `help files: ${files.length}`);
    for (const file of files) {
      const html = render(fs.readFileSync(path.join(root, file), "utf8"));
      // A wrapped line that fell out of its item becomes a paragraph of its own, mid-sentence.
      const spilled = [...html.matchAll(/<p>([^<]{0,40})/g)]
        .map((m) => m[1])
        .filter((t) => /^[a-z`(]/.test(t));
      assert.deepEqual(spilled, [], `${file}: paragraphs that continue a list item`);
      // Code spans pair up inside each element; an odd backtick shows one cut by a line break.
      assert.doesNotMatch(html, /`/, `${file}: a code span left unrendered`);
    }
  });
});
