/**
 * A device's frame log in the store (the capped per-device log of docs/redis-keys.md), for
 * commissioning: every octet in and out of the device's connection, as hex with its time and direction.
 * Frames are gathered and written in batches — one store write per `flushMs` at most — so a busy link
 * costs a round trip per batch, not per frame. While the store is slow or away at most `maxPending`
 * frames wait; older ones are dropped and counted, since the log is a diagnostic and never worth
 * memory the data needs.
 */
import type { FrameRecord, Store } from "../store/store";
import type { Clock, TimerHandle } from "../../transport/connection";

export interface FrameLogOptions {
  readonly flushMs: number;
  readonly maxPending: number;
}

export const DEFAULT_FRAME_LOG: FrameLogOptions = { flushMs: 200, maxPending: 2000 };

/** Whether a registry device asks for its frame log: the `frameLog` option, true or "true". */
export function wantsFrameLog(options: Readonly<Record<string, unknown>>): boolean {
  return options.frameLog === true || options.frameLog === "true";
}

export class FrameLogWriter {
  private pending: FrameRecord[] = [];
  private timer: TimerHandle | undefined;
  private writing: Promise<void> | undefined;
  private closed = false;
  /** Frames dropped because the store could not keep up. */
  dropped = 0;

  constructor(
    private readonly deviceId: string,
    private readonly store: Pick<Store, "appendFrames">,
    private readonly clock: Clock,
    private readonly onError: (err: unknown) => void,
    private readonly opts: FrameLogOptions = DEFAULT_FRAME_LOG,
  ) {}

  add(dir: "rx" | "tx", bytes: Uint8Array, at: number): void {
    if (this.closed) return;
    this.pending.push({
      ts: at,
      dir,
      data: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex"),
    });
    if (this.pending.length > this.opts.maxPending) {
      this.pending.shift();
      this.dropped++;
    }
    this.timer ??= this.clock.setTimer(() => this.flush(), this.opts.flushMs);
  }

  private flush(): void {
    this.timer = undefined;
    if (this.pending.length === 0) return;
    if (this.writing !== undefined) {
      // One write at a time: the frames wait here, where they are bounded, not in a chain of writes.
      if (!this.closed) this.timer = this.clock.setTimer(() => this.flush(), this.opts.flushMs);
      return;
    }
    const batch = this.pending;
    this.pending = [];
    this.writing = this.store
      .appendFrames(this.deviceId, batch)
      .catch(this.onError)
      .finally(() => (this.writing = undefined));
  }

  /** Write what is pending and stop; resolves once the last write is done. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    await this.writing;
    this.flush();
    await this.writing;
  }
}
