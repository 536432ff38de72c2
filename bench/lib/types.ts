/** One measured figure. `ratio` is ours divided by the baseline measured in the same run. */
export interface Figure {
  readonly value: number;
  readonly unit: string;
  readonly baseline?: string;
  readonly ratio?: number;
  /** The goal as text for the printed table, e.g. ">= 100,000 points/s". */
  readonly goal?: string;
}

export type Figures = Record<string, Figure>;

export interface Benchmark {
  readonly name: string;
  run(): Promise<Figures>;
}
