/**
 * Where a Modbus point lives and how its registers read: table, 0-based address, data type, byte/word
 * order, bit, string length — with a compact text form for the editor and CSV and a JSON form, both
 * validated with errors that name the field at fault.
 *
 * TEXT GRAMMAR (case-insensitive; spaces not allowed):
 *
 *   point     = location [ "." bit ] [ ":" type [ ":" order ] ]
 *   location  = prefix address | reference
 *   prefix    = "C" (coil) | "DI" (discrete input) | "HR" (holding register) | "IR" (input register)
 *   address   = decimal 0..65535 — the 0-BASED PROTOCOL ADDRESS, exactly what goes on the wire
 *   reference = 5 or 6 decimal digits — a 1-BASED "Modicon" REFERENCE: the first digit names the table
 *               (0 coil, 1 discrete input, 3 input register, 4 holding register), the rest is the
 *               1-based number, so 40001 and 400001 are holding register address 0, 30010 is input
 *               register address 9, 00017 is coil address 16. Five digits reach 9999, six reach 65536.
 *   bit       = 0..15, bit of a register, 0 = least significant; the type is then bool
 *   type      = bool | int16 | uint16 | int32 | uint32 | int64 | uint64 | float32 | float64 | string(n)
 *               (n = characters = octets, 1..250; two per register)
 *   order     = ABCD | DCBA | BADC | CDAB  (default ABCD, the Modbus big-endian order)
 *
 * So `HR100:int16` is holding register address 100 and `HR40001:float32:CDAB` is holding register
 * ADDRESS 40001 (a prefix always means a protocol address; write `40001:float32:CDAB` for the first
 * register). Defaults: coils and discrete inputs are bool, registers uint16, a register with a bit bool.
 *
 * BYTE/WORD ORDER is named for a 32-bit value whose big-endian bytes are A B C D:
 *   ABCD registers [AB, CD]   big-endian (Modbus standard)
 *   CDAB registers [CD, AB]   word swap (common on PLCs storing 32-bit values low word first)
 *   BADC registers [BA, DC]   byte swap within each register
 *   DCBA registers [DC, BA]   little-endian
 * For 64-bit types the same rule spans four registers (CDAB: lowest word first, words reversed). For
 * 16-bit types only the byte swap matters (BADC and DCBA swap, ABCD and CDAB do not). Strings take ABCD
 * (first character in the high octet) or BADC (swapped); a word order means nothing for them.
 */
import { DataCollError } from "../errors";

export type ModbusTable = "coil" | "discrete-input" | "holding-register" | "input-register";
export type ModbusDataType =
  "bool" | "int16" | "uint16" | "int32" | "uint32" | "int64" | "uint64" | "float32" | "float64" | "string";
export type ByteOrder = "ABCD" | "DCBA" | "BADC" | "CDAB";

export const TABLES: readonly ModbusTable[] = [
  "coil",
  "discrete-input",
  "holding-register",
  "input-register",
];
export const DATA_TYPES: readonly ModbusDataType[] = [
  "bool",
  "int16",
  "uint16",
  "int32",
  "uint32",
  "int64",
  "uint64",
  "float32",
  "float64",
  "string",
];
export const BYTE_ORDERS: readonly ByteOrder[] = ["ABCD", "DCBA", "BADC", "CDAB"];
export const MAX_STRING_LENGTH = 250;

export interface ModbusPointAddress {
  readonly table: ModbusTable;
  /** 0-based protocol address. */
  readonly address: number;
  readonly type: ModbusDataType;
  readonly order: ByteOrder;
  /** Bit of a register (0 = LSB), only for `bool` in a register table. */
  readonly bit?: number;
  /** Characters of a `string`. */
  readonly length?: number;
}

const PREFIX: Readonly<Record<string, ModbusTable>> = {
  C: "coil",
  DI: "discrete-input",
  HR: "holding-register",
  IR: "input-register",
};
const PREFIX_OF: Readonly<Record<ModbusTable, string>> = {
  coil: "C",
  "discrete-input": "DI",
  "holding-register": "HR",
  "input-register": "IR",
};
const REFERENCE_TABLE: Readonly<Record<string, ModbusTable>> = {
  "0": "coil",
  "1": "discrete-input",
  "3": "input-register",
  "4": "holding-register",
};

export function isBitTable(table: ModbusTable): boolean {
  return table === "coil" || table === "discrete-input";
}

/** Registers (or bits, for coil/discrete-input tables) the point occupies. */
export function pointWidth(p: ModbusPointAddress): number {
  switch (p.type) {
    case "bool":
    case "int16":
    case "uint16":
      return 1;
    case "int32":
    case "uint32":
    case "float32":
      return 2;
    case "int64":
    case "uint64":
    case "float64":
      return 4;
    case "string":
      return Math.ceil((p.length ?? 0) / 2);
  }
}

function invalid(message: string, field: string): DataCollError {
  return new DataCollError("modbus-point", message, field);
}

/** Check the combination; returns the frozen point or throws DataCollError naming the field. */
export function checkPointAddress(p: ModbusPointAddress, source: string): ModbusPointAddress {
  const where = `Modbus point ${source}`;
  if (!TABLES.includes(p.table))
    throw invalid(`${where}: table must be one of ${TABLES.join(", ")}`, "table");
  if (!Number.isInteger(p.address) || p.address < 0 || p.address > 0xffff) {
    throw invalid(`${where}: address ${p.address} is outside 0..65535`, "address");
  }
  if (!DATA_TYPES.includes(p.type))
    throw invalid(`${where}: type must be one of ${DATA_TYPES.join(", ")}`, "type");
  if (!BYTE_ORDERS.includes(p.order))
    throw invalid(`${where}: order must be one of ${BYTE_ORDERS.join(", ")}`, "order");
  if (isBitTable(p.table)) {
    if (p.type !== "bool")
      throw invalid(`${where}: a ${p.table} holds one bit; its type is bool, not ${p.type}`, "type");
    if (p.bit !== undefined) throw invalid(`${where}: a bit number applies to registers only`, "bit");
  } else if (p.bit !== undefined) {
    if (!Number.isInteger(p.bit) || p.bit < 0 || p.bit > 15)
      throw invalid(`${where}: bit ${p.bit} is outside 0..15`, "bit");
    if (p.type !== "bool") throw invalid(`${where}: a register bit is bool, not ${p.type}`, "type");
  } else if (p.type === "bool") {
    throw invalid(`${where}: bool in a register needs a bit number, e.g. HR200.3`, "bit");
  }
  if ((p.type === "bool" || p.type === "string") && (p.order === "CDAB" || p.order === "DCBA")) {
    throw invalid(`${where}: order ${p.order} swaps words, which means nothing for ${p.type}`, "order");
  }
  if (p.type === "bool" && p.order !== "ABCD") throw invalid(`${where}: a bool has no byte order`, "order");
  if (p.type === "string") {
    const n = p.length;
    if (n === undefined || !Number.isInteger(n) || n < 1 || n > MAX_STRING_LENGTH) {
      throw invalid(`${where}: string length ${String(n)} is outside 1..${MAX_STRING_LENGTH}`, "length");
    }
  } else if (p.length !== undefined) {
    throw invalid(`${where}: a length applies to strings only`, "length");
  }
  const width = pointWidth(p);
  if (p.address + width > 0x10000) {
    throw invalid(`${where}: ${width} registers from ${p.address} run past 65535`, "address");
  }
  const out: ModbusPointAddress = {
    table: p.table,
    address: p.address,
    type: p.type,
    order: p.order,
    ...(p.bit !== undefined ? { bit: p.bit } : {}),
    ...(p.length !== undefined ? { length: p.length } : {}),
  };
  return Object.freeze(out);
}

const TEXT =
  /^(?:(C|DI|HR|IR)(\d{1,5})|(\d{5,6}))(?:\.(\d{1,2}))?(?::([A-Z0-9]+)(?:\((\d{1,3})\))?(?::([A-Z]{4}))?)?$/;

/** Parse the text form (grammar above). Throws DataCollError naming the field at fault. */
export function parsePointAddress(text: string): ModbusPointAddress {
  const src = JSON.stringify(text);
  const m = TEXT.exec(text.trim().toUpperCase());
  if (m === null) {
    throw invalid(
      `Modbus point ${src} is not of the form HR100, HR100:int16, HR40001:float32:CDAB, HR200.3, C17, DI5, ` +
        `IR30:uint32:DCBA, HR300:string(10) or a 5/6-digit reference such as 40001`,
      "address",
    );
  }
  const [, prefix, addr, reference, bit, typeText, lengthText, order] = m;
  let table: ModbusTable;
  let address: number;
  if (prefix !== undefined) {
    table = PREFIX[prefix];
    address = Number(addr);
  } else {
    const t = REFERENCE_TABLE[reference[0]];
    if (t === undefined) {
      throw invalid(
        `Modbus point ${src}: reference must start with 0, 1, 3 or 4 (coil, DI, IR, HR)`,
        "address",
      );
    }
    const n = Number(reference.slice(1));
    const max = reference.length === 5 ? 9999 : 65536;
    if (n < 1 || n > max)
      throw invalid(`Modbus point ${src}: reference number ${n} is outside 1..${max}`, "address");
    table = t;
    address = n - 1;
  }
  const type = (typeText?.toLowerCase() ??
    (isBitTable(table) || bit !== undefined ? "bool" : "uint16")) as ModbusDataType;
  if (!DATA_TYPES.includes(type)) {
    throw invalid(
      `Modbus point ${src}: type ${typeText.toLowerCase()} is not one of ${DATA_TYPES.join(", ")}`,
      "type",
    );
  }
  if (type === "string" && lengthText === undefined) {
    throw invalid(`Modbus point ${src}: a string needs its length, e.g. string(10)`, "length");
  }
  if (type !== "string" && lengthText !== undefined) {
    throw invalid(`Modbus point ${src}: only string takes a length`, "length");
  }
  return checkPointAddress(
    {
      table,
      address,
      type,
      order: (order ?? "ABCD") as ByteOrder,
      ...(bit !== undefined ? { bit: Number(bit) } : {}),
      ...(lengthText !== undefined ? { length: Number(lengthText) } : {}),
    },
    src,
  );
}

/** A table and address in the text form's short shape, `HR100`: no type, so fit for a key part. */
export function tableAddressText(table: ModbusTable, address: number): string {
  return `${PREFIX_OF[table]}${address}`;
}

/** The canonical text form (prefix and 0-based address; defaults left out). Parses back to `p`. */
export function formatPointAddress(p: ModbusPointAddress): string {
  let s = tableAddressText(p.table, p.address);
  if (p.bit !== undefined) s += `.${p.bit}`;
  const defaultType = isBitTable(p.table) || p.bit !== undefined ? "bool" : "uint16";
  const typeText = p.type === "string" ? `string(${p.length ?? 0})` : p.type;
  if (p.type !== defaultType || p.order !== "ABCD") s += `:${typeText}`;
  if (p.order !== "ABCD") s += `:${p.order}`;
  return s;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The JSON form: `{ "table": "holding-register", "address": 0, "type": "float32", "order": "CDAB" }`,
 * with optional `bit` and `length`; `type` and `order` default as in the text form.
 */
export function pointAddressFromJson(value: unknown): ModbusPointAddress {
  if (!isRecord(value)) throw invalid("Modbus point must be an object with table and address", "address");
  const { table, address, type, order, bit, length } = value;
  if (typeof table !== "string" || !TABLES.includes(table as ModbusTable)) {
    throw invalid(`Modbus point: table must be one of ${TABLES.join(", ")}`, "table");
  }
  if (typeof address !== "number")
    throw invalid("Modbus point: address must be a number 0..65535", "address");
  if (type !== undefined && typeof type !== "string")
    throw invalid("Modbus point: type must be a string", "type");
  if (order !== undefined && typeof order !== "string")
    throw invalid("Modbus point: order must be a string", "order");
  if (bit !== undefined && typeof bit !== "number")
    throw invalid("Modbus point: bit must be a number 0..15", "bit");
  if (length !== undefined && typeof length !== "number")
    throw invalid("Modbus point: length must be a number", "length");
  const t = table as ModbusTable;
  const p: ModbusPointAddress = {
    table: t,
    address,
    type: (type?.toLowerCase() ?? (isBitTable(t) || bit !== undefined ? "bool" : "uint16")) as ModbusDataType,
    order: (order?.toUpperCase() ?? "ABCD") as ByteOrder,
    ...(bit !== undefined ? { bit } : {}),
    ...(length !== undefined ? { length } : {}),
  };
  return checkPointAddress(p, JSON.stringify(value));
}

export function pointAddressToJson(p: ModbusPointAddress): Record<string, string | number> {
  return { ...p };
}
