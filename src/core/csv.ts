/**
 * CSV as engineers paste it from a spreadsheet: comma, semicolon or tab separated (detected from the
 * header line), fields optionally in double quotes with "" for a quote, CRLF or LF line ends, blank
 * lines ignored. Used by the poll node's item table and the REST import, so both read the same text.
 */

export interface CsvTable {
  readonly header: readonly string[];
  /** Each data row with its 1-based line number in the text, for error reports. */
  readonly rows: readonly { readonly line: number; readonly cells: readonly string[] }[];
}

function detectSeparator(firstLine: string): string {
  let best = ",";
  let most = -1;
  for (const sep of [",", ";", "\t"]) {
    const n = firstLine.split(sep).length;
    if (n > most) {
      most = n;
      best = sep;
    }
  }
  return best;
}

/** Split CSV text into cells. Throws with the line number on an unterminated quote. */
export function parseCsv(text: string): CsvTable {
  const src = text.replace(/^\uFEFF/, "");
  const firstLine = src.split(/\r?\n/, 1)[0] ?? "";
  const sep = detectSeparator(firstLine);
  const records: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cell = "";
  let line = 1;
  let recordLine = 1;
  let quoted = false;
  let quoteStart = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (quoted) {
      if (c === '"') {
        if (src[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === "\n") line++;
        cell += c;
      }
      continue;
    }
    if (c === '"' && cell.trim() === "") {
      quoted = true;
      quoteStart = line;
      cell = "";
    } else if (c === sep) {
      cells.push(cell.trim());
      cell = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && src[i + 1] === "\n") i++;
      cells.push(cell.trim());
      if (cells.some((x) => x !== "")) records.push({ line: recordLine, cells });
      cells = [];
      cell = "";
      line++;
      recordLine = line;
    } else {
      cell += c;
    }
  }
  if (quoted) throw new Error(`line ${quoteStart}: a quoted field is not closed`);
  cells.push(cell.trim());
  if (cells.some((x) => x !== "")) records.push({ line: recordLine, cells });
  if (records.length === 0) return { header: [], rows: [] };
  return { header: records[0].cells.map((h) => h.toLowerCase()), rows: records.slice(1) };
}

/** Quote a cell when it needs it, for CSV export. */
export function csvCell(value: string | number | boolean | null | undefined): string {
  const s = value === null || value === undefined ? "" : String(value);
  return /[",;\t\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(
  header: readonly string[],
  rows: readonly (readonly (string | number | boolean | null | undefined)[])[],
): string {
  return [header.map(csvCell).join(","), ...rows.map((r) => r.map(csvCell).join(","))].join("\n") + "\n";
}
