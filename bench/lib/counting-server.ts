/**
 * The parent's side of bench/lib/libmodbus-counting-server.c, the device of `npm run bench -- incumbent`:
 * built against Debian's libmodbus on each start, N devices on N loopback ports, and the number of
 * requests it has answered on demand (a line on its stdin, the count on its stdout).
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { compileLibmodbusProgram } from "../../test/support/peer-programs";
import { stopper } from "./modbus-sim-process";

export interface CountingServer {
  readonly ports: readonly number[];
  /** The requests answered since the server started. */
  requests(): Promise<number>;
  stop(): Promise<void>;
}

export async function startCountingServer(devices: number): Promise<CountingServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "datacoll-bench-incumbent-"));
  const cleanup = (): void => fs.rmSync(dir, { recursive: true, force: true });
  const bin = path.join(dir, "libmodbus-counting-server");
  const built = await compileLibmodbusProgram(path.join(__dirname, "libmodbus-counting-server.c"), bin);
  if (!built.ok) {
    cleanup();
    throw new Error(
      `the libmodbus server did not build (npm run services installs libmodbus-dev): ${built.out}`,
    );
  }
  const child: ChildProcess = spawn(bin, [String(devices)], { stdio: ["pipe", "pipe", "inherit"] });
  const stdout = child.stdout;
  const stdin = child.stdin;
  if (stdout === null || stdin === null) throw new Error("the libmodbus server has no pipes");
  const waiting: { resolve(line: string): void; reject(err: Error): void }[] = [];
  readline.createInterface({ input: stdout }).on("line", (line) => waiting.shift()?.resolve(line));
  child.once("exit", (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`the libmodbus server exited (${code})`));
  });
  const nextLine = (): Promise<string> => new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  const ports = (await nextLine()).trim().split(" ").map(Number);
  if (ports.length !== devices || ports.some((p) => !(p > 0)))
    throw new Error(`the libmodbus server printed ports ${ports.join(" ")}`);
  return {
    ports,
    async requests() {
      const line = nextLine();
      stdin.write("count\n");
      return Number(await line);
    },
    stop: stopper(child, cleanup),
  };
}
