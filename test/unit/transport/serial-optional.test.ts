/**
 * serialport is an optional dependency (issue #20): an install without it (npm's --omit=optional, or a
 * platform its native part does not load on) must still load every node and serve TCP. A child process
 * whose module resolution refuses "serialport" stands for that install: the built nodes all load, the
 * port list says serial support is not installed, and a serial link reports so as its reason.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";

const root = path.resolve(__dirname, "../../..");

const script = `
const Module = require("node:module");
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === "serialport" || request.startsWith("@serialport/")) {
    const err = new Error("Cannot find module '" + request + "'");
    err.code = "MODULE_NOT_FOUND";
    throw err;
  }
  return resolve.call(this, request, ...rest);
};
const pkg = require("./package.json");
for (const file of Object.values(pkg["node-red"].nodes)) require("./" + file);
const serial = require("./dist/src/transport/serial-port.js");
serial.listSerialPorts().then((ports) => {
  const reasons = [];
  serial.serialSocketFactory({ path: "/dev/ttyS0", baudRate: 9600, dataBits: 8, parity: "none", stopBits: 1, quietBeforeWriteMs: 0 })({
    connect: () => reasons.push("connected"),
    data: () => undefined,
    close: (r) => reasons.push(r),
  });
  setImmediate(() => console.log(JSON.stringify({ ports: ports ?? null, reasons })));
});
`;

describe("serial support without the optional serialport package", () => {
  it("loads every node, lists no ports and says serial support is not installed", async () => {
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ["-e", script], { cwd: root, timeout: 20000 }, (err, stdout, stderr) =>
        err === null ? resolve(stdout) : reject(new Error(`${err.message}\n${stderr}`)),
      );
    });
    const r = JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as { ports: unknown; reasons: string[] };
    assert.equal(r.ports, null);
    assert.equal(r.reasons.length, 1);
    assert.match(r.reasons[0], /^serial support not installed/);
  });
});
