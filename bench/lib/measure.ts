/** Helpers every benchmark uses: repeat a measurement and take the median. */

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of nothing");
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Run `once` (which returns units of work done) `repeats` times; median units per second. */
export async function ratePerSecond(repeats: number, once: () => Promise<number> | number): Promise<number> {
  const rates: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = process.hrtime.bigint();
    const units = await once();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    rates.push(units / seconds);
  }
  return median(rates);
}

/** Median milliseconds of `once` over `repeats` runs. */
export async function medianMs(repeats: number, once: () => Promise<void> | void): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = process.hrtime.bigint();
    await once();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(times);
}
