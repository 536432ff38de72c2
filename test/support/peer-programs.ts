/**
 * Running the independent peers of the interop tests (mbpoll, libmodbus fixtures, pymodbus): a program
 * run to its end with its output, and a fixture C program built against Debian's libmodbus into a
 * temporary folder (`npm run services` installs libmodbus-dev, pkg-config and the compiler).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";

export function run(cmd: string, args: readonly string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 15000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

/** Build test/fixtures/modbus/NAME.c against libmodbus into `dir`; the path of the binary. */
export async function buildLibmodbusFixture(name: string, dir: string): Promise<string> {
  const bin = path.join(dir, name);
  const flags = await run("pkg-config", ["--cflags", "--libs", "libmodbus"]);
  assert.equal(flags.code, 0, `libmodbus-dev is missing (npm run services installs it): ${flags.out}`);
  const src = path.join(__dirname, `../fixtures/modbus/${name}.c`);
  const cc = await run("cc", ["-O1", "-o", bin, src, ...flags.out.trim().split(/\s+/)]);
  assert.equal(cc.code, 0, cc.out);
  return bin;
}
