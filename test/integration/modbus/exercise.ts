/**
 * What every loopback test of a framing asks of our client against our server core, in one place: each
 * table read and written with many requests queued at once, then the function codes beyond the eight
 * (22, 23, 43/14, and 8/00 echoes of several lengths). Used by the RTU-over-TCP and UDP loopback tests,
 * so each framing is held to the same exchanges.
 */
import assert from "node:assert/strict";
import type { ModbusClient } from "../../../src/core/modbus/client";
import type { ModbusServerCore } from "../../../src/protocols/modbus/server";

/** Units 1 and 2 must be served by `core`. */
export async function readsAndWritesEveryTable(client: ModbusClient, core: ModbusServerCore): Promise<void> {
  core.unit(1).inputRegisters.set([7, 8, 9], 100);
  core.unit(2).discreteInputs[3] = 1;
  await client.writeMultipleRegisters(1, 10, [1, 2, 3]);
  await client.writeSingleCoil(2, 5, true);
  const reads = await Promise.all([
    client.readHoldingRegisters(1, 10, 3),
    client.readInputRegisters(1, 100, 3),
    client.readDiscreteInputs(2, 0, 4),
    client.readCoils(2, 4, 2),
    ...Array.from({ length: 20 }, () => client.readHoldingRegisters(1, 11, 1)),
  ]);
  assert.deepEqual(reads.slice(0, 4), [
    [1, 2, 3],
    [7, 8, 9],
    [false, false, false, true],
    [false, true],
  ]);
  assert.ok(reads.slice(4).every((r) => (r as number[])[0] === 2));
}

/** Units 1 and 2 must be served by `core`. */
export async function newerFunctionCodes(client: ModbusClient, core: ModbusServerCore): Promise<void> {
  core.unit(1).holdingRegisters.set([0x12, 5, 6], 30);
  await client.maskWriteRegister(1, 30, 0x00f2, 0x0025);
  assert.deepEqual(await client.readWriteMultipleRegisters(1, 30, 3, 31, [7, 8]), [0x17, 7, 8]);
  const id = await client.readDeviceIdentification(2, 1);
  assert.deepEqual(
    id.objects.map((o) => o.id),
    [0, 1, 2],
  );
  // An echo has no byte count: over RTU the framer finds its end by the CRC, whatever its length.
  assert.deepEqual(await client.diagnosticsEcho(1, [0xa537]), [0xa537]);
  assert.deepEqual(await client.diagnosticsEcho(2, [1, 2, 3, 4, 5]), [1, 2, 3, 4, 5]);
  assert.deepEqual(await client.diagnosticsEcho(1, []), []);
}
