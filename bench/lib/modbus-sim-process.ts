/**
 * The server side of the Modbus benchmark, run as its own process so that client and server do not
 * share one event loop (on loopback the server's work would otherwise be billed to the client under
 * test). `node --import tsx bench/lib/modbus-sim-process.ts N [PORT,...] [FRAMING]` starts N simulators
 * (our strict server core on its TCP helper, unit 1, holding register i = i; MBAP, or RTU over TCP when
 * FRAMING is "rtu-over-tcp") on the given loopback ports or free ones, prints the ports as a JSON array on one line, and exits when its stdin closes (the parent
 * went away) or on SIGTERM. The fault tests also use it, to kill a server process outright.
 *
 * `spawnModbusSimulators` is the parent's side; `spawnLibmodbusServer` starts the libmodbus interop
 * server (test/fixtures/modbus/libmodbus-server.c) when gcc and libmodbus-dev are there.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startModbusSimulator } from "../../src/core/modbus/simulator";
import { ModbusServerCore } from "../../src/protocols/modbus/server";
import type { ModbusFraming } from "../../src/protocols/modbus/codec/framing";
import { compileLibmodbusProgram } from "../../test/support/peer-programs";

export interface ServerProcess {
  readonly ports: readonly number[];
  stop(): Promise<void>;
}

export function stopper(child: ChildProcess, cleanup: () => void = () => undefined): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        cleanup();
        resolve();
        return;
      }
      child.once("exit", () => {
        cleanup();
        resolve();
      });
      child.kill("SIGTERM");
    });
}

/** The first line the child prints on stdout. */
export function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`server process exited (${code}) before it listened`)));
    child.stdout?.on("data", (d: Buffer) => {
      text += d.toString();
      const nl = text.indexOf("\n");
      if (nl >= 0) resolve(text.slice(0, nl));
    });
  });
}

export interface SimulatorProcess extends ServerProcess {
  /** The process id, e.g. to kill it with SIGKILL as a crash would. */
  readonly pid: number;
  /** Resolves when the process has exited, however. */
  readonly exited: Promise<void>;
}

/** N simulators of ours in one child process, on `ports` when given (else free ones). */
export async function spawnModbusSimulators(
  count: number,
  ports: readonly number[] = [],
  framing: ModbusFraming = "tcp",
): Promise<SimulatorProcess> {
  const args = ["--import", "tsx", __filename, String(count), ports.join(","), framing];
  const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const listening = JSON.parse(await firstLine(child)) as number[];
  const pid = child.pid;
  if (pid === undefined) throw new Error("simulator process has no pid");
  return { ports: listening, pid, exited, stop: stopper(child) };
}

/** The libmodbus server (one connection at a time, 100 registers), or undefined when it cannot be built. */
export async function spawnLibmodbusServer(): Promise<ServerProcess | undefined> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "datacoll-bench-libmodbus-"));
  const cleanup = (): void => fs.rmSync(dir, { recursive: true, force: true });
  const bin = path.join(dir, "server");
  const src = path.join(__dirname, "../../test/fixtures/modbus/libmodbus-server.c");
  if (!(await compileLibmodbusProgram(src, bin)).ok) {
    cleanup();
    return undefined;
  }
  const child = spawn(bin, [], { stdio: ["ignore", "pipe", "inherit"] });
  const port = Number((await firstLine(child)).trim());
  return { ports: [port], stop: stopper(child, cleanup) };
}

async function serve(count: number, wanted: readonly number[], framing: ModbusFraming): Promise<void> {
  const ports: number[] = [];
  const closers: (() => Promise<void>)[] = [];
  for (let i = 0; i < count; i++) {
    const core = new ModbusServerCore({
      units: [1],
      sizes: { coils: 0, discreteInputs: 0, holdingRegisters: 1000, inputRegisters: 0 },
    });
    core.unit(1).holdingRegisters.set(Array.from({ length: 1000 }, (_, k) => k));
    const handle = await startModbusSimulator(core, { port: wanted[i] ?? 0, maxConnections: 256, framing });
    ports.push(handle.port);
    closers.push(() => handle.close());
  }
  const stop = (): void => {
    void Promise.all(closers.map((c) => c())).then(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.stdin.on("end", stop);
  process.stdin.resume();
  process.stdout.write(`${JSON.stringify(ports)}\n`);
}

if (require.main === module) {
  const wanted = (process.argv[3] ?? "")
    .split(",")
    .filter((p) => p !== "")
    .map(Number);
  void serve(
    Number(process.argv[2] ?? 1),
    wanted,
    process.argv[4] === "rtu-over-tcp" ? "rtu-over-tcp" : "tcp",
  );
}
