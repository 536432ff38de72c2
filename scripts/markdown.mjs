// A small Markdown-to-HTML renderer for node help and docs pages: headings, paragraphs, lists (bulleted,
// numbered, nested by indentation, an item running on over indented lines), definition-style
// "name (type): text" lists, code spans and fenced code. Node-RED's own help format (h3 sections,
// dl.message-properties, ol.node-ports for the outputs) is what the editor styles, so we emit that shape.

function escapeHtml(s) {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function inline(s) {
  return escapeHtml(s)
    .replace(/`([^`]+)`/g, "<code>$1</code>")
    .replace(/\*\*([^*]+)\*\*/g, "<b>$1</b>")
    .replace(/\*([^*]+)\*/g, "<i>$1</i>")
    .replace(/\[([^\]]+)\]\(([^)]+)\)/g, '<a href="$2" target="_blank" rel="noopener">$1</a>');
}

/** A list item's first line: its indentation, its marker ("-", "*" or "1.") and its text. */
const itemLine = /^(\s*)([-*]|\d+\.) (.*)$/;
/** A property item's text: "`payload` (number): the value" becomes a message-properties entry. */
const propText = /^`([^`]+)` \(([^)]+)\): (.*)$/s;

const indentOf = (line) => line.length - line.trimStart().length;

/** What a run of items at one indentation renders as: a property list, a numbered or a bulleted one. */
function kindOf(marker, text) {
  if (/^\d/.test(marker)) return "ol";
  return propText.test(text) ? "dl" : "ul";
}

const OPEN = { ul: "<ul>", ol: '<ol class="node-ports">', dl: '<dl class="message-properties">' };
const CLOSE = { ul: "</ul>", ol: "</ol>", dl: "</dl>" };

/**
 * The list starting at lines[start] (an item line), down to a blank line or a line less indented than
 * its first item: items at that indentation, each with its indented continuation lines joined into its
 * text and the deeper items under it as a list of their own. Returns the HTML and the next line's index.
 */
function renderList(lines, start) {
  const indent = indentOf(lines[start]);
  const out = [];
  let kind = null;
  let i = start;
  while (i < lines.length) {
    const m = itemLine.exec(lines[i]);
    if (!m || m[1].length !== indent) break;
    const parts = [m[3].trim()];
    for (i++; i < lines.length; i++) {
      const l = lines[i];
      if (l.trim() === "" || indentOf(l) <= indent || itemLine.test(l)) break;
      parts.push(l.trim());
    }
    let children = "";
    if (i < lines.length && itemLine.test(lines[i]) && indentOf(lines[i]) > indent) {
      const nested = renderList(lines, i);
      children = nested.html;
      i = nested.next;
    }
    const text = parts.join(" ");
    const k = kindOf(m[2], text);
    if (k !== kind) {
      if (kind) out.push(CLOSE[kind]);
      out.push(OPEN[k]);
      kind = k;
    }
    if (k === "dl") {
      const p = propText.exec(text);
      out.push(
        `<dt>${escapeHtml(p[1])} <span class="property-type">${escapeHtml(p[2])}</span></dt><dd>${inline(p[3])}${children}</dd>`,
      );
    } else out.push(`<li>${inline(text)}${children}</li>`);
  }
  if (kind) out.push(CLOSE[kind]);
  return { html: out.join("\n"), next: i };
}

export function renderMarkdown(md) {
  const lines = md.replace(/\r\n/g, "\n").split("\n");
  const out = [];
  let para = [];
  const flushPara = () => {
    if (para.length) out.push(`<p>${inline(para.join(" "))}</p>`);
    para = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith("```")) {
      flushPara();
      const code = [];
      for (i++; i < lines.length && !lines[i].startsWith("```"); i++) code.push(lines[i]);
      out.push(`<pre>${escapeHtml(code.join("\n"))}</pre>`);
      continue;
    }
    const h = /^(#{1,4}) (.*)$/.exec(line);
    if (h) {
      flushPara();
      // Node-RED help uses h3 for sections; shift levels so "#" becomes h3.
      const level = Math.min(h[1].length + 2, 6);
      out.push(`<h${level}>${inline(h[2])}</h${level}>`);
      continue;
    }
    // A list starts at the left margin (an indented item inside a paragraph is the paragraph's text).
    if (itemLine.test(line) && indentOf(line) === 0) {
      flushPara();
      const list = renderList(lines, i);
      out.push(list.html);
      i = list.next - 1;
      continue;
    }
    if (line.trim() === "") {
      flushPara();
      continue;
    }
    para.push(line.trim());
  }
  flushPara();
  return out.join("\n");
}
