/**
 * The soak's simulated devices, in a process of their own so the fault script can kill it (SIGKILL, a
 * device crash) and start it again on the same ports.
 *
 * `node --import tsx soak/devices.ts '<spec JSON>'` serves, on loopback:
 * - Modbus devices: the counting simulator of the scale-out test (test/support/recording-simulator.ts):
 *   every request is answered with a new counter value (HR0:uint32) and its saw tooth (HR3 = counter mod
 *   100);
 * - IEC 104 outstations (our simulator, common address 1): IOA 1 is a float counter that goes up by one
 *   every `iecStepMs` while a master has data transfer started, sent spontaneously with a time tag on
 *   the started master's connection (CountingOutstation).
 *
 * A port of 0 picks a free one; a restarted process is given the ports of the first. Counters start
 * after `firstSeq`, so a restarted device never reuses a value. Once every device listens, stdout gets
 * `ready <ports as JSON>`; then one line `<deviceId> <value> <epoch ms> [<connection>]` per value produced (a Modbus request answered, an
 * IEC 104 change sent to a started master), which is what the soak counts as produced. An outstation's
 * value before its first change (`firstSeq`, which an interrogation reports) comes first as
 * `<deviceId> <value> initial`: a value the device holds, not a sample it produced.
 * It exits when its stdin closes (the driver went away) or on SIGTERM.
 */
import { spawn } from "node:child_process";
import readline from "node:readline";
import { RecordingSimulator } from "../test/support/recording-simulator";
import { Iec104Simulator, parseSimPoints } from "../src/core/iec104/simulator";
import { systemClock } from "../src/transport/connection";

export interface DeviceSpec {
  readonly id: string;
  readonly protocol: "modbus" | "iec104";
  readonly port: number;
  readonly firstSeq: number;
}

export interface DevicesSpec {
  readonly devices: readonly DeviceSpec[];
  readonly iecStepMs: number;
}

export interface Produced {
  readonly deviceId: string;
  readonly value: number;
  readonly at: number;
  /** An outstation's value before its first change: it may be stored (an interrogation reads it). */
  readonly initial?: boolean;
  /**
   * The TCP connection a Modbus request came on, or an IEC 104 value went out on, numbered per device
   * process: two pollers at once show as two, a hand-over as a switch from one to the next.
   */
  readonly connection?: number;
}

export interface DeviceProcess {
  readonly pid: number;
  /** The devices' ports, in the order of the spec. */
  readonly ports: readonly number[];
  readonly exited: Promise<void>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** Start the device process; `onProduced` hears every value it produces. Resolves once all listen. */
export async function spawnDevices(
  spec: DevicesSpec,
  onProduced: (p: Produced) => void,
): Promise<DeviceProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", __filename, JSON.stringify(spec)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const lines = readline.createInterface({ input: child.stdout });
  const ports = await new Promise<number[]>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the device process exited (${code}) before it listened`)));
    lines.on("line", (line) => {
      if (line.startsWith("ready ")) return resolve(JSON.parse(line.slice(6)) as number[]);
      const [deviceId, value, at, connection] = line.split(" ");
      if (at === "initial") onProduced({ deviceId, value: Number(value), at: Date.now(), initial: true });
      else
        onProduced({
          deviceId,
          value: Number(value),
          at: Number(at),
          ...(connection === undefined ? {} : { connection: Number(connection) }),
        });
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error("the device process has no pid");
  return {
    pid,
    ports,
    exited,
    kill: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** A simulated outstation (common address 1) whose one point, IOA 1, is a float counter at `firstSeq`. */
export function counterSimulator(firstSeq: number): Iec104Simulator {
  return new Iec104Simulator({
    commonAddress: 1,
    points: parseSimPoints([{ ioa: 1, type: "M_ME_NC_1", value: firstSeq }]),
    commands: [],
    clock: systemClock,
  });
}

/**
 * The counter of a simulated outstation (IOA 1): each step, while a master has data transfer started,
 * the next value is set and sent spontaneously, and the step names the connection it went out on. The
 * connections are numbered as they are accepted (the first is 1), so the checker can tell a value sent
 * on a connection that a lease hand-over then closed — the master stopped at its deadline and dropped
 * the socket, the value with it (docs/soak.md) — from one a master received and lost, as it does for
 * Modbus requests. With two masters started at once the value goes to both; the first is named.
 */
export class CountingOutstation {
  private readonly numbers = new Map<string, number>();
  private accepted = 0;
  private value: number;

  constructor(
    private readonly sim: Iec104Simulator,
    firstSeq: number,
  ) {
    this.value = firstSeq;
    sim.on((e) => {
      if (e.type === "connected") this.numbers.set(e.peer, ++this.accepted);
    });
  }

  /**
   * Send the next value while a master is started (nothing otherwise), telling `produced` first: a
   * value told after the send is lost to the checker when the process is killed in between, and the
   * master stores a value "no device produced" (a 30-minute run failed so: r05's 6943, sent as its
   * process was SIGKILLed, the restart going on from 6942 + 1000). Told and then killed before the
   * send, a value is a loss inside the "device killed" window instead, which that window allows.
   */
  step(produced: (made: { readonly value: number; readonly connection: number | undefined }) => void): void {
    const started = this.sim.startedPeers();
    if (started.length === 0) return;
    this.value++;
    produced({ value: this.value, connection: this.numbers.get(started[0]) });
    this.sim.set(1, this.value);
  }
}

async function serve(spec: DevicesSpec): Promise<void> {
  const out = (id: string, value: number, at: number | "initial", connection?: number): void => {
    const conn = connection === undefined ? "" : ` ${connection}`;
    process.stdout.write(`${id} ${value} ${at === "initial" ? at : Math.round(at)}${conn}\n`);
  };
  const closers: (() => Promise<void>)[] = [];
  const ports: number[] = [];
  for (const d of spec.devices) {
    if (d.protocol === "modbus") {
      const sim = new RecordingSimulator({
        firstSeq: d.firstSeq,
        keepRecords: false,
        onRequest: (seq, at, connection) => out(d.id, seq, at, connection),
      });
      ports.push(await sim.listen(d.port));
      closers.push(() => sim.close());
    } else {
      const sim = counterSimulator(d.firstSeq);
      const counter = new CountingOutstation(sim, d.firstSeq);
      ports.push(await sim.listen(d.port));
      out(d.id, d.firstSeq, "initial");
      const timer = setInterval(() => {
        counter.step((made) => out(d.id, made.value, Date.now(), made.connection));
      }, spec.iecStepMs);
      closers.push(async () => {
        clearInterval(timer);
        await sim.close();
      });
    }
  }
  const stop = (): void => {
    void Promise.all(closers.map((c) => c())).then(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.stdin.on("end", stop);
  process.stdin.resume();
  process.stdout.write(`ready ${JSON.stringify(ports)}\n`);
}

if (require.main === module) void serve(JSON.parse(process.argv[2] ?? "{}") as DevicesSpec);
