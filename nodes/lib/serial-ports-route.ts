/**
 * GET /datacoll/serial-ports: the serial ports of the machine Node-RED runs on, for the port list in the
 * Modbus device and simulator dialogs (issue #20) — the editor runs in a browser elsewhere, so only the
 * runtime can say which ports exist, as other serial nodes' dialogs do. Behind the editor's login:
 * `RED.auth.needsPermission("datacoll-modbus.read")`, so with adminAuth set an anonymous caller gets 401.
 * Answers `{ installed, ports }`; `installed: false` when the optional serialport package is missing,
 * so the dialog can say so instead of showing an empty list. Registered once per admin app.
 */
import type { NodeAPI } from "node-red";
import type { Request, Response } from "express";
import { errorMessage } from "../../src/core/errors";
import { SERIAL_NOT_INSTALLED, listSerialPorts } from "../../src/transport/serial-port";

export const SERIAL_PORTS_PATH = "/datacoll/serial-ports";

const registered = new WeakSet<object>();

export function registerSerialPortsRoute(RED: NodeAPI): void {
  if (registered.has(RED.httpAdmin)) return;
  registered.add(RED.httpAdmin);
  RED.httpAdmin.get(
    SERIAL_PORTS_PATH,
    RED.auth.needsPermission("datacoll-modbus.read"),
    (_req: Request, res: Response) => {
      listSerialPorts().then(
        (ports) =>
          res.json(
            ports === undefined
              ? { installed: false, ports: [], message: SERIAL_NOT_INSTALLED }
              : { installed: true, ports },
          ),
        (err: unknown) => res.status(500).json({ installed: true, ports: [], message: errorMessage(err) }),
      );
    },
  );
}
