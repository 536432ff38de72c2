/**
 * The device dialogs' "test connection" buttons (see test-route.ts): POST /datacoll/modbus/test connects
 * to the dialog's host and port and reads one holding register of the dialog's unit; POST
 * /datacoll/iec104/test starts and stops data transfer with each outstation the dialog lists. Both take
 * the dialog's current fields, not a deployed node's: the user tests before deploying.
 */
import type { NodeAPI } from "node-red";
import { parseIec104LinkTest, testIec104Link } from "../../src/core/iec104/link-test";
import { parseModbusLinkTest, testModbusLink } from "../../src/core/modbus/link-test";
import { registerTestRoute } from "./test-route";

export function registerModbusTest(RED: NodeAPI): void {
  registerTestRoute(RED, { kind: "modbus", parse: parseModbusLinkTest, test: testModbusLink });
}

export function registerIec104Test(RED: NodeAPI): void {
  registerTestRoute(RED, {
    kind: "iec104",
    // The dialog names the windows windowK and windowW ("k" and "w" are the editor's own).
    parse: (body) => parseIec104LinkTest({ ...body, k: body.windowK ?? body.k, w: body.windowW ?? body.w }),
    test: testIec104Link,
  });
}
