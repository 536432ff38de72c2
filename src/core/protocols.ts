/**
 * The protocol table: the one place that names every protocol the manager runs, so adding a protocol is
 * its folder under src/core/ plus one line here, and core/runtime/ (the registry runner, leases, frame
 * log) stays protocol-neutral and imports none of them.
 */
import type { Protocol } from "./model/device";
import type { DeviceDriver } from "./runtime/device-driver";
import { iec104Driver } from "./iec104/driver";
import { modbusDriver } from "./modbus/driver";

/** The registry runner's driver per protocol; a protocol without one (see NO_DRIVER_PROTOCOLS) is not run. */
export const DRIVERS: Partial<Record<Protocol, DeviceDriver>> = {
  "modbus-tcp": modbusDriver,
  iec104: iec104Driver,
};
