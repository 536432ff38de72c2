import http from "node:http";
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
    await new Promise((r) => setTimeout(r, 10)); // the poll interval of the condition wait
  }
}

export interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
  json(): unknown;
}

/**
 * One request to a loopback port, on a connection of its own that closes after it. A body that is not
 * text or bytes is sent as JSON, with that content type unless `headers` names one.
 */
export function httpRequest(
  port: number,
  method: string,
  urlPath: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const text =
    body === undefined
      ? undefined
      : typeof body === "string" || Buffer.isBuffer(body)
        ? body
        : JSON.stringify(body);
  const h: Record<string, string | number> = { connection: "close", ...headers };
  if (text !== undefined) {
    h["content-length"] = Buffer.byteLength(text);
    if (!Object.keys(headers).some((k) => k.toLowerCase() === "content-type"))
      h["content-type"] = "application/json";
  }
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, method, path: urlPath, headers: h, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const t = Buffer.concat(chunks).toString("utf8");
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: t,
            json: () => JSON.parse(t) as unknown,
          });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(text);
  });
}
