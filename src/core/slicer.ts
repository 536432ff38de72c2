/**
 * Long synchronous work split into slices, so the event loop serves other requests in between: a
 * 100,000-row import parses, checks and plans for seconds, and held in one go it would stall every other
 * request of the process (and a Node-RED flow) for all of it. `tick()` is cheap to call per row: it
 * yields only once the current slice has run its time.
 */
import { setImmediate as nextTurn } from "node:timers/promises";

/** How long one slice may hold the event loop. */
export const SLICE_MS = 5;

export class Slicer {
  private start = performance.now();

  constructor(private readonly sliceMs = SLICE_MS) {}

  /** Yield to the event loop if this slice has run its time. */
  async tick(): Promise<void> {
    if (performance.now() - this.start < this.sliceMs) return;
    await nextTurn();
    this.start = performance.now();
  }
}
