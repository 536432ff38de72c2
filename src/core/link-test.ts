/**
 * What the config dialogs' "test connection" buttons share: the answer's shape, plain words for a failed
 * TCP connection — the same sentence whether the error came from a driver (mysql2 gives Node's error
 * code) or from our own transport (which reports the text of Node's error, e.g. "connect ECONNREFUSED
 * 127.0.0.1:502") — and one attempt at a connection of our own transport.
 */
import type { ConnectionOptions, StateListener } from "../transport/connection";

/** A test's answer, for a person: `ok` when the link works. */
export interface LinkTestAnswer {
  readonly ok: boolean;
  readonly message: string;
}

export interface Endpoint {
  readonly host: string;
  readonly port: number;
  /** What should be listening there, e.g. "MySQL" or "the Modbus device". */
  readonly service: string;
  /** The connect timeout in force, ms. */
  readonly timeoutMs: number;
}

/** The Node error code (ECONNREFUSED, ENOTFOUND, ...) in a transport's close reason, if it names one. */
export function networkErrorCode(reason: string): string | undefined {
  return /\b(E[A-Z]{3,}|EAI_[A-Z]+)\b/.exec(reason)?.[1];
}

/** The sentence for a network error code, or undefined for a code that is not about the network. */
export function explainNetworkError(code: string | undefined, at: Endpoint): string | undefined {
  const where = `${at.host}:${at.port}`;
  switch (code) {
    case "ECONNREFUSED":
      return `Nothing is listening at ${where}. Is ${at.service} running, and is the port right?`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_NONAME":
      return `The host name ${at.host} could not be found. Check the spelling or use an IP address.`;
    case "ETIMEDOUT":
      return `No answer from ${where} within ${at.timeoutMs} ms. A firewall may be dropping the connection.`;
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return `There is no network route to ${at.host}.`;
    default:
      return undefined;
  }
}

/** Words for a transport's close reason before the connection was up (refused, unknown host, timeout). */
export function explainConnectFailure(reason: string, at: Endpoint): string {
  // The transport's own connect timeout names no Node code.
  const code = networkErrorCode(reason) ?? (/^no connection within/.test(reason) ? "ETIMEDOUT" : undefined);
  return explainNetworkError(code, at) ?? `Could not connect to ${at.host}:${at.port}: ${reason}`;
}

/** Connection options for a test's single attempt: a retry would only delay the answer. */
export function oneAttempt(connectTimeoutMs: number): Partial<ConnectionOptions> {
  return { connectTimeoutMs, reconnectInitialMs: 600_000, reconnectMaxMs: 600_000 };
}

/** The part of a transport client a test drives. */
export interface Probed {
  onStateChange(listener: StateListener): () => void;
  start(): void;
  close(): void;
}

/**
 * Start `client`, answer in plain words if its first attempt fails, else hand over to `connected` with a
 * promise of the reason the connection ends (never rejecting). The client is closed before the answer
 * is returned, whatever happened: nothing of the test outlives it.
 */
export async function probe(
  client: Probed,
  at: Endpoint,
  connected: (ended: Promise<string>) => Promise<LinkTestAnswer>,
): Promise<LinkTestAnswer> {
  let up: (failure: string | undefined) => void = () => undefined;
  let end: (reason: string) => void = () => undefined;
  const attempt = new Promise<string | undefined>((resolve) => (up = resolve));
  const ended = new Promise<string>((resolve) => (end = resolve));
  // The first backoff (or close) is the end of the test's one attempt, never a retry.
  const off = client.onStateChange((c) => {
    if (c.state === "connected") up(undefined);
    if (c.state === "backoff" || c.state === "closed") {
      const reason = c.reason ?? "the connection ended";
      up(reason);
      end(reason);
    }
  });
  try {
    client.start();
    const failed = await attempt;
    if (failed !== undefined) return { ok: false, message: explainConnectFailure(failed, at) };
    return await connected(ended);
  } finally {
    off();
    client.close();
  }
}
