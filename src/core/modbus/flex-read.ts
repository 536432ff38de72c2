/**
 * A flex read: function code, unit, address and quantity taken from a message rather than from a
 * configured term, for flows that decide at run time what to read (the dynamic reads users know from
 * node-red-contrib-modbus). Checking the request lives here, beside the client, so that every caller
 * refuses the same requests; the problem comes back as a field and a reason code, which the node layer
 * turns into its own language.
 */
import { MAX_READ_BITS, MAX_READ_REGISTERS } from "../../protocols/modbus/codec/pdu";
import type { ModbusClient, RequestOptions } from "./client";

export type FlexFunctionCode = 1 | 2 | 3 | 4;

export interface FlexRead {
  readonly fc: FlexFunctionCode;
  readonly unit: number;
  readonly address: number;
  readonly quantity: number;
}

export type FlexField = "payload" | keyof FlexRead;

/** Why a request was refused: `reason` is a stable code, `min`..`max` the bounds it broke when there is one. */
export interface FlexProblem {
  readonly field: FlexField;
  readonly reason: "not-object" | "function-code" | "range";
  readonly min?: number;
  readonly max?: number;
}

export type FlexParse =
  { readonly ok: true; readonly read: FlexRead } | ({ readonly ok: false } & FlexProblem);

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
  return { ok: true, read: { fc: code, unit, address, quantity } };
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
