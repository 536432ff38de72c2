/**
 * A statement that gives up after a time: the connection it runs on is destroyed, which fails the
 * statement, and the caller gets a PROTOCOL_SEQUENCE_TIMEOUT error (a connection problem: the rows wait
 * for a retry). mysql2's own `timeout` option is not used for this: its timer is cleared only when the
 * answer or the timeout comes, so a connection that dies under a statement (a cut link, a pool ended at a
 * redeploy) left it running for the rest of the timeout — up to 30 s after the flow had stopped.
 */
export interface Destroyable {
  destroy(): void;
}

export async function withStatementTimeout<T>(
  conn: Destroyable,
  timeoutMs: number,
  statement: Promise<T>,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      conn.destroy();
      reject(
        Object.assign(new Error(`MySQL did not answer within ${timeoutMs} ms`), {
          code: "PROTOCOL_SEQUENCE_TIMEOUT",
        }),
      );
    }, timeoutMs);
  });
  try {
    // Promise.race keeps a handler on both, so the statement failing after the timeout is not unhandled.
    return await Promise.race([statement, expired]);
  } finally {
    clearTimeout(timer);
  }
}
