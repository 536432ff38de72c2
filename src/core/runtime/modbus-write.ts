/**
 * Writing one point's value to a Modbus device: the value is encoded by the point's type, order and
 * scaling (values.ts), then sent with the function that fits — write single coil, write single register
 * for one register, write multiple registers for wider types. A bit of a register has no Modbus write of
 * its own: the register is read, the bit changed and the register written back.
 */
import type { ModbusClient } from "../modbus/client";
import type { ModbusPointAddress } from "../modbus/point-address";
import { encodeWrite, IDENTITY_SCALING, type Scaling } from "../modbus/values";

export interface WriteConfirmation {
  /** The function used, e.g. "writeMultipleRegisters". */
  readonly fn: string;
  readonly address: number;
  /** The coil state or the register words sent. */
  readonly written: boolean | readonly number[];
}

export async function writePoint(
  client: Pick<
    ModbusClient,
    "writeSingleCoil" | "writeSingleRegister" | "writeMultipleRegisters" | "readHoldingRegisters"
  >,
  unit: number,
  point: ModbusPointAddress,
  value: unknown,
  scaling: Scaling = IDENTITY_SCALING,
): Promise<WriteConfirmation> {
  const w = encodeWrite(point, value, scaling);
  switch (w.kind) {
    case "coil":
      await client.writeSingleCoil(unit, w.address, w.value);
      return { fn: "writeSingleCoil", address: w.address, written: w.value };
    case "registers":
      if (w.values.length === 1) {
        await client.writeSingleRegister(unit, w.address, w.values[0]);
        return { fn: "writeSingleRegister", address: w.address, written: w.values };
      }
      await client.writeMultipleRegisters(unit, w.address, w.values);
      return { fn: "writeMultipleRegisters", address: w.address, written: w.values };
    case "register-bit": {
      const [current] = await client.readHoldingRegisters(unit, w.address, 1);
      const mask = 1 << w.bit;
      const next = w.value ? current | mask : current & ~mask & 0xffff;
      await client.writeSingleRegister(unit, w.address, next);
      return { fn: "writeSingleRegister", address: w.address, written: [next] };
    }
  }
}
