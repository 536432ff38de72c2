/**
 * A pair of connected pseudo-terminals from `socat` (installed by `npm run services`): what one end
 * writes the other reads, as on a null-modem cable, so serial tests need no hardware. socat prints the
 * two device paths on stderr; the pair is ready once both are printed. `links` asks socat for symlinks
 * of stable names too, so a test can close the pair and make a new one at the same paths (a port that
 * disappears and comes back). `close()` kills socat and resolves once it has exited.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { until } from "./net";

export interface PtyPair {
  /** The two ends: the symlinks when `links` was given, else the /dev/pts paths socat printed. */
  readonly a: string;
  readonly b: string;
  close(): Promise<void>;
}

export async function openPtyPair(links?: { a: string; b: string }): Promise<PtyPair> {
  const end = (link: string | undefined): string =>
    `pty,raw,echo=0${link === undefined ? "" : `,link=${link}`}`;
  const socat: ChildProcess = spawn("socat", ["-d", "-d", end(links?.a), end(links?.b)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  let exited = false;
  let failed: string | undefined;
  socat.stderr?.on("data", (chunk: Buffer) => {
    log += chunk.toString();
  });
  socat.on("error", (err) => {
    failed = `socat could not start (npm run services installs it): ${err.message}`;
  });
  socat.on("exit", () => {
    exited = true;
  });
  const paths = (): string[] => [...log.matchAll(/PTY is (\S+)/g)].map((m) => m[1]);
  await until(
    () => failed !== undefined || exited || (paths().length === 2 && /starting data transfer/.test(log)),
    10_000,
    "socat's two ptys",
  );
  if (failed !== undefined || exited) throw new Error(failed ?? `socat exited: ${log}`);
  const [a, b] = paths();
  return {
    a: links?.a ?? a,
    b: links?.b ?? b,
    close: async () => {
      if (!exited) socat.kill("SIGTERM");
      await until(() => exited, 5000, "socat's exit");
    },
  };
}

let examplePairs = 0;

/**
 * The pty pair an example's first comment tells a user to make with socat (`link=/tmp/...` twice), and
 * the flow to run with it; no pair for an example that needs none. The pair is made as the comment says
 * but at paths of this process's own, put in the flow in place of the comment's: two test files run the
 * examples at once (the editor's and the flow files'), and at one fixed path the first to close its
 * pair took the other's link away with it (socat removes its links on exit; a CI failure, "serial port
 * /tmp/datacoll-ttyA cannot be opened").
 */
export async function ptyPairForExample<T>(
  flow: readonly T[],
): Promise<{ readonly flow: T[]; readonly pty?: PtyPair }> {
  const info = flow
    .map((n) => (typeof (n as { info?: unknown }).info === "string" ? (n as { info: string }).info : ""))
    .join("\n");
  const links = /link=(\/tmp\/\S+) .*link=(\/tmp\/\S+)/.exec(info);
  if (links === null) return { flow: [...flow] };
  const tag = `-${process.pid}-${++examplePairs}`;
  const own = { a: links[1] + tag, b: links[2] + tag };
  const json = JSON.stringify(flow).split(links[1]).join(own.a).split(links[2]).join(own.b);
  return { flow: JSON.parse(json) as T[], pty: await openPtyPair(own) };
}
