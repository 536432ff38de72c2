/**
 * A flex read: function code, unit, address and quantity taken from a message rather than from a
 * configured term, for flows that decide at run time what to read (the dynamic reads users know from
 * node-red-contrib-modbus). Checking the request lives here, beside the client, so that every caller
 * refuses the same requests; the problem comes back as a field and a reason code, which the node layer
 * turns into its own language.
 *
 * A message may also name a data type (with byte/word order, string length and scaling): the words read
 * are then cut into consecutive values of that type and answered as DataPoints, decoded by the same code
 * as the poll mode's (values.ts), so a flex read of `HR10 float32 CDAB` gives what an item with that
 * address would.
 */
import { MAX_READ_BITS, MAX_READ_REGISTERS } from "../../protocols/modbus/codec/pdu";
import { GOOD, pointKey, type DataPoint } from "../model/datapoint";
import type { Scaling } from "../model/scaling";
import type { ModbusClient, RequestOptions } from "./client";
import {
  BYTE_ORDERS,
  DATA_TYPES,
  MAX_STRING_LENGTH,
  checkPointAddress,
  formatPointAddress,
  isBitTable,
  pointWidth,
  tableAddressText,
  type ByteOrder,
  type ModbusDataType,
  type ModbusPointAddress,
  type ModbusTable,
} from "./point-address";
import { decodeBits, decodeRegistersAt, scale } from "./values";

export type FlexFunctionCode = 1 | 2 | 3 | 4;

export interface FlexRead {
  readonly fc: FlexFunctionCode;
  readonly unit: number;
  readonly address: number;
  readonly quantity: number;
}

/** How to decode what a flex read returns into DataPoints, when the message names a type. */
export interface FlexTyping {
  /** One point per value, consecutive from the read's address. */
  readonly points: readonly ModbusPointAddress[];
  readonly scaling: Scaling;
  /** The term id of the DataPoints' keys: the message's `termId`, else the unit id. */
  readonly termId: string;
}

export type FlexField =
  "payload" | keyof FlexRead | "type" | "order" | "length" | "coefficient" | "base" | "termId";

/** Why a request was refused: `reason` is a stable code, `min`..`max` the bounds it broke when there is one. */
export interface FlexProblem {
  readonly field: FlexField;
  readonly reason: "not-object" | "function-code" | "range" | "choice" | "width" | "number" | "id";
  readonly min?: number;
  readonly max?: number;
}

export type FlexParse =
  | { readonly ok: true; readonly read: FlexRead; readonly typing?: FlexTyping }
  | ({ readonly ok: false } & FlexProblem);

const TABLE_OF: Readonly<Record<FlexFunctionCode, ModbusTable>> = {
  1: "coil",
  2: "discrete-input",
  3: "holding-register",
  4: "input-register",
};

// What a message may add to type its answer; any one of them asks for DataPoints.
const TYPING_FIELDS = ["type", "order", "length", "coefficient", "base", "termId"] as const;

/** The most a single request may carry for a function code (Modbus application protocol §6.1–6.4). */
export function maxQuantity(fc: FlexFunctionCode): number {
  return fc <= 2 ? MAX_READ_BITS : MAX_READ_REGISTERS;
}

/**
 * Check a message's payload. Numbers given as decimal text are taken too, since inject and change nodes
 * often produce them; anything else that is not a whole number in range is refused, never rounded.
 */
export function parseFlexRead(payload: unknown): FlexParse {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload))
    return { ok: false, field: "payload", reason: "not-object" };
  const p = payload as Record<string, unknown>;
  const fc = whole(p.fc);
  if (fc === undefined || fc < 1 || fc > 4) return { ok: false, field: "fc", reason: "function-code" };
  const unit = whole(p.unit);
  if (unit === undefined || unit < 0 || unit > 255)
    return { ok: false, field: "unit", reason: "range", min: 0, max: 255 };
  const address = whole(p.address);
  if (address === undefined || address < 0 || address > 0xffff)
    return { ok: false, field: "address", reason: "range", min: 0, max: 0xffff };
  const code = fc as FlexFunctionCode;
  // A read may not run past the last address of the table (65535), or it addresses nothing.
  const max = Math.min(maxQuantity(code), 0x10000 - address);
  const quantity = whole(p.quantity);
  if (quantity === undefined || quantity < 1 || quantity > max)
    return { ok: false, field: "quantity", reason: "range", min: 1, max };
  const read: FlexRead = { fc: code, unit, address, quantity };
  if (!TYPING_FIELDS.some((f) => p[f] !== undefined)) return { ok: true, read };
  const typing = parseTyping(p, read);
  return "field" in typing ? { ok: false, ...typing } : { ok: true, read, typing };
}

/**
 * The typing fields: `type` (default uint16, bool for coils and inputs), `order` (default ABCD),
 * `length` (characters, strings only), `coefficient` and `base` (default 1 and 0), `termId`. The read's
 * quantity must hold a whole number of values. A bool in a register (a bit) is not offered: a bit is
 * read with the poll mode's `HR10.3` items, and a flex read of registers answers their words.
 */
function parseTyping(p: Record<string, unknown>, read: FlexRead): FlexTyping | FlexProblem {
  const table = TABLE_OF[read.fc];
  const bits = isBitTable(table);
  const type = p.type === undefined ? (bits ? "bool" : "uint16") : p.type;
  if (typeof type !== "string" || !DATA_TYPES.includes(type as ModbusDataType) || (type === "bool") !== bits)
    return { field: "type", reason: "choice" };
  const order = p.order === undefined ? "ABCD" : p.order;
  const wordless = type === "bool" || type === "string";
  if (
    typeof order !== "string" ||
    !BYTE_ORDERS.includes(order as ByteOrder) ||
    (type === "bool" && order !== "ABCD") ||
    (wordless && (order === "CDAB" || order === "DCBA"))
  )
    return { field: "order", reason: "choice" };
  let length: number | undefined;
  if (type === "string") {
    length = whole(p.length);
    if (length === undefined || length < 1 || length > MAX_STRING_LENGTH)
      return { field: "length", reason: "range", min: 1, max: MAX_STRING_LENGTH };
  } else if (p.length !== undefined) {
    // The message says both what length takes and that it is for strings only: give it the bounds.
    return { field: "length", reason: "choice", min: 1, max: MAX_STRING_LENGTH };
  }
  const coefficient = finite(p.coefficient, 1);
  if (coefficient === undefined) return { field: "coefficient", reason: "number" };
  const base = finite(p.base, 0);
  if (base === undefined) return { field: "base", reason: "number" };
  const termId = p.termId === undefined ? String(read.unit) : p.termId;
  // A key part: no separator, no spaces, as the model's ids.
  if (typeof termId !== "string" || !/^[^\s:]{1,64}$/.test(termId)) return { field: "termId", reason: "id" };
  const shape = { type: type as ModbusDataType, order: order as ByteOrder, length };
  const width = pointWidth({ table, address: read.address, ...shape });
  if (read.quantity % width !== 0) return { field: "quantity", reason: "width", min: width, max: width };
  const points: ModbusPointAddress[] = [];
  for (let at = read.address; at < read.address + read.quantity; at += width) {
    const p1: ModbusPointAddress = {
      table,
      address: at,
      type: shape.type,
      order: shape.order,
      ...(length !== undefined ? { length } : {}),
    };
    points.push(checkPointAddress(p1, `flex read ${formatPointAddress(p1)}`));
  }
  return { points, scaling: { coefficient, base }, termId };
}

/**
 * The DataPoints of a typed flex read: one per value, keyed `deviceId:termId:<table><address>` (the
 * address's short form, since a key may not hold the type's ':'), raw value kept when scaling changed it,
 * as the poll mode's samples.
 */
export function flexDataPoints(
  typing: FlexTyping,
  values: readonly boolean[] | readonly number[],
  deviceId: string,
  ts: number,
): DataPoint[] {
  return typing.points.map((point) => {
    const offset = point.address - typing.points[0].address;
    const raw = isBitTable(point.table)
      ? decodeBits(point, [values[offset] as boolean])
      : decodeRegistersAt(point, values as readonly number[], offset);
    const value = scale(point, raw, typing.scaling);
    const itemId = tableAddressText(point.table, point.address);
    const key = pointKey(deviceId, typing.termId, itemId);
    const base = {
      key,
      deviceId,
      termId: typing.termId,
      itemId,
      value,
      ts,
      quality: GOOD,
      cause: "call" as const,
    };
    return typeof raw === "number" && raw === value ? base : { ...base, raw };
  });
}

function finite(v: unknown, fallback: number): number | undefined {
  if (v === undefined) return fallback;
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** Booleans for coils and discrete inputs, register words for holding and input registers. */
export function readFlex(
  client: ModbusClient,
  read: FlexRead,
  opts?: RequestOptions,
): Promise<boolean[] | number[]> {
  const { unit, address, quantity } = read;
  switch (read.fc) {
    case 1:
      return client.readCoils(unit, address, quantity, opts);
    case 2:
      return client.readDiscreteInputs(unit, address, quantity, opts);
    case 3:
      return client.readHoldingRegisters(unit, address, quantity, opts);
    case 4:
      return client.readInputRegisters(unit, address, quantity, opts);
  }
}

function whole(v: unknown): number | undefined {
  const n = typeof v === "number" ? v : typeof v === "string" && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  return Number.isInteger(n) ? n : undefined;
}
