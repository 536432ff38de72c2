/**
 * Our side of the flows the Node-RED benches deploy (incumbent, capacity): a Modbus device and a poll of
 * holding registers HR0..HR(n-1) as uint16 items, one message per batch, sending its samples to the
 * manager given, if any. One home, so both benches poll alike.
 */

/** A datacoll-modbus device `modbus<d>` (id `dev<d>`) on a loopback port and its datacoll-poll `poll<d>`. */
export function modbusPollNodes(
  d: number,
  port: number,
  opts: {
    readonly tab: string;
    readonly registers: number;
    readonly intervalMs: number;
    readonly wires: readonly string[];
    /** The id of the manager chosen in the poll node; none if left out. */
    readonly manager?: string;
  },
): object[] {
  const items = Array.from({ length: opts.registers }, (_, i) => ({
    item: `r${i}`,
    address: `HR${i}`,
    coefficient: "",
    base: "",
    deadband: "",
  }));
  return [
    {
      id: `modbus${d}`,
      type: "datacoll-modbus",
      name: `device ${d}`,
      deviceId: `dev${d}`,
      host: "127.0.0.1",
      port: String(port),
      timeout: "1000",
      inFlight: "1",
      queueSize: "1000",
      backoff: "1000",
      backoffMax: "30000",
      transport: "tcp",
    },
    {
      id: `poll${d}`,
      type: "datacoll-poll",
      z: opts.tab,
      name: `poll ${d}`,
      protocol: "modbus",
      modbus: `modbus${d}`,
      ...(opts.manager === undefined ? {} : { manager: opts.manager }),
      read: "term",
      termId: "t",
      unit: "1",
      interval: String(opts.intervalMs),
      items,
      output: "batch",
      maxGap: "10",
      wires: [[...opts.wires]],
    },
  ];
}
