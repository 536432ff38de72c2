/**
 * The plant of `npm run bench -- capacity`, run as processes of their own so that their CPU is not billed
 * to the Node-RED under test: `node --import tsx bench/lib/capacity-sim-process.ts PORTS REGISTERS EVERY`
 * serves one simulator (our strict server core, unit 1) on each loopback port of the comma-separated
 * PORTS, with REGISTERS holding registers each, and once a second adds 1 to every EVERY-th register (a
 * different residue each second), so a fraction 1/EVERY of the values changes per second, as in a plant
 * where most values hold still between two polls. It prints the ports as a JSON array on one line, then
 * answers each line "count" on its stdin with the requests its simulators have answered, and exits when
 * its stdin closes (the parent went away) or on SIGTERM.
 *
 * `spawnCapacitySimulators` is the parent's side.
 */
import { spawn } from "node:child_process";
import readline from "node:readline";
import { startModbusSimulator } from "../../src/core/modbus/simulator";
import { ModbusServerCore } from "../../src/protocols/modbus/server";
import { stopper } from "./modbus-sim-process";

/** How often the simulated plant moves, ms: the poll interval of the benchmark. */
const CHANGE_MS = 1000;

export interface CapacitySimulators {
  readonly ports: readonly number[];
  readonly pid: number;
  /** The requests answered since the process started. */
  requests(): Promise<number>;
  stop(): Promise<void>;
}

export async function spawnCapacitySimulators(
  ports: readonly number[],
  registers: number,
  every: number,
): Promise<CapacitySimulators> {
  const args = ["--import", "tsx", __filename, ports.join(","), String(registers), String(every)];
  const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "inherit"] });
  const { stdout, stdin, pid } = child;
  if (stdout === null || stdin === null || pid === undefined)
    throw new Error("simulator process did not start");
  const waiting: { resolve(line: string): void; reject(err: Error): void }[] = [];
  readline.createInterface({ input: stdout }).on("line", (line) => waiting.shift()?.resolve(line));
  child.once("exit", (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`the simulator process exited (${code})`));
  });
  const nextLine = (): Promise<string> => new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  const listening = JSON.parse(await nextLine()) as number[];
  return {
    ports: listening,
    pid,
    async requests() {
      const line = nextLine();
      stdin.write("count\n");
      return Number(await line);
    },
    stop: stopper(child),
  };
}

async function serve(ports: readonly number[], registers: number, every: number): Promise<void> {
  const cores: ModbusServerCore[] = [];
  const closers: (() => Promise<void>)[] = [];
  for (const port of ports) {
    const core = new ModbusServerCore({
      units: [1],
      sizes: { coils: 0, discreteInputs: 0, holdingRegisters: registers, inputRegisters: 0 },
    });
    core.unit(1).holdingRegisters.set(Array.from({ length: registers }, (_, k) => k % 1000));
    const handle = await startModbusSimulator(core, { host: "127.0.0.1", port, maxConnections: 4 });
    cores.push(core);
    closers.push(() => handle.close());
  }
  let tick = 0;
  const timer = setInterval(() => {
    const residue = tick++ % every;
    for (const core of cores) {
      const hr = core.unit(1).holdingRegisters;
      for (let i = residue; i < hr.length; i += every) hr[i] = (hr[i] + 1) & 0xffff;
    }
  }, CHANGE_MS);
  const stop = (): void => {
    clearInterval(timer);
    void Promise.all(closers.map((c) => c())).then(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  const lines = readline.createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    if (line.trim() === "count") process.stdout.write(`${cores.reduce((n, c) => n + c.stats.requests, 0)}\n`);
  });
  lines.on("close", stop);
  process.stdout.write(`${JSON.stringify(ports)}\n`);
}

if (require.main === module) {
  const ports = (process.argv[2] ?? "")
    .split(",")
    .filter((p) => p !== "")
    .map(Number);
  void serve(ports, Number(process.argv[3] ?? 500), Number(process.argv[4] ?? 10));
}
