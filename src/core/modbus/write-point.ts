/**
 * Write one point's value to a device: the value is scaled back and encoded (values.ts), then sent with
 * the function that fits — write single coil (05) for a coil, write single register (06) or write
 * multiple registers (16) for registers, and read-modify-write for one bit of a holding register. An
 * array of values of the point's type, from its address on, goes in one write multiple coils (15) or
 * write multiple registers (16): a recipe or a block of setpoints lands in one request, all or nothing.
 *
 * Modbus has no function to write one bit of a register, so a register bit is read (03), changed and
 * written back (06). That is not atomic: another master writing the same register in between loses its
 * change. Devices that need it safe offer a coil or a dedicated command register instead.
 */
import type { AddressedRequest } from "../../protocols/modbus/codec/pdu";
import type { ModbusRequester } from "./read-plan";
import type { ModbusPointAddress } from "./point-address";
import { encodeWrite } from "./values";
import { pointWidth } from "./point-address";
import { DataCollError } from "../errors";
import { IDENTITY_SCALING, type Scaling } from "../model/scaling";

export interface WritePointOptions {
  readonly scaling?: Scaling;
  /**
   * Send a one-register value with write multiple registers (16) instead of write single register (06).
   * Some devices implement only 16 (and some only 06), so this is a per-device setting. Default false.
   */
  readonly alwaysMultiple?: boolean;
}

/**
 * Write `value` to point `p` of `unit`; resolves with the request the device confirmed (for the command
 * node's confirmation). Rejects with the value error or the request failure.
 */
export async function writePoint(
  client: ModbusRequester,
  unit: number,
  p: ModbusPointAddress,
  value: unknown,
  opts: WritePointOptions = {},
): Promise<AddressedRequest> {
  const w = encodeWrite(p, value, opts.scaling ?? IDENTITY_SCALING);
  let req: AddressedRequest;
  switch (w.kind) {
    case "coil":
      req = { fn: "writeSingleCoil", address: w.address, value: w.value };
      break;
    case "registers":
      req =
        w.values.length === 1 && opts.alwaysMultiple !== true
          ? { fn: "writeSingleRegister", address: w.address, value: w.values[0] }
          : { fn: "writeMultipleRegisters", address: w.address, values: w.values };
      break;
    case "register-bit": {
      const reply = await client.request(unit, { fn: "readHoldingRegisters", address: w.address, count: 1 });
      const current = reply.kind === "registers" ? reply.values[0] : 0;
      const mask = 1 << w.bit;
      const next = w.value ? current | mask : current & ~mask & 0xffff;
      req =
        opts.alwaysMultiple === true
          ? { fn: "writeMultipleRegisters", address: w.address, values: [next] }
          : { fn: "writeSingleRegister", address: w.address, value: next };
      break;
    }
  }
  await client.request(unit, req);
  return req;
}

/**
 * Write `values`, consecutive values of point `p`'s type starting at its address (each as wide as the
 * type), in one request: 15 for coils, 16 for registers. Resolves with the request the device confirmed.
 * The protocol's limits (1968 coils, 123 registers) are checked by the session before anything is sent.
 */
export async function writePoints(
  client: ModbusRequester,
  unit: number,
  p: ModbusPointAddress,
  values: readonly unknown[],
  opts: WritePointOptions = {},
): Promise<AddressedRequest> {
  if (values.length === 0) throw new DataCollError("invalid", "the array to write is empty", "payload");
  const width = pointWidth(p);
  const writes = values.map((v, i) =>
    encodeWrite({ ...p, address: p.address + i * width }, v, opts.scaling ?? IDENTITY_SCALING),
  );
  let req: AddressedRequest;
  if (writes.every((w) => w.kind === "coil")) {
    req = { fn: "writeMultipleCoils", address: p.address, values: writes.map((w) => w.value) };
  } else if (writes.every((w) => w.kind === "registers")) {
    req = { fn: "writeMultipleRegisters", address: p.address, values: writes.flatMap((w) => w.values) };
  } else {
    // Bits of a register are written by read-modify-write, one register at a time: no multiple write.
    throw new DataCollError(
      "invalid",
      "bits of a register cannot be written from an array; write the whole register (e.g. HR20:uint16)",
      "payload",
    );
  }
  await client.request(unit, req);
  return req;
}
