/**
 * Running the independent peers of the interop tests (mbpoll, libmodbus fixtures, pymodbus): a program
 * run to its end with its output, and a C program built against Debian's libmodbus into a temporary
 * folder (`npm run services` installs libmodbus-dev, pkg-config and the compiler). The benchmarks build
 * their libmodbus servers with the same helper.
 */
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

export function run(cmd: string, args: readonly string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 15000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

/**
 * Compile the C file `src` against libmodbus into `bin`. Says why when it cannot: libmodbus-dev or the
 * compiler missing, or the program not compiling. Callers that can do without it (a bench figure left
 * out) read `ok`; tests assert it.
 */
export async function compileLibmodbusProgram(
  src: string,
  bin: string,
): Promise<{ ok: boolean; out: string }> {
  const flags = await run("pkg-config", ["--cflags", "--libs", "libmodbus"]);
  if (flags.code !== 0)
    return { ok: false, out: `libmodbus-dev is missing (npm run services installs it): ${flags.out}` };
  const cc = await run("cc", ["-O2", "-o", bin, src, ...flags.out.trim().split(/\s+/)]);
  return { ok: cc.code === 0, out: cc.out };
}

/** Build test/fixtures/modbus/NAME.c against libmodbus into `dir`; the path of the binary. */
export async function buildLibmodbusFixture(name: string, dir: string): Promise<string> {
  const bin = path.join(dir, name);
  const built = await compileLibmodbusProgram(path.join(__dirname, `../fixtures/modbus/${name}.c`), bin);
  assert.ok(built.ok, built.out);
  return bin;
}

/**
 * Build and start test/fixtures/modbus/libmodbus-server.c in `dir`: the process, and the loopback port
 * it printed once listening.
 */
export async function startLibmodbusServer(dir: string): Promise<{ server: ChildProcess; port: number }> {
  const bin = await buildLibmodbusFixture("libmodbus-server", dir);
  const server = spawn(bin, [], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.stdout?.once("data", (d: Buffer) => resolve(Number(d.toString().trim())));
  });
  return { server, port };
}
