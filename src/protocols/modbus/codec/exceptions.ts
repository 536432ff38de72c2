/**
 * Modbus exception responses: the function code with bit 7 set, then one exception code octet
 * (Modbus Application Protocol V1.1b3 §7).
 */

export const EXCEPTION_BIT = 0x80;

export const ExceptionCode = {
  ILLEGAL_FUNCTION: 0x01,
  ILLEGAL_DATA_ADDRESS: 0x02,
  ILLEGAL_DATA_VALUE: 0x03,
  SERVER_DEVICE_FAILURE: 0x04,
  ACKNOWLEDGE: 0x05,
  SERVER_DEVICE_BUSY: 0x06,
  MEMORY_PARITY_ERROR: 0x08,
  GATEWAY_PATH_UNAVAILABLE: 0x0a,
  GATEWAY_TARGET_FAILED: 0x0b,
} as const;

const NAMES: ReadonlyMap<number, string> = new Map([
  [0x01, "illegal function"],
  [0x02, "illegal data address"],
  [0x03, "illegal data value"],
  [0x04, "server device failure"],
  [0x05, "acknowledge"],
  [0x06, "server device busy"],
  [0x08, "memory parity error"],
  [0x0a, "gateway path unavailable"],
  [0x0b, "gateway target device failed to respond"],
]);

/** The name the specification gives an exception code, or "unknown exception" for codes it does not. */
export function exceptionName(code: number): string {
  return NAMES.get(code) ?? "unknown exception";
}

/** "Modbus exception 02 (illegal data address)": the text an engineer sees in a status or a log. */
export function describeException(code: number): string {
  return `Modbus exception ${code.toString(16).toUpperCase().padStart(2, "0")} (${exceptionName(code)})`;
}

/** An exception PDU: function code | 0x80, exception code. */
export function encodeException(functionCode: number, code: number): Buffer {
  return Buffer.from([(functionCode | EXCEPTION_BIT) & 0xff, code & 0xff]);
}
