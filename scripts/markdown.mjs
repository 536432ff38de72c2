// A small Markdown-to-HTML renderer for node help and docs pages: headings, paragraphs, lists,
// definition-style "name (type): text" lists, code spans and fenced code. Node-RED's own help
// format (h3 sections, dl.message-properties) is what the editor styles, so we emit that shape.

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

// A property line: "- `payload` (number): the value" becomes a message-properties entry.
const propLine = /^[-*] `([^`]+)` \(([^)]+)\): (.*)$/;

export function renderMarkdown(md) {
  const lines = md.replace(/\r\n/g, "\n").split("\n");
  const out = [];
  let para = [];
  let list = null; // "ul" | "dl"
  const flushPara = () => {
    if (para.length) out.push(`<p>${inline(para.join(" "))}</p>`);
    para = [];
  };
  const closeList = () => {
    if (list) out.push(list === "ul" ? "</ul>" : "</dl>");
    list = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith("```")) {
      flushPara();
      closeList();
      const code = [];
      for (i++; i < lines.length && !lines[i].startsWith("```"); i++) code.push(lines[i]);
      out.push(`<pre>${escapeHtml(code.join("\n"))}</pre>`);
      continue;
    }
    const h = /^(#{1,4}) (.*)$/.exec(line);
    if (h) {
      flushPara();
      closeList();
      // Node-RED help uses h3 for sections; shift levels so "#" becomes h3.
      const level = Math.min(h[1].length + 2, 6);
      out.push(`<h${level}>${inline(h[2])}</h${level}>`);
      continue;
    }
    const p = propLine.exec(line);
    if (p) {
      flushPara();
      if (list !== "dl") {
        closeList();
        out.push('<dl class="message-properties">');
        list = "dl";
      }
      out.push(
        `<dt>${escapeHtml(p[1])} <span class="property-type">${escapeHtml(p[2])}</span></dt><dd>${inline(p[3])}</dd>`,
      );
      continue;
    }
    const li = /^[-*] (.*)$/.exec(line);
    if (li) {
      flushPara();
      if (list !== "ul") {
        closeList();
        out.push("<ul>");
        list = "ul";
      }
      out.push(`<li>${inline(li[1])}</li>`);
      continue;
    }
    if (line.trim() === "") {
      flushPara();
      closeList();
      continue;
    }
    closeList();
    para.push(line.trim());
  }
  flushPara();
  closeList();
  return out.join("\n");
}
