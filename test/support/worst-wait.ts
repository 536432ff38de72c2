/**
 * How long other requests wait while a long piece of work runs: the import test and the registry
 * benchmark ask again and again, one request after another, and keep the longest wait.
 */

export interface Waited<T> {
  readonly result: T;
  /** The longest any request took, in ms. */
  readonly worstMs: number;
  /** How many requests were answered meanwhile. */
  readonly asked: number;
}

/** Run `work` while `ask` (which throws on a wrong answer) is repeated, one at a time. */
export async function worstWaitDuring<T>(ask: () => Promise<void>, work: Promise<T>): Promise<Waited<T>> {
  let done = false;
  let worstMs = 0;
  let asked = 0;
  const asking = (async () => {
    while (!done) {
      const t0 = performance.now();
      await ask();
      worstMs = Math.max(worstMs, performance.now() - t0);
      asked++;
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  try {
    const result = await work;
    return { result, worstMs, asked };
  } finally {
    done = true;
    await asking;
  }
}
