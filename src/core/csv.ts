/**
 * CSV as engineers paste it from a spreadsheet: comma, semicolon or tab separated (detected from the
 * header line), fields optionally in double quotes with "" for a quote, CRLF or LF line ends, blank
 * lines ignored. Used by the poll node's item table and the REST import, so both read the same text.
 */
import type { Slicer } from "./slicer";

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

/** The parser's state, so a long text can be read a part at a time. */
class CsvReader {
  private readonly src: string;
  private readonly sep: string;
  private readonly records: { line: number; cells: string[] }[] = [];
  private cells: string[] = [];
  private cell = "";
  private line = 1;
  private recordLine = 1;
  private quoted = false;
  private quoteStart = 0;
  private i = 0;

  constructor(text: string) {
    this.src = text.replace(/^\uFEFF/, "");
    this.sep = detectSeparator(this.src.split(/\r?\n/, 1)[0] ?? "");
  }

  /** Read about `chars` more characters; true once the whole text is read. */
  read(chars: number): boolean {
    const { src, sep } = this;
    const end = Math.min(src.length, this.i + chars);
    let i = this.i;
    for (; i < end; i++) {
      const c = src[i];
      if (this.quoted) {
        if (c === '"') {
          if (src[i + 1] === '"') {
            this.cell += '"';
            i++;
          } else this.quoted = false;
        } else {
          if (c === "\n") this.line++;
          this.cell += c;
        }
        continue;
      }
      if (c === '"' && this.cell.trim() === "") {
        this.quoted = true;
        this.quoteStart = this.line;
        this.cell = "";
      } else if (c === sep) {
        this.cells.push(this.cell.trim());
        this.cell = "";
      } else if (c === "\n" || c === "\r") {
        if (c === "\r" && src[i + 1] === "\n") i++;
        this.cells.push(this.cell.trim());
        if (this.cells.some((x) => x !== "")) this.records.push({ line: this.recordLine, cells: this.cells });
        this.cells = [];
        this.cell = "";
        this.line++;
        this.recordLine = this.line;
      } else {
        this.cell += c;
      }
    }
    this.i = i;
    return i >= src.length;
  }

  table(): CsvTable {
    if (this.quoted) throw new Error(`line ${this.quoteStart}: a quoted field is not closed`);
    this.cells.push(this.cell.trim());
    if (this.cells.some((x) => x !== "")) this.records.push({ line: this.recordLine, cells: this.cells });
    const records = this.records;
    if (records.length === 0) return { header: [], rows: [] };
    return { header: records[0].cells.map((h) => h.toLowerCase()), rows: records.slice(1) };
  }
}

/** Split CSV text into cells. Throws with the line number on an unterminated quote. */
export function parseCsv(text: string): CsvTable {
  const r = new CsvReader(text);
  r.read(Infinity);
  return r.table();
}

/** Characters read between two chances to yield. */
const CHARS_PER_TICK = 65_536;

/** parseCsv for a long text (an import): it lets the event loop run between parts of the text. */
export async function parseCsvSliced(text: string, slicer: Slicer): Promise<CsvTable> {
  const r = new CsvReader(text);
  while (!r.read(CHARS_PER_TICK)) await slicer.tick();
  return r.table();
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
