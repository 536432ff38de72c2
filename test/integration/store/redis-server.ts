/**
 * A redis-server of a test's own on a spare port, for what must not happen to the shared one (a crash, a
 * password): no persistence, killed when the test is done.
 */
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";

export function sparePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === "object" ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

export function startRedis(port: number, extra: readonly string[] = []): Promise<ChildProcess> {
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...extra];
  const proc = spawn("redis-server", args);
  return new Promise((resolve, reject) => {
    let out = "";
    proc.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("Ready to accept connections")) resolve(proc);
    });
    proc.once("exit", (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
  });
}

export function stopRedis(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once("exit", () => resolve());
    // SIGKILL: a crash, not a clean shutdown.
    proc.kill("SIGKILL");
  });
}
