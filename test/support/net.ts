import net from "node:net";

/** A TCP port free on loopback right now (for servers a test starts from a flow). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === "object" ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/** Resolve when `cond` holds, polling every 10 ms; reject naming `what` after `withinMs`. */
export async function until(
  cond: () => boolean | Promise<boolean>,
  withinMs: number,
  what: string,
): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await cond()) return Date.now() - start;
    if (Date.now() - start > withinMs) throw new Error(`${what} did not happen within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
