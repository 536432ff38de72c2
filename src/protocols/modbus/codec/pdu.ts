/**
 * Modbus PDUs for the public function codes we speak (Modbus Application Protocol V1.1b3 §6): the
 * typed request, its limits, and both directions of each exchange — a client encoding requests and
 * decoding replies, a server decoding requests and encoding replies.
 *
 * jsmodbus's body classes do the byte layout (`createPayload`, `fromBuffer`) of the eight codes it has.
 * They are lax about limits and lengths (they accept 2000-register reads, take values from short buffers
 * and return `null` for both "short" and "garbage"), so every length, count and echo is checked here
 * before a body class sees it. jsmodbus has no class for 8 (diagnostics), 22 (mask write register) or 23
 * (read/write multiple registers), so their bytes are laid out here, offsets commented; 43/14 (read
 * device identification) has a file of its own, device-id.ts.
 */
import { requests, responses } from "jsmodbus";
import { ExceptionCode, EXCEPTION_BIT, describeException, exceptionName } from "./exceptions";
import {
  MEI_READ_DEVICE_ID,
  decodeDeviceIdReply,
  encodeDeviceIdRequest,
  type DeviceIdAccess,
  type DeviceIdReply,
} from "./device-id";

export const FunctionCode = {
  READ_COILS: 0x01,
  READ_DISCRETE_INPUTS: 0x02,
  READ_HOLDING_REGISTERS: 0x03,
  READ_INPUT_REGISTERS: 0x04,
  WRITE_SINGLE_COIL: 0x05,
  WRITE_SINGLE_REGISTER: 0x06,
  DIAGNOSTICS: 0x08,
  WRITE_MULTIPLE_COILS: 0x0f,
  WRITE_MULTIPLE_REGISTERS: 0x10,
  MASK_WRITE_REGISTER: 0x16,
  READ_WRITE_MULTIPLE_REGISTERS: 0x17,
  ENCAPSULATED_INTERFACE: 0x2b,
} as const;

/** Quantity limits per request (Application Protocol §6.1–§6.4, §6.11, §6.12). */
export const MAX_READ_BITS = 2000;
export const MAX_READ_REGISTERS = 125;
export const MAX_WRITE_COILS = 1968;
export const MAX_WRITE_REGISTERS = 123;
/** FC 23 reads up to 125 registers but writes only up to 121: the request also carries the read (§6.17). */
export const MAX_READ_WRITE_WRITE_REGISTERS = 121;
/** FC 8 sub-function 00 echoes up to 125 words: a PDU is at most 253 octets, 3 of them before the data. */
export const MAX_ECHO_WORDS = 125;
/** The one diagnostics sub-function we speak: return query data (§6.8.1, sub-function 00). */
export const DIAGNOSTICS_RETURN_QUERY_DATA = 0x0000;

export type ModbusRequest =
  | { readonly fn: "readCoils"; readonly address: number; readonly count: number }
  | { readonly fn: "readDiscreteInputs"; readonly address: number; readonly count: number }
  | { readonly fn: "readHoldingRegisters"; readonly address: number; readonly count: number }
  | { readonly fn: "readInputRegisters"; readonly address: number; readonly count: number }
  | { readonly fn: "writeSingleCoil"; readonly address: number; readonly value: boolean }
  | { readonly fn: "writeSingleRegister"; readonly address: number; readonly value: number }
  | { readonly fn: "writeMultipleCoils"; readonly address: number; readonly values: readonly boolean[] }
  | { readonly fn: "writeMultipleRegisters"; readonly address: number; readonly values: readonly number[] }
  /**
   * FC 8 sub-function 00, return query data: the device echoes `data` (16-bit words) unchanged, which
   * proves the path to it and back without touching its tables (§6.8.1). It has no address.
   */
  | { readonly fn: "diagnosticsEcho"; readonly data: readonly number[] }
  /** FC 43 / MEI 14: identification objects from `objectId` on, by access code (device-id.ts). */
  | { readonly fn: "readDeviceIdentification"; readonly access: DeviceIdAccess; readonly objectId: number }
  /** FC 22: the register becomes (current AND andMask) OR (orMask AND NOT andMask) (§6.16). */
  | {
      readonly fn: "maskWriteRegister";
      readonly address: number;
      readonly andMask: number;
      readonly orMask: number;
    }
  /** FC 23: `values` are written at `writeAddress` first, then `count` registers read at `address` (§6.17). */
  | {
      readonly fn: "readWriteMultipleRegisters";
      readonly address: number;
      readonly count: number;
      readonly writeAddress: number;
      readonly values: readonly number[];
    };

export type ModbusFunction = ModbusRequest["fn"];

export const FUNCTION_CODES: Readonly<Record<ModbusFunction, number>> = {
  readCoils: FunctionCode.READ_COILS,
  readDiscreteInputs: FunctionCode.READ_DISCRETE_INPUTS,
  readHoldingRegisters: FunctionCode.READ_HOLDING_REGISTERS,
  readInputRegisters: FunctionCode.READ_INPUT_REGISTERS,
  writeSingleCoil: FunctionCode.WRITE_SINGLE_COIL,
  writeSingleRegister: FunctionCode.WRITE_SINGLE_REGISTER,
  diagnosticsEcho: FunctionCode.DIAGNOSTICS,
  writeMultipleCoils: FunctionCode.WRITE_MULTIPLE_COILS,
  writeMultipleRegisters: FunctionCode.WRITE_MULTIPLE_REGISTERS,
  maskWriteRegister: FunctionCode.MASK_WRITE_REGISTER,
  readWriteMultipleRegisters: FunctionCode.READ_WRITE_MULTIPLE_REGISTERS,
  readDeviceIdentification: FunctionCode.ENCAPSULATED_INTERFACE,
};

/**
 * True for a request with no side effect on the device, which is therefore safe to send again. FC 23's
 * name starts with "read" but it writes first.
 */
export function isReadOnly(req: ModbusRequest): boolean {
  switch (req.fn) {
    case "readCoils":
    case "readDiscreteInputs":
    case "readHoldingRegisters":
    case "readInputRegisters":
    case "diagnosticsEcho":
    case "readDeviceIdentification":
      // Return query data and identification change nothing in the device either (§6.8.1, §6.21).
      return true;
    default:
      return false;
  }
}

/**
 * What a successful reply carries. Writes carry nothing: the echo was checked against the request. A
 * diagnostics echo carries the words echoed (checked equal to those sent).
 */
export type ModbusReply =
  | { readonly kind: "bits"; readonly values: readonly boolean[] }
  | { readonly kind: "registers"; readonly values: readonly number[] }
  | { readonly kind: "written" }
  | { readonly kind: "echo"; readonly data: readonly number[] }
  | ({ readonly kind: "identification" } & DeviceIdReply);

/** A request that names a place in a table: every one but the diagnostics echo and identification. */
export type AddressedRequest = Exclude<ModbusRequest, { fn: "diagnosticsEcho" | "readDeviceIdentification" }>;

/** How many coils/registers a request touches from `address` (for FC 23: how many it reads). */
export function requestCount(req: AddressedRequest): number {
  switch (req.fn) {
    case "readCoils":
    case "readDiscreteInputs":
    case "readHoldingRegisters":
    case "readInputRegisters":
    case "readWriteMultipleRegisters":
      return req.count;
    case "writeSingleCoil":
    case "writeSingleRegister":
    case "maskWriteRegister":
      return 1;
    case "writeMultipleCoils":
    case "writeMultipleRegisters":
      return req.values.length;
  }
}

function maxCount(fn: AddressedRequest["fn"]): number {
  switch (fn) {
    case "readCoils":
    case "readDiscreteInputs":
      return MAX_READ_BITS;
    case "readHoldingRegisters":
    case "readInputRegisters":
    case "readWriteMultipleRegisters":
      return MAX_READ_REGISTERS;
    case "writeMultipleCoils":
      return MAX_WRITE_COILS;
    case "writeMultipleRegisters":
      return MAX_WRITE_REGISTERS;
    case "writeSingleCoil":
    case "writeSingleRegister":
    case "maskWriteRegister":
      return 1;
  }
}

const isU16 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffff;

/** Why a request cannot be sent, or undefined when it is within the protocol's limits. */
export function validateRequest(req: ModbusRequest): string | undefined {
  if (req.fn === "readDeviceIdentification") {
    if (![1, 2, 3, 4].includes(req.access))
      return `readDeviceIdentification: access code ${req.access} is not 1..4`;
    if (!Number.isInteger(req.objectId) || req.objectId < 0 || req.objectId > 0xff) {
      return `readDeviceIdentification: object id ${req.objectId} is outside 0..255`;
    }
    return undefined;
  }
  if (req.fn === "diagnosticsEcho") {
    if (req.data.length > MAX_ECHO_WORDS) {
      return `diagnosticsEcho: ${req.data.length} words is more than ${MAX_ECHO_WORDS}`;
    }
    const bad = req.data.findIndex((v) => !isU16(v));
    return bad >= 0 ? `diagnosticsEcho: word ${req.data[bad]} at index ${bad} is not 0..65535` : undefined;
  }
  if (!isU16(req.address)) return `address ${req.address} is outside 0..65535`;
  const count = requestCount(req);
  const max = maxCount(req.fn);
  if (!Number.isInteger(count) || count < 1 || count > max) {
    return `${req.fn}: count ${count} is outside 1..${max}`;
  }
  if (req.address + count > 0x10000) {
    return `${req.fn}: address ${req.address} + count ${count} runs past register 65535`;
  }
  if (req.fn === "writeSingleRegister" && !isU16(req.value)) {
    return `writeSingleRegister: value ${req.value} is not an unsigned 16-bit integer`;
  }
  if (req.fn === "maskWriteRegister" && (!isU16(req.andMask) || !isU16(req.orMask))) {
    return `maskWriteRegister: masks ${req.andMask} and ${req.orMask} must be 0..65535`;
  }
  if (req.fn === "readWriteMultipleRegisters") {
    const n = req.values.length;
    if (!isU16(req.writeAddress)) return `${req.fn}: write address ${req.writeAddress} is outside 0..65535`;
    if (n < 1 || n > MAX_READ_WRITE_WRITE_REGISTERS) {
      return `${req.fn}: write count ${n} is outside 1..${MAX_READ_WRITE_WRITE_REGISTERS}`;
    }
    if (req.writeAddress + n > 0x10000) {
      return `${req.fn}: write address ${req.writeAddress} + count ${n} runs past register 65535`;
    }
  }
  if (req.fn === "writeMultipleRegisters" || req.fn === "readWriteMultipleRegisters") {
    const bad = req.values.findIndex((v) => !isU16(v));
    if (bad >= 0) return `${req.fn}: value ${req.values[bad]} at index ${bad} is not 0..65535`;
  }
  return undefined;
}

/** The request PDU. Throws RangeError when `validateRequest` would refuse it. */
export function encodeRequest(req: ModbusRequest): Buffer {
  const invalid = validateRequest(req);
  if (invalid !== undefined) throw new RangeError(invalid);
  switch (req.fn) {
    case "readCoils":
      return new requests.ReadCoilsRequestBody(req.address, req.count).createPayload();
    case "readDiscreteInputs":
      return new requests.ReadDiscreteInputsRequestBody(req.address, req.count).createPayload();
    case "readHoldingRegisters":
      return new requests.ReadHoldingRegistersRequestBody(req.address, req.count).createPayload();
    case "readInputRegisters":
      return new requests.ReadInputRegistersRequestBody(req.address, req.count).createPayload();
    case "writeSingleCoil":
      return new requests.WriteSingleCoilRequestBody(req.address, req.value).createPayload();
    case "writeSingleRegister":
      return new requests.WriteSingleRegisterRequestBody(req.address, req.value).createPayload();
    case "writeMultipleCoils":
      return new requests.WriteMultipleCoilsRequestBody(req.address, [...req.values]).createPayload();
    case "writeMultipleRegisters":
      return new requests.WriteMultipleRegistersRequestBody(req.address, [...req.values]).createPayload();
    case "diagnosticsEcho":
      return encodeEcho(req.data);
    case "readDeviceIdentification":
      return encodeDeviceIdRequest(req.access, req.objectId);
    case "maskWriteRegister":
      return encodeMaskWrite(req);
    case "readWriteMultipleRegisters":
      return encodeReadWriteRequest(req);
  }
}

/** Request and reply alike: the reply to return query data is an echo of the request (§6.8.1). */
function encodeEcho(data: readonly number[]): Buffer {
  const pdu = Buffer.alloc(3 + data.length * 2);
  pdu[0] = FunctionCode.DIAGNOSTICS;
  pdu.writeUInt16BE(DIAGNOSTICS_RETURN_QUERY_DATA, 1); // sub-function
  data.forEach((v, i) => pdu.writeUInt16BE(v, 3 + i * 2));
  return pdu;
}

type MaskWriteRequest = Extract<ModbusRequest, { fn: "maskWriteRegister" }>;

/** Request and reply alike: the reply to FC 22 is an echo of the request (§6.16). */
function encodeMaskWrite(req: MaskWriteRequest): Buffer {
  const pdu = Buffer.alloc(7);
  pdu[0] = FunctionCode.MASK_WRITE_REGISTER;
  pdu.writeUInt16BE(req.address, 1); // reference address
  pdu.writeUInt16BE(req.andMask, 3);
  pdu.writeUInt16BE(req.orMask, 5);
  return pdu;
}

/** The value FC 22 leaves in a register that held `current` (§6.16). */
export function applyMask(current: number, andMask: number, orMask: number): number {
  return ((current & andMask) | (orMask & ~andMask)) & 0xffff;
}

type ReadWriteRequest = Extract<ModbusRequest, { fn: "readWriteMultipleRegisters" }>;

function encodeReadWriteRequest(req: ReadWriteRequest): Buffer {
  const pdu = Buffer.alloc(10 + req.values.length * 2);
  pdu[0] = FunctionCode.READ_WRITE_MULTIPLE_REGISTERS;
  pdu.writeUInt16BE(req.address, 1); // read starting address
  pdu.writeUInt16BE(req.count, 3); // quantity to read
  pdu.writeUInt16BE(req.writeAddress, 5); // write starting address
  pdu.writeUInt16BE(req.values.length, 7); // quantity to write
  pdu[9] = req.values.length * 2; // write byte count
  req.values.forEach((v, i) => pdu.writeUInt16BE(v, 10 + i * 2));
  return pdu;
}

function readRegisterValues(pdu: Buffer, from: number, count: number): number[] {
  const values = new Array<number>(count);
  for (let i = 0; i < count; i++) values[i] = pdu.readUInt16BE(from + i * 2);
  return values;
}

/** A reply as the client sees it. `malformed` means the PDU does not answer this request. */
export type ReplyResult =
  | { readonly kind: "ok"; readonly reply: ModbusReply }
  | { readonly kind: "exception"; readonly code: number; readonly name: string; readonly message: string }
  | { readonly kind: "malformed"; readonly reason: string };

function malformed(reason: string): ReplyResult {
  return { kind: "malformed", reason };
}

function hex(n: number): string {
  return "0x" + n.toString(16).padStart(2, "0");
}

/** Decode the reply PDU to `req`, checking its function code, lengths and, for writes, the echo. */
export function decodeReply(req: ModbusRequest, pdu: Buffer): ReplyResult {
  if (pdu.length < 1) return malformed("empty reply");
  const fc = FUNCTION_CODES[req.fn];
  if (pdu[0] === (fc | EXCEPTION_BIT)) {
    // Exception reply: exactly function | 0x80 and one code octet (§7).
    if (pdu.length !== 2) return malformed(`exception reply of ${pdu.length} octets (expected 2)`);
    const code = pdu[1];
    return { kind: "exception", code, name: exceptionName(code), message: describeException(code) };
  }
  if (pdu[0] !== fc) return malformed(`reply function ${hex(pdu[0])} does not answer request ${hex(fc)}`);

  switch (req.fn) {
    case "readCoils":
    case "readDiscreteInputs": {
      const bytes = Math.ceil(req.count / 8);
      if (pdu.length < 2 || pdu[1] !== bytes || pdu.length !== 2 + bytes) {
        return malformed(
          `${req.fn} of ${req.count}: expected ${bytes} data octets, got reply of ${pdu.length}`,
        );
      }
      const body =
        req.fn === "readCoils"
          ? responses.ReadCoilsResponseBody.fromBuffer(pdu)
          : responses.ReadDiscreteInputsResponseBody.fromBuffer(pdu);
      if (body === null) return malformed(`${req.fn}: reply not decodable`);
      // The last octet is padded with zeros (§6.1); keep only the bits asked for.
      const values = Array.from(body.valuesAsArray.slice(0, req.count), (b) => Boolean(b));
      return { kind: "ok", reply: { kind: "bits", values } };
    }
    case "readHoldingRegisters":
    case "readInputRegisters": {
      const bytes = req.count * 2;
      if (pdu.length < 2 || pdu[1] !== bytes || pdu.length !== 2 + bytes) {
        return malformed(
          `${req.fn} of ${req.count}: expected ${bytes} data octets, got reply of ${pdu.length}`,
        );
      }
      const body =
        req.fn === "readHoldingRegisters"
          ? responses.ReadHoldingRegistersResponseBody.fromBuffer(pdu)
          : responses.ReadInputRegistersResponseBody.fromBuffer(pdu);
      if (body === null) return malformed(`${req.fn}: reply not decodable`);
      // fromBuffer makes a fresh array of its own for each reply: no second copy of it.
      const regs = body.valuesAsArray;
      return {
        kind: "ok",
        reply: { kind: "registers", values: Array.isArray(regs) ? regs : Array.from(regs) },
      };
    }
    case "writeSingleCoil":
    case "writeSingleRegister": {
      // Normal reply is an echo of the request (§6.5, §6.6).
      if (pdu.length !== 5) return malformed(`${req.fn}: reply of ${pdu.length} octets (expected 5)`);
      const address = pdu.readUInt16BE(1);
      const value = pdu.readUInt16BE(3);
      const expected = req.fn === "writeSingleCoil" ? (req.value ? 0xff00 : 0x0000) : req.value;
      if (address !== req.address || value !== expected) {
        return malformed(`${req.fn}: echo ${address}=${value} does not match ${req.address}=${expected}`);
      }
      return { kind: "ok", reply: { kind: "written" } };
    }
    case "readDeviceIdentification": {
      const r = decodeDeviceIdReply(req.access, pdu);
      if (typeof r === "string") return malformed(`${req.fn}: ${r}`);
      return { kind: "ok", reply: { kind: "identification", ...r } };
    }
    case "diagnosticsEcho": {
      if (!pdu.equals(encodeEcho(req.data))) {
        return malformed(`${req.fn}: echo ${pdu.toString("hex")} does not match the request`);
      }
      return { kind: "ok", reply: { kind: "echo", data: [...req.data] } };
    }
    case "maskWriteRegister": {
      if (pdu.length !== 7) return malformed(`${req.fn}: reply of ${pdu.length} octets (expected 7)`);
      if (!pdu.equals(encodeMaskWrite(req))) {
        return malformed(`${req.fn}: echo ${pdu.toString("hex")} does not match the request`);
      }
      return { kind: "ok", reply: { kind: "written" } };
    }
    case "readWriteMultipleRegisters": {
      // Reply: byte count, then the registers read (§6.17); nothing echoes the write.
      const bytes = req.count * 2;
      if (pdu.length < 2 || pdu[1] !== bytes || pdu.length !== 2 + bytes) {
        return malformed(
          `${req.fn} of ${req.count}: expected ${bytes} data octets, got reply of ${pdu.length}`,
        );
      }
      return { kind: "ok", reply: { kind: "registers", values: readRegisterValues(pdu, 2, req.count) } };
    }
    case "writeMultipleCoils":
    case "writeMultipleRegisters": {
      // Reply: starting address and quantity written (§6.11, §6.12).
      if (pdu.length !== 5) return malformed(`${req.fn}: reply of ${pdu.length} octets (expected 5)`);
      const address = pdu.readUInt16BE(1);
      const quantity = pdu.readUInt16BE(3);
      if (address !== req.address || quantity !== req.values.length) {
        return malformed(
          `${req.fn}: reply ${address}×${quantity} does not match ${req.address}×${req.values.length}`,
        );
      }
      return { kind: "ok", reply: { kind: "written" } };
    }
  }
}

// ---- server side ------------------------------------------------------------------------------------

/**
 * A request as a server sees it: typed, or the exception to answer with. Codes follow the checks of
 * §6: 01 for a function we do not serve, 03 for a bad quantity/byte count/value, 02 for a range past
 * the end of the address space (the server's own tables may answer 02 for more).
 */
export type RequestResult =
  | { readonly kind: "request"; readonly request: ModbusRequest }
  | {
      readonly kind: "exception";
      readonly functionCode: number;
      readonly code: number;
      readonly reason: string;
    };

function refuse(functionCode: number, code: number, reason: string): RequestResult {
  return { kind: "exception", functionCode, code, reason };
}

/** Decode a request PDU strictly. Never throws, whatever the octets. */
export function decodeRequest(pdu: Buffer): RequestResult {
  if (pdu.length < 1) return refuse(0, ExceptionCode.ILLEGAL_FUNCTION, "empty PDU");
  const fc = pdu[0];
  switch (fc) {
    case FunctionCode.READ_COILS:
    case FunctionCode.READ_DISCRETE_INPUTS:
    case FunctionCode.READ_HOLDING_REGISTERS:
    case FunctionCode.READ_INPUT_REGISTERS: {
      if (pdu.length !== 5)
        return refuse(fc, ExceptionCode.ILLEGAL_DATA_VALUE, `read of ${pdu.length} octets`);
      const address = pdu.readUInt16BE(1);
      const count = pdu.readUInt16BE(3);
      const bits = fc === FunctionCode.READ_COILS || fc === FunctionCode.READ_DISCRETE_INPUTS;
      const max = bits ? MAX_READ_BITS : MAX_READ_REGISTERS;
      if (count < 1 || count > max) {
        return refuse(fc, ExceptionCode.ILLEGAL_DATA_VALUE, `count ${count} outside 1..${max}`);
      }
      if (address + count > 0x10000) {
        return refuse(fc, ExceptionCode.ILLEGAL_DATA_ADDRESS, `range ${address}+${count} past 65535`);
      }
      const fn =
        fc === FunctionCode.READ_COILS
          ? "readCoils"
          : fc === FunctionCode.READ_DISCRETE_INPUTS
            ? "readDiscreteInputs"
            : fc === FunctionCode.READ_HOLDING_REGISTERS
              ? "readHoldingRegisters"
              : "readInputRegisters";
      return { kind: "request", request: { fn, address, count } };
    }
    case FunctionCode.WRITE_SINGLE_COIL: {
      if (pdu.length !== 5)
        return refuse(fc, ExceptionCode.ILLEGAL_DATA_VALUE, `write of ${pdu.length} octets`);
      const raw = pdu.readUInt16BE(3);
      // Only 0xFF00 (on) and 0x0000 (off) are legal values (§6.5).
      if (raw !== 0xff00 && raw !== 0x0000) {
        return refuse(fc, ExceptionCode.ILLEGAL_DATA_VALUE, `coil value ${hex(raw)} is neither 0xFF00 nor 0`);
      }
      const body = requests.WriteSingleCoilRequestBody.fromBuffer(pdu);
      if (body === null) return refuse(fc, ExceptionCode.ILLEGAL_DATA_VALUE, "undecodable write");
      return {
        kind: "request",
        request: { fn: "writeSingleCoil", address: body.address, value: raw === 0xff00 },
      };
    }
    case FunctionCode.WRITE_SINGLE_REGISTER: {
      if (pdu.length !== 5)
        return refuse(fc, ExceptionCode.ILLEGAL_DATA_VALUE, `write of ${pdu.length} octets`);
      const body = requests.WriteSingleRegisterRequestBody.fromBuffer(pdu);
      if (body === null) return refuse(fc, ExceptionCode.ILLEGAL_DATA_VALUE, "undecodable write");
      return {
        kind: "request",
        request: { fn: "writeSingleRegister", address: body.address, value: body.value },
      };
    }
    case FunctionCode.WRITE_MULTIPLE_COILS:
    case FunctionCode.WRITE_MULTIPLE_REGISTERS: {
      if (pdu.length < 6)
        return refuse(fc, ExceptionCode.ILLEGAL_DATA_VALUE, `write of ${pdu.length} octets`);
      const address = pdu.readUInt16BE(1);
      const quantity = pdu.readUInt16BE(3);
      const byteCount = pdu[5];
      const coils = fc === FunctionCode.WRITE_MULTIPLE_COILS;
      const max = coils ? MAX_WRITE_COILS : MAX_WRITE_REGISTERS;
      const expectedBytes = coils ? Math.ceil(quantity / 8) : quantity * 2;
      if (quantity < 1 || quantity > max || byteCount !== expectedBytes || pdu.length !== 6 + byteCount) {
        return refuse(
          fc,
          ExceptionCode.ILLEGAL_DATA_VALUE,
          `quantity ${quantity} / byte count ${byteCount} / length ${pdu.length} inconsistent (max ${max})`,
        );
      }
      if (address + quantity > 0x10000) {
        return refuse(fc, ExceptionCode.ILLEGAL_DATA_ADDRESS, `range ${address}+${quantity} past 65535`);
      }
      if (coils) {
        const body = requests.WriteMultipleCoilsRequestBody.fromBuffer(pdu);
        if (body === null) return refuse(fc, ExceptionCode.ILLEGAL_DATA_VALUE, "undecodable write");
        const values = body.valuesAsArray.slice(0, quantity).map((b) => Boolean(b));
        return { kind: "request", request: { fn: "writeMultipleCoils", address, values } };
      }
      const body = requests.WriteMultipleRegistersRequestBody.fromBuffer(pdu);
      if (body === null) return refuse(fc, ExceptionCode.ILLEGAL_DATA_VALUE, "undecodable write");
      return {
        kind: "request",
        request: { fn: "writeMultipleRegisters", address, values: [...body.valuesAsArray] },
      };
    }
    case FunctionCode.DIAGNOSTICS: {
      // Sub-function, then data of N words (§6.8); odd lengths cannot be words.
      if (pdu.length < 3 || (pdu.length - 3) % 2 !== 0) {
        return refuse(fc, ExceptionCode.ILLEGAL_DATA_VALUE, `diagnostics request of ${pdu.length} octets`);
      }
      const sub = pdu.readUInt16BE(1);
      // An unsupported sub-function is answered 01, as for an unsupported function (§6.8, its diagram).
      if (sub !== DIAGNOSTICS_RETURN_QUERY_DATA) {
        return refuse(fc, ExceptionCode.ILLEGAL_FUNCTION, `diagnostics sub-function ${sub} is not served`);
      }
      const data = readRegisterValues(pdu, 3, (pdu.length - 3) / 2);
      return { kind: "request", request: { fn: "diagnosticsEcho", data } };
    }
    case FunctionCode.ENCAPSULATED_INTERFACE: {
      // MEI type, read device id code, object id (§6.21). We serve no other MEI type.
      if (pdu.length >= 2 && pdu[1] !== MEI_READ_DEVICE_ID) {
        return refuse(fc, ExceptionCode.ILLEGAL_FUNCTION, `MEI type ${hex(pdu[1])} is not served`);
      }
      const access = pdu[2];
      if (pdu.length !== 4 || (access !== 1 && access !== 2 && access !== 3 && access !== 4)) {
        return refuse(
          fc,
          ExceptionCode.ILLEGAL_DATA_VALUE,
          `device identification request ${pdu.toString("hex")}`,
        );
      }
      return { kind: "request", request: { fn: "readDeviceIdentification", access, objectId: pdu[3] } };
    }
    case FunctionCode.MASK_WRITE_REGISTER: {
      if (pdu.length !== 7)
        return refuse(fc, ExceptionCode.ILLEGAL_DATA_VALUE, `request of ${pdu.length} octets`);
      const request: MaskWriteRequest = {
        fn: "maskWriteRegister",
        address: pdu.readUInt16BE(1),
        andMask: pdu.readUInt16BE(3),
        orMask: pdu.readUInt16BE(5),
      };
      return { kind: "request", request };
    }
    case FunctionCode.READ_WRITE_MULTIPLE_REGISTERS:
      return decodeReadWriteRequest(pdu);
    default:
      return refuse(fc & 0x7f, ExceptionCode.ILLEGAL_FUNCTION, `function ${hex(fc)} is not served`);
  }
}

function decodeReadWriteRequest(pdu: Buffer): RequestResult {
  const fc = FunctionCode.READ_WRITE_MULTIPLE_REGISTERS;
  // Fixed part: function, read address, read quantity, write address, write quantity, byte count.
  if (pdu.length < 10) return refuse(fc, ExceptionCode.ILLEGAL_DATA_VALUE, `request of ${pdu.length} octets`);
  const address = pdu.readUInt16BE(1);
  const count = pdu.readUInt16BE(3);
  const writeAddress = pdu.readUInt16BE(5);
  const writeCount = pdu.readUInt16BE(7);
  const byteCount = pdu[9];
  if (
    count < 1 ||
    count > MAX_READ_REGISTERS ||
    writeCount < 1 ||
    writeCount > MAX_READ_WRITE_WRITE_REGISTERS ||
    byteCount !== writeCount * 2 ||
    pdu.length !== 10 + byteCount
  ) {
    return refuse(
      fc,
      ExceptionCode.ILLEGAL_DATA_VALUE,
      `read ${count} / write ${writeCount} / byte count ${byteCount} / length ${pdu.length} inconsistent`,
    );
  }
  if (address + count > 0x10000 || writeAddress + writeCount > 0x10000) {
    return refuse(fc, ExceptionCode.ILLEGAL_DATA_ADDRESS, "range past 65535");
  }
  const values = readRegisterValues(pdu, 10, writeCount);
  return {
    kind: "request",
    request: { fn: "readWriteMultipleRegisters", address, count, writeAddress, values },
  };
}

/**
 * The normal reply PDU to a request. `data` is the bits or registers read (exactly `count` of them) and
 * is ignored for writes, whose reply is the echo the specification prescribes.
 */
export function encodeReply(req: ModbusRequest, data?: readonly boolean[] | readonly number[]): Buffer {
  switch (req.fn) {
    case "readCoils":
    case "readDiscreteInputs": {
      const bits = (data ?? []).map((v) => Boolean(v));
      if (bits.length !== req.count)
        throw new RangeError(`${req.fn}: ${bits.length} bits for count ${req.count}`);
      return req.fn === "readCoils"
        ? new responses.ReadCoilsResponseBody(bits, Math.ceil(bits.length / 8)).createPayload()
        : new responses.ReadDiscreteInputsResponseBody(bits, Math.ceil(bits.length / 8)).createPayload();
    }
    case "readHoldingRegisters":
    case "readInputRegisters": {
      const regs = registersRead(req, data);
      return req.fn === "readHoldingRegisters"
        ? new responses.ReadHoldingRegistersResponseBody(regs.length * 2, regs).createPayload()
        : new responses.ReadInputRegistersResponseBody(regs.length * 2, regs).createPayload();
    }
    case "readWriteMultipleRegisters": {
      const regs = registersRead(req, data);
      const pdu = Buffer.alloc(2 + regs.length * 2);
      pdu[0] = FunctionCode.READ_WRITE_MULTIPLE_REGISTERS;
      pdu[1] = regs.length * 2; // byte count
      regs.forEach((v, i) => pdu.writeUInt16BE(v, 2 + i * 2));
      return pdu;
    }
    case "writeSingleCoil":
      return new responses.WriteSingleCoilResponseBody(req.address, req.value).createPayload();
    case "writeSingleRegister":
      return new responses.WriteSingleRegisterResponseBody(req.address, req.value).createPayload();
    case "writeMultipleCoils":
      return new responses.WriteMultipleCoilsResponseBody(req.address, req.values.length).createPayload();
    case "writeMultipleRegisters":
      return new responses.WriteMultipleRegistersResponseBody(req.address, req.values.length).createPayload();
    case "maskWriteRegister":
      return encodeMaskWrite(req);
    case "diagnosticsEcho":
      return encodeEcho(req.data);
    case "readDeviceIdentification":
      // Its reply is built from the server's objects, not from table data: answerDeviceId (device-id.ts).
      throw new RangeError(`${req.fn}: answered by answerDeviceId from the server's objects`);
  }
}

function registersRead(
  req: ModbusRequest & { readonly count: number },
  data: readonly boolean[] | readonly number[] | undefined,
): number[] {
  const regs = (data ?? []).map((v) => Number(v));
  if (regs.length !== req.count || regs.some((v) => !isU16(v))) {
    throw new RangeError(`${req.fn}: need ${req.count} values 0..65535`);
  }
  return regs;
}
